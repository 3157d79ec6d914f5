"""JAX backend: recurrence.

`scan` is ``lax.scan`` inside jit and a Python loop on concrete values (eager calls and eager gradients). The
fused LSTM/GRU are jitted: one input projection for every timestep, then a ``lax.scan`` over the recurrent matmul
and the gate math (XLA fuses it), as Keras 3's JAX backend does for GRU."""

import functools

import jax
import jax.numpy as jnp
from jax import lax

from kshim.backends.jax.core import _a


try:  # jax's own test for "this tracer holds a concrete value" (eager grad); private, so optional
    from jax._src.core import is_concrete as _is_concrete
except ImportError:  # pragma: no cover - older or newer jax: every tracer counts as staged
    _is_concrete = None


def _staged(leaf):
    """True for a value being staged out for compilation (inside jit), False for concrete values."""
    if not isinstance(leaf, jax.core.Tracer):
        return False
    return _is_concrete is None or not _is_concrete(leaf)


def scan(fn, init, xs, reverse=False):
    if any(_staged(leaf) for leaf in jax.tree_util.tree_leaves((init, xs))):
        return lax.scan(fn, init, xs, reverse=bool(reverse))
    # Eager call (or eager gradient) on concrete values: lax.scan would compile its body on every call (the
    # closure is new each time, ~0.5 s), while a Python loop dispatches ops jax has already compiled.
    xs_leaves, treedef = jax.tree_util.tree_flatten(xs)
    n = xs_leaves[0].shape[0]
    ys = [None] * n
    carry = init
    for t in (range(n - 1, -1, -1) if reverse else range(n)):
        carry, ys[t] = fn(carry, jax.tree_util.tree_unflatten(treedef, [x[t] for x in xs_leaves]))
    return carry, jax.tree_util.tree_map(lambda *y: jnp.stack(y), *ys)


@functools.partial(jax.jit, static_argnames="go_backwards")
def _lstm(inputs, h0, c0, kernel, recurrent_kernel, bias, go_backwards):
    if go_backwards:
        inputs = jnp.flip(inputs, axis=1)
    zx = jnp.swapaxes(jnp.matmul(inputs, kernel) + bias, 0, 1)

    def step(carry, zx_t):
        h, c = carry
        z = zx_t + jnp.matmul(h, recurrent_kernel)
        zi, zf, zc, zo = jnp.split(z, 4, axis=-1)
        c = jax.nn.sigmoid(zf) * c + jax.nn.sigmoid(zi) * jnp.tanh(zc)
        h = jax.nn.sigmoid(zo) * jnp.tanh(c)
        return (h, c), h

    (h, c), ys = lax.scan(step, (h0, c0), zx)
    return jnp.swapaxes(ys, 0, 1), h, c


def lstm(inputs, h0, c0, kernel, recurrent_kernel, bias, go_backwards=False):
    return _lstm(_a(inputs), _a(h0), _a(c0), _a(kernel), _a(recurrent_kernel), _a(bias),
                 go_backwards=bool(go_backwards))


@functools.partial(jax.jit, static_argnames="go_backwards")
def _gru(inputs, h0, kernel, recurrent_kernel, bias, go_backwards):
    if go_backwards:
        inputs = jnp.flip(inputs, axis=1)
    zx = jnp.swapaxes(jnp.matmul(inputs, kernel) + bias[0], 0, 1)

    def step(h, zx_t):
        zh = jnp.matmul(h, recurrent_kernel) + bias[1]
        x_z, x_r, x_h = jnp.split(zx_t, 3, axis=-1)
        h_z, h_r, h_h = jnp.split(zh, 3, axis=-1)
        z = jax.nn.sigmoid(x_z + h_z)
        r = jax.nn.sigmoid(x_r + h_r)
        hh = jnp.tanh(x_h + r * h_h)
        h = z * h + (1 - z) * hh
        return h, h

    h, ys = lax.scan(step, h0, zx)
    return jnp.swapaxes(ys, 0, 1), h


def gru(inputs, h0, kernel, recurrent_kernel, bias, go_backwards=False):
    return _gru(_a(inputs), _a(h0), _a(kernel), _a(recurrent_kernel), _a(bias), go_backwards=bool(go_backwards))
