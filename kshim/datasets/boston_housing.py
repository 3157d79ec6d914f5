"""Boston housing prices: 506 samples of 13 features and the median value, read from Keras's
``boston_housing.npz``."""

import numpy as np

from kshim.datasets import cache


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: float64 features (N, 13) and targets (N,), shuffled with
    ``seed`` and split by ``test_split``."""
    if not 0 <= test_split < 1:
        raise ValueError(f"boston_housing.load_data: `test_split` must be in [0, 1). "
                         f"Received: test_split={test_split!r}")
    local = cache.fetch("boston_housing", path, cache.KERAS_ORIGIN + "boston_housing.npz",
                        "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5")
    with np.load(local, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    return cache.split(x, y, test_split, seed)
