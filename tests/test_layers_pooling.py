"""Pooling layers (Max/AveragePooling1D/2D/3D, Global Max/AveragePooling1D/2D/3D) against real Keras 3 and numpy:
outputs and input gradients, "same" padding edges, compute_output_shape, masks, validation and configs."""

import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
jax = pytest.importorskip("jax")

RTOL, ATOL = 2e-4, 2e-5


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _input_grad(layer, x, w):
    def loss(params):
        return ops.sum(ops.multiply(layer(params[0]), w))

    (g,) = ops.compile_step(lambda p: ops.value_and_grad(loss)(p)[1])([ops.convert_to_tensor(x)])
    return _np(g)


def _keras_input_grad(layer, x, w):
    import jax.numpy as jnp

    return np.asarray(jax.jit(jax.grad(lambda x: jnp.sum(layer(x) * w)))(jnp.asarray(x)))


def check_against_keras(name, kwargs, input_shape, seed=0):
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    x = np.random.default_rng(seed).normal(size=input_shape).astype("float32")
    out, ref = _np(ours(x)), np.asarray(theirs(x))
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
    assert tuple(ours.compute_output_shape(input_shape)) == out.shape
    unknown = (None,) + input_shape[1:]
    assert tuple(ours.compute_output_shape(unknown)) == tuple(theirs.compute_output_shape(unknown))
    w = np.random.default_rng(seed + 1).normal(size=out.shape).astype("float32")
    g = _input_grad(ours, x, w)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, _keras_input_grad(theirs, x, w), rtol=RTOL, atol=ATOL)
    return out


def _pool_cases(kind):
    return [
        (f"{kind}Pooling1D", dict(pool_size=2), (2, 9, 3)),
        (f"{kind}Pooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 10, 3)),
        (f"{kind}Pooling1D", dict(pool_size=4, strides=1, padding="same", data_format="channels_first"), (2, 3, 7)),
        (f"{kind}Pooling2D", dict(pool_size=(2, 2)), (2, 7, 9, 3)),
        (f"{kind}Pooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 7, 8, 3)),
        (f"{kind}Pooling2D", dict(pool_size=(2, 3), strides=(1, 2), padding="same"), (2, 5, 7, 2)),
        (f"{kind}Pooling2D", dict(pool_size=2, strides=3, padding="same"), (2, 7, 8, 2)),
        (f"{kind}Pooling2D", dict(pool_size=3, strides=1, padding="same", data_format="channels_first"),
         (2, 3, 6, 5)),
        (f"{kind}Pooling2D", dict(pool_size=2, strides=1), (2, 5, 5, 1)),
        (f"{kind}Pooling3D", dict(pool_size=2), (2, 4, 5, 6, 2)),
        (f"{kind}Pooling3D", dict(pool_size=(2, 3, 2), strides=2, padding="same", data_format="channels_first"),
         (2, 2, 5, 6, 7)),
    ]


POOL_CASES = _pool_cases("Max") + _pool_cases("Average")


@pytest.mark.parametrize("name,kwargs,input_shape", POOL_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(POOL_CASES)])
def test_pooling_matches_keras(name, kwargs, input_shape):
    check_against_keras(name, kwargs, input_shape)


GLOBAL_CASES = [(f"Global{kind}Pooling{n}D", dict(data_format=df, keepdims=keep), shape)
                for kind in ("Max", "Average")
                for n, shape in ((1, (2, 5, 3)), (2, (2, 4, 5, 3)), (3, (2, 3, 4, 5, 2)))
                for df, keep in (("channels_last", False), ("channels_first", True))]


@pytest.mark.parametrize("name,kwargs,input_shape", GLOBAL_CASES,
                         ids=[f"{c[0]}-{c[1]['data_format']}" for c in GLOBAL_CASES])
def test_global_pooling_matches_keras(name, kwargs, input_shape):
    check_against_keras(name, kwargs, input_shape)


def test_average_pooling_same_divides_by_the_real_elements_only():
    x = np.arange(1, 26, dtype="float32").reshape(1, 5, 5, 1)
    out = _np(layers.AveragePooling2D(pool_size=3, strides=2, padding="same")(x))[0, ..., 0]
    # 5 -> ceil(5/2)=3 outputs, total padding (3-1)*2+3-5=2: one row/column before, one after.
    ref = np.zeros((3, 3))
    padded = np.pad(x[0, ..., 0], 1, constant_values=np.nan)
    for i in range(3):
        for j in range(3):
            ref[i, j] = np.nanmean(padded[2 * i:2 * i + 3, 2 * j:2 * j + 3])
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    assert out[0, 0] == np.mean([1, 2, 6, 7])  # the corner window covers 4 real pixels


def test_average_pooling_same_with_the_odd_pixel_after():
    # 6 -> 3 outputs with pool 3, stride 2: total padding 1, all of it after (TensorFlow's split).
    x = np.arange(6, dtype="float32").reshape(1, 6, 1)
    out = _np(layers.AveragePooling1D(3, strides=2, padding="same")(x))[0, :, 0]
    np.testing.assert_allclose(out, [1.0, 3.0, 4.5])


def test_max_pooling_same_padding_never_wins():
    x = -np.ones((1, 3, 3, 1), "float32") * np.arange(1, 10, dtype="float32").reshape(1, 3, 3, 1)
    out = _np(layers.MaxPooling2D(pool_size=2, strides=2, padding="same")(x))[0, ..., 0]
    np.testing.assert_array_equal(out, [[-1, -3], [-7, -9]])


def test_max_pooling_default_pool_size_and_strides():
    layer = layers.MaxPooling2D()
    assert layer.pool_size == (2, 2) and layer.strides == (2, 2)
    assert layers.MaxPooling1D().pool_size == (2,) and layers.MaxPooling3D().strides == (2, 2, 2)
    assert layers.AveragePooling2D(3, strides=1).strides == (1, 1)


def test_global_average_pooling1d_mask_matches_keras():
    x = np.random.default_rng(3).normal(size=(3, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 0, 1], [1, 1, 1, 1, 1]], bool)
    ours, theirs = layers.GlobalAveragePooling1D(), keras.layers.GlobalAveragePooling1D()
    out = _np(ours(x, mask=mask))
    np.testing.assert_allclose(out, np.asarray(theirs(x, mask=mask)), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out[0], x[0, :3].mean(axis=0), rtol=1e-6)
    assert ours.supports_masking and ours.compute_mask(x, mask) is None
    cf = layers.GlobalAveragePooling1D(data_format="channels_first", keepdims=True)
    out = _np(cf(np.transpose(x, (0, 2, 1)), mask=mask))
    assert out.shape == (3, 4, 1)
    np.testing.assert_allclose(out[1, :, 0], x[1, [0, 2, 4]].mean(axis=0), rtol=1e-6)


def test_masked_sequence_through_embedding_and_global_average_pooling():
    if not hasattr(layers, "Embedding"):
        pytest.skip("Embedding is not available")
    model = kshim.Sequential([kshim.Input((4,), dtype="int32"), layers.Embedding(10, 3, mask_zero=True),
                              layers.GlobalAveragePooling1D()])
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]], "int32")
    table = model.layers[0].get_weights()[0]
    out = _np(model(ids))
    np.testing.assert_allclose(out, [table[[1, 2]].mean(axis=0), table[3]], rtol=1e-6)


def test_symbolic_shapes():
    x = kshim.Input((None, 7, 3))
    assert tuple(layers.MaxPooling2D(2)(x).shape) == (None, None, 3, 3)
    assert tuple(layers.AveragePooling2D(3, strides=2, padding="same")(x).shape) == (None, None, 4, 3)
    assert tuple(layers.GlobalMaxPooling2D(keepdims=True)(x).shape) == (None, 1, 1, 3)
    assert layers.GlobalAveragePooling3D(data_format="channels_first").compute_output_shape(
        (None, 4, 2, 3, 5)) == (None, 4)


# ----------------------------------------------------------------------------------------------------------------
# Validation, configs, aliases


@pytest.mark.parametrize("make,match", [
    (lambda: layers.MaxPooling2D(pool_size=0), r"`pool_size`.*pool_size=0"),
    (lambda: layers.MaxPooling2D(pool_size=(2, 2, 2)), r"`pool_size`"),
    (lambda: layers.AveragePooling1D(2, padding="sme"), r"`padding`.*padding='sme'"),
    (lambda: layers.AveragePooling1D(2, padding="causal"), r"`padding`.*padding='causal'"),
    (lambda: layers.MaxPooling2D(strides=0), r"`strides`.*strides=0"),
    (lambda: layers.MaxPooling3D(data_format="NHWC"), r"`data_format`.*nhwc"),
    (lambda: layers.GlobalAveragePooling2D(data_format="nope"), r"`data_format`"),
])
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="zero or negative"):
        layers.MaxPooling2D(4)(np.zeros((1, 3, 3, 1), "float32"))
    with pytest.raises(ValueError, match="ndim=4"):
        layers.MaxPooling2D()(np.zeros((1, 4, 4), "float32"))
    with pytest.raises(ValueError, match="ndim=3"):
        layers.GlobalMaxPooling1D()(np.zeros((1, 4, 4, 2), "float32"))


@pytest.mark.parametrize("name,kwargs", [
    ("MaxPooling1D", dict(pool_size=3, strides=1, padding="same")),
    ("MaxPooling2D", dict(pool_size=(2, 3), data_format="channels_first")),
    ("AveragePooling3D", dict(pool_size=2, strides=(1, 2, 1))),
    ("GlobalAveragePooling1D", dict(keepdims=True)),
    ("GlobalMaxPooling2D", dict(data_format="channels_first")),
])
def test_config_round_trip_and_match_keras(name, kwargs):
    layer = getattr(layers, name)(**kwargs)
    cfg = layer.get_config()
    assert type(layer).from_config(cfg).get_config() == cfg
    theirs = getattr(keras.layers, name)(**kwargs).get_config()
    assert set(cfg) == set(theirs)
    for key in set(theirs) - {"name", "dtype"}:
        assert cfg[key] == theirs[key], key
    assert type(layer).from_config({k: v for k, v in theirs.items() if k != "name"}).get_config().keys() == cfg.keys()


def test_aliases_are_the_same_classes():
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D


def test_ops_pooling_default_strides_are_the_pool_size():
    x = np.random.default_rng(5).normal(size=(2, 6, 6, 3)).astype("float32")
    a = _np(ops.max_pool(x, 3))
    np.testing.assert_allclose(a, x.reshape(2, 2, 3, 2, 3, 3).max(axis=(2, 4)))
    b = _np(ops.average_pool(x, (2, 3), padding="VALID"))
    np.testing.assert_allclose(b, x.reshape(2, 3, 2, 2, 3, 3).mean(axis=(2, 4)), rtol=1e-6, atol=1e-6)
