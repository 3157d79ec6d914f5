"""JAX backend: segment reductions (``jax.ops.segment_*``), FFTs (``jnp.fft``) and special functions."""

import jax
import jax.numpy as jnp

from kshim.backends.jax.core import _as_array, _as_float

_SEGMENT = {"sum": jax.ops.segment_sum, "max": jax.ops.segment_max, "min": jax.ops.segment_min,
            "prod": jax.ops.segment_prod}


def segment_reduce(data, segment_ids, num_segments, reduction):
    return _SEGMENT[reduction](_as_array(data), _as_array(segment_ids), int(num_segments))


def _complex(x):
    real, imag = (_as_float(v) for v in x)
    return jax.lax.complex(real, imag)


def _pair(z):
    return jnp.real(z), jnp.imag(z)


def fft(x):
    return _pair(jnp.fft.fft(_complex(x)))


def fft2(x):
    return _pair(jnp.fft.fft2(_complex(x)))


def ifft2(x):
    return _pair(jnp.fft.ifft2(_complex(x)))


def rfft(x, fft_length=None):
    return _pair(jnp.fft.rfft(_as_float(x), n=fft_length))


def irfft(x, fft_length=None):
    return jnp.fft.irfft(_complex(x), n=fft_length)


def erfc(x):
    return jax.scipy.special.erfc(_as_float(x))


def erfinv(x):
    return jax.scipy.special.erfinv(_as_float(x))
