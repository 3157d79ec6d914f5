"""`PyDataset` (Keras 2: ``Sequence``): a dataset of batches, indexed by batch number."""

import warnings


class PyDataset:
    """Subclass and implement ``__len__`` (the number of batches) and ``__getitem__(index)`` returning a batch
    ``(x, y)`` or ``(x, y, sample_weight)``. ``on_epoch_end`` runs after each epoch.

    With ``workers`` > 1, ``fit``/``evaluate``/``predict`` fetch batches in that many threads, up to
    ``max_queue_size`` ahead of the step, and use them in index order (the same batches in the same order as with
    one worker: ``__getitem__`` must depend only on its index, as in Keras). ``use_multiprocessing`` is accepted
    for compatibility; the workers are threads.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PyDataset: `{name}` must be a positive integer. Received: {name}={value!r}")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError("PyDataset subclasses must implement `__getitem__(index)`.")

    def __len__(self):
        raise NotImplementedError("PyDataset subclasses must implement `__len__()`.")

    def on_epoch_end(self):
        pass

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


class Sequence(PyDataset):
    """The Keras 2 name of `PyDataset`."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        warnings.warn("`Sequence` is the Keras 2 name; subclass `kshim.utils.PyDataset` instead.",
                      DeprecationWarning, stacklevel=2)
