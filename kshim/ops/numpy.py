"""numpy-like ops: creation, elementwise math, reductions, shapes and linear algebra."""

from kshim.backends import B
from kshim.ops import symbolic as _symbolic

_PRIMITIVES = (
    "zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "arange", "eye",
    "add", "subtract", "multiply", "divide", "floor_divide", "mod", "power", "negative", "abs", "sign",
    "sqrt", "square", "reciprocal", "exp", "expm1", "log", "log1p", "sin", "cos", "tan", "tanh", "arctan", "erf",
    "floor", "ceil", "round", "clip", "maximum", "minimum",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_not", "isnan", "isinf", "isfinite", "where",
    "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
    "sum", "mean", "max", "min", "prod", "var", "std", "any", "all", "argmax", "argmin", "logsumexp",
    "cumsum", "cumprod", "sort", "argsort", "top_k",
    "reshape", "transpose", "expand_dims", "squeeze", "concatenate", "stack", "split", "tile", "repeat",
    "broadcast_to", "flip", "take", "take_along_axis", "one_hot", "pad", "tril", "triu", "diag",
    "matmul", "dot", "tensordot", "einsum",
)
for _name in _PRIMITIVES:
    globals()[_name] = getattr(B, _name)

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


def moments(x, axes, keepdims=False):
    """(mean, variance) of ``x`` over ``axes``, as Keras's ``ops.moments``."""
    m = B.mean(x, axis=axes, keepdims=True)
    v = B.mean(B.square(B.subtract(x, B.stop_gradient(m))), axis=axes, keepdims=keepdims)
    if not keepdims:
        m = B.squeeze(m, axis=axes)
    return m, v


def norm(x, ord=None, axis=None, keepdims=False):
    """The vector 2-norm (``ord`` None or 2), 1-norm or inf-norm over ``axis``."""
    if ord in (None, 2, "fro", "euclidean"):
        return B.sqrt(B.sum(B.square(x), axis=axis, keepdims=keepdims))
    if ord == 1:
        return B.sum(B.abs(x), axis=axis, keepdims=keepdims)
    if ord in (float("inf"), "inf"):
        return B.max(B.abs(x), axis=axis, keepdims=keepdims)
    raise ValueError(f"norm: `ord` must be None, 1, 2 or inf. Received: ord={ord!r}")


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


def square_difference(x1, x2):
    return B.square(B.subtract(x1, x2))


def get_item(x, key):
    """``x[key]`` (Keras's ``ops.get_item``, what ``KerasTensor.__getitem__`` records)."""
    return x[key]


# Ops whose arguments are shapes or Python values, never tensors: no symbolic twin.
_NOT_SYMBOLIC = ("zeros", "ones", "full", "arange", "eye")


__all__ = list(_PRIMITIVES) + [
    "absolute", "true_divide", "amax", "amin", "log2", "log10", "ravel", "average", "moments", "norm",
    "l2_normalize", "swapaxes", "count_nonzero", "get_item",
]

_symbolic.install(globals(), [n for n in __all__ if n not in _NOT_SYMBOLIC], "keras.src.ops.numpy")
