"""Label and array helpers: `to_categorical`, `normalize`."""

import numpy as np


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels: shape (..., ) or (..., 1) becomes (..., num_classes)."""
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError("to_categorical: `x` must hold integer class labels. Received non-integer values.")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"to_categorical: `x` must hold integer class labels. Received dtype {arr.dtype}.")
    if arr.ndim > 1 and arr.shape[-1] == 1:
        arr = arr.reshape(arr.shape[:-1])
    if arr.size and arr.min() < 0:
        raise ValueError(f"to_categorical: labels must be non-negative. Received a label {int(arr.min())}.")
    if num_classes is None:
        num_classes = int(arr.max()) + 1 if arr.size else 0
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes <= 0:
        raise ValueError(f"to_categorical: `num_classes` must be a positive integer. "
                         f"Received: num_classes={num_classes!r}")
    if arr.size and arr.max() >= num_classes:
        raise ValueError(f"to_categorical: every label must be < num_classes={num_classes}. "
                         f"Received a label {int(arr.max())}.")
    out = np.zeros(arr.shape + (int(num_classes),), dtype="float32")
    np.put_along_axis(out, arr[..., None].astype(np.int64), 1.0, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero vectors stay zero)."""
    arr = np.asarray(x, dtype="float32") if not np.issubdtype(np.asarray(x).dtype, np.floating) else np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis))
    norm[norm == 0] = 1
    return arr / np.expand_dims(norm, axis)
