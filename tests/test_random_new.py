"""keras.random's distributions (truncated_normal, gamma, beta, binomial, categorical) on kshim's counter-based
stream: their moments, their seeding, and their arguments. Cross-backend identity is a conformance case
(conformance/cases_random.py, ``random.*``)."""

import numpy as np
import pytest

from kshim import ops
from kshim import random as R

N = 20000


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


# name -> (draw, expected mean, expected variance)
MOMENTS = {
    "truncated_normal": (lambda s: R.truncated_normal((N,), 1.0, 2.0, seed=s), 1.0, (2.0 * 0.879596) ** 2),
    "gamma": (lambda s: R.gamma((N,), 2.5, seed=s), 2.5, 2.5),
    "gamma_small_alpha": (lambda s: R.gamma((N,), 0.5, seed=s), 0.5, 0.5),
    "beta": (lambda s: R.beta((N,), 2.0, 3.0, seed=s), 0.4, 6.0 / (25.0 * 6.0)),
    "binomial": (lambda s: R.binomial((N,), 10, 0.3, seed=s), 3.0, 2.1),
}


@pytest.mark.parametrize("name", list(MOMENTS))
def test_moments(name):
    draw, mean, var = MOMENTS[name]
    x = _np(draw(11))
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / N)
    assert abs(x.var() / var - 1) < 0.05
    np.testing.assert_array_equal(x, _np(draw(11)))  # the same seed, the same draw
    assert not np.array_equal(x, _np(draw(12)))


def test_truncated_normal_stays_within_two_stddev():
    x = _np(R.truncated_normal((4, 500), mean=-1.0, stddev=0.5, seed=3))
    assert x.shape == (4, 500) and x.min() >= -2.0 - 1e-6 and x.max() <= 1e-6


def test_categorical_frequencies_and_shape():
    probs = np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]])
    k = np.asarray(ops.convert_to_numpy(R.categorical(np.log(probs), N, seed=7)))
    assert k.shape == (2, N) and k.dtype == np.int32
    for row, p in zip(k, probs):
        np.testing.assert_allclose(np.bincount(row, minlength=3) / N, p, atol=0.015)
    with pytest.raises(ValueError, match="2-D"):
        R.categorical(np.zeros(3, "float32"), 2)


def test_binomial_broadcasts_counts_and_probabilities():
    counts = np.array([0, 3, 50], "float32")
    x = _np(R.binomial((1000, 3), counts, np.array([0.5, 1.0, 0.2], "float32"), seed=1))
    assert (x[:, 0] == 0).all() and (x[:, 1] == 3).all() and abs(x[:, 2].mean() - 10) < 0.5
    assert ((x == np.round(x)) & (x >= 0) & (x <= counts)).all()


def test_seed_generator_advances():
    gen = R.SeedGenerator(5)
    a, b = _np(R.gamma((8,), 2.0, seed=gen)), _np(R.gamma((8,), 2.0, seed=gen))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, _np(R.gamma((8,), 2.0, seed=R.SeedGenerator(5))))
