"""PyTorch backend: numpy-like elementwise math, reductions, sorting and linear algebra.

Torch differs from numpy in places (integer division, reductions over tuples of axes, argsort stability,
top-k ties, sum dtype); each primitive below restores numpy's (and Keras 3's) semantics.
"""

import torch

from kshim.backends.torch.core import _PYSCALAR, _bin, _linalg, _scalar_as, _as_tensor, _tensors

# Integer sums/products follow JAX/Keras: small ints accumulate as int32, int32 stays int32 (wrapping).
_INT_ACC = {
    torch.bool: torch.int32,
    torch.int8: torch.int32,
    torch.int16: torch.int32,
    torch.uint8: torch.int32,
    torch.int32: torch.int32,
    torch.int64: torch.int64,
}


def _float(x):
    """Non-float tensors as float32 (for mean, var, logsumexp, ...)."""
    return x if x.is_floating_point() else x.to(torch.float32)


# ----------------------------------------------------------------------------------------------------------------
# Elementwise math


def add(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 + x2


def subtract(x1, x2):
    x1, x2 = _bin(x1, x2)
    if type(x1) in _PYSCALAR:  # scalar - tensor: rsub directly, not through Tensor.__rsub__'s Python wrapper
        return torch.rsub(x2, x1)
    return x1 - x2


def multiply(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 * x2


def divide(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 / x2


def floor_divide(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 // x2


def mod(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 % x2


def power(x1, x2):
    x1, x2 = _bin(x1, x2)
    if type(x1) in _PYSCALAR:  # scalar ** tensor: what Tensor.__rpow__ calls, without its Python wrapper
        return torch.pow(x1, x2)
    return x1**x2


def negative(x):
    return torch.neg(_as_tensor(x))


def abs(x):
    return torch.abs(_as_tensor(x))


def sign(x):
    return torch.sign(_as_tensor(x))


def sqrt(x):
    return torch.sqrt(_as_tensor(x))


def square(x):
    return torch.square(_as_tensor(x))


def reciprocal(x):
    return torch.reciprocal(_as_tensor(x))


def exp(x):
    return torch.exp(_as_tensor(x))


def expm1(x):
    return torch.expm1(_as_tensor(x))


def log(x):
    return torch.log(_as_tensor(x))


def log1p(x):
    return torch.log1p(_as_tensor(x))


def sin(x):
    return torch.sin(_as_tensor(x))


def cos(x):
    return torch.cos(_as_tensor(x))


def tan(x):
    return torch.tan(_as_tensor(x))


def tanh(x):
    return torch.tanh(_as_tensor(x))


def arctan(x):
    return torch.arctan(_as_tensor(x))


def erf(x):
    return torch.erf(_as_tensor(x))


def floor(x):
    x = _as_tensor(x)
    return torch.floor(x) if x.is_floating_point() else x


def ceil(x):
    x = _as_tensor(x)
    return torch.ceil(x) if x.is_floating_point() else x


def round(x, decimals=0):
    x = _as_tensor(x)
    if x.is_floating_point():
        return torch.round(x, decimals=decimals) if decimals else torch.round(x)
    if decimals >= 0:
        return x
    f = 10 ** (-decimals)  # integers rounded to tens, hundreds, ... (half to even, as numpy)
    return (torch.round(x.to(torch.float64) / f) * f).to(x.dtype)


def clip(x, x_min, x_max):
    x = _as_tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    if type(x_min) not in _PYSCALAR and x_min is not None:
        x_min = _as_tensor(x_min)
    if type(x_max) not in _PYSCALAR and x_max is not None:
        x_max = _as_tensor(x_max)
    if isinstance(x_min, torch.Tensor) or isinstance(x_max, torch.Tensor):
        if type(x_min) in _PYSCALAR:  # torch.clamp takes two numbers or two tensors, not one of each
            x_min = _scalar_as(x_min, x)
        if type(x_max) in _PYSCALAR:
            x_max = _scalar_as(x_max, x)
    return torch.clamp(x, x_min, x_max)


def maximum(x1, x2):
    return torch.maximum(*_tensors(x1, x2))


def minimum(x1, x2):
    return torch.minimum(*_tensors(x1, x2))


def equal(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 == x2


def not_equal(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 != x2


def less(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 < x2


def less_equal(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 <= x2


def greater(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 > x2


def greater_equal(x1, x2):
    x1, x2 = _bin(x1, x2)
    return x1 >= x2


def logical_and(x1, x2):
    return torch.logical_and(*_tensors(x1, x2))


def logical_or(x1, x2):
    return torch.logical_or(*_tensors(x1, x2))


def logical_not(x):
    return torch.logical_not(_as_tensor(x))


def isnan(x):
    return torch.isnan(_as_tensor(x))


def isinf(x):
    return torch.isinf(_as_tensor(x))


def isfinite(x):
    return torch.isfinite(_as_tensor(x))


def where(condition, x1, x2):
    c = _as_tensor(condition)
    if c.dtype != torch.bool:
        c = c.to(torch.bool)
    x1, x2 = _bin(x1, x2)
    return torch.where(c, x1, x2)


def bitwise_and(x, y):
    x, y = _bin(x, y)
    return x & y


def bitwise_or(x, y):
    x, y = _bin(x, y)
    return x | y


def bitwise_xor(x, y):
    x, y = _bin(x, y)
    return x ^ y


def left_shift(x, y):
    x, y = _bin(x, y)
    return x << y


def right_shift(x, y):
    x, y = _bin(x, y)
    return x >> y


# ----------------------------------------------------------------------------------------------------------------
# Reductions


def _reduce(f, x, axis, keepdims, **kw):
    """``f`` over ``axis`` with numpy's axis rules (None: all axes; (): none) and torch's keyword names."""
    if axis is None:
        if not keepdims:
            return f(x, **kw)
        axis = tuple(range(x.ndim))
    elif type(axis) is not int:
        axis = tuple(axis)
        if not axis and x.ndim:
            return x if not kw.get("dtype") else x.to(kw["dtype"])
    return f(x, dim=axis, keepdim=keepdims, **kw)


def _no_axes(axis, x):
    return axis is not None and type(axis) is not int and not len(axis) and x.ndim > 0


def sum(x, axis=None, keepdims=False):
    x = _as_tensor(x)
    if x.is_floating_point():
        return _reduce(torch.sum, x, axis, keepdims)
    return _reduce(torch.sum, x, axis, keepdims, dtype=_INT_ACC.get(x.dtype, x.dtype))


def mean(x, axis=None, keepdims=False):
    return _reduce(torch.mean, _float(_as_tensor(x)), axis, keepdims)


def max(x, axis=None, keepdims=False):
    return _reduce(torch.amax, _as_tensor(x), axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce(torch.amin, _as_tensor(x), axis, keepdims)


def prod(x, axis=None, keepdims=False):
    x = _as_tensor(x)
    d = x.dtype if x.is_floating_point() else _INT_ACC.get(x.dtype, x.dtype)
    if axis is None:
        r = torch.prod(x, dtype=d)
        return r.reshape((1,) * x.ndim) if keepdims else r
    axes = (axis,) if type(axis) is int else tuple(axis)
    if not axes:
        return x.to(d)
    axes = sorted((a % x.ndim for a in axes), reverse=True)
    for a in axes:
        x = torch.prod(x, dim=a, keepdim=True, dtype=d)
    return x if keepdims else x.squeeze(tuple(axes))


def var(x, axis=None, keepdims=False):
    x = _float(_as_tensor(x))
    if _no_axes(axis, x):
        return torch.zeros_like(x)
    return _reduce(torch.var, x, axis, keepdims, correction=0)


def std(x, axis=None, keepdims=False):
    x = _float(_as_tensor(x))
    if _no_axes(axis, x):
        return torch.zeros_like(x)
    return _reduce(torch.std, x, axis, keepdims, correction=0)


def any(x, axis=None, keepdims=False):
    x = _as_tensor(x)
    return _reduce(torch.any, x if x.dtype == torch.bool else x.to(torch.bool), axis, keepdims)


def all(x, axis=None, keepdims=False):
    x = _as_tensor(x)
    return _reduce(torch.all, x if x.dtype == torch.bool else x.to(torch.bool), axis, keepdims)


def _arg(f, x, axis, keepdims):
    x = _as_tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    if axis is None:
        r = f(x.reshape(-1))
        return (r.reshape((1,) * x.ndim) if keepdims else r).to(torch.int32)
    return f(x, dim=axis, keepdim=keepdims).to(torch.int32)


def argmax(x, axis=None, keepdims=False):
    return _arg(torch.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg(torch.argmin, x, axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    x = _float(_as_tensor(x))
    if axis is None:
        axis = tuple(range(x.ndim))
    return torch.logsumexp(x, dim=axis, keepdim=keepdims)


def _cum(f, x, axis):
    x = _as_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.is_floating_point():
        return f(x, dim=axis)
    return f(x, dim=axis, dtype=_INT_ACC.get(x.dtype, x.dtype))


def cumsum(x, axis=None):
    return _cum(torch.cumsum, x, axis)


def cumprod(x, axis=None):
    return _cum(torch.cumprod, x, axis)


def sort(x, axis=-1):
    x = _as_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.dtype == torch.bool:
        return torch.sort(x.to(torch.uint8), dim=axis).values.to(torch.bool)
    return torch.sort(x, dim=axis).values


def argsort(x, axis=-1):
    x = _as_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    return torch.argsort(x, dim=axis, stable=True).to(torch.int32)


def top_k(x, k, sorted=True):
    # torch.topk does not promise that ties go to the lower index; a stable descending sort does.
    x = _as_tensor(x)
    values, indices = torch.sort(x, dim=-1, descending=True, stable=True)
    return values[..., :k], indices[..., :k].to(torch.int32)


# ----------------------------------------------------------------------------------------------------------------
# Linear algebra


def matmul(x1, x2):
    (x1, x2), d = _linalg(x1, x2)
    r = torch.matmul(x1, x2)
    return r if d is None else r.to(d)


def dot(x1, x2):
    (x1, x2), d = _linalg(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        r = x1 * x2
    elif x2.ndim <= 2:
        r = torch.matmul(x1, x2)
    else:
        r = torch.tensordot(x1, x2, dims=([x1.ndim - 1], [x2.ndim - 2]))
    return r if d is None else r.to(d)


def tensordot(x1, x2, axes=2):
    (x1, x2), d = _linalg(x1, x2)
    if not isinstance(axes, int):
        a, b = axes
        axes = ([a] if isinstance(a, int) else list(a), [b] if isinstance(b, int) else list(b))
    r = torch.tensordot(x1, x2, dims=axes)
    return r if d is None else r.to(d)


def einsum(subscripts, *operands):
    xs, d = _linalg(*operands)
    r = torch.einsum(subscripts, *xs)
    return r if d is None else r.to(d)


# The family's shapes and indexing primitives live in shapes.py, so that neither file passes ~600 lines.
from kshim.backends.torch.shapes import *  # noqa: E402,F401,F403
