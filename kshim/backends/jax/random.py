"""JAX backend: the random family of the contract (`kshim.backends.interface.random`).

`counter_bits` is the hash written in uint32, where shifts are logical; XLA fuses it into one pass.
"""

import jax.numpy as jnp
from jax import lax

from kshim.backends.jax.core import _as_array


def _mix(x):
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def counter_bits(state, n):
    state = lax.bitcast_convert_type(_as_array(state).astype(jnp.int32), jnp.uint32)
    key = _mix(_mix(state[1] + jnp.uint32(0x632BE5AB)) ^ state[0])
    bits = _mix(_mix(jnp.arange(n, dtype=jnp.uint32) * jnp.uint32(0x9E3779B9) ^ key) + key)
    return lax.bitcast_convert_type(bits, jnp.int32)
