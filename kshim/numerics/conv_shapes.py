"""Padding arithmetic and output sizes for convolution and pooling, shared by both backends and `kshim.ops.convolution`.

Pure Python on static sizes (no framework import). The conventions are TensorFlow's, which Keras 3 follows on
every backend:

- ``"valid"``: no padding; ``out = floor((n - k_eff) / stride) + 1`` with ``k_eff = (k - 1) * dilation + 1``.
- ``"same"``: ``out = ceil(n / stride)``; the total padding ``max((out - 1) * stride + k_eff - n, 0)`` is split
  with ``total // 2`` before and the rest (one more when odd) after.
- transposed convolution: the output is the "full" transposed convolution, of length ``(n - 1) * stride + k_eff``,
  cropped (or zero-extended) so that its length is, per Keras 3:
  ``valid``: ``(n - 1) * stride + k_eff + output_padding`` (``output_padding`` defaults to
  ``max(k_eff, stride) - k_eff``); ``same``: ``n * stride`` when ``output_padding`` is None, else
  ``(n - 1) * stride + k_eff % 2 + output_padding``.
"""

import functools

import numpy as np


def as_tuple(value, n):
    """An int (or a sequence of ``n`` ints) as a tuple of ``n`` ints."""
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return (int(value),) * n


def effective_size(k, dilation):
    """The extent of a dilated window: ``(k - 1) * dilation + 1``."""
    return (k - 1) * dilation + 1


def same_pads(n, k, stride, dilation=1):
    """(before, after) padding for "same" on an axis of length ``n`` (TensorFlow's split: the extra goes after)."""
    out = -(-n // stride)
    total = max((out - 1) * stride + effective_size(k, dilation) - n, 0)
    return total // 2, total - total // 2


def conv_output_size(n, k, stride, padding, dilation=1):
    """The output length of a convolution or pooling window on an axis of length ``n`` (None stays None)."""
    if n is None:
        return None
    if padding == "valid":
        return (n - effective_size(k, dilation)) // stride + 1
    return -(-n // stride)  # "same" and "causal"


def conv_transpose_pads(k, stride, padding, output_padding=None, dilation=1):
    """(left, right) padding of the stride-dilated input that gives Keras 3's transposed-convolution output.

    The transposed convolution is computed as a stride-1 convolution of the input dilated by ``stride`` (zeros
    between the elements) with the spatially flipped kernel, after padding the dilated input by these amounts."""
    ke = effective_size(k, dilation)
    if padding == "valid":
        extra = max(ke, stride) - ke if output_padding is None else output_padding
        return ke - 1, ke - 1 + extra
    if output_padding is None:
        total = stride + ke - 2
    else:
        total = ke + ke % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, ke - 1)
    return left, total - left


def conv_transpose_output_size(n, k, stride, padding, output_padding=None, dilation=1):
    """The output length of Keras 3's transposed convolution on an axis of length ``n`` (None stays None)."""
    if n is None:
        return None
    left, right = conv_transpose_pads(k, stride, padding, output_padding, dilation)
    return (n - 1) * stride + 1 + left + right - effective_size(k, dilation) + 1


@functools.lru_cache(maxsize=256)
def window_counts(sizes, pool_size, strides, pads_before):
    """How many real (non-padded) input elements each pooling window covers, as a float32 numpy array of the
    output's spatial shape. ``sizes``, ``pool_size``, ``strides`` and ``pads_before`` are tuples per axis."""
    counts = np.ones((), np.float32)
    for n, k, s, p in zip(sizes, pool_size, strides, pads_before):
        out = conv_output_size(n, k, s, "same")
        start = np.arange(out) * s - p
        per_axis = (np.minimum(start + k, n) - np.maximum(start, 0)).astype(np.float32)
        counts = np.multiply.outer(counts, per_axis)
    counts.setflags(write=False)
    return counts
