"""numpy-like ops: elementwise math, reductions, shapes and indexing, linear algebra (the contract's numpy
family)."""

from kshim.ops import absent as _absent
from kshim.backends import B
from kshim.ops import symbolic as _symbolic

add = B.add
subtract = B.subtract
multiply = B.multiply
divide = B.divide
floor_divide = B.floor_divide
mod = B.mod
power = B.power
negative = B.negative
abs = B.abs
sign = B.sign
sqrt = B.sqrt
square = B.square
reciprocal = B.reciprocal
exp = B.exp
expm1 = B.expm1
log = B.log
log1p = B.log1p
sin = B.sin
cos = B.cos
tan = B.tan
tanh = B.tanh
arctan = B.arctan
erf = B.erf
floor = B.floor
ceil = B.ceil
round = B.round
clip = B.clip
maximum = B.maximum
minimum = B.minimum
equal = B.equal
not_equal = B.not_equal
less = B.less
less_equal = B.less_equal
greater = B.greater
greater_equal = B.greater_equal
logical_and = B.logical_and
logical_or = B.logical_or
logical_not = B.logical_not
isnan = B.isnan
isinf = B.isinf
isfinite = B.isfinite
where = B.where
bitwise_and = B.bitwise_and
bitwise_or = B.bitwise_or
bitwise_xor = B.bitwise_xor
left_shift = B.left_shift
right_shift = B.right_shift
sum = B.sum
mean = B.mean
max = B.max
min = B.min
prod = B.prod
var = B.var
std = B.std
any = B.any
all = B.all
argmax = B.argmax
argmin = B.argmin
logsumexp = B.logsumexp
cumsum = B.cumsum
cumprod = B.cumprod
sort = B.sort
argsort = B.argsort
top_k = B.top_k
reshape = B.reshape
transpose = B.transpose
expand_dims = B.expand_dims
squeeze = B.squeeze
concatenate = B.concatenate
stack = B.stack
split = B.split
tile = B.tile
repeat = B.repeat
broadcast_to = B.broadcast_to
flip = B.flip
take = B.take
take_along_axis = B.take_along_axis
one_hot = B.one_hot
pad = B.pad
tril = B.tril
triu = B.triu
diag = B.diag
matmul = B.matmul
dot = B.dot
tensordot = B.tensordot
einsum = B.einsum
slice_along_axis = B.slice_along_axis
unique_int = B.unique_int

# numpy's and Keras's other spellings of the same primitives.
absolute = B.abs
true_divide = B.divide
amax = B.max
amin = B.min


def log2(x):
    """Base-2 logarithm."""
    return B.divide(B.log(x), 0.6931471805599453)


def log10(x):
    """Base-10 logarithm."""
    return B.divide(B.log(x), 2.302585092994046)


def ravel(x):
    """``x`` flattened to one axis."""
    return B.reshape(x, (-1,))


def average(x, axis=None, weights=None):
    """numpy's average: the mean, or the weighted mean along ``axis``."""
    if weights is None:
        return B.mean(x, axis=axis)
    weights = B.convert_to_tensor(weights)
    xs, ws = B.shape(x), B.shape(weights)
    if axis is not None and len(ws) == 1 and len(xs) > 1:
        # 1-D weights apply along `axis` (numpy's rule): give them that axis, with size 1 elsewhere.
        axis = axis % len(xs)
        weights = B.reshape(weights, tuple(ws[0] if i == axis else 1 for i in range(len(xs))))
        return B.divide(B.sum(B.multiply(x, weights), axis=axis), B.sum(weights))
    return B.divide(B.sum(B.multiply(x, weights), axis=axis), B.sum(B.broadcast_to(weights, xs), axis=axis))


def l2_normalize(x, axis=-1, epsilon=1e-12):
    """``x / sqrt(max(sum(x**2), epsilon))`` along ``axis``, as Keras's ``normalize(order=2)``."""
    return B.multiply(x, B.divide(1.0, B.sqrt(B.maximum(B.sum(B.square(x), axis=axis, keepdims=True), epsilon))))


def swapaxes(x, axis1, axis2):
    n = len(B.shape(x))
    perm = list(range(n))
    perm[axis1 % n], perm[axis2 % n] = perm[axis2 % n], perm[axis1 % n]
    return B.transpose(x, perm)


def count_nonzero(x, axis=None):
    return B.sum(B.cast(B.not_equal(x, 0), "int32"), axis=axis)


def get_item(x, key):
    """``x[key]`` (Keras's ``ops.get_item``, what ``KerasTensor.__getitem__`` records)."""
    return x[key]


def view(x, dtype=None):
    """The bits of ``x`` reinterpreted as ``dtype`` (the last axis scales by the ratio of the item sizes); ``x``
    itself when ``dtype`` is None."""
    return B.convert_to_tensor(x) if dtype is None else B.view(x, dtype)


def slogdet(x):
    """(sign, log|det|) of ``x``."""
    return B.slogdet(x)


__all__ = [name for name, value in list(vars().items()) if not name.startswith("_") and callable(value)]

_symbolic.install(globals(), __all__, "keras.src.ops.numpy")

# The rest of Keras 3's ``keras.ops.numpy``: elementwise functions, array functions, and the creation and shape
# functions of the core family, shown here under Keras 3's path.
from kshim.ops.elementwise import *  # noqa: E402,F401,F403
from kshim.ops.arrays import *  # noqa: E402,F401,F403
from kshim.ops.counting import *  # noqa: E402,F401,F403
from kshim.ops.complex import angle, conj, conjugate, imag, isreal, real  # noqa: E402,F401
from kshim.ops.dynamic import *  # noqa: E402,F401,F403
from kshim.ops.core import arange, copy, eye, full, full_like, ndim, ones, ones_like, size, zeros, zeros_like  # noqa: E402,F401,E501

__getattr__ = _absent.module_getattr(__name__)  # Keras 3 names kshim leaves out, each with its reason
