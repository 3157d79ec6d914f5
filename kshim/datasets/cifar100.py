"""CIFAR-100: 50,000 + 10,000 colour 32x32 images in 100 fine (20 coarse) classes, read from Keras's extracted
``cifar-100-python.tar.gz`` (``datasets/cifar-100-python-target/cifar-100-python``)."""

import os

import numpy as np

from kshim.datasets import cache, cifar


def load_data(label_mode="fine"):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 32, 32, 3) under channels_last and int64 labels
    (N, 1), fine or coarse by ``label_mode``."""
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100.load_data: `label_mode` must be 'fine' or 'coarse'. "
                         f"Received: label_mode={label_mode!r}")
    folder = cache.fetch("cifar100", "cifar-100-python-target",
                         "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                         "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7", extract=True)
    folder = os.path.join(folder, "cifar-100-python")
    out = []
    for part in ("train", "test"):
        x, y = cifar.load_batch(os.path.join(folder, part), label_key=f"{label_mode}_labels")
        out.append((cifar.to_layout(x), np.reshape(y, (len(y), 1))))
    return tuple(out)
