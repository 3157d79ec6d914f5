"""The activations Keras 3 added (celu, glu, sparsemax, ...): numpy references, Keras 3 itself, gradients."""

import os
import warnings

import numpy as np
import pytest

from kshim import activations as A
from kshim import ops

X = np.concatenate([np.linspace(-4.0, 4.0, 33), [-1.0, 1.0, 0.5, -0.5, 0.0, 2.5, -2.5]]).astype("float32")
X = X.reshape(5, 8)


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sparsemax(x):
    out = np.zeros_like(x, dtype=np.float64)
    for i, row in enumerate(x.astype(np.float64)):
        z = np.sort(row)[::-1]
        k = np.arange(1, len(z) + 1)
        support = 1 + k * z > np.cumsum(z)
        kz = k[support][-1]
        tau = (np.sum(z[:kz]) - 1) / kz
        out[i] = np.maximum(row - tau, 0)
    return out


# name -> (kwargs, numpy reference, compare with Keras 3)
CASES = {
    "celu": ({"alpha": 0.7}, lambda x: np.maximum(x, 0) + np.minimum(0, 0.7 * (np.exp(x / 0.7) - 1)), True),
    "glu": ({}, lambda x: x[:, :4] / (1 + np.exp(-x[:, 4:])), True),
    "hard_tanh": ({}, lambda x: np.clip(x, -1, 1), True),
    "hard_shrink": ({"threshold": 0.6}, lambda x: np.where(np.abs(x) > 0.6, x, 0), True),
    "soft_shrink": ({"threshold": 0.6}, lambda x: np.where(x > 0.6, x - 0.6, np.where(x < -0.6, x + 0.6, 0)), True),
    "tanh_shrink": ({}, lambda x: x - np.tanh(x), True),
    "threshold": ({"threshold": 0.3, "default_value": -2.0}, lambda x: np.where(x > 0.3, x, -2.0), True),
    "log_sigmoid": ({}, lambda x: -_softplus(-x), True),
    "sparse_plus": ({}, lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)), True),
    "sparse_sigmoid": ({}, lambda x: np.clip((x + 1) / 2, 0, 1), True),
    "squareplus": ({"b": 3}, lambda x: (x + np.sqrt(x * x + 3)) / 2, True),
    # Keras 3.15's sparsemax does not sum to 1 (see kshim.activations.sparsemax); the paper's formula is checked.
    "sparsemax": ({}, _sparsemax, False),
}


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("keras")


@pytest.mark.parametrize("name", list(CASES))
def test_matches_numpy_and_keras(keras, name):
    kwargs, reference, with_keras = CASES[name]
    ours = np.asarray(ops.convert_to_numpy(getattr(A, name)(X, **kwargs)), np.float64)
    np.testing.assert_allclose(ours, reference(X.astype(np.float64)), rtol=1e-5, atol=1e-6)
    if with_keras:
        theirs = np.asarray(getattr(keras.activations, name)(X, **kwargs), np.float64)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    if not kwargs:
        assert A.get(name) is getattr(A, name) and A.serialize(getattr(A, name)) == name


def test_sparsemax_is_a_distribution_along_the_axis():
    out = np.asarray(ops.convert_to_numpy(A.sparsemax(X.T, axis=0)))
    np.testing.assert_allclose(out.sum(axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(out.T, _sparsemax(X), rtol=1e-5, atol=1e-6)


def test_glu_needs_an_even_axis():
    with pytest.raises(ValueError, match="must be even"):
        A.glu(np.zeros((2, 3), "float32"))
