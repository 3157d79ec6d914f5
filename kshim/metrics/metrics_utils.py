"""Small tensor helpers shared by the metric families (shape alignment, safe division)."""

from kshim import ops
from kshim.losses.loss import squeeze_or_expand_to_same_rank  # noqa: F401  (one home; used by the metrics)


def to_tensor(x, dtype=None):
    """``x`` as a backend tensor, cast to ``dtype`` when given."""
    if getattr(x, "_kshim_variable", False):
        x = x.value
    x = x if ops.is_tensor(x) else ops.convert_to_tensor(x)
    return x if dtype is None else ops.cast(x, dtype)


def divide_no_nan(x, y):
    """``x / y``, with 0 wherever ``y == 0``."""
    zero = ops.equal(y, 0)
    return ops.where(zero, 0.0, ops.divide(x, ops.where(zero, 1.0, y)))


def first(x):
    """The first element of a 1-D tensor, as a scalar tensor."""
    return ops.reshape(ops.slice_along_axis(x, 0, 1, 0), ())


def head(x, n):
    """``x[:n]`` along the first axis."""
    return ops.slice_along_axis(x, 0, n, 0)


def tail(x, start):
    """``x[start:]`` along the first axis."""
    return ops.slice_along_axis(x, start, ops.shape(x)[0], 0)
