"""PyTorch backend: convolution and pooling on ``torch.nn.functional``.

torch wants (batch, channels, spatial...) data and (out, in, spatial...) kernels. Both are reached with
``permute``, which is a view, never a copy: an NHWC tensor permuted to NCHW *is* a channels_last-format NCHW
tensor, which torch's kernels take as it is, and their output permuted back is NHWC again. "same" padding follows
TensorFlow (the odd pixel goes after); where that split is symmetric torch pads by itself, otherwise the input is
padded explicitly first.
"""

import torch
import torch.nn.functional as F

from kshim.numerics.conv_shapes import (
    as_tuple,
    conv_transpose_pads,
    effective_size,
    same_pads,
    window_counts,
)
from kshim.backends.torch.core import _as_tensor

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_TO_FIRST = {n: (0, n + 1) + tuple(range(1, n + 1)) for n in (1, 2, 3)}  # channels_last -> channels_first
_TO_LAST = {n: (0,) + tuple(range(2, n + 2)) + (1,) for n in (1, 2, 3)}  # channels_first -> channels_last
_KERNEL = {n: (n + 1, n) + tuple(range(n)) for n in (1, 2, 3)}  # (spatial..., a, b) -> (b, a, spatial...)


def _rank(x, what):
    n = x.ndim - 2
    if n not in _CONV:
        raise ValueError(f"{what}: `inputs` must have rank 3, 4 or 5 (batch, spatial..., channels). "
                         f"Received: inputs.shape={tuple(x.shape)}")
    return n


def _operands(inputs, kernel):
    x, w = _as_tensor(inputs), _as_tensor(kernel)
    if x.dtype != w.dtype:
        dt = torch.promote_types(x.dtype, w.dtype)
        x, w = x.to(dt), w.to(dt)
    return x, w


def _bias(bias, w):
    """The bias as a tensor of the kernel's dtype, or None (torch's kernels add it in the same pass)."""
    if bias is None:
        return None
    b = _as_tensor(bias)
    return b if b.dtype == w.dtype else b.to(w.dtype)


def _same(x, k, s, d, value):
    """(input, torch padding) for TensorFlow's "same" on the channels-first ``x``."""
    pads = [same_pads(size, ki, si, di) for size, ki, si, di in zip(x.shape[2:], k, s, d)]
    if all(before == after for before, after in pads):
        return x, tuple(before for before, _ in pads)
    flat = [v for before, after in reversed(pads) for v in (before, after)]
    return F.pad(x, flat, value=value), 0


def conv(inputs, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1, bias=None):
    x, w = _operands(inputs, kernel)
    n = _rank(x, "conv")
    last = data_format == "channels_last"
    if last:
        x = x.permute(_TO_FIRST[n])
    c = x.shape[1]
    if c % w.shape[-2]:
        raise ValueError(f"conv: the input's {c} channels must be a multiple of the kernel's input channels "
                         f"(kernel.shape[-2]). Received: input shape {tuple(_as_tensor(inputs).shape)}, "
                         f"kernel shape {tuple(w.shape)}")
    groups = c // w.shape[-2]
    w = w.permute(_KERNEL[n])
    s, d = as_tuple(strides, n), as_tuple(dilation_rate, n)
    pad = 0
    if padding == "same":
        x, pad = _same(x, w.shape[2:], s, d, 0.0)
    y = _CONV[n](x, w, _bias(bias, w), s, pad, d, groups)
    return y.permute(_TO_LAST[n]) if last else y


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1,
                   bias=None):
    x, w = _operands(inputs, kernel)
    n = _rank(x, "depthwise_conv")
    last = data_format == "channels_last"
    if last:
        x = x.permute(_TO_FIRST[n])
    c = x.shape[1]
    if w.shape[-2] != c:
        raise ValueError(f"depthwise_conv: kernel.shape[-2] must equal the input's {c} channels. "
                         f"Received: input shape {tuple(_as_tensor(inputs).shape)}, kernel shape {tuple(w.shape)}")
    # (spatial..., c, m) -> (spatial..., 1, c * m) -> (c * m, 1, spatial...): output channel c * m + j.
    w = w.reshape(tuple(w.shape[:-2]) + (1, c * w.shape[-1])).permute(_KERNEL[n])
    s, d = as_tuple(strides, n), as_tuple(dilation_rate, n)
    pad = 0
    if padding == "same":
        x, pad = _same(x, w.shape[2:], s, d, 0.0)
    y = _CONV[n](x, w, _bias(bias, w), s, pad, d, c)
    return y.permute(_TO_LAST[n]) if last else y


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format="channels_last",
                   dilation_rate=1, bias=None):
    x, w = _operands(inputs, kernel)
    n = _rank(x, "conv_transpose")
    last = data_format == "channels_last"
    if last:
        x = x.permute(_TO_FIRST[n])
    s, d = as_tuple(strides, n), as_tuple(dilation_rate, n)
    op = (None,) * n if output_padding is None else as_tuple(output_padding, n)
    # How much of torch's full output, (n - 1) * stride + k_eff long, Keras's output leaves out on each side.
    crops = []
    for i in range(n):
        left, right = conv_transpose_pads(w.shape[i], s[i], padding, op[i], d[i])
        ke = effective_size(w.shape[i], d[i])
        crops.append((ke - 1 - left, ke - 1 - right))
    w = w.permute(_KERNEL[n])  # (spatial..., out, in) -> (in, out, spatial...)
    if all(right >= 0 and 0 <= left - right < max(si, di) for (left, right), si, di in zip(crops, s, d)):
        # torch crops `padding` from both sides, then gives `output_padding` back on the right.
        y = _CONV_T[n](x, w, _bias(bias, w), s, tuple(l for l, _ in crops), tuple(l - r for l, r in crops), 1, d)
    else:
        y = _CONV_T[n](x, w, None, s, 0, 0, 1, d)
        y = F.pad(y, [-v for l, r in reversed(crops) for v in (l, r)])  # negative pads crop
        if bias is not None:  # after the padding, which the bias covers too
            y = y + _bias(bias, w).reshape((-1,) + (1,) * n)
    return y.permute(_TO_LAST[n]) if last else y


def _pool_args(x, pool_size, strides, data_format, what):
    n = _rank(x, what)
    last = data_format == "channels_last"
    if last:
        x = x.permute(_TO_FIRST[n])
    k = as_tuple(pool_size, n)
    s = k if strides is None else as_tuple(strides, n)
    return x, n, last, k, s


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
    x, n, last, k, s = _pool_args(_as_tensor(inputs), pool_size, strides, data_format, "max_pool")
    pad = 0
    if padding == "same":
        x, pad = _same(x, k, s, (1,) * n, float("-inf"))
    y = _MAX[n](x, k, s, pad)
    return y.permute(_TO_LAST[n]) if last else y


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
    x = _as_tensor(inputs)
    if not x.is_floating_point():
        x = x.to(torch.float32)
    x, n, last, k, s = _pool_args(x, pool_size, strides, data_format, "average_pool")
    if padding == "valid":
        y = _AVG[n](x, k, s)
    else:
        pads = [same_pads(size, ki, si) for size, ki, si in zip(x.shape[2:], k, s)]
        if all(before == after for before, after in pads):
            y = _AVG[n](x, k, s, tuple(before for before, _ in pads), False, False)  # count_include_pad=False
        else:
            sizes = tuple(x.shape[2:])
            flat = [v for before, after in reversed(pads) for v in (before, after)]
            window = 1
            for ki in k:
                window *= ki
            counts = window_counts(sizes, k, s, tuple(before for before, _ in pads))
            scale = torch.as_tensor(window / counts, dtype=x.dtype, device=x.device)
            y = _AVG[n](F.pad(x, flat), k, s) * scale
    return y.permute(_TO_LAST[n]) if last else y
