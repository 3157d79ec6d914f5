"""MNIST digits: 60,000 + 10,000 grayscale 28x28 images, read from Keras's ``mnist.npz``."""

import numpy as np

from kshim.datasets import cache


def load_data(path="mnist.npz"):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and uint8 labels (N,)."""
    local = cache.fetch("mnist", path, cache.KERAS_ORIGIN + "mnist.npz",
                        "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")
    with np.load(local, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
