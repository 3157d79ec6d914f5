"""The contract's rnn family: `scan` and the fused LSTM/GRU kernels.
Implemented by ``kshim/backends/<backend>/rnn.py``; bound by `kshim.ops.rnn`."""


def scan(fn, init, xs, reverse=False):
    """Loop ``carry, y = fn(carry, x)`` over the leading axis of ``xs``, as ``jax.lax.scan``.

    ``init``/``carry`` is a tensor or a list/tuple of tensors (the same structure, shapes and dtypes every step);
    ``xs`` is a tensor or a tuple of tensors with the same leading length T; ``y`` is a tensor or a tuple of
    tensors. Returns ``(final_carry, ys)`` with each ``y`` stacked on a new leading axis. With ``reverse`` the
    steps run from T-1 down to 0 and ``ys[t]`` is still the output for ``xs[t]``. ``fn`` must be pure (jax traces
    it once): it may read tensors it closes over but must not assign Variables.
    jax: ``lax.scan`` inside jit, a Python loop on concrete values (eager calls and eager gradients: an eager
    ``lax.scan`` would compile its body on every call); torch: a Python loop and ``torch.stack``."""


def lstm(inputs, h0, c0, kernel, recurrent_kernel, bias, go_backwards=False):
    """A fused LSTM over the whole sequence with Keras 3's formula and weight layout, tanh/sigmoid activations.

    ``inputs`` (batch, T, in); ``h0``, ``c0`` (batch, u); ``kernel`` (in, 4u), ``recurrent_kernel`` (u, 4u),
    ``bias`` (4u,), gates i, f, c, o. ``z = x_t @ kernel + h @ recurrent_kernel + bias``;
    ``c = sigmoid(z_f) * c + sigmoid(z_i) * tanh(z_c)``; ``h = sigmoid(z_o) * tanh(c)``. With ``go_backwards``
    the sequence is read from its last step. Returns ``(outputs, h_T, c_T)``, ``outputs`` (batch, T, u) in the
    order the steps were processed (reversed for ``go_backwards``, as Keras).
    jax: one input projection and ``lax.scan`` (jitted); torch: ``torch.lstm`` (cuDNN on CUDA)."""


def gru(inputs, h0, kernel, recurrent_kernel, bias, go_backwards=False):
    """A fused GRU with Keras 3's ``reset_after=True`` formula and layout, tanh/sigmoid activations.

    ``kernel`` (in, 3u), ``recurrent_kernel`` (u, 3u), ``bias`` (2, 3u) (input bias, recurrent bias), gates
    z, r, h: ``z = sigmoid(x_z + h_z)``, ``r = sigmoid(x_r + h_r)``, ``hh = tanh(x_h + r * h_h)``,
    ``h = z * h + (1 - z) * hh``. Returns ``(outputs, h_T)`` as `lstm`.
    jax: one input projection and ``lax.scan`` (jitted); torch: ``torch.gru`` with gates reordered to r, z, n."""
