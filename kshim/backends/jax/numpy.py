"""JAX backend: elementwise math, reductions, shapes and indexing, linear algebra.

Several names here (sum, abs, max, min, round, any, all) shadow Python builtins inside this module on purpose.
"""

import jax
import jax.numpy as jnp
import numpy as np

from kshim.backends.jax.core import _INT32, _Array, _as_array, _axis_arg, _jax_dtype, _as_float, _as_operand

# jax.nn.logsumexp spends ~1 ms in Python per eager call; under jit it takes ~20 us.
_logsumexp = jax.jit(jax.nn.logsumexp, static_argnames=("axis", "keepdims"))

# ----------------------------------------------------------------------------------------------------------------
# Elementwise math


def add(x1, x2):
    return jnp.add(_as_operand(x1), _as_operand(x2))


def subtract(x1, x2):
    return jnp.subtract(_as_operand(x1), _as_operand(x2))


def multiply(x1, x2):
    return jnp.multiply(_as_operand(x1), _as_operand(x2))


def divide(x1, x2):
    return jnp.true_divide(_as_operand(x1), _as_operand(x2))


def floor_divide(x1, x2):
    return jnp.floor_divide(_as_operand(x1), _as_operand(x2))


def mod(x1, x2):
    return jnp.remainder(_as_operand(x1), _as_operand(x2))


def power(x1, x2):
    return jnp.power(_as_operand(x1), _as_operand(x2))


def negative(x):
    return jnp.negative(_as_operand(x))


def abs(x):
    return jnp.abs(_as_operand(x))


def sign(x):
    return jnp.sign(_as_operand(x))


def sqrt(x):
    return jnp.sqrt(_as_operand(x))


def square(x):
    return jnp.square(_as_operand(x))


def reciprocal(x):
    return jnp.reciprocal(_as_operand(x))


def exp(x):
    return jnp.exp(_as_operand(x))


def expm1(x):
    return jnp.expm1(_as_operand(x))


def log(x):
    return jnp.log(_as_operand(x))


def log1p(x):
    return jnp.log1p(_as_operand(x))


def sin(x):
    return jnp.sin(_as_operand(x))


def cos(x):
    return jnp.cos(_as_operand(x))


def tan(x):
    return jnp.tan(_as_operand(x))


def tanh(x):
    return jnp.tanh(_as_operand(x))


def arctan(x):
    return jnp.arctan(_as_operand(x))


def erf(x):
    return jax.lax.erf(_as_float(x))


def floor(x):
    return jnp.floor(_as_operand(x))


def ceil(x):
    return jnp.ceil(_as_operand(x))


def round(x, decimals=0):
    return jnp.round(_as_operand(x), decimals)


def clip(x, x_min, x_max):
    return jnp.clip(_as_operand(x), None if x_min is None else _as_operand(x_min),
                    None if x_max is None else _as_operand(x_max))


def maximum(x1, x2):
    return jnp.maximum(_as_operand(x1), _as_operand(x2))


def minimum(x1, x2):
    return jnp.minimum(_as_operand(x1), _as_operand(x2))


def equal(x1, x2):
    return jnp.equal(_as_operand(x1), _as_operand(x2))


def not_equal(x1, x2):
    return jnp.not_equal(_as_operand(x1), _as_operand(x2))


def less(x1, x2):
    return jnp.less(_as_operand(x1), _as_operand(x2))


def less_equal(x1, x2):
    return jnp.less_equal(_as_operand(x1), _as_operand(x2))


def greater(x1, x2):
    return jnp.greater(_as_operand(x1), _as_operand(x2))


def greater_equal(x1, x2):
    return jnp.greater_equal(_as_operand(x1), _as_operand(x2))


def logical_and(x1, x2):
    return jnp.logical_and(_as_operand(x1), _as_operand(x2))


def logical_or(x1, x2):
    return jnp.logical_or(_as_operand(x1), _as_operand(x2))


def logical_not(x):
    return jnp.logical_not(_as_operand(x))


def isnan(x):
    return jnp.isnan(_as_operand(x))


def isinf(x):
    return jnp.isinf(_as_operand(x))


def isfinite(x):
    return jnp.isfinite(_as_operand(x))


def where(condition, x1, x2):
    return jnp.where(_as_operand(condition), _as_operand(x1), _as_operand(x2))


def bitwise_and(x, y):
    return jnp.bitwise_and(_as_operand(x), _as_operand(y))


def bitwise_or(x, y):
    return jnp.bitwise_or(_as_operand(x), _as_operand(y))


def bitwise_xor(x, y):
    return jnp.bitwise_xor(_as_operand(x), _as_operand(y))


def left_shift(x, y):
    return jnp.left_shift(_as_operand(x), _as_operand(y))


def right_shift(x, y):
    return jnp.right_shift(_as_operand(x), _as_operand(y))  # arithmetic for signed integer types, as numpy


# ----------------------------------------------------------------------------------------------------------------
# Reductions


def sum(x, axis=None, keepdims=False):
    return jnp.sum(_as_operand(x), axis=_axis_arg(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return jnp.mean(_as_float(x), axis=_axis_arg(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return jnp.max(_as_operand(x), axis=_axis_arg(axis), keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    return jnp.min(_as_operand(x), axis=_axis_arg(axis), keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    return jnp.prod(_as_operand(x), axis=_axis_arg(axis), keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return jnp.var(_as_float(x), axis=_axis_arg(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return jnp.std(_as_float(x), axis=_axis_arg(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    return jnp.any(_as_operand(x), axis=_axis_arg(axis), keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    return jnp.all(_as_operand(x), axis=_axis_arg(axis), keepdims=keepdims)


def argmax(x, axis=None, keepdims=False):
    return jnp.argmax(_as_operand(x), axis=axis, keepdims=keepdims).astype(_INT32)


def argmin(x, axis=None, keepdims=False):
    return jnp.argmin(_as_operand(x), axis=axis, keepdims=keepdims).astype(_INT32)


def logsumexp(x, axis=None, keepdims=False):
    return _logsumexp(_as_float(x), axis=_axis_arg(axis), keepdims=bool(keepdims))


def cumsum(x, axis=None):
    return jnp.cumsum(_as_operand(x), axis=axis)


def cumprod(x, axis=None):
    return jnp.cumprod(_as_operand(x), axis=axis)


def sort(x, axis=-1):
    return jnp.sort(_as_operand(x), axis=axis)


def argsort(x, axis=-1):
    return jnp.argsort(_as_operand(x), axis=axis, stable=True).astype(_INT32)


def top_k(x, k, sorted=True):
    # lax.top_k always returns sorted values and puts the lower index first among ties.
    return jax.lax.top_k(_as_array(x), k)


# ----------------------------------------------------------------------------------------------------------------
# Shapes and indexing


def reshape(x, newshape):
    return jnp.reshape(_as_operand(x), _axis_arg(newshape))


def transpose(x, axes=None):
    return jnp.transpose(_as_operand(x), _axis_arg(axes))


def expand_dims(x, axis):
    return jnp.expand_dims(_as_operand(x), _axis_arg(axis))


def squeeze(x, axis=None):
    return jnp.squeeze(_as_operand(x), _axis_arg(axis))


def concatenate(xs, axis=0):
    return jnp.concatenate(xs if isinstance(xs, _Array) else [_as_operand(x) for x in xs], axis=axis)


def stack(xs, axis=0):
    return jnp.stack(xs if isinstance(xs, _Array) else [_as_operand(x) for x in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    return jnp.split(_as_operand(x), indices_or_sections, axis=axis)


def tile(x, repeats):
    return jnp.tile(_as_operand(x), repeats)


def repeat(x, repeats, axis=None):
    if isinstance(repeats, (list, tuple)):
        repeats = np.asarray(repeats)  # static on the host, so it also works under jit
    return jnp.repeat(_as_operand(x), repeats, axis=axis)


def broadcast_to(x, shape):
    return jnp.broadcast_to(_as_operand(x), _axis_arg(shape))


def flip(x, axis=None):
    return jnp.flip(_as_operand(x), _axis_arg(axis))


def take(x, indices, axis=None):
    return jnp.take(_as_operand(x), _as_operand(indices), axis=axis)


def take_along_axis(x, indices, axis=None):
    return jnp.take_along_axis(_as_array(x), _as_array(indices), axis=axis)


def one_hot(x, num_classes, axis=-1, dtype="float32"):
    return jax.nn.one_hot(_as_operand(x), num_classes, dtype=_jax_dtype(dtype), axis=axis)


def pad(x, pad_width, mode="constant", constant_values=0):
    if mode == "constant":
        return jnp.pad(_as_operand(x), pad_width, mode="constant", constant_values=constant_values)
    return jnp.pad(_as_operand(x), pad_width, mode=mode)


def tril(x, k=0):
    return jnp.tril(_as_operand(x), k)


def triu(x, k=0):
    return jnp.triu(_as_operand(x), k)


def diag(x, k=0):
    return jnp.diag(_as_operand(x), k)


def slice_along_axis(x, start, stop, axis):
    x = _as_array(x)
    n = x.shape[axis]
    start, stop, _ = slice(start, stop).indices(n)  # Python slice rules: negatives count from the end, clamped
    return jax.lax.slice_in_dim(x, start, stop if stop > start else start, axis=axis % x.ndim)


def scatter_update(x, indices, updates):
    indices = _as_array(indices)
    return _as_array(x).at[tuple(indices.T)].set(_as_operand(updates))


def unique_int(x):
    return jnp.asarray(np.unique(np.asarray(_as_operand(x))))


def view(x, dtype):
    return _as_array(x).view(_jax_dtype(dtype))


# ----------------------------------------------------------------------------------------------------------------
# Linear algebra


def matmul(x1, x2):
    return jnp.matmul(_as_operand(x1), _as_operand(x2))


def dot(x1, x2):
    return jnp.dot(_as_operand(x1), _as_operand(x2))


def tensordot(x1, x2, axes=2):
    return jnp.tensordot(_as_operand(x1), _as_operand(x2), axes)


def einsum(subscripts, *operands):
    return jnp.einsum(subscripts, *[_as_operand(o) for o in operands])
