"""PyTorch backend: numpy's remaining elementwise functions (``torch.<name>``, numpy's names where torch's differ),
integer input to a float function computed in float32 as numpy/Keras 3 do."""

import torch

from kshim.backends.interface.elementwise import BINARY, UNARY
from kshim.backends.torch.core import _as_tensor, _tensors

_TORCH = {"arccos": torch.acos, "arccosh": torch.acosh, "arcsin": torch.asin, "arcsinh": torch.asinh,
          "arctanh": torch.atanh, "arctan2": torch.atan2, "fmax": torch.fmax, "fmin": torch.fmin}
_KEEPS_INT = {"trunc", "signbit", "gcd", "lcm", "fmod", "fmax", "fmin"}


def _float(x):
    return x if x.is_floating_point() else x.to(torch.float32)


def _unary(name, fn):
    def op(x):
        x = _as_tensor(x)
        if name not in _KEEPS_INT:
            x = _float(x)
        elif name == "trunc" and not x.is_floating_point():
            return x
        return fn(x)

    op.__name__ = name
    return op


def _binary(name, fn):
    def op(x1, x2):
        x1, x2 = _tensors(x1, x2)
        if x1.dtype != x2.dtype:
            d = torch.promote_types(x1.dtype, x2.dtype)
            x1, x2 = x1.to(d), x2.to(d)
        if name not in _KEEPS_INT:
            x1, x2 = _float(x1), _float(x2)
        return fn(x1, x2)

    op.__name__ = name
    return op


for _name in UNARY:
    globals()[_name] = _unary(_name, _TORCH.get(_name) or getattr(torch, _name))
for _name in BINARY:
    globals()[_name] = _binary(_name, _TORCH.get(_name) or getattr(torch, _name))
