"""Small tensor helpers shared by the metric families (shape alignment, safe division)."""

from kshim import ops


def to_tensor(x, dtype=None):
    """``x`` as a backend tensor, cast to ``dtype`` when given."""
    if getattr(x, "_kshim_variable", False):
        x = x.value
    x = x if ops.is_tensor(x) else ops.convert_to_tensor(x)
    return x if dtype is None else ops.cast(x, dtype)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Squeeze or expand the last axis of one tensor when the ranks differ by exactly one (as Keras 3)."""
    r1, r2 = ops.ndim(x1), ops.ndim(x2)
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and ops.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, axis=-1)
        else:
            x1 = ops.squeeze(x1, axis=-1)
    if r2 == r1 + 1 and ops.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, axis=-1)
        else:
            x2 = ops.squeeze(x2, axis=-1)
    return x1, x2


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
