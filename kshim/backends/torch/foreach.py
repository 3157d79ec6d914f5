"""PyTorch backend: the foreach family of the contract (`kshim.backends.interface.foreach`).

The list ops are ``torch._foreach_*`` (one C++ loop over the list on CPU, one fused launch on CUDA); both give each
element exactly what the single-tensor op gives, and ``inplace=True`` uses the in-place kernel. `foreach_blocked`
runs an in-place update piece by piece, so it works in cache.
"""

import torch

from kshim.backends.torch.core import _as_tensor


def _operand(ys):
    """A list operand as tensors; a Python number (kept weak) or a 0-d tensor as is."""
    if isinstance(ys, (list, tuple)):
        return [_as_tensor(y) for y in ys]
    if type(ys) in (int, float, bool) or isinstance(ys, torch.Tensor):
        return ys
    return _as_tensor(ys)


def _binary(op, op_, xs, ys, inplace):
    if inplace:
        op_(xs, _operand(ys))
        return xs
    return list(op([_as_tensor(x) for x in xs], _operand(ys)))


def foreach_add(xs, ys, inplace=False):
    return _binary(torch._foreach_add, torch._foreach_add_, xs, ys, inplace)


def foreach_subtract(xs, ys, inplace=False):
    return _binary(torch._foreach_sub, torch._foreach_sub_, xs, ys, inplace)


def foreach_multiply(xs, ys, inplace=False):
    return _binary(torch._foreach_mul, torch._foreach_mul_, xs, ys, inplace)


def foreach_divide(xs, ys, inplace=False):
    return _binary(torch._foreach_div, torch._foreach_div_, xs, ys, inplace)


def foreach_maximum(xs, ys, inplace=False):
    return _binary(torch._foreach_maximum, torch._foreach_maximum_, xs, ys, inplace)


def foreach_sqrt(xs, inplace=False):
    if inplace:
        torch._foreach_sqrt_(xs)
        return xs
    return list(torch._foreach_sqrt([_as_tensor(x) for x in xs]))


_PIECE = 1 << 18  # elements per piece of `foreach_blocked`: ~1 MB per float32 tensor, a few of them in cache


def foreach_blocked(fn, lists, num_outputs):
    columns = []  # one entry per aligned piece of one tensor: its view in every list
    for i in range(len(lists[0])):
        column = [lst[i] for lst in lists]
        numel = column[0].numel()
        if numel > _PIECE and all(t.is_contiguous() for t in column):
            flats = [t.view(-1) for t in column]
            columns += [[f[s:s + _PIECE] for f in flats] for s in range(0, numel, _PIECE)]
        else:
            columns.append(column)
    piece, size = [], 0
    for column in columns + [None]:
        n = column[0].numel() if column is not None else 0
        if piece and (column is None or size + n > _PIECE):
            fn(*[list(ts) for ts in zip(*piece)])
            piece, size = [], 0
        if column is not None:
            piece.append(column)
            size += n
    return list(lists[:num_outputs])
