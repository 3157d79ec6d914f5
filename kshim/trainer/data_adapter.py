"""Turning what users pass to ``fit``/``evaluate``/``predict`` into batches of ``(x, y, sample_weight)``.

Accepted: numpy arrays (or lists/dicts of them), backend tensors, Python lists, Python generators and other
iterables of batches (a torch ``DataLoader`` included), and `kshim.utils.PyDataset` / ``Sequence``. Batches are
numpy on the host until the loop moves them to the backend; shuffling is a host permutation from kshim's seed.
"""

import collections
import concurrent.futures
import inspect
import itertools
import math
import warnings

import numpy as np

from kshim import config, ops
from kshim import random as krandom
from kshim.common.py_dataset import PyDataset


def _to_numpy(x):
    if x is None or isinstance(x, np.ndarray):
        return x
    if isinstance(x, dict):
        return {k: _to_numpy(v) for k, v in x.items()}
    if _is_structure(x):  # one array per input or output (None: no target for that output)
        return [_to_numpy(v) for v in x]
    if ops.is_tensor(x) or getattr(x, "_kshim_variable", False):
        return ops.convert_to_numpy(x)
    return np.asarray(x)


def check_numeric(name, value):
    """Arrays of strings or Python objects cannot go through a step: say so here, not deep in the backend."""
    if isinstance(value, dict):
        for k, v in value.items():
            check_numeric(f"{name}[{k!r}]", v)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_numeric(f"{name}[{i}]", v)
    elif isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
        raise ValueError(f"`{name}` must hold numbers (bool, integer or float). Received: an array of dtype "
                         f"{value.dtype} and shape {value.shape}. Map strings to numbers first (e.g. with a "
                         "StringLookup layer or TextVectorization).")


def _check_sample_weight_shape(sample_weight, y):
    """A sample weight is one number per sample, (N,), or one per target element: a prefix of ``y``'s shape."""
    if not (isinstance(sample_weight, np.ndarray) and isinstance(y, np.ndarray)) or sample_weight.ndim < 2:
        return
    if sample_weight.ndim > y.ndim or sample_weight.shape[1:] != y.shape[1:sample_weight.ndim]:
        raise ValueError("`sample_weight` must have shape (num_samples,) or match the leading axes of `y`. "
                         f"Received: sample_weight.shape={sample_weight.shape}, y.shape={y.shape}")


def _is_number_list(x):
    return all(isinstance(v, (int, float, bool, np.number)) for v in x)


def _is_structure(x):
    """A list/tuple with one entry per input or output: arrays, tensors, dicts or None (no target), and Python
    lists beside them. A plain Python list (of numbers or of lists) is one array."""
    def is_array(v):
        return isinstance(v, (np.ndarray, dict)) or ops.is_tensor(v) or getattr(v, "_kshim_variable", False)

    return isinstance(x, (list, tuple)) and any(is_array(v) for v in x) and all(
        v is None or is_array(v) or isinstance(v, (list, tuple)) for v in x)


def _is_array_like(x):
    return isinstance(x, (np.ndarray, list, tuple)) or ops.is_tensor(x) or hasattr(x, "__array__")


def _flat(x):
    if x is None:
        return []
    if isinstance(x, dict):
        return [v for v in x.values() if v is not None]
    if isinstance(x, list):
        return [v for v in x if v is not None]
    return [x]


def _take(x, idx):
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: _take(v, idx) for k, v in x.items()}
    if isinstance(x, list):
        return [_take(v, idx) for v in x]
    return x[idx]


def _length(name, x):
    lengths = {int(np.shape(v)[0]) for v in _flat(x) if np.ndim(v) > 0}
    if len(lengths) > 1:
        items = x.items() if isinstance(x, dict) else enumerate(x)
        per_entry = {k: int(np.shape(v)[0]) for k, v in items if v is not None and np.ndim(v) > 0}
        raise ValueError(f"All arrays in `{name}` must have the same number of samples. "
                         f"Received lengths: {sorted(lengths)} ({name} entries: {per_entry})")
    return lengths.pop() if lengths else None


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights from a ``{class_index: weight}`` dict (labels as integers or one-hot rows)."""
    if not isinstance(class_weight, dict):
        raise ValueError(f"`class_weight` must be a dict mapping class indices to weights. "
                         f"Received: class_weight={class_weight!r}")
    if isinstance(y, dict) or (isinstance(y, (list, tuple)) and _is_structure(y)):
        targets = [v for v in (y.values() if isinstance(y, dict) else y) if v is not None]
        if len(targets) != 1:
            raise ValueError("`class_weight` is only supported for models with a single output; this `y` has "
                             f"{len(targets)} targets. Pass per-output `sample_weight` instead (a list, or a "
                             "dict keyed by output name).")
        y = targets[0]
    y = _to_numpy(y)
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else np.round(y.reshape(len(y), -1)[:, 0])
    labels = labels.astype(np.int64)
    weights = np.array([class_weight.get(int(c), 1.0) for c in labels], dtype=np.float32)
    return weights


def is_generator_like(x):
    return inspect.isgenerator(x) or (hasattr(x, "__iter__") and not _is_array_like(x) and not isinstance(x, dict)
                                      and not hasattr(x, "__getitem__")) or hasattr(x, "__next__")


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and 1 <= len(batch) <= 3 and not (
            isinstance(batch, list) and _is_number_list(batch)):
        parts = list(batch) + [None] * (3 - len(batch))
        return parts[0], parts[1], parts[2]
    return batch, None, None


class ArrayAdapter:
    """Batches of in-memory arrays, optionally shuffled each epoch."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None,
                 class_weight=None):
        self.x, self.y, self.sample_weight = _to_numpy(x), _to_numpy(y), _to_numpy(sample_weight)
        for name, value in (("x", self.x), ("y", self.y), ("sample_weight", self.sample_weight)):
            check_numeric(name, value)
        _check_sample_weight_shape(self.sample_weight, self.y)
        nx, ny = _length("x", self.x), _length("y", self.y)
        if ny is not None and nx is not None and nx != ny:
            raise ValueError(f"`x` and `y` must have the same number of samples. Received: x has {nx} samples, "
                             f"y has {ny} samples.")
        if self.sample_weight is not None:
            ns = _length("sample_weight", self.sample_weight)
            if ns != nx:
                raise ValueError(f"`sample_weight` must have one weight per sample. Received: {ns} weights for "
                                 f"{nx} samples.")
        if class_weight is not None:
            if self.y is None:
                raise ValueError("`class_weight` needs targets `y`. Received: y=None")
            cw = class_weight_to_sample_weight(self.y, class_weight)
            self.sample_weight = cw if self.sample_weight is None else self.sample_weight * cw
        self.num_samples = nx
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.steps = steps
        self._iterator = None

    def num_batches(self):
        n = math.ceil(self.num_samples / self.batch_size)
        return min(n, self.steps) if self.steps is not None else n

    def _one_pass(self):
        n, bs = self.num_samples, self.batch_size
        order = krandom.host_rng().permutation(n) if self.shuffle else None
        for i in range(math.ceil(n / bs)):
            sl = slice(i * bs, min((i + 1) * bs, n))
            idx = order[sl] if order is not None else sl
            if order is not None and self.shuffle == "batch":
                idx = np.sort(idx)
            yield _take(self.x, idx), _take(self.y, idx), _take(self.sample_weight, idx)

    def epoch(self):
        """One epoch of batches. With ``steps``, epochs walk on through the data as Keras does: the next epoch
        starts where the last one stopped, and a new (reshuffled) pass starts once the data is used up."""
        if self.steps is None:
            yield from self._one_pass()
            return
        if self._iterator is None:
            self._iterator = self._one_pass()
        for i in range(self.steps):
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                if i < self.steps:
                    warnings.warn(f"The data ran out after {i} of steps_per_epoch={self.steps} batches in this "
                                  "epoch; the next epoch starts a new pass over the data.", stacklevel=3)
                return
            yield batch

    def rewind(self):
        """Start the next epoch from the first batch (a fresh, reshuffled pass), as Keras 3 resets the validation
        data before each evaluation inside ``fit``."""
        self._iterator = None

    def on_epoch_end(self):
        pass


class DatasetAdapter:
    """Batches from a `PyDataset`/``Sequence`` (indexable, with ``__len__``)."""

    def __init__(self, dataset, steps=None, class_weight=None, shuffle=False):
        self.dataset, self.steps, self.class_weight = dataset, steps, class_weight
        self.shuffle = bool(shuffle) and shuffle != "batch"

    def num_batches(self):
        n = len(self.dataset)
        return min(n, self.steps) if self.steps is not None else n

    def _batch(self, i):
        x, y, sw = _split_batch(self.dataset[i])
        return _with_class_weight(x, y, sw, self.class_weight)

    def epoch(self):
        n = self.num_batches()
        workers = getattr(self.dataset, "workers", 1)
        if workers <= 1 or n <= 1:
            for i in range(n):
                yield self._batch(i)
            return
        # ``workers`` threads fetch up to ``max_queue_size`` batches ahead while the step runs (numpy work and
        # most framework kernels release the GIL); batches come out in index order, as without workers
        ahead = max(1, getattr(self.dataset, "max_queue_size", 10))
        pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="kshim-pydataset")
        pending = collections.deque()
        try:
            for i in range(n):
                pending.append(pool.submit(self._batch, i))
                if len(pending) > ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
            pool.shutdown(wait=True)

    def rewind(self):
        pass  # every epoch starts at index 0

    def on_epoch_end(self):
        hook = getattr(self.dataset, "on_epoch_end", None)
        if hook is not None:
            hook()


class IteratorAdapter:
    """Batches from a generator or any iterable of batches (a torch DataLoader included).

    Re-iterable objects (with ``__iter__`` but not a generator) are re-iterated every epoch; a one-shot generator
    is consumed across epochs, ``steps`` batches at a time."""

    def __init__(self, data, steps=None, class_weight=None):
        self.data, self.steps, self.class_weight = data, steps, class_weight
        self.reiterable = not (inspect.isgenerator(data) or hasattr(data, "__next__"))
        self._iterator = None if self.reiterable else iter(data)
        self.exhausted = False

    def num_batches(self):
        if self.steps is not None:
            return self.steps
        try:
            return len(self.data)
        except TypeError:
            return None

    def epoch(self):
        it = iter(self.data) if self.reiterable else self._iterator
        source = itertools.islice(it, self.steps) if self.steps is not None else it
        count = 0
        for batch in source:
            count += 1
            x, y, sw = _split_batch(batch)
            yield _with_class_weight(_to_numpy(x), _to_numpy(y), _to_numpy(sw), self.class_weight)
        if self.steps is not None and count < self.steps:
            self.exhausted = True
        if count == 0:
            self.exhausted = True

    def rewind(self):
        pass  # a re-iterable source restarts every epoch; a one-shot generator cannot

    def on_epoch_end(self):
        pass


def _with_class_weight(x, y, sw, class_weight):
    if class_weight is None:
        return x, y, sw
    cw = class_weight_to_sample_weight(_to_numpy(y), class_weight)
    return x, y, cw if sw is None else np.asarray(sw) * cw


def get_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False, class_weight=None,
                where="fit"):
    """The adapter for what the user passed."""
    if x is None:
        raise ValueError(f"{where}: `x` is required. Received: x=None")
    cap = config.max_steps_per_epoch()
    if cap and (not steps or cap < steps):  # Keras 3's debugging cap (kshim.config.set_max_steps_per_epoch)
        warnings.warn(f"Limiting steps_per_epoch to {cap}", stacklevel=3)
        steps = cap
    if isinstance(x, PyDataset) or (hasattr(x, "__getitem__") and hasattr(x, "__len__") and
                                    hasattr(x, "on_epoch_end") and not _is_array_like(x)):
        _no_targets_with_dataset(where, "PyDataset", y, sample_weight)
        return DatasetAdapter(x, steps=steps, class_weight=class_weight, shuffle=shuffle)
    if is_generator_like(x):
        _no_targets_with_dataset(where, type(x).__name__, y, sample_weight)
        return IteratorAdapter(x, steps=steps, class_weight=class_weight)
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size <= 0):
        raise ValueError(f"{where}: `batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    return ArrayAdapter(x, y, sample_weight, batch_size=batch_size or 32, shuffle=shuffle, steps=steps,
                        class_weight=class_weight)


def _no_targets_with_dataset(where, kind, y, sample_weight):
    if y is not None or sample_weight is not None:
        raise ValueError(f"{where}: when `x` is a {kind}, it must yield the targets itself; do not pass `y` or "
                         f"`sample_weight`. Received: y={'given' if y is not None else None}")


def train_validation_split(x, y, sample_weight, validation_split):
    """Keras's ``validation_split``: the last fraction of the samples (taken before any shuffling)."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float, np.integer, np.floating)):
        raise TypeError("fit: `validation_split` must be a float in (0, 1). Received: "
                        f"validation_split={validation_split!r} of type {type(validation_split).__name__}")
    if not 0 < validation_split < 1:
        raise ValueError(f"fit: `validation_split` must be in (0, 1). Received: validation_split={validation_split}")
    x, y, sample_weight = _to_numpy(x), _to_numpy(y), _to_numpy(sample_weight)
    n = _length("x", x)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"fit: validation_split={validation_split} leaves no samples on one side of the split "
                         f"({n} samples).")
    train = tuple(_take(a, slice(0, split_at)) for a in (x, y, sample_weight))
    val = tuple(_take(a, slice(split_at, n)) for a in (x, y, sample_weight))
    return train, val


def unpack_validation_data(validation_data):
    if isinstance(validation_data, (tuple, list)) and not is_generator_like(validation_data):
        if len(validation_data) not in (2, 3):
            raise ValueError("fit: `validation_data` must be a tuple `(x_val, y_val)` or `(x_val, y_val, "
                             "val_sample_weight)`, or a dataset/generator yielding `(x, y)` batches. Received: a "
                             f"{type(validation_data).__name__} of {len(validation_data)} element(s)")
        parts = list(validation_data) + [None]
        return parts[0], parts[1], parts[2]
    return validation_data, None, None
