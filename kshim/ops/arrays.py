"""numpy's remaining array functions (Keras 3's ``keras.ops.numpy``), written once on the primitives: creation
aliases, ranges and grids, rearrangements, splits and stacks, diagonals, products, closeness tests, NaN-ignoring
reductions, quantiles and windows."""

import numpy as np

from kshim import config
from kshim.backends import B
from kshim.ops import symbolic as _symbolic


def _t(x):
    return B.convert_to_tensor(x)


def _ndim(x):
    return len(B.shape(x))


def _is_float(x):
    return str(B.dtype(x)).startswith(("float", "bfloat"))


def _float(x):
    x = _t(x)
    return x if _is_float(x) else B.cast(x, config.floatx())


# ----------------------------------------------------------------------------------------------------------------
# Creation


def array(x, dtype=None):
    """A tensor holding ``x``."""
    return B.convert_to_tensor(x, dtype)


def empty(shape, dtype=None):
    """A tensor of ``shape`` (zeros: kshim never hands out uninitialised memory)."""
    return B.zeros(shape, dtype or config.floatx())


def empty_like(x, dtype=None):
    """A tensor shaped like ``x`` (zeros)."""
    return B.zeros_like(x, dtype)


def identity(n, dtype=None):
    """The n x n identity."""
    return B.eye(n, dtype=dtype or config.floatx())


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below diagonal ``k`` of an N x M matrix."""
    M = N if M is None else M
    return B.convert_to_tensor(np.tri(N, M, k), dtype or config.floatx())


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (scalars or tensors)."""
    start, stop = _float(start), _float(stop)
    div = (num - 1) if endpoint else num
    step = B.divide(B.subtract(stop, start), float(max(div, 1)))
    steps = B.arange(num, dtype=str(B.dtype(step)))
    shape = (num,) + (1,) * _ndim(step)
    out = B.add(start, B.multiply(B.reshape(steps, shape), step))
    if endpoint and num > 1:
        out = B.concatenate([B.slice_along_axis(out, 0, num - 1, 0), B.expand_dims(B.add(stop, B.zeros_like(
            B.slice_along_axis(out, 0, 1, 0)[0])), 0)], axis=0)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = B.cast(out, dtype)
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``base ** linspace(start, stop)``."""
    return B.power(float(base), linspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Numbers spaced evenly on a log scale from ``start`` to ``stop`` (same sign)."""
    start, stop = _float(start), _float(stop)
    sign = B.sign(start)
    out = B.exp(linspace(B.log(B.abs(start)), B.log(B.abs(stop)), num, endpoint=endpoint, axis=0))
    out = B.multiply(out, sign)
    if num > 0:
        out = B.concatenate([B.expand_dims(start, 0), B.slice_along_axis(out, 1, num, 0)], axis=0)
    if endpoint and num > 1:
        out = B.concatenate([B.slice_along_axis(out, 0, num - 1, 0), B.expand_dims(stop, 0)], axis=0)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    return out if dtype is None else B.cast(out, dtype)


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D vectors (``indexing`` "xy": the first two axes swapped, as numpy)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: `indexing` must be 'xy' or 'ij'. Received: indexing={indexing!r}")
    xs = [B.reshape(_t(v), (-1,)) for v in x]
    sizes = [B.shape(v)[0] for v in xs]
    if indexing == "xy" and len(xs) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, v in enumerate(xs):
        axis = i
        if indexing == "xy" and len(xs) >= 2 and i < 2:
            axis = 1 - i
        shape = [1] * len(xs)
        shape[axis] = B.shape(v)[0]
        out.append(B.broadcast_to(B.reshape(v, tuple(shape)), tuple(sizes)))
    return out


# ----------------------------------------------------------------------------------------------------------------
# Rearrangements


def moveaxis(x, source, destination):
    """``x`` with axes ``source`` moved to ``destination`` (ints or sequences)."""
    x = _t(x)
    n = _ndim(x)
    src = [s % n for s in (source if isinstance(source, (list, tuple)) else [source])]
    dst = [d % n for d in (destination if isinstance(destination, (list, tuple)) else [destination])]
    order = [a for a in range(n) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return B.transpose(x, tuple(order))


def roll(x, shift, axis=None):
    """Elements shifted by ``shift`` along ``axis`` (flattened when None), wrapping around."""
    x = _t(x)
    if axis is None:
        return B.reshape(roll(B.reshape(x, (-1,)), shift, 0), B.shape(x))
    shifts = shift if isinstance(shift, (list, tuple)) else [shift]
    axes = axis if isinstance(axis, (list, tuple)) else [axis] * len(shifts)
    for s, a in zip(shifts, axes):
        n = B.shape(x)[a]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            x = B.concatenate([B.slice_along_axis(x, n - s, n, a), B.slice_along_axis(x, 0, n - s, a)], axis=a)
    return x


def fliplr(x):
    """``x`` reversed along axis 1."""
    return B.flip(x, axis=1)


def flipud(x):
    """``x`` reversed along axis 0."""
    return B.flip(x, axis=0)


def rot90(array, k=1, axes=(0, 1)):
    """``array`` rotated by 90 degrees ``k`` times in the plane of ``axes``."""
    x = _t(array)
    a0, a1 = axes
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return B.flip(B.flip(x, axis=a0), axis=a1)
    perm = list(range(_ndim(x)))
    perm[a0 % len(perm)], perm[a1 % len(perm)] = perm[a1 % len(perm)], perm[a0 % len(perm)]
    if k == 1:
        return B.transpose(B.flip(x, axis=a1), tuple(perm))
    return B.flip(B.transpose(x, tuple(perm)), axis=a1)


def append(x1, x2, axis=None):
    """``x2`` appended to ``x1`` along ``axis`` (both flattened when None)."""
    x1, x2 = _t(x1), _t(x2)
    if axis is None:
        return B.concatenate([B.reshape(x1, (-1,)), B.reshape(x2, (-1,))], axis=0)
    return B.concatenate([x1, x2], axis=axis)


def array_split(x, indices_or_sections, axis=0):
    """``x`` split into ``n`` nearly equal parts (the first ones one longer), or at the given indices."""
    x = _t(x)
    n = B.shape(x)[axis]
    if isinstance(indices_or_sections, int):
        parts = indices_or_sections
        base, extra = divmod(n, parts)
        bounds = np.cumsum([0] + [base + 1] * extra + [base] * (parts - extra))
    else:
        bounds = [0, *indices_or_sections, n]
    return [B.slice_along_axis(x, int(a), int(max(a, b)), axis) for a, b in zip(bounds[:-1], bounds[1:])]


def _split(x, spec, axis):
    if isinstance(spec, int) and B.shape(_t(x))[axis] % spec:
        raise ValueError(f"split: the axis does not divide into {spec} equal parts. Received: "
                         f"x.shape={tuple(B.shape(_t(x)))}, axis={axis}")
    return array_split(x, spec, axis)


def hsplit(x, indices_or_sections):
    """Split along axis 1 (axis 0 for 1-D input)."""
    return _split(x, indices_or_sections, 1 if _ndim(_t(x)) > 1 else 0)


def vsplit(x, indices_or_sections):
    """Split along axis 0."""
    return _split(x, indices_or_sections, 0)


def dsplit(x, indices_or_sections):
    """Split along axis 2."""
    return _split(x, indices_or_sections, 2)


def _atleast(x, n):
    x = _t(x)
    shape = tuple(B.shape(x))
    if len(shape) >= n:
        return x
    if n == 2:
        return B.reshape(x, (1,) * (2 - len(shape)) + shape)
    return B.reshape(x, {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}[len(shape)])


def hstack(xs):
    """Concatenation along axis 1 (axis 0 for 1-D tensors)."""
    xs = [_t(x) for x in xs]
    return B.concatenate(xs, axis=1 if _ndim(xs[0]) > 1 else 0)


def vstack(xs):
    """Concatenation along axis 0 of the tensors as at least 2-D."""
    return B.concatenate([_atleast(x, 2) for x in xs], axis=0)


def dstack(xs):
    """Concatenation along axis 2 of the tensors as at least 3-D."""
    return B.concatenate([_atleast(x, 3) for x in xs], axis=2)


# ----------------------------------------------------------------------------------------------------------------
# Diagonals and products


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal ``offset`` of the planes (axis1, axis2), on a new last axis."""
    x = moveaxis(_t(x), (axis1, axis2), (-2, -1))
    shape = tuple(B.shape(x))
    rows, cols = shape[-2], shape[-1]
    start_r, start_c = (0, offset) if offset >= 0 else (-offset, 0)
    count = max(0, min(rows - start_r, cols - start_c))
    flat = (np.arange(count) + start_r) * cols + np.arange(count) + start_c
    x = B.reshape(x, shape[:-2] + (rows * cols,))
    return B.take(x, B.convert_to_tensor(flat.astype("int32")), axis=-1)


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of `diagonal` (integers below 32 bits sum as int32)."""
    return B.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diagflat(x, k=0):
    """A 2-D tensor with the flattened ``x`` on diagonal ``k``."""
    return B.diag(B.reshape(_t(x), (-1,)), k)


def outer(x1, x2):
    """The outer product of the flattened inputs."""
    return B.multiply(B.reshape(_t(x1), (-1, 1)), B.reshape(_t(x2), (1, -1)))


def inner(x1, x2):
    """The sum product over the last axes (a plain product for scalars)."""
    x1, x2 = _t(x1), _t(x2)
    if _ndim(x1) == 0 or _ndim(x2) == 0:
        return B.multiply(x1, x2)
    return B.tensordot(x1, x2, axes=[[-1], [-1]])


def vdot(x1, x2):
    """The dot product of the flattened inputs."""
    return B.sum(B.multiply(B.reshape(_t(x1), (-1,)), B.reshape(_t(x2), (-1,))))


def diff(a, n=1, axis=-1):
    """The ``n``-th discrete difference along ``axis``."""
    x = _t(a)
    for _ in range(n):
        size = B.shape(x)[axis]
        x = B.subtract(B.slice_along_axis(x, 1, size, axis), B.slice_along_axis(x, 0, size - 1, axis))
    return x


def ptp(x, axis=None, keepdims=False):
    """max - min along ``axis``."""
    return B.subtract(B.max(x, axis=axis, keepdims=keepdims), B.min(x, axis=axis, keepdims=keepdims))


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-D ``x``: columns x**(N-1), ..., x**0 (or increasing)."""
    x = _t(x)
    N = B.shape(x)[0] if N is None else N
    powers = np.arange(N) if increasing else np.arange(N)[::-1]
    p = B.convert_to_tensor(powers.astype(str(B.dtype(x)) if str(B.dtype(x)) != "bool" else "int32"))
    return B.power(B.expand_dims(x, -1), p)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The trapezoidal integral of ``y`` along ``axis`` (spacing ``x`` or ``dx``)."""
    y = _float(y)
    n = B.shape(y)[axis]
    mid = B.divide(B.add(B.slice_along_axis(y, 1, n, axis), B.slice_along_axis(y, 0, n - 1, axis)), 2.0)
    if x is None:
        return B.multiply(B.sum(mid, axis=axis), dx)
    return B.sum(B.multiply(mid, diff(_float(x), axis=axis if _ndim(_t(x)) > 1 else -1)), axis=axis)


# ----------------------------------------------------------------------------------------------------------------
# Closeness and membership


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|x1 - x2| <= atol + rtol * |x2| elementwise (infinities equal when equal)."""
    x1, x2 = _t(x1), _t(x2)
    close = B.less_equal(B.abs(B.subtract(x1, x2)), B.add(atol, B.multiply(rtol, B.abs(x2))))
    close = B.logical_or(close, B.equal(x1, x2))
    if equal_nan:
        close = B.logical_or(close, B.logical_and(B.isnan(x1), B.isnan(x2)))
    return close


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether `isclose` holds everywhere."""
    return B.all(isclose(x1, x2, rtol, atol, equal_nan))


def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each element of ``x1`` is among the elements of ``x2``."""
    x1, x2 = _t(x1), B.reshape(_t(x2), (-1,))
    found = B.any(B.equal(B.expand_dims(x1, -1), x2), axis=-1)
    return B.logical_not(found) if invert else found


def select(condlist, choicelist, default=0):
    """The element of the first choice whose condition holds, else ``default``."""
    out = None
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        rest = B.add(B.zeros_like(_t(choice)), default) if out is None else out
        out = B.where(cond, choice, rest)
    return out


# ----------------------------------------------------------------------------------------------------------------
# NaN-ignoring reductions


def _nan_as(x, value):
    x = _t(x)
    return B.where(B.isnan(x), B.full_like(x, value), x) if _is_float(x) else x


def nansum(x, axis=None, keepdims=False):
    """The sum, NaNs counted as 0."""
    return B.sum(_nan_as(x, 0.0), axis=axis, keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    """The product, NaNs counted as 1."""
    return B.prod(_nan_as(x, 1.0), axis=axis, keepdims=keepdims)


def _count(x, axis, keepdims):
    return B.sum(B.cast(B.logical_not(B.isnan(x)), str(B.dtype(x))), axis=axis, keepdims=keepdims)


def nanmean(x, axis=None, keepdims=False):
    """The mean of the non-NaN values (NaN where there is none)."""
    x = _float(x)
    return B.divide(nansum(x, axis, keepdims), _count(x, axis, keepdims))


def nanvar(x, axis=None, keepdims=False):
    """The variance of the non-NaN values."""
    x = _float(x)
    mean = nanmean(x, axis, keepdims=True)
    sq = B.square(B.subtract(x, mean))
    return B.divide(nansum(sq, axis, keepdims), _count(x, axis, keepdims))


def nanstd(x, axis=None, keepdims=False):
    """The standard deviation of the non-NaN values."""
    return B.sqrt(nanvar(x, axis, keepdims))


def _all_nan(x, axis, keepdims):
    return B.all(B.isnan(x), axis=axis, keepdims=keepdims)


def nanmax(x, axis=None, keepdims=False):
    """The maximum of the non-NaN values (NaN where there is none)."""
    x = _t(x)
    if not _is_float(x):
        return B.max(x, axis=axis, keepdims=keepdims)
    m = B.max(_nan_as(x, float("-inf")), axis=axis, keepdims=keepdims)
    return B.where(_all_nan(x, axis, keepdims), B.full_like(m, float("nan")), m)


def nanmin(x, axis=None, keepdims=False):
    """The minimum of the non-NaN values (NaN where there is none)."""
    x = _t(x)
    if not _is_float(x):
        return B.min(x, axis=axis, keepdims=keepdims)
    m = B.min(_nan_as(x, float("inf")), axis=axis, keepdims=keepdims)
    return B.where(_all_nan(x, axis, keepdims), B.full_like(m, float("nan")), m)


def nanargmax(x, axis=None, keepdims=False):
    """The index of the largest non-NaN value."""
    return B.argmax(_nan_as(x, float("-inf")), axis=axis, keepdims=keepdims)


def nanargmin(x, axis=None, keepdims=False):
    """The index of the smallest non-NaN value."""
    return B.argmin(_nan_as(x, float("inf")), axis=axis, keepdims=keepdims)


def nancumsum(x, axis=None, dtype=None):
    """The cumulative sum, NaNs counted as 0."""
    out = B.cumsum(_nan_as(x, 0.0), axis=axis)
    return out if dtype is None else B.cast(out, dtype)


def nancumprod(x, axis=None, dtype=None):
    """The cumulative product, NaNs counted as 1."""
    out = B.cumprod(_nan_as(x, 1.0), axis=axis)
    return out if dtype is None else B.cast(out, dtype)


# ----------------------------------------------------------------------------------------------------------------
# Quantiles


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles (``q`` in [0, 1], a scalar or 1-D) along ``axis``, numpy's linear method."""
    if method != "linear":
        raise NotImplementedError(f"quantile: kshim computes method='linear' only. Received: method={method!r}")
    x = _float(x)
    shape = tuple(B.shape(x))
    axes = tuple(range(len(shape))) if axis is None else tuple(a % len(shape) for a in (
        axis if isinstance(axis, (list, tuple)) else [axis]))
    keep = [a for a in range(len(shape)) if a not in axes]
    flat = B.reshape(B.transpose(x, tuple(keep) + axes), tuple(shape[a] for a in keep) + (-1,))
    n = B.shape(flat)[-1]
    srt = B.sort(flat, axis=-1)
    qs = np.atleast_1d(np.asarray(B.convert_to_numpy(q) if B.is_tensor(q) else q, dtype="float64"))
    pos = qs * (n - 1)
    lo, hi = np.floor(pos).astype("int32"), np.ceil(pos).astype("int32")
    frac = B.convert_to_tensor((pos - lo).astype(str(B.dtype(x))))
    a = B.take(srt, B.convert_to_tensor(lo), axis=-1)
    b = B.take(srt, B.convert_to_tensor(hi), axis=-1)
    out = B.add(a, B.multiply(B.subtract(b, a), frac))  # (..., len(q))
    out = moveaxis(out, -1, 0)
    if keepdims:
        full = [1 if i in axes else shape[i] for i in range(len(shape))]
        out = B.reshape(out, (len(qs),) + tuple(full))
    if np.ndim(q) == 0:
        out = B.squeeze(out, axis=0)
    return out


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """`quantile` with ``q`` in percent."""
    q = B.convert_to_numpy(q) if B.is_tensor(q) else q
    return quantile(x, np.asarray(q, dtype="float64") / 100.0, axis, method, keepdims)


def median(x, axis=None, keepdims=False):
    """The 0.5 quantile."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


# ----------------------------------------------------------------------------------------------------------------
# Windows


def _window(values, x):
    return B.convert_to_tensor(np.asarray(values, dtype="float64").astype(config.floatx()))


def hamming(x):
    """The Hamming window of ``x`` points."""
    return _window(np.hamming(int(x)), x)


def hanning(x):
    """The Hann window of ``x`` points."""
    return _window(np.hanning(int(x)), x)


def bartlett(x):
    """The Bartlett window of ``x`` points."""
    return _window(np.bartlett(int(x)), x)


def blackman(x):
    """The Blackman window of ``x`` points."""
    return _window(np.blackman(int(x)), x)


def kaiser(x, beta):
    """The Kaiser window of ``x`` points."""
    return _window(np.kaiser(int(x), float(beta)), x)


__all__ = [n for n, v in list(vars().items()) if not n.startswith("_") and callable(v) and n not in
           ("config", "np")]

_symbolic.install(globals(), [n for n in __all__ if n not in ("array", "empty", "identity", "tri", "hamming",
                                                              "hanning", "bartlett", "blackman", "kaiser")],
                  "keras.src.ops.numpy")
