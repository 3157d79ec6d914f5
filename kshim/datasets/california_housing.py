"""California housing prices: 20,640 samples of 8 features and the median house value, read from Keras's
``california_housing.npz``; ``version="small"`` keeps the first 600."""

import numpy as np

from kshim.datasets import cache


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: float32 features (N, 8) and targets (N,), shuffled with ``seed``
    and split by ``test_split``."""
    if not 0 <= test_split < 1:
        raise ValueError(f"california_housing.load_data: `test_split` must be in [0, 1). "
                         f"Received: test_split={test_split!r}")
    if version not in ("small", "large"):
        raise ValueError(f"california_housing.load_data: `version` must be 'small' or 'large'. "
                         f"Received: version={version!r}")
    local = cache.fetch("california_housing", path, cache.KERAS_ORIGIN + "california_housing.npz",
                        "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f")
    with np.load(local, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    return cache.split(x, y, test_split, seed)
