"""PyTorch backend: the random family of the contract (`kshim.backends.interface.random`).

`counter_bits` runs the hash in place on one int32 buffer (torch has no logical shift for int32, so ``x >>> k`` is
an arithmetic shift and a mask), with the position term cached per length and the 0-d key mixed on the host when
the state is there.
"""

import torch

from kshim.backends.torch.core import _as_tensor
from kshim.backends.torch.replay import tracing

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
    state = _as_tensor(state)
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
