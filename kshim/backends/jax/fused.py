"""JAX backend: the fused primitives of `kshim.backends.fused_interface`.

The list ops apply the op to each element: under ``jit`` XLA fuses the whole optimizer update, so a comprehension
is all they need, and jax arrays are immutable, so ``inplace`` changes nothing (a compiled step with donated buffers
reuses them anyway). `counter_bits` is the hash written in uint32, where shifts are logical; XLA fuses it into one
pass.
"""

import jax.numpy as jnp
from jax import lax

from kshim.backends.jax.core import _a
from kshim.backends.jax.numpy import add, divide, maximum, multiply, sqrt, subtract


def _map(op, xs, ys):
    if isinstance(ys, (list, tuple)):
        return [op(x, y) for x, y in zip(xs, ys)]
    return [op(x, ys) for x in xs]


def foreach_add(xs, ys, inplace=False):
    return _map(add, xs, ys)


def foreach_subtract(xs, ys, inplace=False):
    return _map(subtract, xs, ys)


def foreach_multiply(xs, ys, inplace=False):
    return _map(multiply, xs, ys)


def foreach_divide(xs, ys, inplace=False):
    return _map(divide, xs, ys)


def foreach_maximum(xs, ys, inplace=False):
    return _map(maximum, xs, ys)


def foreach_sqrt(xs, inplace=False):
    return [sqrt(x) for x in xs]


def foreach_blocked(fn, lists, num_outputs):
    return list(fn(*lists))[:num_outputs]


def _mix(x):
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def counter_bits(state, n):
    state = lax.bitcast_convert_type(_a(state).astype(jnp.int32), jnp.uint32)
    key = _mix(_mix(state[1] + jnp.uint32(0x632BE5AB)) ^ state[0])
    bits = _mix(_mix(jnp.arange(n, dtype=jnp.uint32) * jnp.uint32(0x9E3779B9) ^ key) + key)
    return lax.bitcast_convert_type(bits, jnp.int32)
