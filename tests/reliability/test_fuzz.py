"""Hypothesis fuzzing of shapes and dtypes (issue 20) for Dense, Conv1D/Conv2D, LSTM/GRU, Embedding and the
losses: each call either matches Keras 3 (installed as a test extra; on its jax backend, with the same weights) or
raises a clear error from a kshim frame. `KSHIM_FUZZ_EXAMPLES` sets the number of examples per test."""

import os
import sys

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import kshim  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from probes import classify  # noqa: E402

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

EXAMPLES = int(os.environ.get("KSHIM_FUZZ_EXAMPLES", "6"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DTYPES = st.sampled_from(["float32", "float64", "int32", "float16"])


def _array(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype.startswith("int"):
        return rng.integers(-3, 4, size=shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def _tolerance(dtype):
    return dict(rtol=2e-2, atol=2e-2) if dtype == "float16" else dict(rtol=1e-4, atol=1e-5)


def _check(make_ours, make_theirs, x, dtype):
    """Our layer on ``x`` matches Keras 3's with the same weights, or raises a clear error."""
    out = {}

    def ours():
        layer = make_ours()
        out["y"] = np.asarray(kshim.ops.convert_to_numpy(layer(x)), "float64")
        out["w"] = layer.get_weights()

    kind, desc = classify(ours)
    if kind == "clear":
        return
    assert kind == "no error", desc
    theirs = make_theirs()
    try:
        theirs.build(x.shape)
        theirs.set_weights(out["w"])
        expected = np.asarray(keras.ops.convert_to_numpy(theirs(x)), "float64")
    except Exception:  # noqa: BLE001 - Keras refuses what kshim accepts: nothing to compare with
        return
    np.testing.assert_allclose(out["y"], expected, **_tolerance(dtype))


@FUZZ
@given(rank=st.integers(0, 4), features=st.integers(1, 5), units=st.integers(1, 4), dtype=DTYPES,
       bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_dense(rank, features, units, dtype, bias, seed):
    shape = tuple(np.random.default_rng(seed).integers(1, 4, size=max(rank - 1, 0))) + ((features,) if rank else ())
    x = _array(shape, dtype, seed)
    _check(lambda: kshim.layers.Dense(units, use_bias=bias, kernel_initializer="glorot_uniform"),
           lambda: keras.layers.Dense(units, use_bias=bias), x, dtype)


@FUZZ
@given(dims=st.sampled_from([1, 2]), rank_delta=st.integers(-1, 1), size=st.integers(1, 7),
       channels=st.integers(1, 3), filters=st.integers(1, 3), kernel=st.integers(1, 4),
       strides=st.integers(1, 2), padding=st.sampled_from(["valid", "same"]), dtype=DTYPES,
       seed=st.integers(0, 2 ** 16))
def test_conv(dims, rank_delta, size, channels, filters, kernel, strides, padding, dtype, seed):
    shape = (2,) + (size,) * dims + (channels,)
    shape = shape[:len(shape) + rank_delta] if rank_delta < 0 else shape + (1,) * rank_delta
    x = _array(shape, dtype, seed)
    ours = {1: kshim.layers.Conv1D, 2: kshim.layers.Conv2D}[dims]
    theirs = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}[dims]
    _check(lambda: ours(filters, kernel, strides=strides, padding=padding),
           lambda: theirs(filters, kernel, strides=strides, padding=padding), x, dtype)


@FUZZ
@given(cell=st.sampled_from(["LSTM", "GRU"]), rank=st.integers(2, 4), steps=st.integers(1, 4),
       features=st.integers(1, 3), units=st.integers(1, 3), sequences=st.booleans(), dtype=DTYPES,
       seed=st.integers(0, 2 ** 16))
def test_recurrent(cell, rank, steps, features, units, sequences, dtype, seed):
    shape = ((2, steps, features) + (1,) * (rank - 3)) if rank >= 3 else (2, features)
    x = _array(shape, dtype, seed)
    _check(lambda: getattr(kshim.layers, cell)(units, return_sequences=sequences),
           lambda: getattr(keras.layers, cell)(units, return_sequences=sequences), x, dtype)


@FUZZ
@given(input_dim=st.integers(1, 6), output_dim=st.integers(1, 4), rank=st.integers(0, 3),
       dtype=st.sampled_from(["int32", "int64", "float32", "uint8"]), low=st.integers(-2, 0),
       high=st.integers(1, 8), seed=st.integers(0, 2 ** 16))
def test_embedding(input_dim, output_dim, rank, dtype, low, high, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 4, size=rank))
    x = rng.integers(max(low, 0) if dtype == "uint8" else low, high, size=shape).astype(dtype)
    _check(lambda: kshim.layers.Embedding(input_dim, output_dim),
           lambda: keras.layers.Embedding(input_dim, output_dim), x, dtype)


LOSSES = ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
          "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh", "hinge", "squared_hinge",
          "categorical_hinge", "kl_divergence", "poisson", "binary_crossentropy", "categorical_crossentropy",
          "sparse_categorical_crossentropy"]


@FUZZ
@given(name=st.sampled_from(LOSSES), batch=st.integers(1, 4), classes=st.integers(1, 4),
       true_shape=st.sampled_from(["same", "squeezed", "other_classes", "other_batch", "labels"]),
       dtype=st.sampled_from(["float32", "float64", "int32"]), seed=st.integers(0, 2 ** 16))
def test_losses(name, batch, classes, true_shape, dtype, seed):
    rng = np.random.default_rng(seed)
    y_pred = rng.uniform(0.05, 0.95, size=(batch, classes)).astype("float32")
    t_shape = {"same": (batch, classes), "squeezed": (batch,), "other_classes": (batch, classes + 1),
               "other_batch": (batch + 1, classes), "labels": (batch, 1)}[true_shape]
    y_true = (rng.integers(0, classes, size=t_shape) if true_shape == "labels" or dtype == "int32"
              else rng.uniform(0, 1, size=t_shape)).astype(dtype)
    out = {}

    def ours():
        out["v"] = np.asarray(kshim.ops.convert_to_numpy(getattr(kshim.losses, name)(y_true, y_pred)), "float64")

    kind, desc = classify(ours)
    if kind == "clear":
        return
    assert kind == "no error", f"{name}: {desc}"
    try:
        expected = np.asarray(keras.ops.convert_to_numpy(getattr(keras.losses, name)(y_true, y_pred)), "float64")
    except Exception:  # noqa: BLE001 - Keras refuses it; kshim's answer stands alone
        return
    np.testing.assert_allclose(out["v"], expected, rtol=1e-4, atol=1e-5)
