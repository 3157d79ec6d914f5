"""The scikit-learn digits (8x8 images, shipped with the package: no download), shuffled once and split, shared by
the examples that train a classifier on flattened pixels."""

import numpy as np
from sklearn.datasets import load_digits


def digits_split(n_train=1400, seed=0):
    """``(x_train, y_train, x_test, y_test)``: pixels scaled to [0, 1] as float32 (n, 64), labels int32."""
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]
