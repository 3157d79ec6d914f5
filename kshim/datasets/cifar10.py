"""CIFAR-10: 50,000 + 10,000 colour 32x32 images in 10 classes, read from Keras's extracted
``cifar-10-python.tar.gz`` (``datasets/cifar-10-batches-py-target/cifar-10-batches-py``)."""

import os

import numpy as np

from kshim.datasets import cache, cifar


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 32, 32, 3) under channels_last (else
    (N, 3, 32, 32)) and uint8 labels (N, 1)."""
    folder = cache.fetch("cifar10", "cifar-10-batches-py-target",
                         "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                         "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce", extract=True)
    folder = os.path.join(folder, "cifar-10-batches-py")
    xs, ys = [], []
    for i in range(1, 6):
        x, y = cifar.load_batch(os.path.join(folder, f"data_batch_{i}"))
        xs.append(np.asarray(x, dtype="uint8"))
        ys.append(np.asarray(y, dtype="uint8"))
    x_test, y_test = cifar.load_batch(os.path.join(folder, "test_batch"))
    x_train, y_train = np.concatenate(xs), np.concatenate(ys).reshape(-1, 1)
    y_test = np.asarray(y_test, dtype="uint8").reshape(-1, 1)
    return ((cifar.to_layout(x_train), y_train),
            (cifar.to_layout(np.asarray(x_test, dtype="uint8")), y_test))
