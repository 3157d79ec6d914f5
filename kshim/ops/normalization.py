"""Normalization ops of Keras 3's ``keras.ops.nn``: moments, batch/layer/RMS normalization, normalize, psnr.
Written once on the primitives, with Keras 3's formulas (statistics of float16/bfloat16 in float32)."""

import numpy as np

from kshim import config
from kshim.backends import B
from kshim.ops import symbolic as _symbolic


def _compute(x):
    """``x`` as a float tensor to compute statistics in (float32 for integers and half precision)."""
    x = B.convert_to_tensor(x)
    return x if str(B.dtype(x)) in ("float32", "float64") else B.cast(x, "float32")


def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of ``x`` over ``axes``; half-precision input is reduced in float32 and cast back."""
    if synchronized:
        raise NotImplementedError("moments: `synchronized=True` (a cross-replica reduction) is not supported by "
                                  "kshim. Received: synchronized=True")
    x = B.convert_to_tensor(x)
    dtype = str(B.dtype(x))
    xf = _compute(x)
    mean = B.mean(xf, axis=axes, keepdims=True)
    variance = B.mean(B.square(B.subtract(xf, B.stop_gradient(mean))), axis=axes, keepdims=keepdims)
    if not keepdims:
        mean = B.squeeze(mean, axis=axes)
    if dtype in ("float16", "bfloat16"):
        top = float(np.finfo("float16").max) if dtype == "float16" else 3.3895313892515355e38  # bfloat16's max
        mean, variance = (B.cast(B.clip(v, -top, top), dtype) for v in (mean, variance))
    return mean, variance


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with the 1-D statistics along ``axis``."""
    x = B.convert_to_tensor(x)
    shape = [1] * len(B.shape(x))
    shape[axis] = B.shape(x)[axis]

    def along(v):
        return B.reshape(B.convert_to_tensor(v), tuple(shape))

    inv = B.reciprocal(B.sqrt(B.add(along(variance), epsilon)))
    if scale is not None:
        inv = B.multiply(inv, along(scale))
    res = B.negative(B.multiply(along(mean), inv))
    if offset is not None:
        res = B.add(res, along(offset))
    return B.add(B.multiply(x, inv), res)


def _axes(axis, ndim):
    return sorted(a % ndim for a in (axis if isinstance(axis, (list, tuple)) else [axis]))


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Keras 3's ``ops.layer_normalization`` (``rms_scaling=True`` in ``kwargs`` scales by the RMS of the
    centred values, as the layer's option)."""
    unknown = set(kwargs) - {"rms_scaling"}
    if unknown:
        raise TypeError(f"layer_normalization: unexpected arguments {sorted(unknown)}")
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = B.convert_to_tensor(x)
    dtype = str(B.dtype(x))
    xf = _compute(x)
    ndim = len(B.shape(xf))
    axes = _axes(axis, ndim)
    bshape = tuple(B.shape(xf)[d] if d in axes else 1 for d in range(ndim))

    def fit(v):
        if v is None:
            return None
        v = B.cast(B.convert_to_tensor(v), B.dtype(xf))
        return B.reshape(v, bshape) if len(B.shape(v)) != ndim and axes != [ndim - 1] else v

    gamma, beta = fit(gamma), fit(beta)
    if kwargs.get("rms_scaling"):
        variance = B.var(xf, axis=tuple(axes), keepdims=True)
        out = B.multiply(xf, B.reciprocal(B.sqrt(B.add(variance, epsilon))))
        if gamma is not None:
            out = B.multiply(out, gamma)
    else:
        mean = B.mean(xf, axis=tuple(axes), keepdims=True)
        variance = B.var(xf, axis=tuple(axes), keepdims=True)
        inv = B.reciprocal(B.sqrt(B.add(variance, epsilon)))
        if gamma is not None:
            inv = B.multiply(inv, gamma)
        res = B.negative(B.multiply(mean, inv))
        if beta is not None:
            res = B.add(res, beta)
        out = B.add(B.multiply(xf, inv), res)
    return B.cast(out, dtype)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """``x / sqrt(mean(x^2) + epsilon) * scale`` over ``axis``."""
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = B.convert_to_tensor(x)
    dtype = str(B.dtype(x))
    xf = _compute(x)
    axes = tuple(_axes(axis, len(B.shape(xf))))
    out = B.multiply(xf, B.reciprocal(B.sqrt(B.add(B.mean(B.square(xf), axis=axes, keepdims=True), epsilon))))
    if scale is not None:
        out = B.multiply(out, B.cast(B.convert_to_tensor(scale), B.dtype(xf)))
    return B.cast(out, dtype)


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm along ``axis`` (at least ``epsilon``)."""
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"normalize: `order` must be an int >= 1. Received: order={order!r}")
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = B.convert_to_tensor(x)
    if len(B.shape(x)) == 0:
        x = B.expand_dims(x, 0)
    if order == 2:
        inv = B.reciprocal(B.sqrt(B.sum(B.square(x), axis=axis, keepdims=True)))
        return B.multiply(x, B.minimum(inv, 1.0 / epsilon))
    return B.divide(x, B.maximum(B.norm(x, ord=order, axis=axis, keepdims=True), epsilon))


def psnr(x1, x2, max_val):
    """The peak signal-to-noise ratio, ``20 log10(max_val) - 10 log10(mean((x1 - x2)^2))``."""
    x1, x2 = B.convert_to_tensor(x1), B.convert_to_tensor(x2)
    if tuple(B.shape(x1)) != tuple(B.shape(x2)):
        raise ValueError(f"psnr: `x1` and `x2` must have the same shape. Received: x1.shape="
                         f"{tuple(B.shape(x1))}, x2.shape={tuple(B.shape(x2))}")
    mse = B.mean(B.square(B.subtract(x1, x2)))
    max_val = B.cast(B.convert_to_tensor(max_val), B.dtype(x2))
    ln10 = 2.302585092994046
    return B.subtract(B.multiply(B.divide(B.log(max_val), ln10), 20.0), B.multiply(B.divide(B.log(mse), ln10), 10.0))


__all__ = ["moments", "batch_normalization", "layer_normalization", "rms_normalization", "normalize", "psnr"]

_symbolic.install(globals(), __all__, "keras.src.ops.nn")
