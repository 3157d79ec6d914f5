"""JAX backend: elementwise math, reductions, shapes and indexing, linear algebra.

Several names here (sum, abs, max, min, round, any, all) shadow Python builtins inside this module on purpose.
"""

import jax
import jax.numpy as jnp
import numpy as np

from kshim.backends.jax.core import _INT32, _Array, _a, _ax, _dt, _f, _j

# jax.nn.logsumexp spends ~1 ms in Python per eager call; under jit it takes ~20 us.
_logsumexp = jax.jit(jax.nn.logsumexp, static_argnames=("axis", "keepdims"))

# ----------------------------------------------------------------------------------------------------------------
# Elementwise math


def add(x1, x2):
    return jnp.add(_j(x1), _j(x2))


def subtract(x1, x2):
    return jnp.subtract(_j(x1), _j(x2))


def multiply(x1, x2):
    return jnp.multiply(_j(x1), _j(x2))


def divide(x1, x2):
    return jnp.true_divide(_j(x1), _j(x2))


def floor_divide(x1, x2):
    return jnp.floor_divide(_j(x1), _j(x2))


def mod(x1, x2):
    return jnp.remainder(_j(x1), _j(x2))


def power(x1, x2):
    return jnp.power(_j(x1), _j(x2))


def negative(x):
    return jnp.negative(_j(x))


def abs(x):
    return jnp.abs(_j(x))


def sign(x):
    return jnp.sign(_j(x))


def sqrt(x):
    return jnp.sqrt(_j(x))


def square(x):
    return jnp.square(_j(x))


def reciprocal(x):
    return jnp.reciprocal(_j(x))


def exp(x):
    return jnp.exp(_j(x))


def expm1(x):
    return jnp.expm1(_j(x))


def log(x):
    return jnp.log(_j(x))


def log1p(x):
    return jnp.log1p(_j(x))


def sin(x):
    return jnp.sin(_j(x))


def cos(x):
    return jnp.cos(_j(x))


def tan(x):
    return jnp.tan(_j(x))


def tanh(x):
    return jnp.tanh(_j(x))


def arctan(x):
    return jnp.arctan(_j(x))


def erf(x):
    return jax.lax.erf(_f(x))


def floor(x):
    return jnp.floor(_j(x))


def ceil(x):
    return jnp.ceil(_j(x))


def round(x, decimals=0):
    return jnp.round(_j(x), decimals)


def clip(x, x_min, x_max):
    return jnp.clip(_j(x), None if x_min is None else _j(x_min), None if x_max is None else _j(x_max))


def maximum(x1, x2):
    return jnp.maximum(_j(x1), _j(x2))


def minimum(x1, x2):
    return jnp.minimum(_j(x1), _j(x2))


def equal(x1, x2):
    return jnp.equal(_j(x1), _j(x2))


def not_equal(x1, x2):
    return jnp.not_equal(_j(x1), _j(x2))


def less(x1, x2):
    return jnp.less(_j(x1), _j(x2))


def less_equal(x1, x2):
    return jnp.less_equal(_j(x1), _j(x2))


def greater(x1, x2):
    return jnp.greater(_j(x1), _j(x2))


def greater_equal(x1, x2):
    return jnp.greater_equal(_j(x1), _j(x2))


def logical_and(x1, x2):
    return jnp.logical_and(_j(x1), _j(x2))


def logical_or(x1, x2):
    return jnp.logical_or(_j(x1), _j(x2))


def logical_not(x):
    return jnp.logical_not(_j(x))


def isnan(x):
    return jnp.isnan(_j(x))


def isinf(x):
    return jnp.isinf(_j(x))


def isfinite(x):
    return jnp.isfinite(_j(x))


def where(condition, x1, x2):
    return jnp.where(_j(condition), _j(x1), _j(x2))


def bitwise_and(x, y):
    return jnp.bitwise_and(_j(x), _j(y))


def bitwise_or(x, y):
    return jnp.bitwise_or(_j(x), _j(y))


def bitwise_xor(x, y):
    return jnp.bitwise_xor(_j(x), _j(y))


def left_shift(x, y):
    return jnp.left_shift(_j(x), _j(y))


def right_shift(x, y):
    return jnp.right_shift(_j(x), _j(y))  # arithmetic for signed integer types, as numpy


# ----------------------------------------------------------------------------------------------------------------
# Reductions


def sum(x, axis=None, keepdims=False):
    return jnp.sum(_j(x), axis=_ax(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return jnp.mean(_f(x), axis=_ax(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return jnp.max(_j(x), axis=_ax(axis), keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    return jnp.min(_j(x), axis=_ax(axis), keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    return jnp.prod(_j(x), axis=_ax(axis), keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return jnp.var(_f(x), axis=_ax(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return jnp.std(_f(x), axis=_ax(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    return jnp.any(_j(x), axis=_ax(axis), keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    return jnp.all(_j(x), axis=_ax(axis), keepdims=keepdims)


def argmax(x, axis=None, keepdims=False):
    return jnp.argmax(_j(x), axis=axis, keepdims=keepdims).astype(_INT32)


def argmin(x, axis=None, keepdims=False):
    return jnp.argmin(_j(x), axis=axis, keepdims=keepdims).astype(_INT32)


def logsumexp(x, axis=None, keepdims=False):
    return _logsumexp(_f(x), axis=_ax(axis), keepdims=bool(keepdims))


def cumsum(x, axis=None):
    return jnp.cumsum(_j(x), axis=axis)


def cumprod(x, axis=None):
    return jnp.cumprod(_j(x), axis=axis)


def sort(x, axis=-1):
    return jnp.sort(_j(x), axis=axis)


def argsort(x, axis=-1):
    return jnp.argsort(_j(x), axis=axis, stable=True).astype(_INT32)


def top_k(x, k, sorted=True):
    # lax.top_k always returns sorted values and puts the lower index first among ties.
    return jax.lax.top_k(_a(x), k)


# ----------------------------------------------------------------------------------------------------------------
# Shapes and indexing


def reshape(x, newshape):
    return jnp.reshape(_j(x), _ax(newshape))


def transpose(x, axes=None):
    return jnp.transpose(_j(x), _ax(axes))


def expand_dims(x, axis):
    return jnp.expand_dims(_j(x), _ax(axis))


def squeeze(x, axis=None):
    return jnp.squeeze(_j(x), _ax(axis))


def concatenate(xs, axis=0):
    return jnp.concatenate(xs if isinstance(xs, _Array) else [_j(x) for x in xs], axis=axis)


def stack(xs, axis=0):
    return jnp.stack(xs if isinstance(xs, _Array) else [_j(x) for x in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    return jnp.split(_j(x), indices_or_sections, axis=axis)


def tile(x, repeats):
    return jnp.tile(_j(x), repeats)


def repeat(x, repeats, axis=None):
    if isinstance(repeats, (list, tuple)):
        repeats = np.asarray(repeats)  # static on the host, so it also works under jit
    return jnp.repeat(_j(x), repeats, axis=axis)


def broadcast_to(x, shape):
    return jnp.broadcast_to(_j(x), _ax(shape))


def flip(x, axis=None):
    return jnp.flip(_j(x), _ax(axis))


def take(x, indices, axis=None):
    return jnp.take(_j(x), _j(indices), axis=axis)


def take_along_axis(x, indices, axis=None):
    return jnp.take_along_axis(_a(x), _a(indices), axis=axis)


def one_hot(x, num_classes, axis=-1, dtype="float32"):
    return jax.nn.one_hot(_j(x), num_classes, dtype=_dt(dtype), axis=axis)


def pad(x, pad_width, mode="constant", constant_values=0):
    if mode == "constant":
        return jnp.pad(_j(x), pad_width, mode="constant", constant_values=constant_values)
    return jnp.pad(_j(x), pad_width, mode=mode)


def tril(x, k=0):
    return jnp.tril(_j(x), k)


def triu(x, k=0):
    return jnp.triu(_j(x), k)


def diag(x, k=0):
    return jnp.diag(_j(x), k)


def slice_along_axis(x, start, stop, axis):
    x = _a(x)
    n = x.shape[axis]
    start, stop, _ = slice(start, stop).indices(n)  # Python slice rules: negatives count from the end, clamped
    return jax.lax.slice_in_dim(x, start, stop if stop > start else start, axis=axis % x.ndim)


def scatter_update(x, indices, updates):
    indices = _a(indices)
    return _a(x).at[tuple(indices.T)].set(_j(updates))


def unique_int(x):
    return jnp.asarray(np.unique(np.asarray(_j(x))))


# ----------------------------------------------------------------------------------------------------------------
# Linear algebra


def matmul(x1, x2):
    return jnp.matmul(_j(x1), _j(x2))


def dot(x1, x2):
    return jnp.dot(_j(x1), _j(x2))


def tensordot(x1, x2, axes=2):
    return jnp.tensordot(_j(x1), _j(x2), axes)


def einsum(subscripts, *operands):
    return jnp.einsum(subscripts, *[_j(o) for o in operands])
