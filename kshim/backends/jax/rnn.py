"""JAX backend: recurrence.

`scan` is ``lax.scan`` inside jit and a Python loop on concrete values (eager calls and eager gradients). The
fused LSTM/GRU are jitted: one input projection for every timestep, then a ``lax.scan`` over the recurrent matmul
and the gate math (XLA fuses it), as Keras 3's JAX backend does for GRU. The LSTM loop has its own gradient
(`_lstm_loop`), for speed with the very numbers autodiff gives: see there. On CPU, an LSTM whose projection would
be large projects each timestep inside the loop instead (`_lstm_projecting_loop`), chosen by measurement."""

import functools

import jax
import jax.numpy as jnp
from jax import lax

from kshim.backends.jax.core import _as_array


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


def _recurrence(zx, h0, c0, recurrent_kernel, kernel=None, bias=None):
    """``((outputs, h, c), residuals)`` of the LSTM loop over the time-major input projection ``zx`` (or, given
    ``kernel`` and ``bias``, over the time-major inputs, projected step by step: ``x_t @ kernel + h @ recurrent_kernel
    + bias``); the residuals are the stacks of each step's incoming ``c`` and its activations."""

    def step(carry, zx_t):
        h, c = carry
        if kernel is None:
            z = zx_t + jnp.matmul(h, recurrent_kernel)
        else:
            z = jnp.matmul(zx_t, kernel) + jnp.matmul(h, recurrent_kernel) + bias
        zi, zf, zc, zo = jnp.split(z, 4, axis=-1)
        i, f, g, o = jax.nn.sigmoid(zi), jax.nn.sigmoid(zf), jnp.tanh(zc), jax.nn.sigmoid(zo)
        c = f * c + i * g
        tanh_c = jnp.tanh(c)
        h = o * tanh_c
        return (h, c), (h, carry[1], i, f, g, o, tanh_c)

    (h, c), (ys, *residuals) = lax.scan(step, (h0, c0), zx)
    return (ys, h, c), residuals


@jax.custom_vjp
def _lstm_loop(zx, h0, c0, recurrent_kernel):
    """The LSTM recurrence: ``(outputs (time-major), h_T, c_T)``.

    Its gradient is the one jax's autodiff derives for this ``lax.scan``, op for op, in the same order and with the
    same dot_general shapes and dimension numbers (so XLA picks the same kernels and the numbers are bit for bit
    the same), written out to keep 6 saved (time, batch, units) stacks instead of autodiff's 12:
    ``sigma * (1 - sigma)`` and ``1 - tanh`` are recomputed from the saved activations by the same operations.
    The input projection stays outside, one matmul over all timesteps, differentiated by autodiff (on CPU, when
    that projection is large, `_lstm_projecting_loop` projects inside the loop instead: faster there, and its
    numbers differ in the last bits, because XLA's CPU dot chooses its kernel by shape, so a (batch, in) row block
    can round differently from the same rows of the (batch * time, in) one)."""
    return _recurrence(zx, h0, c0, recurrent_kernel)[0]


def _lstm_loop_fwd(zx, h0, c0, recurrent_kernel):
    (ys, h, c), residuals = _recurrence(zx, h0, c0, recurrent_kernel)
    return (ys, h, c), (h0, recurrent_kernel, ys, residuals)


def _lstm_loop_bwd(saved, cotangents):
    h0, recurrent_kernel, ys, (c_prev, i, f, g, o, tanh_c) = saved
    ct_ys, ct_h, ct_c = cotangents
    h_prev = jnp.concatenate([h0[None], ys[:-1]], 0)

    def step(carry, xs):  # the transpose of one forward step, as jax's rules for mul, logistic and tanh give it
        d_rk, dh, dc = carry
        ct_y, h_p, c_p, i_t, f_t, g_t, o_t, tanh_t = xs
        dh = dh + ct_y
        d_tanh = (o_t * dh) * (1.0 - tanh_t)
        dc = (dc + d_tanh) + d_tanh * tanh_t
        dzo = (dh * tanh_t) * (o_t * (1.0 - o_t))
        d_g = (i_t * dc) * (1.0 - g_t)
        dzc = d_g + d_g * g_t
        dzi = (dc * g_t) * (i_t * (1.0 - i_t))
        dzf = (dc * c_p) * (f_t * (1.0 - f_t))
        dz = jnp.concatenate([dzi, dzf, dzc, dzo], axis=1)
        d_rk = d_rk + jnp.transpose(lax.dot_general(dz, h_p, (((0,), (0,)), ((), ()))))
        dh_prev = lax.dot_general(dz, recurrent_kernel, (((1,), (1,)), ((), ())))
        return (d_rk, dh_prev, f_t * dc), dz

    (d_rk, dh0, dc0), dzx = lax.scan(step, (jnp.zeros_like(recurrent_kernel), ct_h, ct_c),
                                     (ct_ys, h_prev, c_prev, i, f, g, o, tanh_c), reverse=True)
    return dzx, dh0, dc0, d_rk


_lstm_loop.defvjp(_lstm_loop_fwd, _lstm_loop_bwd)


@jax.custom_vjp
def _lstm_projecting_loop(xs, h0, c0, kernel, recurrent_kernel, bias):
    """`_lstm_loop` with the input projection inside the loop, over the time-major inputs ``xs``.

    On a 2-core CPU this was up to 1.5x faster for a training step when the hoisted projection ``(time, batch,
    4 * units)`` is large (it leaves the caches), and up to 10% slower when it is small: see `_PROJECT_IN_LOOP_FROM`.
    The backward pass is `_lstm_loop`'s; the projection's gradients are then one matmul each over all timesteps.
    The numbers differ from the hoisted form's in the last bits (XLA's CPU dot rounds a (batch, in) block and the
    same rows of the (time * batch, in) one differently)."""
    return _recurrence(xs, h0, c0, recurrent_kernel, kernel, bias)[0]


def _lstm_projecting_loop_fwd(xs, h0, c0, kernel, recurrent_kernel, bias):
    (ys, h, c), residuals = _recurrence(xs, h0, c0, recurrent_kernel, kernel, bias)
    return (ys, h, c), (xs, h0, kernel, recurrent_kernel, ys, residuals)


def _lstm_projecting_loop_bwd(saved, cotangents):
    xs, h0, kernel, recurrent_kernel, ys, residuals = saved
    dz, dh0, dc0, d_rk = _lstm_loop_bwd((h0, recurrent_kernel, ys, residuals), cotangents)
    steps, batch, features = xs.shape
    dz2 = dz.reshape(steps * batch, dz.shape[-1])
    d_kernel = jnp.matmul(jnp.transpose(xs.reshape(steps * batch, features)), dz2)
    dxs = jnp.matmul(dz2, jnp.transpose(kernel)).reshape(xs.shape)
    return dxs, dh0, dc0, d_kernel, d_rk, jnp.sum(dz2, axis=0)


_lstm_projecting_loop.defvjp(_lstm_projecting_loop_fwd, _lstm_projecting_loop_bwd)

# The size in bytes of the hoisted input projection from which, on CPU, the LSTM projects inside the loop: measured
# with interleaved A/B rounds of a jitted forward + backward on 2 cores (BENCHMARKS.md, "jax: LSTM formulation").
_PROJECT_IN_LOOP_FROM = 2 * 2 ** 20


def _projection_bytes(inputs, kernel):
    """The hoisted input projection's size in bytes; 0 (keep it hoisted) when the batch or time dimension is
    symbolic (a shape-polymorphic export, where the size is unknown)."""
    batch, steps = inputs.shape[:2]
    if not (isinstance(batch, int) and isinstance(steps, int)):
        return 0
    return batch * steps * kernel.shape[-1] * jnp.dtype(kernel.dtype).itemsize


@functools.partial(jax.jit, static_argnames="go_backwards")
def _lstm(inputs, h0, c0, kernel, recurrent_kernel, bias, go_backwards):
    if go_backwards:
        inputs = jnp.flip(inputs, axis=1)
    if jax.default_backend() == "cpu" and _projection_bytes(inputs, kernel) >= _PROJECT_IN_LOOP_FROM:
        ys, h, c = _lstm_projecting_loop(jnp.swapaxes(inputs, 0, 1), h0, c0, kernel, recurrent_kernel, bias)
    else:
        zx = jnp.swapaxes(jnp.matmul(inputs, kernel) + bias, 0, 1)
        ys, h, c = _lstm_loop(zx, h0, c0, recurrent_kernel)
    return jnp.swapaxes(ys, 0, 1), h, c


def lstm(inputs, h0, c0, kernel, recurrent_kernel, bias, go_backwards=False):
    return _lstm(_as_array(inputs), _as_array(h0), _as_array(c0), _as_array(kernel), _as_array(recurrent_kernel),
                 _as_array(bias), go_backwards=bool(go_backwards))


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
    return _gru(_as_array(inputs), _as_array(h0), _as_array(kernel), _as_array(recurrent_kernel), _as_array(bias),
                go_backwards=bool(go_backwards))
