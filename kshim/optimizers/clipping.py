"""Gradient clipping, as Keras 3 computes it: per tensor by norm, by value, or all tensors by their global norm."""

from kshim import ops


def clip_by_norm(values, clipnorm):
    """``values`` rescaled so that their L2 norm is at most ``clipnorm`` (NaN-safe at zero norm)."""
    l2sum = ops.sum(ops.square(values), keepdims=True)
    pred = ops.greater(l2sum, 0)
    l2sum_safe = ops.where(pred, l2sum, ops.ones_like(l2sum))
    l2norm = ops.where(pred, ops.sqrt(l2sum_safe), l2sum)
    return ops.divide(ops.multiply(values, clipnorm), ops.maximum(l2norm, clipnorm))


def global_norm(values):
    """The L2 norm of all tensors in ``values`` together."""
    return ops.sqrt(ops.sum(ops.stack([ops.sum(ops.square(v)) for v in values])))


def clip_by_global_norm(values, clip_norm):
    """All ``values`` rescaled by one factor so that their global norm is at most ``clip_norm``.

    A non-finite global norm makes the factor NaN (as Keras 3), so a bad step is visible rather than silent.
    """
    norm = global_norm(values)
    scale = ops.multiply(clip_norm, ops.minimum(ops.divide(1.0, norm), 1.0 / clip_norm))
    scale = ops.add(scale, ops.subtract(norm, norm))
    return [ops.multiply(v, scale) for v in values]
