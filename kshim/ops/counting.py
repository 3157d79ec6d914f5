"""numpy's counting, searching and binning functions and a few more products (Keras 3's ``keras.ops.numpy``),
written once on the primitives: bincount, histogram, digitize, searchsorted, argpartition, unravel_index,
corrcoef, correlate, cross, kron, ldexp and the NaN-ignoring quantiles.

Output shapes are static: ``bincount``'s length is read from the values on the host (as numpy, and as Keras 3,
whose bincount is not traceable either) unless ``minlength`` covers them."""

import numpy as np

from kshim import config
from kshim.backends import B
from kshim.ops import symbolic as _symbolic
from kshim.ops.arrays import moveaxis


def _t(x):
    return B.convert_to_tensor(x)


def _dt(x):
    return str(B.dtype(x))


def _is_float(x):
    return _dt(x).startswith(("float", "bfloat"))


def _float(x):
    x = _t(x)
    return x if _is_float(x) else B.cast(x, config.floatx())


# ----------------------------------------------------------------------------------------------------------------
# Counting and binning


def bincount(x, weights=None, minlength=0, sparse=False):
    """The number of occurrences (or the summed ``weights``) of each value of the non-negative integer ``x``
    (1-D, or 2-D: one count per row), of length ``max(max(x) + 1, minlength)``."""
    if sparse:
        raise ValueError(f"bincount: kshim tensors are dense. Received: sparse={sparse!r}")
    x = _t(x)
    if len(B.shape(x)) not in (1, 2):
        raise ValueError(f"bincount: `x` must be 1-D or 2-D. Received: x.shape={tuple(B.shape(x))}")
    top = B.convert_to_numpy(B.max(x)) if int(np.prod(B.shape(x))) else -1
    length = max(int(top) + 1, int(minlength))
    if weights is None:
        return B.sum(B.one_hot(x, length, axis=-1, dtype="int32"), axis=-2)
    weights = _t(weights)
    dtype = _dt(weights) if _is_float(weights) else "int32"
    hot = B.one_hot(x, length, axis=-1, dtype=dtype)
    return B.sum(B.multiply(hot, B.expand_dims(B.cast(weights, dtype), -1)), axis=-2)


def searchsorted(sorted_sequence, values, side="left"):
    """Indices at which ``values`` would be inserted into the 1-D ``sorted_sequence`` to keep it sorted (int32)."""
    seq = _t(sorted_sequence)
    if len(B.shape(seq)) != 1:
        raise ValueError("searchsorted: `sorted_sequence` must be 1-D (use ops.vectorized_map for N-D). "
                         f"Received: sorted_sequence.shape={tuple(B.shape(seq))}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: `side` must be 'left' or 'right'. Received: side={side!r}")
    values = _t(values)
    compare = B.less if side == "left" else B.less_equal
    return B.sum(B.cast(compare(seq, B.expand_dims(values, -1)), "int32"), axis=-1)


def digitize(x, bins):
    """The index of the bin of each ``x`` for increasing ``bins``: ``i`` with ``bins[i-1] <= x < bins[i]``
    (int32)."""
    return searchsorted(bins, x, side="right")


def histogram(x, bins=10, range=None):
    """(counts, edges) of the 1-D ``x`` in ``bins`` equal bins over ``range`` (default: min to max of ``x``); the
    last bin includes its right edge, values outside ``range`` are not counted."""
    x = _t(x)
    if len(B.shape(x)) != 1:
        raise ValueError(f"histogram: `x` must be 1-D. Received: x.shape={tuple(B.shape(x))}")
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"histogram: `bins` must be a positive integer. Received: bins={bins!r}")
    x = _float(x)
    if range is None:
        lo, hi = B.min(x), B.max(x)
    else:
        lo, hi = (B.cast(_t(float(v)), _dt(x)) for v in range)
    same = B.equal(lo, hi)  # numpy widens an empty range by 0.5 each side
    lo, hi = B.where(same, B.subtract(lo, 0.5), lo), B.where(same, B.add(hi, 0.5), hi)
    steps = B.cast(B.arange(bins + 1), _dt(x))
    edges = B.add(lo, B.multiply(B.subtract(hi, lo), B.divide(steps, float(bins))))
    inner = B.slice_along_axis(edges, 1, bins, 0)
    index = B.sum(B.cast(B.greater_equal(B.expand_dims(x, -1), inner), "int32"), axis=-1)
    inside = B.logical_and(B.greater_equal(x, lo), B.less_equal(x, hi))
    hot = B.one_hot(index, bins, axis=-1, dtype="int32")
    counts = B.sum(B.multiply(hot, B.expand_dims(B.cast(inside, "int32"), -1)), axis=0)
    return counts, edges


def argpartition(x, kth, axis=-1):
    """Indices that partition ``x`` along ``axis`` around its ``kth`` smallest element (here: a full sort, which is
    one valid partition; int32)."""
    x = _t(x)
    if axis is None:
        x, axis = B.reshape(x, (-1,)), 0
    return B.cast(B.argsort(x, axis=axis), "int32")


def unravel_index(indices, shape):
    """The tuple of coordinate tensors of the flat ``indices`` in an array of ``shape``."""
    indices = _t(indices)
    out, stride = [], 1
    for dim in reversed(tuple(shape)):
        out.append(B.mod(B.floor_divide(indices, stride), dim))
        stride *= int(dim)
    return tuple(reversed(out))


# ----------------------------------------------------------------------------------------------------------------
# Products and correlations


def corrcoef(x):
    """The Pearson correlation coefficients of the rows of ``x`` (variables in rows), clipped to [-1, 1]."""
    x = _float(x)
    if len(B.shape(x)) == 1:
        x = B.expand_dims(x, 0)
    centred = B.subtract(x, B.mean(x, axis=1, keepdims=True))
    cov = B.matmul(centred, B.transpose(centred, (1, 0)))
    d = B.sqrt(B.diag(cov))
    out = B.divide(B.divide(cov, B.expand_dims(d, 1)), B.expand_dims(d, 0))
    out = B.clip(out, -1.0, 1.0)
    return B.squeeze(out) if B.shape(out) == (1, 1) else out


def correlate(x1, x2, mode="valid"):
    """The cross-correlation ``c[k] = sum_n x1[n + k] * x2[n]`` of two 1-D tensors, numpy's modes."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: `mode` must be 'valid', 'same' or 'full'. Received: mode={mode!r}")
    a, v = _float(x1), _float(x2)
    m, n = B.shape(a)[0], B.shape(v)[0]
    padded = B.pad(a, [(n - 1, n - 1)])
    windows = np.arange(m + n - 1)[:, None] + np.arange(n)[None, :]
    full = B.matmul(B.take(padded, B.convert_to_tensor(windows.astype("int32")), axis=0), v)
    if mode == "full":
        return full
    size = max(m, n) if mode == "same" else max(m, n) - min(m, n) + 1
    start = (m + n - 1 - size) // 2 if mode == "same" else min(m, n) - 1
    return B.slice_along_axis(full, start, start + size, 0)


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of vectors of 2 or 3 components along ``axisa``/``axisb``, on ``axisc`` of the result
    (``axis`` sets all three)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(_t(x1), axisa, -1), moveaxis(_t(x2), axisb, -1)
    na, nb = B.shape(a)[-1], B.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: the vectors must have 2 or 3 components. Received: {na} and {nb}")

    def comp(t, i, size):
        return B.take(t, i, axis=-1) if i < size else B.zeros_like(B.take(t, 0, axis=-1))

    a0, a1, a2 = (comp(a, i, na) for i in range(3))
    b0, b1, b2 = (comp(b, i, nb) for i in range(3))
    z = B.subtract(B.multiply(a0, b1), B.multiply(a1, b0))
    if na == 2 and nb == 2:
        return z
    x = B.subtract(B.multiply(a1, b2), B.multiply(a2, b1))
    y = B.subtract(B.multiply(a2, b0), B.multiply(a0, b2))
    return moveaxis(B.stack([x, y, z], axis=-1), -1, axisc)


def kron(x1, x2):
    """The Kronecker product: blocks of ``x2`` scaled by each element of ``x1``."""
    a, b = _t(x1), _t(x2)
    n = max(len(B.shape(a)), len(B.shape(b)))
    sa = (1,) * (n - len(B.shape(a))) + tuple(B.shape(a))
    sb = (1,) * (n - len(B.shape(b))) + tuple(B.shape(b))
    a = B.reshape(a, tuple(d for s in sa for d in (s, 1)))
    b = B.reshape(b, tuple(d for s in sb for d in (1, s)))
    return B.reshape(B.multiply(a, b), tuple(p * q for p, q in zip(sa, sb)))


def ldexp(x1, x2):
    """``x1 * 2 ** x2`` for an integer ``x2``."""
    x2 = _t(x2)
    if _is_float(x2) or _dt(x2) == "bool":
        raise TypeError(f"ldexp: the exponent `x2` must be an integer tensor. Received: x2 dtype={_dt(x2)}")
    x1 = _float(x1)
    return B.multiply(x1, B.power(2.0, B.cast(x2, _dt(x1))))


# ----------------------------------------------------------------------------------------------------------------
# NaN-ignoring quantiles


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """`quantile` of the non-NaN values along ``axis`` (NaN where there is none)."""
    if method != "linear":
        raise NotImplementedError(f"nanquantile: kshim computes method='linear' only. Received: method={method!r}")
    x = _float(x)
    shape = tuple(B.shape(x))
    axes = tuple(range(len(shape))) if axis is None else tuple(a % len(shape) for a in (
        axis if isinstance(axis, (list, tuple)) else [axis]))
    keep = [a for a in range(len(shape)) if a not in axes]
    flat = B.reshape(B.transpose(x, tuple(keep) + axes), tuple(shape[a] for a in keep) + (-1,))
    nan = B.isnan(flat)
    srt = B.sort(B.where(nan, B.full_like(flat, float("inf")), flat), axis=-1)  # the NaNs last
    count = B.sum(B.cast(B.logical_not(nan), _dt(x)), axis=-1, keepdims=True)  # (..., 1)
    qs = np.atleast_1d(np.asarray(B.convert_to_numpy(q) if B.is_tensor(q) else q, dtype="float64"))
    pos = B.multiply(B.maximum(B.subtract(count, 1.0), 0.0), B.convert_to_tensor(qs.astype(_dt(x))))  # (.., nq)
    lo = B.floor(pos)
    frac = B.subtract(pos, lo)
    lo_i = B.cast(lo, "int32")
    hi_i = B.cast(B.ceil(pos), "int32")
    a = B.take_along_axis(srt, lo_i, axis=-1)
    b = B.take_along_axis(srt, hi_i, axis=-1)
    out = B.add(a, B.multiply(B.subtract(b, a), frac))
    out = B.where(B.equal(count, 0.0), B.full_like(out, float("nan")), out)
    out = moveaxis(out, -1, 0)
    if keepdims:
        full = [1 if i in axes else shape[i] for i in range(len(shape))]
        out = B.reshape(out, (len(qs),) + tuple(full))
    if np.ndim(q) == 0:
        out = B.squeeze(out, axis=0)
    return out


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """`nanquantile` with ``q`` in percent."""
    q = B.convert_to_numpy(q) if B.is_tensor(q) else q
    return nanquantile(x, np.asarray(q, dtype="float64") / 100.0, axis, method, keepdims)


def nanmedian(x, axis=None, keepdims=False):
    """The median of the non-NaN values."""
    return nanquantile(x, 0.5, axis=axis, keepdims=keepdims)


__all__ = ["bincount", "searchsorted", "digitize", "histogram", "argpartition", "unravel_index", "corrcoef",
           "correlate", "cross", "kron", "ldexp", "nanquantile", "nanpercentile", "nanmedian"]

_symbolic.install(globals(), __all__, "keras.src.ops.numpy")
