"""An Embedding + LSTM sequence regressor, left uncompiled (the check compiles it with SGD and mse)."""

import numpy as np

import kshim as keras
from kshim import layers


def build_model():
    return keras.Sequential([
        keras.Input((10,), dtype="int32"),
        layers.Embedding(50, 8),
        layers.LSTM(16),
        layers.Dense(1),
    ])


def sample():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 50, size=(16, 10)).astype("int32")
    y = rng.normal(size=(16, 1)).astype("float32")
    return x, y
