"""`text_dataset_from_directory`: a `PyDataset` of (texts, labels) batches read from a folder of ``.txt`` files."""

import numpy as np

from kshim.utils import dataset_utils


def _read(path, max_length):
    with open(path, "rb") as f:
        raw = f.read()
    if max_length is not None:
        raw = raw[:max_length]
    return raw.decode("utf-8", errors="replace")


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, format=None, verbose=True):
    """Texts from the ``.txt`` files of ``directory``, as Keras's function of the same name.

    Labels come from the sub-directories (``labels="inferred"``), a list, or nothing (None); ``label_mode`` is
    "int", "categorical", "binary" or None. ``max_length`` keeps the first bytes of each file. The texts of a batch
    are a numpy array of ``str`` (Keras: a string tensor), ready for `TextVectorization`. Shuffling, validation
    subsets, ``class_names`` and ``file_paths`` work as in `image_dataset_from_directory`.
    """
    dataset_utils.check_labels_args(labels, label_mode, class_names, "text")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                   or max_length <= 0):
        raise ValueError(f"`max_length` must be None or a positive integer. Received: max_length={max_length!r}")
    def read_batch(file_paths):
        return np.array([_read(path, max_length) for path in file_paths], dtype=object)

    return dataset_utils.files_dataset(directory, labels, label_mode, class_names, (".txt",), read_batch,
                                       batch_size, shuffle, seed, validation_split, subset, follow_links, verbose)
