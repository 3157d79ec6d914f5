"""PyTorch backend: ops whose output shape depends on values (``torch.nonzero``, ``torch.unique``), eager."""

import torch

from kshim.backends.torch.core import _as_tensor


def nonzero(x):
    x = _as_tensor(x)
    return tuple(i.to(torch.int32) for i in torch.nonzero(x, as_tuple=True))


def _fit(t, dim, size, fill):
    """``t`` cut or padded with ``fill`` to ``size`` along ``dim``."""
    n = t.shape[dim]
    if n >= size:
        return t.narrow(dim, 0, size)
    pad_shape = list(t.shape)
    pad_shape[dim] = size - n
    return torch.cat([t, torch.full(pad_shape, fill, dtype=t.dtype, device=t.device)], dim=dim)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None, size=None,
           fill_value=None):
    x = _as_tensor(x)
    dim = None if axis is None else axis % x.ndim
    values, inverse, counts = torch.unique(x, sorted=True, return_inverse=True, return_counts=True, dim=dim)
    flat_inverse = inverse.reshape(-1)
    first = None
    if return_index:  # the smallest position of each unique value (a slice index along `axis`)
        positions = torch.arange(flat_inverse.shape[0], device=x.device)
        first = torch.full((values.shape[0 if dim is None else dim],), flat_inverse.shape[0], dtype=torch.int64,
                           device=x.device).scatter_reduce(0, flat_inverse, positions, "amin")
    if size is not None:
        values = _fit(values, 0 if dim is None else dim, size, 0 if fill_value is None else fill_value)
        counts = _fit(counts, 0, size, 0)
        first = None if first is None else _fit(first, 0, size, 0)
    asked = ((first, return_index), (inverse, return_inverse), (counts, return_counts))
    outputs = (values,) + tuple(v.to(torch.int32) for v, want in asked if want)
    return outputs[0] if len(outputs) == 1 else outputs
