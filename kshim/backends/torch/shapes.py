"""PyTorch backend: shapes and indexing (reshape, joins and splits, gathers and scatters, padding)."""

import numpy as np
import torch

from kshim.backends.torch.core import _torch_dtype, _as_tensor


def _axis(a, ndim):
    return a + ndim if a < 0 else a


def reshape(x, newshape):
    return torch.reshape(_as_tensor(x), (newshape,) if isinstance(newshape, int) else tuple(newshape))


def transpose(x, axes=None):
    x = _as_tensor(x)
    if axes is None:
        return x.permute(tuple(range(x.ndim - 1, -1, -1)))
    return x.permute(tuple(axes))


def expand_dims(x, axis):
    x = _as_tensor(x)
    if isinstance(axis, int):
        return torch.unsqueeze(x, axis)
    out_ndim = x.ndim + len(axis)
    for a in sorted(_axis(a, out_ndim) for a in axis):
        x = torch.unsqueeze(x, a)
    return x


def squeeze(x, axis=None):
    x = _as_tensor(x)
    if axis is None:
        return torch.squeeze(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: cannot squeeze axis {a} of size {x.shape[a]}. Received: shape={tuple(x.shape)}")
    return torch.squeeze(x, axes)


def concatenate(xs, axis=0):
    return torch.cat([_as_tensor(x) for x in xs], dim=axis)


def stack(xs, axis=0):
    return torch.stack([_as_tensor(x) for x in xs], dim=axis)


def split(x, indices_or_sections, axis=0):
    x = _as_tensor(x)
    if isinstance(indices_or_sections, int):
        n = x.shape[axis]
        if n % indices_or_sections:
            raise ValueError(
                f"split: the axis of length {n} does not divide into equal sections. "
                f"Received: indices_or_sections={indices_or_sections}"
            )
        return list(torch.tensor_split(x, indices_or_sections, dim=axis))
    return list(torch.tensor_split(x, [int(i) for i in indices_or_sections], dim=axis))


def tile(x, repeats):
    return torch.tile(_as_tensor(x), (repeats,) if isinstance(repeats, int) else tuple(int(r) for r in repeats))


def repeat(x, repeats, axis=None):
    x = _as_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if not isinstance(repeats, int):
        repeats = _as_tensor(repeats).to(torch.int64)
        if repeats.numel() == 1:
            repeats = int(repeats.reshape(()))
    return torch.repeat_interleave(x, repeats, dim=axis)


def broadcast_to(x, shape):
    return torch.broadcast_to(_as_tensor(x), (shape,) if isinstance(shape, int) else tuple(shape))


def flip(x, axis=None):
    x = _as_tensor(x)
    if axis is None:
        axis = tuple(range(x.ndim))
    return torch.flip(x, (axis,) if isinstance(axis, int) else tuple(axis))


def take(x, indices, axis=None):
    x = _as_tensor(x)
    idx = _as_tensor(indices)
    if idx.dtype != torch.int64:
        idx = idx.to(torch.int64)
    if axis is None:
        return x.reshape(-1)[idx]
    return x[(slice(None),) * _axis(axis, x.ndim) + (idx,)]


def take_along_axis(x, indices, axis=None):
    x = _as_tensor(x)
    idx = _as_tensor(indices).to(torch.int64)
    if axis is None:
        x, idx, axis = x.reshape(-1), idx.reshape(-1), 0
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)  # numpy wraps negative indices
    return torch.take_along_dim(x, idx, dim=axis)


def one_hot(x, num_classes, axis=-1, dtype="float32"):
    x = _as_tensor(x)
    # A comparison, not F.one_hot: negative and out-of-range indices give all-zero rows instead of raising.
    out = (x.unsqueeze(-1) == torch.arange(num_classes, device=x.device, dtype=x.dtype)).to(_torch_dtype(dtype))
    return out if axis in (-1, out.ndim - 1) else torch.movedim(out, -1, axis)


def _pad_index(n, before, after, mode):
    """Source indices (numpy) for one axis of length ``n`` padded by (before, after) in ``mode``."""
    i = np.arange(-before, n + after)
    if mode == "edge" or n == 1:
        return np.clip(i, 0, n - 1)
    if mode == "reflect":
        period = 2 * (n - 1)
        i = np.mod(i, period)
        return np.where(i >= n, period - i, i)
    period = 2 * n  # symmetric
    i = np.mod(i, period)
    return np.where(i >= n, period - 1 - i, i)


def pad(x, pad_width, mode="constant", constant_values=0):
    x = _as_tensor(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if mode == "constant":
        flat = [int(v) for pair in widths[::-1] for v in pair]
        if isinstance(constant_values, torch.Tensor):
            constant_values = constant_values.item()
        return torch.nn.functional.pad(x, flat, mode="constant", value=constant_values)
    if mode not in ("reflect", "symmetric", "edge"):
        raise ValueError(
            f"pad: `mode` must be one of 'constant', 'reflect', 'symmetric', 'edge'. Received: mode={mode!r}"
        )
    for ax, (before, after) in enumerate(widths):
        if before or after:
            n = x.shape[ax]
            if n == 0:
                raise ValueError(f"pad: cannot pad an axis of length {n} in mode {mode!r}. Received: axis={ax}")
            idx = torch.as_tensor(_pad_index(n, int(before), int(after), mode), device=x.device)
            x = torch.index_select(x, ax, idx)
    return x


def tril(x, k=0):
    return torch.tril(_as_tensor(x), diagonal=k)


def triu(x, k=0):
    return torch.triu(_as_tensor(x), diagonal=k)


def diag(x, k=0):
    return torch.diag(_as_tensor(x), diagonal=k)


def slice_along_axis(x, start, stop, axis):
    x = _as_tensor(x)
    return x[(slice(None),) * _axis(axis, x.ndim) + (slice(start, stop),)]


def scatter_update(x, indices, updates):
    x = _as_tensor(x)
    updates = _as_tensor(updates).to(x.dtype)
    idx = _as_tensor(indices).to(torch.int64)
    return x.clone().index_put_(tuple(idx.T), updates)


def unique_int(x):
    return torch.unique(_as_tensor(x), sorted=True)


def view(x, dtype):
    return _as_tensor(x).view(_torch_dtype(dtype))

