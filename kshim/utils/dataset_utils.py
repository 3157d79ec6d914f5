"""Dataset helpers: `split_dataset`, the `IndexedDataset` batches that the ``*_dataset_from_*`` functions return,
and the directory indexing they share.

Every dataset kshim builds is a `PyDataset` of numpy batches: ``fit`` accepts it as is, ``len()`` is the number of
batches, iterating yields the batches, and ``on_epoch_end`` reshuffles (when asked to) with a host generator seeded
from ``seed``, so a seeded pipeline yields the same batches on jax and torch.
"""

import math
import os

import numpy as np

from kshim import random as krandom
from kshim.common.py_dataset import PyDataset


class IndexedDataset(PyDataset):
    """Batches of ``load(indices)`` over ``num_samples`` samples: ``batch_size`` per batch (None: one sample per
    item, unbatched), in a seeded random order that changes every epoch when ``shuffle``."""

    def __init__(self, num_samples, load, batch_size=32, shuffle=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_samples = int(num_samples)
        self._load = load
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else krandom.host_rng()
        self._order = self._rng.permutation(self.num_samples) if self.shuffle else np.arange(self.num_samples)

    def __len__(self):
        if self.batch_size is None:
            return self.num_samples
        return math.ceil(self.num_samples / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"{type(self).__name__}: batch index {index} is out of range for {len(self)} batches.")
        if self.batch_size is None:
            batch = self._load(self._order[index:index + 1])
            return _unbatch(batch)
        return self._load(self._order[index * self.batch_size:(index + 1) * self.batch_size])

    def on_epoch_end(self):
        if self.shuffle:
            self._order = self._rng.permutation(self.num_samples)

    def map(self, fn):
        """A dataset of ``fn(*batch)`` (``fn(batch)`` for single-array batches), like ``tf.data``'s ``map``:
        e.g. ``texts.map(lambda x, y: (vectorize(x), y))``."""
        return MappedDataset(self, fn)


class MappedDataset(PyDataset):
    """``fn`` applied to every batch of another PyDataset (epoch ends are passed on)."""

    def __init__(self, dataset, fn):
        super().__init__()
        self.dataset, self.fn = dataset, fn
        self.class_names = getattr(dataset, "class_names", None)
        self.file_paths = getattr(dataset, "file_paths", None)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        batch = self.dataset[index]
        return self.fn(*batch) if isinstance(batch, tuple) else self.fn(batch)

    def on_epoch_end(self):
        self.dataset.on_epoch_end()

    def map(self, fn):
        return MappedDataset(self, fn)


class _BatchSubset(PyDataset):
    """Some of the batches of another PyDataset."""

    def __init__(self, dataset, indices):
        super().__init__()
        self.dataset, self.indices = dataset, [int(i) for i in indices]

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]


def _unbatch(batch):
    if isinstance(batch, tuple):
        return tuple(_unbatch(b) for b in batch)
    return batch[0]


# ----------------------------------------------------------------------------------------------------------------
# split_dataset


def _split_sizes(left_size, right_size, total):
    """Keras's rules: a float is a fraction (rounded), an int a count, None the complement."""
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, float))):
            raise TypeError(f"split_dataset: `{name}` must be an int, a float or None. Received: "
                            f"{name}={size!r} ({type(size).__name__})")
        if isinstance(size, int) and not 0 < size < total or isinstance(size, float) and not 0 < size < 1:
            raise ValueError(f"split_dataset: `{name}` must be a positive integer smaller than {total} or a float "
                             f"in (0, 1). Received: {name}={size!r}")
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: give `left_size`, `right_size` or both. Received: left_size=None and "
                         "right_size=None")
    if isinstance(left_size, float) and isinstance(right_size, float) and left_size + right_size > 1:
        raise ValueError(f"split_dataset: left_size + right_size must be at most 1. Received: "
                         f"{left_size} + {right_size}")
    left = round(left_size * total) if isinstance(left_size, float) else left_size
    right = round(right_size * total) if isinstance(right_size, float) else right_size
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"split_dataset: left_size + right_size ({left + right}) is larger than the dataset "
                         f"({total} samples).")
    if left == 0 or right == 0:
        raise ValueError(f"split_dataset: with {total} samples, left_size={left_size} and right_size={right_size} "
                         "leave one side empty.")
    return int(left), int(right)


def _take(data, idx):
    if isinstance(data, dict):
        return {k: v[idx] for k, v in data.items()}
    if isinstance(data, (tuple, list)):
        return type(data)(np.asarray(v)[idx] for v in data)
    return np.asarray(data)[idx]


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None, preferred_backend=None):
    """Split ``dataset`` into a left and a right part (e.g. train and test).

    ``dataset`` is an array, a tuple/list of arrays with the same length (e.g. ``(x, y)``) or a dict of them; the
    parts have the same structure. A `PyDataset` is split by whole batches into two `PyDataset`s. Sizes are a
    fraction (float in (0, 1), rounded) or a count (int); None takes the rest. With ``shuffle`` the samples are
    permuted first with a host generator seeded by ``seed``. The right part is taken from the end.
    """
    if isinstance(dataset, PyDataset):
        total = len(dataset)
        left, right = _split_sizes(left_size, right_size, total)
        order = np.random.default_rng(seed).permutation(total) if shuffle else np.arange(total)
        return _BatchSubset(dataset, order[:left]), _BatchSubset(dataset, order[total - right:])
    if isinstance(dataset, dict):
        lengths = {len(v) for v in dataset.values()}
    elif isinstance(dataset, (tuple, list)) and dataset and all(hasattr(v, "__len__") and np.ndim(v) > 0
                                                                for v in dataset):
        lengths = {len(v) for v in dataset}
    elif hasattr(dataset, "__len__"):
        lengths = {len(dataset)}
    else:
        raise TypeError(f"split_dataset: `dataset` must be an array, a tuple/list/dict of arrays or a PyDataset. "
                        f"Received: {type(dataset).__name__}")
    if len(lengths) != 1:
        raise ValueError(f"split_dataset: all arrays must have the same length. Received lengths {sorted(lengths)}")
    total = lengths.pop()
    left, right = _split_sizes(left_size, right_size, total)
    rng = np.random.default_rng(seed) if seed is not None else krandom.host_rng()
    order = rng.permutation(total) if shuffle else np.arange(total)
    return _take(dataset, order[:left]), _take(dataset, order[total - right:])


# ----------------------------------------------------------------------------------------------------------------
# Directories of files, for image_dataset_from_directory and text_dataset_from_directory


def check_validation_split_arg(validation_split, subset, shuffle, seed):
    if validation_split is not None and not (isinstance(validation_split, (int, float))
                                             and 0 < validation_split < 1) and validation_split != 0:
        raise ValueError(f"`validation_split` must be in (0, 1). Received: validation_split={validation_split!r}")
    if bool(validation_split) != bool(subset):
        raise ValueError(f"Set both `subset` and `validation_split`, or neither. Received: subset={subset!r}, "
                         f"validation_split={validation_split!r}")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f"`subset` must be 'training', 'validation', 'both' or None. Received: subset={subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("With `validation_split` and shuffling, give a `seed` so that the training and validation "
                         "subsets do not overlap.")


def _walk(directory, follow_links, formats):
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda t: t[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield os.path.join(root, name)


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None, follow_links=False,
                    verbose=True):
    """``(file_paths, labels, class_names)`` for the files of ``directory`` with an allowed extension.

    ``labels="inferred"``: one class per sub-directory (sorted by name, or in ``class_names`` order), label = its
    index. A list: explicit labels, one per file in sorted path order. None: no labels. With ``shuffle`` the files
    are permuted with a host generator seeded by ``seed`` (labels follow); otherwise they stay sorted.
    """
    if not os.path.isdir(directory):
        raise ValueError(f"The directory {directory!r} does not exist or is not a directory.")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(f"`class_names` must name sub-directories of {directory!r}. Expected names among "
                                 f"{subdirs}. Received: class_names={list(class_names)}")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            raise ValueError("`class_names` can only be given with labels='inferred'. Received: "
                             f"labels={'None' if labels is None else 'a list'}, class_names={list(class_names)}")
        subdirs = [""]
    paths, file_labels = [], []
    for label, sub in enumerate(subdirs):
        found = list(_walk(os.path.join(directory, sub), follow_links, formats))
        paths += found
        file_labels += [label] * len(found)
    if labels == "inferred":
        labels_arr = np.asarray(file_labels, dtype="int32")
        names = list(subdirs)
    elif labels is None:
        labels_arr, names = None, None
    else:
        if len(labels) != len(paths):
            raise ValueError(f"`labels` must have one label per file: {len(labels)} labels for {len(paths)} files "
                             f"found in {directory!r}.")
        labels_arr = np.asarray(labels)
        names = [str(v) for v in sorted(set(np.asarray(labels).tolist()))]
    if verbose:
        suffix = "" if labels_arr is None else f" belonging to {len(names)} classes"
        print(f"Found {len(paths)} files{suffix}.")
    if shuffle and paths:
        order = (np.random.default_rng(seed) if seed is not None else krandom.host_rng()).permutation(len(paths))
        paths = [paths[i] for i in order]
        if labels_arr is not None:
            labels_arr = labels_arr[order]
    return paths, labels_arr, names


def training_or_validation(samples, labels, validation_split, subset, verbose=True):
    """The last ``validation_split`` fraction of the samples for "validation", the rest for "training"."""
    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    if subset == "training":
        if verbose:
            print(f"Using {len(samples) - num_val} files for training.")
        cut = slice(0, len(samples) - num_val)
    else:
        if verbose:
            print(f"Using {num_val} files for validation.")
        cut = slice(len(samples) - num_val, len(samples))
    return samples[cut], (None if labels is None else labels[cut])


def encode_labels(labels, label_mode, num_classes):
    """int labels as Keras's ``label_mode``: "int" (int32), "binary" (float32, shape (n, 1)), "categorical"."""
    labels = np.asarray(labels)
    if label_mode == "binary":
        return labels.astype("float32").reshape(-1, 1)
    if label_mode == "categorical":
        out = np.zeros((len(labels), num_classes), dtype="float32")
        out[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
        return out
    return labels.astype("int32")


def check_labels_args(labels, label_mode, class_names, what):
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError(f"`labels` must be 'inferred', None, or a list of integer labels, one per {what} file. "
                         f"Received: labels={labels!r}")
    if labels not in ("inferred", None) and class_names:
        raise ValueError(f"`class_names` can only be given with labels='inferred'. Received: "
                         f"class_names={class_names}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"`label_mode` must be 'int', 'categorical', 'binary' or None. Received: "
                         f"label_mode={label_mode!r}")


def make_subsets(paths, labels, class_names, validation_split, subset, shuffle, seed, batch_size, build,
                 verbose=True):
    """The dataset (or the (training, validation) pair for subset="both") built by ``build(paths, labels,
    shuffle)``; each gets ``class_names`` and ``file_paths`` attributes."""
    def one(which, shuffle_it):
        p, lab = training_or_validation(paths, labels, validation_split, which, verbose)
        if not p:
            raise ValueError(f"No files found for the {which or 'whole'} dataset. Check the directory and the "
                             "allowed file extensions.")
        ds = build(p, lab, shuffle_it)
        ds.class_names = class_names
        ds.file_paths = list(p)
        return ds

    if subset == "both":
        return one("training", shuffle), one("validation", False)
    return one(subset, shuffle)


def files_dataset(directory, labels, label_mode, class_names, formats, read_batch, batch_size, shuffle, seed,
                  validation_split, subset, follow_links, verbose):
    """What `image_dataset_from_directory` and `text_dataset_from_directory` share once their own arguments are
    checked: index the files of ``directory`` with extensions ``formats``, split them, and batch
    ``read_batch(file_paths)`` with the encoded labels (just the batch when ``label_mode`` is None)."""
    check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = krandom.make_seed()
    paths, label_values, names = index_directory(directory, labels, formats, class_names=class_names,
                                                 shuffle=shuffle, seed=seed, follow_links=follow_links,
                                                 verbose=verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"label_mode='binary' needs exactly 2 classes. Received: class_names={names}")
    num_classes = len(names) if names else 0

    def build(file_paths, file_labels, shuffle_batches):
        def load(idx):
            batch = read_batch([file_paths[i] for i in idx])
            if label_mode is None:
                return batch
            return batch, encode_labels(np.asarray(file_labels)[idx], label_mode, num_classes)

        return IndexedDataset(len(file_paths), load, batch_size=batch_size, shuffle=shuffle_batches, seed=seed)

    return make_subsets(paths, label_values, names, validation_split, subset, shuffle, seed, batch_size, build,
                        verbose)
