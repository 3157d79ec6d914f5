"""JAX backend: convolution and pooling on ``lax.conv_general_dilated`` and ``lax.reduce_window``.

Kernels keep Keras's layout (spatial..., in, out), which is lax's "HWIO"; the data layout is given to lax through
the dimension numbers, so neither inputs nor kernels are transposed.
"""

import jax.numpy as jnp
import numpy as np
from jax import lax

from kshim.numerics.conv_shapes import as_tuple, conv_transpose_pads, same_pads, window_counts
from kshim.backends.jax.core import _as_array

_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}


def _dimension_numbers(n, data_format):
    sp = _SPATIAL[n]
    lhs = f"N{sp}C" if data_format == "channels_last" else f"NC{sp}"
    return lhs, f"{sp}IO", lhs


def _operands(inputs, kernel):
    x, w = _as_array(inputs), _as_array(kernel)
    if x.dtype != w.dtype:
        dt = jnp.result_type(x.dtype, w.dtype)
        x, w = x.astype(dt), w.astype(dt)
    return x, w


def _channels(x, data_format):
    return x.shape[-1] if data_format == "channels_last" else x.shape[1]


def _add_bias(y, bias, data_format):
    if bias is None:
        return y
    b = _as_array(bias).astype(y.dtype)
    return y + (b if data_format == "channels_last" else b.reshape((-1,) + (1,) * (y.ndim - 2)))


def conv(inputs, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1, bias=None):
    x, w = _operands(inputs, kernel)
    n = x.ndim - 2
    c = _channels(x, data_format)
    if c % w.shape[-2]:
        raise ValueError(f"conv: the input's {c} channels must be a multiple of the kernel's input channels "
                         f"(kernel.shape[-2]). Received: input shape {tuple(x.shape)}, kernel shape {tuple(w.shape)}")
    y = lax.conv_general_dilated(
        x, w, as_tuple(strides, n), padding.upper(), rhs_dilation=as_tuple(dilation_rate, n),
        dimension_numbers=_dimension_numbers(n, data_format), feature_group_count=c // w.shape[-2])
    return _add_bias(y, bias, data_format)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1,
                   bias=None):
    x, w = _operands(inputs, kernel)
    n = x.ndim - 2
    c = _channels(x, data_format)
    if w.shape[-2] != c:
        raise ValueError(f"depthwise_conv: kernel.shape[-2] must equal the input's {c} channels. "
                         f"Received: input shape {tuple(x.shape)}, kernel shape {tuple(w.shape)}")
    w = w.reshape(w.shape[:-2] + (1, c * w.shape[-1]))  # output channel c * multiplier + m
    y = lax.conv_general_dilated(
        x, w, as_tuple(strides, n), padding.upper(), rhs_dilation=as_tuple(dilation_rate, n),
        dimension_numbers=_dimension_numbers(n, data_format), feature_group_count=c)
    return _add_bias(y, bias, data_format)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format="channels_last",
                   dilation_rate=1, bias=None):
    x, w = _operands(inputs, kernel)
    n = x.ndim - 2
    s, d = as_tuple(strides, n), as_tuple(dilation_rate, n)
    op = (None,) * n if output_padding is None else as_tuple(output_padding, n)
    pads = [conv_transpose_pads(w.shape[i], s[i], padding, op[i], d[i]) for i in range(n)]
    # A stride-1 convolution of the stride-dilated input with the flipped kernel, its (out, in) axes swapped.
    w = jnp.swapaxes(jnp.flip(w, axis=tuple(range(n))), -1, -2)
    y = lax.conv_general_dilated(x, w, (1,) * n, pads, lhs_dilation=s, rhs_dilation=d,
                                 dimension_numbers=_dimension_numbers(n, data_format))
    return _add_bias(y, bias, data_format)


def _window(x, pool_size, strides, data_format):
    n = x.ndim - 2
    k = as_tuple(pool_size, n)
    s = k if strides is None else as_tuple(strides, n)
    if data_format == "channels_last":
        return k, s, (1,) + k + (1,), (1,) + s + (1,), x.shape[1:-1]
    return k, s, (1, 1) + k, (1, 1) + s, x.shape[2:]


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
    x = _as_array(inputs)
    _, _, dims, steps, _ = _window(x, pool_size, strides, data_format)
    init = -np.inf if jnp.issubdtype(x.dtype, jnp.floating) else jnp.iinfo(x.dtype).min
    # The init value must be a concrete (numpy) scalar, even under jit: then lax recognises the max monoid and
    # uses its differentiable reduce_window_max.
    return lax.reduce_window(x, np.array(init, x.dtype), lax.max, dims, steps, padding.upper())


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
    x = _as_array(inputs)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.float32)
    k, s, dims, steps, sizes = _window(x, pool_size, strides, data_format)
    total = lax.reduce_window(x, np.array(0, x.dtype), lax.add, dims, steps, padding.upper())
    if padding == "valid":
        return total / float(np.prod(k))
    before = tuple(same_pads(size, ki, si)[0] for size, ki, si in zip(sizes, k, s))
    counts = window_counts(tuple(sizes), k, s, before)
    counts = counts[None, ..., None] if data_format == "channels_last" else counts[None, None]
    return total / jnp.asarray(counts, x.dtype)
