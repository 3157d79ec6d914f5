"""Math ops, as Keras 3's ``keras.src.ops.math`` (exported in ``keras.ops``): segment reductions, top-k, FFTs and
short-time Fourier transforms, special functions. Segment reductions, FFTs, erfc and erfinv are one hop into the
backend's math family; `stft`, `istft`, `extract_sequences`, `in_top_k`, `cdist`, `rsqrt` and `logdet` are
written here once on the primitives."""

import numpy as np

from kshim.ops import absent as _absent
from kshim.backends import B
from kshim.ops import symbolic as _symbolic

erf = B.erf
erfc = B.erfc
erfinv = B.erfinv
logsumexp = B.logsumexp
top_k = B.top_k
fft = B.fft
fft2 = B.fft2
ifft2 = B.ifft2


def _segment(reduction):
    def segment(data, segment_ids, num_segments=None, sorted=False):
        if num_segments is None:
            # the count read on the host: like Keras 3 on torch (Keras 3 on jax asks for it)
            ids = B.convert_to_numpy(segment_ids)
            num_segments = int(ids.max()) + 1 if ids.size else 0
        return B.segment_reduce(data, segment_ids, int(num_segments), reduction)

    segment.__name__ = segment.__qualname__ = f"segment_{reduction}"
    segment.__doc__ = (f"The {reduction} of the rows of ``data`` with each segment id (Keras 3's "
                       f"``ops.segment_{reduction}``); ``num_segments`` defaults to the largest id + 1.")
    return segment


segment_sum = _segment("sum")
segment_max = _segment("max")
segment_min = _segment("min")
segment_prod = _segment("prod")


def rfft(x, fft_length=None):
    """The real FFT of ``x`` over its last axis, as ``(real, imag)``."""
    return B.rfft(x, fft_length=fft_length)


def irfft(x, fft_length=None):
    """The inverse real FFT of ``x = (real, imag)``."""
    return B.irfft(x, fft_length=fft_length)


def rsqrt(x):
    """1 / sqrt(x)."""
    x = B.convert_to_tensor(x)
    if not str(B.dtype(x)).startswith(("float", "bfloat")):
        x = B.cast(x, "float32")
    return B.reciprocal(B.sqrt(x))


def in_top_k(targets, predictions, k):
    """Whether ``predictions[i, targets[i]]`` is among the ``k`` largest of row ``i`` (a tie counts as in; a NaN
    prediction at the target never does)."""
    predictions = B.convert_to_tensor(predictions)
    targets = B.cast(B.convert_to_tensor(targets), "int32")
    at_target = B.take_along_axis(predictions, B.expand_dims(targets, -1), axis=-1)
    at_target = B.where(B.isnan(at_target), float("-inf"), at_target)
    rank = B.add(B.sum(B.cast(B.greater(predictions, at_target), "int32"), axis=-1), 1)
    return B.less_equal(rank, k)


def cdist(x, y):
    """Euclidean distances between the rows of ``x`` (..., m, d) and ``y`` (..., n, d): (..., m, n)."""
    x, y = B.convert_to_tensor(x), B.convert_to_tensor(y)
    if len(B.shape(x)) < 2 or len(B.shape(y)) < 2 or B.shape(x)[-1] != B.shape(y)[-1]:
        raise ValueError("cdist: `x` and `y` must have rank >= 2 and the same last dimension. Received: "
                         f"x.shape={tuple(B.shape(x))}, y.shape={tuple(B.shape(y))}")
    diff = B.subtract(B.expand_dims(x, -2), B.expand_dims(y, -3))
    return B.sqrt(B.sum(B.multiply(diff, diff), axis=-1))


def logdet(x):
    """log(det(x)) through the sign-and-log determinant (stable for large or tiny determinants)."""
    return B.slogdet(x)[1]


def extract_sequences(x, sequence_length, sequence_stride):
    """The frames of length ``sequence_length``, ``sequence_stride`` apart, along the last axis of ``x``:
    shape (..., num_frames, sequence_length)."""
    x = B.convert_to_tensor(x)
    n = B.shape(x)[-1]
    count = 1 + (n - sequence_length) // sequence_stride
    index = np.arange(count)[:, None] * sequence_stride + np.arange(sequence_length)[None, :]
    return B.take(x, B.convert_to_tensor(index.astype("int32")), axis=-1)


def _window(window, sequence_length, fft_length, dtype):
    """The analysis window, centred in ``fft_length`` samples (scipy's periodic "hann"/"hamming", a given 1-D
    array, or ones when None)."""
    if window is None:
        return B.ones((fft_length,), dtype), False
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"stft: a `window` string must be 'hann' or 'hamming'. Received: window={window!r}")
        a = 0.5 if window == "hann" else 0.54
        win = a - (1 - a) * np.cos(2 * np.pi * np.arange(sequence_length) / sequence_length)
        win = B.convert_to_tensor(win.astype(dtype))
    else:
        win = B.cast(B.convert_to_tensor(window), dtype)
    if tuple(B.shape(win)) != (sequence_length,):
        raise ValueError(f"stft: `window` must have shape ({sequence_length},) (sequence_length). Received: "
                         f"window.shape={tuple(B.shape(win))}")
    left = (fft_length - sequence_length) // 2
    return B.pad(win, [(left, fft_length - sequence_length - left)]), True


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """The short-time Fourier transform of real ``x`` over its last axis: ``(real, imag)`` of shape
    (..., num_frames, fft_length // 2 + 1), as Keras 3's ``ops.stft``."""
    x = B.convert_to_tensor(x)
    dtype = str(B.dtype(x))
    if dtype not in ("float32", "float64"):
        raise TypeError(f"stft: `x` must be float32 or float64. Received: x.dtype={dtype}")
    if fft_length < sequence_length:
        raise ValueError("stft: `fft_length` must be at least `sequence_length`. Received: "
                         f"sequence_length={sequence_length}, fft_length={fft_length}")
    if center:
        pad = [(0, 0)] * (len(B.shape(x)) - 1) + [(fft_length // 2, fft_length // 2)]
        x = B.pad(x, pad, mode="reflect")
    win, _ = _window(window, sequence_length, fft_length, dtype)
    frames = B.multiply(extract_sequences(x, fft_length, sequence_stride), win)
    return B.rfft(frames, fft_length=fft_length)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """The inverse of `stft` (overlap-add, normalised by the summed squared window), as Keras 3's ``ops.istft``."""
    real = B.convert_to_tensor(x[0])
    dtype = str(B.dtype(real))
    shape = tuple(B.shape(real))
    if len(shape) < 2:
        raise ValueError(f"istft: `x` must have at least 2 dimensions. Received: x[0].shape={shape}")
    win, windowed = _window(window, sequence_length, fft_length, dtype)
    frames = B.multiply(B.irfft(x, fft_length=fft_length), win)  # (..., F, N)
    count = shape[-2]
    total = fft_length + sequence_stride * (count - 1)
    positions = (np.arange(count)[:, None] * sequence_stride + np.arange(fft_length)[None, :]).reshape(-1)
    ids = B.convert_to_tensor(positions.astype("int32"))
    batch = shape[:-2]
    flat = B.transpose(B.reshape(frames, (-1, count * fft_length)))  # (F*N, batch)
    signal = B.transpose(B.segment_reduce(flat, ids, total, "sum"))  # (batch, total)
    norm = B.segment_reduce(B.reshape(B.tile(B.square(win), (count,)), (-1, 1)), ids, total, "sum")[:, 0]
    norm = B.where(B.greater(norm, 1e-10), norm, 1.0)
    scale = B.sum(win) if windowed else float(sequence_stride)
    signal = B.multiply(B.divide(signal, norm), B.divide(B.sum(win), scale))
    signal = B.reshape(signal, batch + (total,))
    start = fft_length // 2 if center else 0
    end = start + length if length is not None else (total - fft_length // 2 if center else total)
    return B.slice_along_axis(signal, start, end, -1)


__all__ = ["cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft",
           "istft", "logdet", "logsumexp", "rfft", "rsqrt", "segment_max", "segment_min", "segment_prod",
           "segment_sum", "stft", "top_k"]

_symbolic.install(globals(), ["erfc", "erfinv", "rsqrt", "in_top_k", "cdist", "logdet", "extract_sequences"],
                  "keras.src.ops.math")

__getattr__ = _absent.module_getattr(__name__)  # Keras 3 names kshim leaves out, each with its reason
