"""Boston housing prices: 506 samples of 13 features and the median value, read from Keras's
``boston_housing.npz``."""

from kshim.datasets import cache


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: float64 features (N, 13) and targets (N,), shuffled with
    ``seed`` and split by ``test_split``."""
    cache.check_test_split("boston_housing.load_data", test_split)
    x, y = cache.load_xy("boston_housing", path, "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5")
    return cache.split(x, y, test_split, seed)
