"""Convolution and pooling ops, shaped like ``keras.ops``: conv, depthwise_conv, separable_conv, conv_transpose,
max_pool, average_pool.

Each one standardizes its arguments (``data_format=None`` reads `kshim.config.image_data_format`, ``padding`` is
case-insensitive) and calls the backend primitive once; `separable_conv` is composite. The output-shape
arithmetic that the layers' ``compute_output_shape`` uses lives here too (``*_output_shape``; not exported into
``kshim.ops``).
"""

from kshim import config
from kshim.backends import B
from kshim.numerics.conv_shapes import as_tuple, conv_output_size, conv_transpose_output_size

_PADDINGS = ("valid", "same")
_FORMATS = ("channels_last", "channels_first")


def _data_format(fn, data_format):
    if data_format is None:
        return config.image_data_format()
    if data_format in _FORMATS:
        return data_format
    raise ValueError(f"{fn}: `data_format` must be 'channels_last' or 'channels_first'. "
                     f"Received: data_format={data_format!r}")


def _padding(fn, padding):
    if padding in _PADDINGS:
        return padding
    p = padding.lower() if isinstance(padding, str) else padding
    if p in _PADDINGS:
        return p
    raise ValueError(f"{fn}: `padding` must be 'valid' or 'same'. Received: padding={padding!r}")


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1, bias=None):
    """N-D convolution; ``kernel`` is (spatial..., in_channels // groups, out_channels), groups inferred.
    ``bias`` (out_channels,), a kshim addition to Keras's signature, is added in the same pass on torch."""
    return B.conv(inputs, kernel, strides, _padding("conv", padding), _data_format("conv", data_format),
                  dilation_rate, bias)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1, bias=None):
    """Depthwise convolution; ``kernel`` is (spatial..., in_channels, depth_multiplier); optional fused ``bias``."""
    return B.depthwise_conv(inputs, kernel, strides, _padding("depthwise_conv", padding),
                            _data_format("depthwise_conv", data_format), dilation_rate, bias)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1, bias=None):
    """A depthwise convolution followed by a 1x1 ``conv`` with ``pointwise_kernel`` (1..., in*multiplier, out),
    which adds the optional ``bias`` (out,)."""
    data_format = _data_format("separable_conv", data_format)
    y = B.depthwise_conv(inputs, depthwise_kernel, strides, _padding("separable_conv", padding), data_format,
                         dilation_rate)
    return B.conv(y, pointwise_kernel, 1, "valid", data_format, 1, bias)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1, bias=None):
    """N-D transposed convolution with Keras 3's output sizes; ``kernel`` is (spatial..., out, in); optional
    fused ``bias`` (out,)."""
    return B.conv_transpose(inputs, kernel, strides, _padding("conv_transpose", padding), output_padding,
                            _data_format("conv_transpose", data_format), dilation_rate, bias)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling (``strides`` defaults to ``pool_size``)."""
    return B.max_pool(inputs, pool_size, strides, _padding("max_pool", padding),
                      _data_format("max_pool", data_format))


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling (``strides`` defaults to ``pool_size``); "same" windows average their real elements."""
    return B.average_pool(inputs, pool_size, strides, _padding("average_pool", padding),
                          _data_format("average_pool", data_format))


# ----------------------------------------------------------------------------------------------------------------
# Output shapes (static; None dimensions stay None)


def _spatial(input_shape, data_format):
    shape = tuple(input_shape)
    return shape[1:-1] if data_format == "channels_last" else shape[2:]


def _assemble(input_shape, spatial, channels, data_format):
    if data_format == "channels_last":
        return (input_shape[0],) + tuple(spatial) + (channels,)
    return (input_shape[0], channels) + tuple(spatial)


def conv_output_shape(input_shape, filters, kernel_size, strides=1, padding="valid", data_format="channels_last",
                      dilation_rate=1, what="conv"):
    """The output shape of `conv` (and pooling, with ``filters`` the input's channels). "causal" counts as
    "same". Raises ValueError when a known output size would be zero or negative."""
    sizes = _spatial(input_shape, data_format)
    n = len(sizes)
    k, s, d = as_tuple(kernel_size, n), as_tuple(strides, n), as_tuple(dilation_rate, n)
    out = [conv_output_size(sz, ki, si, padding, di) for sz, ki, si, di in zip(sizes, k, s, d)]
    if any(o is not None and o <= 0 for o in out):
        raise ValueError(f"{what}: the computed output size would be zero or negative. Received: "
                         f"input_shape={tuple(input_shape)}, kernel_size={k}, strides={s}, "
                         f"dilation_rate={d}, padding={padding!r}")
    return _assemble(input_shape, out, filters, data_format)


def pool_output_shape(input_shape, pool_size, strides=None, padding="valid", data_format="channels_last",
                      what="pool"):
    """The output shape of `max_pool` / `average_pool`."""
    channels = input_shape[-1] if data_format == "channels_last" else input_shape[1]
    return conv_output_shape(input_shape, channels, pool_size, pool_size if strides is None else strides,
                             padding, data_format, 1, what=what)


def conv_transpose_output_shape(input_shape, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                                data_format="channels_last", dilation_rate=1):
    """The output shape of `conv_transpose` (Keras 3's formula; see
    `kshim.backends.interface.convolution.conv_transpose`)."""
    sizes = _spatial(input_shape, data_format)
    n = len(sizes)
    k, s, d = as_tuple(kernel_size, n), as_tuple(strides, n), as_tuple(dilation_rate, n)
    op = (None,) * n if output_padding is None else as_tuple(output_padding, n)
    out = [conv_transpose_output_size(sz, *args) for sz, args in zip(sizes, zip(k, s, (padding,) * n, op, d))]
    return _assemble(input_shape, out, filters, data_format)


__all__ = ["conv", "depthwise_conv", "separable_conv", "conv_transpose", "max_pool", "average_pool"]
