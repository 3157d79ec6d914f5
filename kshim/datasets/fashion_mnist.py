"""Fashion-MNIST: 60,000 + 10,000 grayscale 28x28 images of clothing, read from Keras's four gzipped idx files in
``datasets/fashion-mnist``."""

import gzip
import os

import numpy as np

from kshim.datasets import cache

_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz")


def _read(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=header)


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and uint8 labels (N,)."""
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [cache.fetch("fashion_mnist", name, cache.KERAS_ORIGIN + name, cache_subdir=subdir)
             for name in _FILES]
    y_train, y_test = _read(paths[0], 8), _read(paths[2], 8)
    x_train = _read(paths[1], 16).reshape(len(y_train), 28, 28)
    x_test = _read(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
