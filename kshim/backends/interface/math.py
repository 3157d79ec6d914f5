"""The contract's math family: segment reductions, Fourier transforms and special functions (Keras 3's
``keras.src.ops.math``). Implemented by ``kshim/backends/<backend>/math.py``; bound by `kshim.ops.math`.
Complex values cross the contract as a ``(real, imag)`` pair of float tensors, as Keras 3's ops take them."""


def segment_reduce(data, segment_ids, num_segments, reduction):
    """``out[s] = reduction(data[i] for i with segment_ids[i] == s)`` over the leading axis of ``data``, for
    ``s`` in ``range(num_segments)`` (a Python int); ``reduction`` is "sum", "max", "min" or "prod". An empty
    segment holds the reduction's identity (0, -inf/lowest, +inf/highest, 1); ids outside the range are dropped."""


def fft(x):
    """The complex FFT over the last axis of ``x = (real, imag)``; returns ``(real, imag)``."""


def fft2(x):
    """The complex 2-D FFT over the last two axes of ``x = (real, imag)``; returns ``(real, imag)``."""


def ifft2(x):
    """The inverse of `fft2`."""


def rfft(x, fft_length=None):
    """The FFT of the real ``x`` over its last axis (cropped or zero-padded to ``fft_length``): the
    ``fft_length // 2 + 1`` non-negative frequencies, as ``(real, imag)``."""


def irfft(x, fft_length=None):
    """The inverse of `rfft`: a real signal of ``fft_length`` (default ``2 * (n - 1)``) from ``x = (real, imag)``."""


def erfc(x):
    """1 - erf(x), accurate where erf(x) is close to 1."""


def erfinv(x):
    """The inverse error function."""
