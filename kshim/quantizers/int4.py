"""int4 quantization as Keras 3.15 stores it: grouped asymmetric quantization with a zero point, and two int4
values packed per int8 byte.

``abs_max_quantize_grouped_with_zero_point(w, block_size)`` splits the rows of a 2D ``w`` into groups of
``block_size`` (the last one zero-padded); per group and column, ``scale = (max - min + epsilon) / 15`` and
``zero = clip(round(-min / scale) - 8, -8, 7)``, and ``q = clip(round(w / scale) + zero, -8, 7)``, so that
``w ~= (q - zero) * scale`` (`dequantize_grouped`). ``pack_int4`` puts element ``2i`` of an axis in the low nibble of
byte ``i`` and element ``2i + 1`` in its high nibble.
"""

import math

import numpy as np

from kshim import config, ops


def abs_max_quantize_grouped_with_zero_point(inputs, block_size, value_range=(-8, 7), dtype="int8", epsilon=None,
                                             to_numpy=False):
    """``(quantized (rows, cols), scale (groups, cols), zero point (groups, cols) int8)``, computed on the host
    (``to_numpy`` is accepted for Keras's signature)."""
    epsilon = config.epsilon() if epsilon is None else epsilon
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError("abs_max_quantize_grouped_with_zero_point: `block_size` must be a positive integer. "
                         f"Received: block_size={block_size!r}")
    original = ops.dtype(inputs) if not isinstance(inputs, np.ndarray) else str(inputs.dtype)
    w = np.asarray(ops.convert_to_numpy(inputs) if not isinstance(inputs, np.ndarray) else inputs)
    if w.ndim != 2:
        raise ValueError("abs_max_quantize_grouped_with_zero_point: `inputs` must be 2D (rows, columns). "
                         f"Received: shape={w.shape}")
    rows, cols = w.shape
    groups = math.ceil(rows / block_size)
    low, high = value_range
    padded = np.concatenate([w, np.zeros((groups * block_size - rows, cols), w.dtype)], axis=0)
    blocks = padded.reshape(groups, block_size, cols)
    lo, hi = blocks.min(axis=1, keepdims=True), blocks.max(axis=1, keepdims=True)
    scale = np.divide(np.subtract(hi, lo) + epsilon, high - low)
    zero = np.clip(np.round(np.divide(-lo, scale)) + low, low, high)
    q = np.clip(np.round(np.divide(blocks, scale)) + zero, low, high).astype(dtype)
    q = q.reshape(groups * block_size, cols)[:rows]
    return (ops.convert_to_tensor(q), ops.convert_to_tensor(np.squeeze(scale, 1), dtype=original),
            ops.convert_to_tensor(np.squeeze(zero, 1).astype("int8")))


def pack_int4(arr, axis=0, dtype="int8"):
    """``(packed, packed shape, original length)``: the int4 values of ``arr`` (int8 in [-8, 7]) two per byte along
    ``axis`` (an odd length is padded with one zero)."""
    a = np.asarray(ops.convert_to_numpy(arr) if not isinstance(arr, np.ndarray) else arr).astype(np.int32)
    axis = axis % a.ndim
    length = a.shape[axis]
    if length % 2:
        pad = [(0, 0)] * a.ndim
        pad[axis] = (0, 1)
        a = np.pad(a, pad)
    low = np.take(a, np.arange(0, a.shape[axis], 2), axis=axis) & 0x0F
    high = np.take(a, np.arange(1, a.shape[axis], 2), axis=axis) & 0x0F
    packed = ((high << 4) | low).astype(np.uint8)
    packed = packed.view(np.int8) if dtype == "int8" else packed
    return ops.convert_to_tensor(packed), tuple(packed.shape), length


def unpack_int4(packed, orig_len, axis=0, dtype="int8"):
    """The int4 values (as int8, or uint8 nibbles with ``dtype="uint8"``) of ``pack_int4``'s bytes along ``axis``,
    cut to ``orig_len``; computed with ops, so it runs inside a compiled step."""
    unsigned = ops.mod(ops.cast(packed, "int32"), 256)
    low, high = ops.mod(unsigned, 16), ops.floor_divide(unsigned, 16)
    if dtype == "int8":  # two's complement nibbles
        low = ops.where(ops.greater_equal(low, 8), ops.subtract(low, 16), low)
        high = ops.where(ops.greater_equal(high, 8), ops.subtract(high, 16), high)
    axis = axis % ops.ndim(packed)
    both = ops.stack([low, high], axis=axis + 1)
    shape = list(ops.shape(packed))
    shape[axis] *= 2
    out = ops.reshape(both, shape)
    if shape[axis] != orig_len:
        out = ops.take(out, ops.arange(orig_len), axis=axis)
    return ops.cast(out, dtype)


def dequantize_grouped(q, scale, zero, g_idx):
    """``(q - zero[g_idx]) * scale[g_idx]``: the float weight of a grouped int4 (rows, cols) ``q``, with
    ``g_idx`` each row's group."""
    groups = ops.cast(g_idx, "int32")
    scales = ops.take(scale, groups, axis=0)
    zeros = ops.cast(ops.take(zero, groups, axis=0), ops.dtype(scales))
    return ops.multiply(ops.subtract(ops.cast(q, ops.dtype(scales)), zeros), scales)
