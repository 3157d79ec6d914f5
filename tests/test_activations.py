"""kshim.activations: every activation, by string and by function, against numpy references written from Keras 3's
formulas, and against real Keras 3 when it is importable."""

import math
import os
import warnings

import numpy as np
import pytest

from kshim import activations as A
from kshim import layers, ops

RTOL, ATOL = 1e-5, 1e-6

# A (6, 9) float32 grid from -8 to 8 that hits 0, the relu6 cap, the hard_sigmoid corners (+-3) and both tails.
X = np.concatenate([np.linspace(-8.0, 8.0, 49), [-3.0, 3.0, 6.0, -20.0, 20.0]]).astype("float32").reshape(6, 9)
X_EXP = (X / 2).astype("float32")  # exponential: keep exp in range


def np_(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


_erf = np.vectorize(math.erf)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _hard_sigmoid(x):
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras 3 `ReLU.static_call`, line for line in numpy."""
    negative_part = np.maximum(threshold - x, 0.0) if negative_slope != 0.0 else 0.0
    pos = x * (x > threshold) if threshold != 0 else np.maximum(x, 0.0)
    if max_value is not None:
        pos = np.clip(pos, 0.0, max_value)
    return pos - negative_slope * negative_part


REFERENCES = {
    "relu": (lambda x: np.maximum(x, 0.0), X),
    "relu6": (lambda x: np.clip(x, 0.0, 6.0), X),
    "leaky_relu": (lambda x: np.where(x >= 0, x, 0.2 * x), X),
    "sigmoid": (_sigmoid, X),
    "hard_sigmoid": (_hard_sigmoid, X),
    "softmax": (_softmax, X),
    "log_softmax": (_log_softmax, X),
    "tanh": (np.tanh, X),
    "elu": (_elu, X),
    "selu": (lambda x: SELU_SCALE * _elu(x, SELU_ALPHA), X),
    "softplus": (_softplus, X),
    "softsign": (lambda x: x / (1 + np.abs(x)), X),
    "swish": (lambda x: x * _sigmoid(x), X),
    "silu": (lambda x: x * _sigmoid(x), X),
    "gelu": (lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2.0))), X),
    "mish": (lambda x: x * np.tanh(_softplus(x)), X),
    "exponential": (np.exp, X_EXP),
    "linear": (lambda x: x, X),
    "hard_silu": (lambda x: x * _hard_sigmoid(x), X),
    "hard_swish": (lambda x: x * _hard_sigmoid(x), X),
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_by_string_matches_numpy(name):
    ref, x = REFERENCES[name]
    fn = A.get(name)
    np.testing.assert_allclose(np_(fn(x)), ref(x.astype(np.float64)), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_by_function_matches_numpy_and_round_trips(name):
    ref, x = REFERENCES[name]
    fn = getattr(A, name)
    assert A.get(fn) is fn
    assert A.get(A.serialize(fn)) is fn
    out = fn(ops.convert_to_tensor(x))
    assert ops.is_tensor(out)
    assert tuple(ops.shape(out)) == x.shape and str(ops.dtype(out)) == "float32"
    np.testing.assert_allclose(np_(out), ref(x.astype(np.float64)), rtol=RTOL, atol=ATOL)


def test_known_values():
    x = np.array([-1.0, 0.0, 1.0, 7.0], "float32")
    np.testing.assert_array_equal(np_(A.relu(x)), [0, 0, 1, 7])
    np.testing.assert_array_equal(np_(A.relu6(x)), [0, 0, 1, 6])
    np.testing.assert_allclose(np_(A.sigmoid(x))[1], 0.5)
    np.testing.assert_allclose(np_(A.hard_sigmoid(x)), [2 / 6, 0.5, 4 / 6, 1.0], rtol=1e-6)
    np.testing.assert_allclose(np_(A.gelu(x))[2], 0.8413447460685429, rtol=1e-6)  # 1 * Phi(1)
    np.testing.assert_allclose(np_(A.elu(x))[0], math.exp(-1) - 1, rtol=1e-6)
    np.testing.assert_allclose(np_(A.softplus(x))[1], math.log(2), rtol=1e-6)
    np.testing.assert_allclose(np_(A.softmax(np.zeros((2, 4), "float32"))), np.full((2, 4), 0.25))
    assert A.get(None) is A.linear
    assert A.swish is A.silu


def test_softmax_and_log_softmax_axis():
    for axis in (0, 1, -1):
        np.testing.assert_allclose(np_(A.softmax(X, axis=axis)), _softmax(X.astype(np.float64), axis),
                                   rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(np_(A.log_softmax(X, axis=axis)), _log_softmax(X.astype(np.float64), axis),
                                   rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np_(A.softmax(X, axis=0)).sum(axis=0), np.ones(9), rtol=1e-6)


def test_argument_variants():
    x64 = X.astype(np.float64)
    np.testing.assert_allclose(np_(A.leaky_relu(X, negative_slope=0.05)), np.where(x64 >= 0, x64, 0.05 * x64),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np_(A.elu(X, alpha=0.5)), _elu(x64, 0.5), rtol=RTOL, atol=ATOL)
    approx = 0.5 * x64 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64 ** 3)))
    np.testing.assert_allclose(np_(A.gelu(X, approximate=True)), approx, rtol=RTOL, atol=ATOL)
    # the exact and approximate forms really differ
    assert np.abs(np_(A.gelu(X)) - approx).max() > 1e-4


RELU_KWARGS = [
    {"negative_slope": 0.1},
    {"max_value": 6.0},
    {"max_value": 2.5},
    {"negative_slope": 0.1, "max_value": 2.0},
    {"threshold": 1.0, "negative_slope": 0.0, "max_value": None, "_x": "off_grid"},
]
RELU_CASES = [pytest.param(k, id=str(k)) for k in RELU_KWARGS + [
    {"threshold": 1.0},  # inputs equal to the threshold give 0 (Keras uses x > threshold)
    {"threshold": 0.5, "negative_slope": 0.1},
    {"threshold": 1.0, "negative_slope": 0.3, "max_value": 2.5},
    {"threshold": -1.0, "max_value": 6.0},  # Keras clips the thresholded part to [0, max_value]
    {"threshold": -1.0},
]]


# X plus every threshold/cap used below as an exact input value
X_RELU = np.concatenate([X.ravel(), [-1.0, -0.5, 0.5, 1.0, 2.5, -0.25]]).astype("float32").reshape(6, 10)


def _relu_input(kwargs):
    kwargs = dict(kwargs)
    if kwargs.pop("_x", None) == "off_grid":  # no input equals the threshold: the `>=` bug does not show
        return (X_RELU + np.float32(0.01)).astype("float32"), kwargs
    return X_RELU, kwargs


@pytest.mark.parametrize("kwargs", RELU_CASES)
def test_relu_arguments_match_keras_formula(kwargs):
    x, kwargs = _relu_input(kwargs)
    np.testing.assert_allclose(np_(A.relu(x, **kwargs)), _keras_relu(x.astype(np.float64), **kwargs),
                               rtol=RTOL, atol=ATOL)


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match="rleu") as info:
        A.get("rleu")
    assert "Did you mean 'relu'" in str(info.value)
    with pytest.raises(ValueError):
        A.get(3.5)


def test_activation_layer_by_string_and_function():
    np.testing.assert_allclose(np_(layers.Activation("gelu")(X)), REFERENCES["gelu"][0](X.astype(np.float64)),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np_(layers.Activation(A.softsign)(X)), X / (1 + np.abs(X)), rtol=RTOL, atol=ATOL)
    assert layers.Activation("swish").get_config()["activation"] == "silu"


# ----------------------------------------------------------------------------------------------------------------
# Against real Keras 3


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("keras")


@pytest.mark.parametrize("name", list(REFERENCES))
def test_matches_keras(keras, name):
    _, x = REFERENCES[name]
    expected = np.asarray(getattr(keras.activations, name)(x), np.float64)
    np.testing.assert_allclose(np_(A.get(name)(x)), expected, rtol=RTOL, atol=ATOL)
    assert A.serialize(A.get(name)) == keras.activations.serialize(keras.activations.get(name)) or \
        {name, A.serialize(A.get(name))} in ({"swish", "silu"}, {"hard_swish", "hard_silu"})


@pytest.mark.parametrize("kwargs", RELU_CASES)
def test_relu_arguments_match_keras(keras, kwargs):
    x, kwargs = _relu_input(kwargs)
    expected = np.asarray(keras.activations.relu(x, **kwargs), np.float64)
    np.testing.assert_allclose(np_(A.relu(x, **kwargs)), expected, rtol=RTOL, atol=ATOL)


def test_argument_variants_match_keras(keras):
    for ours, theirs in [
        (A.leaky_relu(X, negative_slope=0.05), keras.activations.leaky_relu(X, negative_slope=0.05)),
        (A.elu(X, alpha=0.5), keras.activations.elu(X, alpha=0.5)),
        (A.gelu(X, approximate=True), keras.activations.gelu(X, approximate=True)),
        (A.softmax(X, axis=0), keras.activations.softmax(X, axis=0)),
        (A.log_softmax(X, axis=0), keras.activations.log_softmax(X, axis=0)),
    ]:
        np.testing.assert_allclose(np_(ours), np.asarray(theirs, np.float64), rtol=RTOL, atol=ATOL)
