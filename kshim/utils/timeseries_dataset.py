"""`timeseries_dataset_from_array`: batches of sliding windows over a time series, as a `PyDataset`."""

import numpy as np

from kshim.utils.dataset_utils import IndexedDataset


def _check_int(name, value, low, inclusive=True):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
            value < low if inclusive else value <= low):
        bound = f">= {low}" if inclusive else f"> {low}"
        raise ValueError(f"timeseries_dataset_from_array: `{name}` must be an integer {bound}. Received: "
                         f"{name}={value!r}")
    return int(value)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None,
                                  format=None):
    """Windows ``data[i], data[i + r], ..., data[i + (sequence_length - 1) * r]`` (``r = sampling_rate``) for
    ``i = start_index, start_index + sequence_stride, ...`` while the window ends before ``end_index``; the target
    of the window starting at ``i`` is ``targets[i]``. Returns a `PyDataset` of ``(x, y)`` batches (``x`` only when
    ``targets`` is None), shape (batch, sequence_length, ...); ``batch_size=None`` yields single windows. With
    ``shuffle`` the windows come in a seeded random order, different every epoch. ``format`` is accepted for
    Keras compatibility and ignored (kshim always returns a PyDataset).
    """
    data = np.asarray(data)
    n = len(data)
    sequence_length = _check_int("sequence_length", sequence_length, 0, inclusive=False)
    sequence_stride = _check_int("sequence_stride", sequence_stride, 0, inclusive=False)
    sampling_rate = _check_int("sampling_rate", sampling_rate, 0, inclusive=False)
    if sampling_rate >= n:
        raise ValueError(f"timeseries_dataset_from_array: `sampling_rate` must be smaller than the length of the "
                         f"data ({n}). Received: sampling_rate={sampling_rate}")
    if sequence_stride >= n:
        raise ValueError(f"timeseries_dataset_from_array: `sequence_stride` must be smaller than the length of the "
                         f"data ({n}). Received: sequence_stride={sequence_stride}")
    start = 0 if start_index is None else _check_int("start_index", start_index, 0)
    if start >= n:
        raise ValueError(f"timeseries_dataset_from_array: `start_index` must be smaller than the length of the data "
                         f"({n}). Received: start_index={start}")
    end = n if end_index is None else _check_int("end_index", end_index, 0, inclusive=False)
    if end <= start or end > n:
        raise ValueError(f"timeseries_dataset_from_array: `end_index` must be in ({start}, {n}]. Received: "
                         f"end_index={end}")
    if batch_size is not None:
        _check_int("batch_size", batch_size, 0, inclusive=False)
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        num_seqs = min(num_seqs, len(targets) - start)
    positions = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64) + start
    offsets = np.arange(sequence_length, dtype=np.int64) * sampling_rate

    def load(idx):
        pos = positions[idx]
        x = data[pos[:, None] + offsets[None, :]]
        return x if targets is None else (x, targets[pos])

    ds = IndexedDataset(len(positions), load, batch_size=batch_size, shuffle=shuffle, seed=seed)
    ds.start_positions = positions
    return ds
