"""numpy's remaining elementwise functions (Keras 3's ``keras.ops.numpy``): one hop into the backend's
elementwise family, and the composites written here once."""

import numpy as np

from kshim.backends import B
from kshim.backends.interface.elementwise import BINARY, UNARY
from kshim.ops import symbolic as _symbolic

for _name in (*UNARY, *BINARY):
    globals()[_name] = getattr(B, _name)

_LN2 = 0.6931471805599453
_PI = 3.141592653589793


def _float(x):
    x = B.convert_to_tensor(x)
    return x if str(B.dtype(x)).startswith(("float", "bfloat")) else B.cast(x, "float32")


def logaddexp2(x1, x2):
    """log2(2**x1 + 2**x2), stably."""
    return B.divide(B.logaddexp(B.multiply(_float(x1), _LN2), B.multiply(_float(x2), _LN2)), _LN2)


def cbrt(x):
    """The real cube root."""
    x = _float(x)
    return B.multiply(B.sign(x), B.power(B.abs(x), 1.0 / 3.0))


def deg2rad(x):
    """Degrees to radians."""
    return B.multiply(_float(x), _PI / 180.0)


def rad2deg(x):
    """Radians to degrees."""
    return B.multiply(_float(x), 180.0 / _PI)


def fabs(x):
    """|x| as a float."""
    return B.abs(_float(x))


def heaviside(x1, x2):
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0."""
    x1 = B.convert_to_tensor(x1)
    x1f = _float(x1)
    zero, one = B.zeros_like(x1f), B.ones_like(x1f)
    return B.where(B.less(x1f, 0.0), zero, B.where(B.greater(x1f, 0.0), one, B.add(zero, _float(x2))))


def logical_xor(x1, x2):
    """x1 != x2 as truth values."""
    return B.not_equal(B.cast(B.convert_to_tensor(x1), "bool"), B.cast(B.convert_to_tensor(x2), "bool"))


def divide_no_nan(x1, x2):
    """x1 / x2, 0 where x2 == 0."""
    x2 = B.convert_to_tensor(x2)
    safe = B.where(B.equal(x2, 0), B.ones_like(x2), x2)
    q = B.divide(x1, safe)
    return B.where(B.equal(x2, 0), B.zeros_like(q), q)


def isneginf(x):
    """True at -inf."""
    x = B.convert_to_tensor(x)
    return B.logical_and(B.isinf(x), B.less(x, 0))


def isposinf(x):
    """True at +inf."""
    x = B.convert_to_tensor(x)
    return B.logical_and(B.isinf(x), B.greater(x, 0))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by finite numbers (the dtype's largest by default)."""
    x = B.convert_to_tensor(x)
    dtype = str(B.dtype(x))
    if not dtype.startswith(("float", "bfloat")):
        return x
    info = np.finfo("float32" if dtype == "bfloat16" else dtype)
    x = B.where(B.isnan(x), B.full_like(x, nan), x)
    x = B.where(isposinf(x), B.full_like(x, info.max if posinf is None else posinf), x)
    return B.where(isneginf(x), B.full_like(x, info.min if neginf is None else neginf), x)


def bitwise_invert(x):
    """~x."""
    x = B.convert_to_tensor(x)
    return B.logical_not(x) if str(B.dtype(x)) == "bool" else B.bitwise_xor(x, -1)


bitwise_not = bitwise_invert
bitwise_left_shift = B.left_shift
bitwise_right_shift = B.right_shift

__all__ = [*UNARY, *BINARY, "logaddexp2", "cbrt", "deg2rad", "rad2deg", "fabs", "heaviside", "logical_xor",
           "divide_no_nan", "isneginf", "isposinf", "nan_to_num", "bitwise_invert", "bitwise_not",
           "bitwise_left_shift", "bitwise_right_shift"]

_symbolic.install(globals(), __all__, "keras.src.ops.numpy")
