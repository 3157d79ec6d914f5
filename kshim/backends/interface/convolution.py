"""The contract's convolution family: convolution and pooling.
Implemented by ``kshim/backends/<backend>/convolution.py``; bound by `kshim.ops.convolution`, which standardizes
the arguments first."""

# Shared conventions (Keras 3's ``keras.ops`` of the same names, with the arguments already standardized by
# ``kshim.ops.convolution``):
# - ``inputs`` has rank 3, 4 or 5 (1-D, 2-D or 3-D), laid out (batch, spatial..., channels) for
#   ``data_format="channels_last"`` or (batch, channels, spatial...) for "channels_first".
# - ``strides``, ``dilation_rate``, ``pool_size`` and ``output_padding`` are an int or a tuple with one int per
#   spatial axis.
# - ``padding`` is "valid" or "same" (lower case). "same" pads as TensorFlow does: ``out = ceil(n / stride)``, the
#   total padding ``max((out - 1) * stride + (k - 1) * dilation + 1 - n, 0)`` split ``total // 2`` before and the
#   rest after (see `kshim.numerics.conv_shapes`).
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
    `kshim.numerics.conv_shapes.conv_transpose_pads` (zeros where the output extends past it)."""


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """Maximum over each window (``strides`` defaults to ``pool_size``). "same" padding never wins the max
    (it pads with -inf)."""


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """Mean over each window (``strides`` defaults to ``pool_size``). With "same" padding each window's sum is
    divided by the number of real (non-padded) elements it covers, as Keras and TensorFlow do."""
