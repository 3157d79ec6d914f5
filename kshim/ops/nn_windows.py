"""Windowed nn ops written on the primitives (Keras 3's ``keras.ops.nn``): adaptive average and max pooling, and
``unfold`` (im2col) with its adjoint ``fold`` (col2im). Window positions are computed on the host from the static
shapes, so each op is a fixed gather or matmul on the backend."""

import numpy as np

from kshim import config
from kshim.backends import B
from kshim.ops import symbolic as _symbolic


def _tuple(value, n, name, op):
    out = (value,) * n if isinstance(value, int) else tuple(value)
    if len(out) != n or not all(isinstance(v, (int, np.integer)) and v >= 0 for v in out):
        raise ValueError(f"{op}: `{name}` must be a non-negative integer or a tuple of {n} of them. "
                         f"Received: {name}={value!r}")
    return tuple(int(v) for v in out)


# ----------------------------------------------------------------------------------------------------------------
# Adaptive pooling


def _windows(length, out):
    """Start and end of each of ``out`` adaptive windows over ``length``: [floor(i L / o), ceil((i + 1) L / o))."""
    i = np.arange(out)
    return (i * length) // out, -((-(i + 1) * length) // out)


def _adaptive_pool(inputs, output_size, data_format, mode, op):
    x = B.convert_to_tensor(inputs)
    rank = len(B.shape(x))
    if rank not in (3, 4, 5):
        raise ValueError(f"{op}: `inputs` must be of rank 3, 4 or 5 (batch, spatial..., channels). "
                         f"Received: inputs.shape={tuple(B.shape(x))}")
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: `data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    n_spatial = rank - 2
    sizes = _tuple(output_size, n_spatial, "output_size", op)
    first = 1 if data_format == "channels_last" else 2
    for k, out in enumerate(sizes):
        axis = first + k
        length = B.shape(x)[axis]
        start, end = _windows(length, out)
        if mode == "average":
            weights = np.zeros((out, length), "float64")
            for i in range(out):
                weights[i, start[i]:end[i]] = 1.0 / (end[i] - start[i])
            moved = B.transpose(x, tuple(a for a in range(rank) if a != axis) + (axis,))
            pooled = B.matmul(moved, B.convert_to_tensor(weights.T.astype(str(B.dtype(x)))))
            back = list(range(rank - 1))
            back.insert(axis, rank - 1)
            x = B.transpose(pooled, tuple(back))
        else:
            width = int(np.max(end - start))
            index = np.minimum(start[:, None] + np.arange(width)[None, :], end[:, None] - 1)  # repeat the last
            gathered = B.take(x, B.convert_to_tensor(index.reshape(-1).astype("int32")), axis=axis)
            shape = list(B.shape(x))
            shape[axis:axis + 1] = [out, width]
            x = B.max(B.reshape(gathered, tuple(shape)), axis=axis + 1)
    return x


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to ``output_size`` (an int or one per spatial axis): output ``i`` averages the inputs
    ``floor(i * L / out)`` to ``ceil((i + 1) * L / out)`` (exclusive) of each spatial axis."""
    return _adaptive_pool(inputs, output_size, data_format, "average", "adaptive_average_pool")


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to ``output_size``, over the windows of `adaptive_average_pool`."""
    return _adaptive_pool(inputs, output_size, data_format, "max", "adaptive_max_pool")


# ----------------------------------------------------------------------------------------------------------------
# Sliding blocks


def _block_index(size, kernel, dilation, padding, stride):
    """For one axis: (number of blocks, (blocks, kernel) positions in the padded axis)."""
    span = dilation * (kernel - 1) + 1
    count = (size + 2 * padding - span) // stride + 1
    if count < 1:
        raise ValueError(f"unfold: the kernel (span {span}) does not fit the padded input of size "
                         f"{size + 2 * padding}")
    return count, np.arange(count)[:, None] * stride + np.arange(kernel)[None, :] * dilation


def _flat_positions(h, w, kernel_size, dilation, padding, stride, op):
    kh, kw = _tuple(kernel_size, 2, "kernel_size", op)
    dh, dw = _tuple(dilation, 2, "dilation", op)
    ph, pw = _tuple(padding, 2, "padding", op)
    sh, sw = _tuple(stride, 2, "stride", op)
    nh, ih = _block_index(h, kh, dh, ph, sh)
    nw, iw = _block_index(w, kw, dw, pw, sw)
    # flat index in the padded (H + 2ph, W + 2pw) plane, ordered (kh, kw, block_h, block_w)
    flat = ih.T[:, None, :, None] * (w + 2 * pw) + iw.T[None, :, None, :]
    return flat.reshape(kh * kw, nh * nw), (kh, kw), (ph, pw)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding blocks of the channels-first ``x`` (N, C, H, W) as (N, C * kH * kW, L), L blocks (im2col)."""
    x = B.convert_to_tensor(x)
    if len(B.shape(x)) != 4:
        raise ValueError(f"unfold: `x` must be a 4-D tensor (N, C, H, W). Received: x.shape={tuple(B.shape(x))}")
    n, c, h, w = B.shape(x)
    flat, (kh, kw), (ph, pw) = _flat_positions(h, w, kernel_size, dilation, padding, stride, "unfold")
    padded = B.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    plane = B.reshape(padded, (n, c, -1))
    blocks = B.take(plane, B.convert_to_tensor(flat.reshape(-1).astype("int32")), axis=2)
    return B.reshape(blocks, (n, c * kh * kw, flat.shape[1]))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of `unfold` (col2im): the blocks (N, C * kH * kW, L) summed into an (N, C, oH, oW) image."""
    x = B.convert_to_tensor(x)
    if len(B.shape(x)) != 3:
        raise ValueError(f"fold: `x` must be a 3-D tensor (N, C * kH * kW, L). Received: x.shape="
                         f"{tuple(B.shape(x))}")
    oh, ow = _tuple(output_size, 2, "output_size", "fold")
    flat, (kh, kw), (ph, pw) = _flat_positions(oh, ow, kernel_size, dilation, padding, stride, "fold")
    n, ckk, blocks = B.shape(x)
    if ckk % (kh * kw) or blocks != flat.shape[1]:
        raise ValueError(f"fold: `x` of shape {tuple(B.shape(x))} does not hold C * {kh * kw} rows and "
                         f"{flat.shape[1]} blocks for output_size={(oh, ow)}")
    c = ckk // (kh * kw)
    plane = (oh + 2 * ph) * (ow + 2 * pw)
    scatter = np.zeros((kh * kw * blocks, plane), "float32")
    scatter[np.arange(kh * kw * blocks), flat.reshape(-1)] = 1.0
    summed = B.matmul(B.reshape(x, (n, c, kh * kw * blocks)), B.convert_to_tensor(
        scatter.astype(str(B.dtype(x)))))
    image = B.reshape(summed, (n, c, oh + 2 * ph, ow + 2 * pw))
    return image[:, :, ph:ph + oh, pw:pw + ow]


__all__ = ["adaptive_average_pool", "adaptive_max_pool", "unfold", "fold"]

_symbolic.install(globals(), __all__, "keras.src.ops.nn")
