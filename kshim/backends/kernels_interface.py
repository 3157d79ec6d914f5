"""The backend interface, layer-kernel section: convolution, pooling, recurrence and image resizing.

`kshim.backends.interface` lists these among its primitives and its conventions hold here too; they are kept in
their own file because each needs a paragraph of exact semantics (padding arithmetic, gate layouts, resampling
weights) that the frontend's layers rely on.
"""


# ----------------------------------------------------------------------------------------------------------------
# Convolution and pooling
#
# Shared conventions (Keras 3's ``keras.ops`` of the same names, with the arguments already standardized by
# ``kshim.ops.convolution``):
# - ``inputs`` has rank 3, 4 or 5 (1-D, 2-D or 3-D), laid out (batch, spatial..., channels) for
#   ``data_format="channels_last"`` or (batch, channels, spatial...) for "channels_first".
# - ``strides``, ``dilation_rate``, ``pool_size`` and ``output_padding`` are an int or a tuple with one int per
#   spatial axis.
# - ``padding`` is "valid" or "same" (lower case). "same" pads as TensorFlow does: ``out = ceil(n / stride)``, the
#   total padding ``max((out - 1) * stride + (k - 1) * dilation + 1 - n, 0)`` split ``total // 2`` before and the
#   rest after (see `kshim.backends.conv_shapes`).
# - Every function is differentiable with respect to ``inputs`` and the kernels.


def conv(inputs, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1, bias=None):
    """N-D cross-correlation (what deep learning calls convolution), plus ``bias`` (out_channels,) if given.

    ``kernel`` has Keras's layout (spatial..., in_channels // groups, out_channels). The number of groups is
    ``in_channels // kernel.shape[-2]`` (in_channels must be a multiple of it); group g reads input channels
    [g*ci, (g+1)*ci) and writes output channels [g*co, (g+1)*co), with ``co = out_channels // groups``.
    torch adds the bias inside its convolution kernel (one pass over the output instead of two)."""


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1,
                   bias=None):
    """Depthwise convolution: each input channel c convolved with its own ``depth_multiplier`` filters, plus
    ``bias`` (in_channels * depth_multiplier,) if given.

    ``kernel`` is (spatial..., in_channels, depth_multiplier); output channel ``c * depth_multiplier + m`` is
    input channel c convolved with ``kernel[..., c, m]``."""


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format="channels_last",
                   dilation_rate=1, bias=None):
    """N-D transposed convolution (the gradient of `conv` with respect to its input), Keras 3's semantics, plus
    ``bias`` (out_channels,) if given.

    ``kernel`` is (spatial..., out_channels, in_channels). Per spatial axis of length n, with
    ``k_eff = (k - 1) * dilation + 1``, the output length is: "valid": ``(n - 1) * stride + k_eff + op`` where
    ``op`` is ``output_padding`` or, when None, ``max(k_eff, stride) - k_eff``; "same": ``n * stride`` when
    ``output_padding`` is None, else ``(n - 1) * stride + k_eff % 2 + output_padding``. The values are those of
    the full transposed convolution (length ``(n - 1) * stride + k_eff``) cropped by
    `kshim.backends.conv_shapes.conv_transpose_pads` (zeros where the output extends past it)."""


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """Maximum over each window (``strides`` defaults to ``pool_size``). "same" padding never wins the max
    (it pads with -inf)."""


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """Mean over each window (``strides`` defaults to ``pool_size``). With "same" padding each window's sum is
    divided by the number of real (non-padded) elements it covers, as Keras and TensorFlow do."""


# ----------------------------------------------------------------------------------------------------------------
# Recurrence


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


# ----------------------------------------------------------------------------------------------------------------
# Images


def resize(images, size, interpolation="bilinear", antialias=False, data_format="channels_last"):
    """``images`` (rank 3, one image, or rank 4, a batch) with its two spatial axes resized to ``size`` =
    (height, width), with ``jax.image.resize``'s semantics (which Keras 3 uses on jax): half-pixel centres;
    ``interpolation`` one of "bilinear", "nearest", "bicubic" (Keys, a = -0.5), "lanczos3", "lanczos5";
    ``antialias`` widens the kernel when downsampling. The exact weights are documented in
    `kshim.backends.image_weights`. A spatial axis whose size is unchanged is returned as is. Integer inputs give
    float32 outputs except with "nearest", which only copies pixels. jax: ``jax.image.resize``; torch: the same
    weight matrices contracted with ``torch.tensordot`` (and index gathers for "nearest")."""
