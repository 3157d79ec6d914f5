"""The contract's numpy family: elementwise math, reductions, shapes and indexing, linear algebra.
Implemented by ``kshim/backends/<backend>/numpy.py``; bound by `kshim.ops.numpy`."""

# ----------------------------------------------------------------------------------------------------------------
# Elementwise math


def add(x1, x2):
    """x1 + x2, broadcasting."""


def subtract(x1, x2):
    """x1 - x2, broadcasting."""


def multiply(x1, x2):
    """x1 * x2, broadcasting."""


def divide(x1, x2):
    """True division x1 / x2 (integers give floats)."""


def floor_divide(x1, x2):
    """Floor division, as numpy's ``//``."""


def mod(x1, x2):
    """Remainder with the sign of the divisor, as numpy's ``%``."""


def power(x1, x2):
    """x1 ** x2."""


def negative(x):
    """-x."""


def abs(x):
    """|x|."""


def sign(x):
    """-1, 0 or 1 by the sign of x."""


def sqrt(x):
    """Square root."""


def square(x):
    """x * x."""


def reciprocal(x):
    """1 / x."""


def exp(x):
    """e ** x."""


def expm1(x):
    """e ** x - 1, accurate near 0."""


def log(x):
    """Natural logarithm."""


def log1p(x):
    """log(1 + x), accurate near 0."""


def sin(x):
    """Sine."""


def cos(x):
    """Cosine."""


def tan(x):
    """Tangent."""


def tanh(x):
    """Hyperbolic tangent."""


def arctan(x):
    """Inverse tangent."""


def erf(x):
    """The error function."""


def floor(x):
    """Round toward -inf."""


def ceil(x):
    """Round toward +inf."""


def round(x, decimals=0):
    """Round half to even, as numpy."""


def clip(x, x_min, x_max):
    """``x`` limited to [x_min, x_max]; the bounds may be scalars or tensors."""


def maximum(x1, x2):
    """Elementwise maximum (either argument may be a scalar)."""


def minimum(x1, x2):
    """Elementwise minimum (either argument may be a scalar)."""


def equal(x1, x2):
    """x1 == x2 as bool."""


def not_equal(x1, x2):
    """x1 != x2 as bool."""


def less(x1, x2):
    """x1 < x2 as bool."""


def less_equal(x1, x2):
    """x1 <= x2 as bool."""


def greater(x1, x2):
    """x1 > x2 as bool."""


def greater_equal(x1, x2):
    """x1 >= x2 as bool."""


def logical_and(x1, x2):
    """Elementwise and, as bool."""


def logical_or(x1, x2):
    """Elementwise or, as bool."""


def logical_not(x):
    """Elementwise not, as bool."""


def isnan(x):
    """True where x is NaN."""


def isinf(x):
    """True where x is +-inf."""


def isfinite(x):
    """True where x is neither NaN nor inf."""


def where(condition, x1, x2):
    """``x1`` where ``condition`` is true, else ``x2`` (broadcasting; scalars allowed)."""


def bitwise_and(x, y):
    """Bitwise and of integer tensors."""


def bitwise_or(x, y):
    """Bitwise or of integer tensors."""


def bitwise_xor(x, y):
    """Bitwise xor of integer tensors."""


def left_shift(x, y):
    """x << y on integer tensors (bits shifted out are dropped; int32 wraps)."""


def right_shift(x, y):
    """x >> y on integer tensors: arithmetic (sign-extending) for signed types."""


# ----------------------------------------------------------------------------------------------------------------
# Reductions


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis``."""


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (integer input gives a float result)."""


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``."""


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``."""


def prod(x, axis=None, keepdims=False):
    """Product over ``axis``."""


def var(x, axis=None, keepdims=False):
    """Population variance (ddof=0) over ``axis``."""


def std(x, axis=None, keepdims=False):
    """Population standard deviation (ddof=0) over ``axis``."""


def any(x, axis=None, keepdims=False):
    """Logical or over ``axis``."""


def all(x, axis=None, keepdims=False):
    """Logical and over ``axis``."""


def argmax(x, axis=None, keepdims=False):
    """Index of the first maximum along ``axis`` (over the flattened tensor if None)."""


def argmin(x, axis=None, keepdims=False):
    """Index of the first minimum along ``axis``."""


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, computed stably."""


def cumsum(x, axis=None):
    """Cumulative sum along ``axis`` (over the flattened tensor if None)."""


def cumprod(x, axis=None):
    """Cumulative product along ``axis`` (over the flattened tensor if None)."""


def sort(x, axis=-1):
    """Values sorted ascending along ``axis``."""


def argsort(x, axis=-1):
    """Indices that sort ``x`` ascending along ``axis`` (stable)."""


def top_k(x, k, sorted=True):
    """(values, indices) of the ``k`` largest entries along the last axis; ties go to the lower index."""


# ----------------------------------------------------------------------------------------------------------------
# Shapes and indexing


def reshape(x, newshape):
    """``x`` with a new shape; one entry may be -1."""


def transpose(x, axes=None):
    """Axes permuted (reversed if ``axes`` is None)."""


def expand_dims(x, axis):
    """A new axis of length 1 at ``axis`` (an int or a tuple of ints)."""


def squeeze(x, axis=None):
    """Axes of length 1 removed (all of them if ``axis`` is None)."""


def concatenate(xs, axis=0):
    """Tensors joined along an existing axis."""


def stack(xs, axis=0):
    """Tensors joined along a new axis."""


def split(x, indices_or_sections, axis=0):
    """A list of sub-tensors, as numpy's split."""


def tile(x, repeats):
    """``x`` repeated ``repeats`` times along each axis, as numpy's tile."""


def repeat(x, repeats, axis=None):
    """Each element repeated, as numpy's repeat."""


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape``."""


def flip(x, axis=None):
    """Order of elements reversed along ``axis``."""


def take(x, indices, axis=None):
    """Elements of ``x`` at integer ``indices`` along ``axis`` (flattened if None)."""


def take_along_axis(x, indices, axis=None):
    """numpy's take_along_axis."""


def one_hot(x, num_classes, axis=-1, dtype="float32"):
    """One-hot encoding of integer ``x``; out-of-range indices give all zeros."""


def pad(x, pad_width, mode="constant", constant_values=0):
    """numpy's pad for ``mode`` in "constant", "reflect", "symmetric", "edge"."""


def tril(x, k=0):
    """Lower triangle of the last two axes."""


def triu(x, k=0):
    """Upper triangle of the last two axes."""


def diag(x, k=0):
    """numpy's diag."""


def slice_along_axis(x, start, stop, axis):
    """``x[..., start:stop, ...]`` with the slice on ``axis`` (static Python ints)."""


def scatter_update(x, indices, updates):
    """A copy of ``x`` with ``x[tuple(indices[i])] = updates[i]`` for each row of the int ``indices``."""


def unique_int(x):
    """Sorted unique values of a host-known integer tensor, as numpy's unique (not differentiable, not jitted)."""


def view(x, dtype):
    """The bits of ``x`` reinterpreted as ``dtype`` (numpy's ``ndarray.view``): the last axis scales by the ratio
    of the item sizes; no value is converted."""


# ----------------------------------------------------------------------------------------------------------------
# Linear algebra


def matmul(x1, x2):
    """Matrix product with numpy's matmul broadcasting."""


def dot(x1, x2):
    """numpy's dot."""


def tensordot(x1, x2, axes=2):
    """numpy's tensordot."""


def einsum(subscripts, *operands):
    """numpy's einsum."""
