"""Reading a CIFAR batch file (a pickled dict of bytes keys) through the restricted unpickler, and the layout
change shared by cifar10 and cifar100."""

import numpy as np

from kshim import config
from kshim.datasets import cache


def load_batch(fpath, label_key="labels"):
    """``(data, labels)`` of one batch: uint8 data (N, 3, 32, 32) and the labels as stored (a list)."""
    with open(fpath, "rb") as f:
        d = cache.RestrictedUnpickler(f, encoding="bytes").load()
    d = {(k.decode("utf8") if isinstance(k, bytes) else k): v for k, v in d.items()}
    data = d["data"]
    return data.reshape(data.shape[0], 3, 32, 32), d[label_key]


def to_layout(x):
    """(N, 3, 32, 32) -> (N, 32, 32, 3) under channels_last, as Keras returns it."""
    return x.transpose(0, 2, 3, 1) if config.image_data_format() == "channels_last" else x
