"""JAX backend: complex tensors and their parts (``jax.lax.complex``, ``jnp.real``/``imag``/``angle``)."""

import jax
import jax.numpy as jnp

from kshim.backends.jax.core import _as_array, _as_float

_FLOAT32 = jnp.dtype("float32")


def complex(real, imag):
    real, imag = _as_float(real), _as_float(imag)
    d = jnp.promote_types(real.dtype, imag.dtype)
    if d.itemsize < 4:  # float16/bfloat16 parts: complex64, as lax.complex has no narrower complex
        d = _FLOAT32
    real, imag = jnp.broadcast_arrays(real.astype(d), imag.astype(d))
    return jax.lax.complex(real, imag)


def real(x):
    return jnp.real(_as_array(x))


def imag(x):
    return jnp.imag(_as_array(x))


def conjugate(x):
    return jnp.conjugate(_as_array(x))


def angle(x):
    return jnp.angle(_as_float(x))


def isreal(x):
    return jnp.isreal(_as_array(x))
