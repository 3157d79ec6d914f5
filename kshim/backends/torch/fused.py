"""PyTorch backend: the fused primitives of `kshim.backends.fused_interface`.

The list ops are ``torch._foreach_*`` (one C++ loop over the list on CPU, one fused launch on CUDA); both give each
element exactly what the single-tensor op gives, and ``inplace=True`` uses the in-place kernel. `foreach_blocked`
runs an in-place update piece by piece, so it works in cache. `counter_bits` runs the hash in place on one int32
buffer (torch has no logical shift for int32, so ``x >>> k`` is an arithmetic shift and a mask), with the position
term cached per length and the 0-d key mixed on the host when the state is there.
"""

import torch

from kshim.backends.torch.core import _t
from kshim.backends.torch.replay import tracing


def _operand(ys):
    """A list operand as tensors; a Python number (kept weak) or a 0-d tensor as is."""
    if isinstance(ys, (list, tuple)):
        return [_t(y) for y in ys]
    if type(ys) in (int, float, bool) or isinstance(ys, torch.Tensor):
        return ys
    return _t(ys)


def _binary(op, op_, xs, ys, inplace):
    if inplace:
        op_(xs, _operand(ys))
        return xs
    return list(op([_t(x) for x in xs], _operand(ys)))


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
    return list(torch._foreach_sqrt([_t(x) for x in xs]))


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


# ----------------------------------------------------------------------------------------------------------------
# The counter hash

_U32 = 0xFFFFFFFF
_M1, _M2, _GOLDEN, _SALT = 0x7FEB352D, 0x846CA68B, 0x9E3779B9, 0x632BE5AB
_STEPS = ((16, _M1), (15, _M2), (16, None))  # (shift, multiplier) of each xor-shift round of the mixer
_POSITIONS = {}  # (n, device) -> i * GOLDEN as int32, the part of the hash that depends on nothing else
_POSITIONS_KEPT = 16


def _signed(v):
    return v - (1 << 32) if v >= 1 << 31 else v


def _mix_int(x):
    """The mixer on a Python int in [0, 2**32)."""
    for shift, mult in _STEPS:
        x ^= x >> shift
        if mult is not None:
            x = (x * mult) & _U32
    return x


def _mix_(x, tmp):
    """The mixer in place on int32 tensor ``x`` (``tmp``: a scratch buffer of its shape)."""
    for shift, mult in _STEPS:
        torch.bitwise_right_shift(x, shift, out=tmp)
        tmp.bitwise_and_((1 << (32 - shift)) - 1)
        x.bitwise_xor_(tmp)
        if mult is not None:
            x.mul_(_signed(mult))
    return x


def _positions(n, device):
    key = (n, device)
    p = _POSITIONS.get(key)
    if p is None:
        # Out of place, so that a traced step computes it once, at trace time (`replay._fold_constants`).
        p = torch.mul(torch.arange(n, dtype=torch.int32, device=device), _signed(_GOLDEN))
        if tracing():  # a fake tensor must not outlive the trace
            return p
        if len(_POSITIONS) >= _POSITIONS_KEPT:
            _POSITIONS.pop(next(iter(_POSITIONS)))
        _POSITIONS[key] = p
    return p


def counter_bits(state, n):
    state = _t(state)
    if state.dtype != torch.int32:
        state = state.to(torch.int32)
    if state.device.type == "cpu" and not (tracing() or torch.compiler.is_compiling()):
        seed, counter = (v & _U32 for v in state.tolist())
        key = _signed(_mix_int(_mix_int((counter + _SALT) & _U32) ^ seed))
    else:  # on an accelerator (reading the state would wait for it), traced or compiled: mix on the device
        scalar = torch.add(state[1], _signed(_SALT))
        key = _mix_(scalar, torch.empty_like(scalar)).bitwise_xor_(state[0])
        key = _mix_(key, torch.empty_like(key))
    x = torch.bitwise_xor(_positions(n, state.device), key)
    tmp = torch.empty_like(x)
    _mix_(x, tmp).add_(key)
    return _mix_(x, tmp)
