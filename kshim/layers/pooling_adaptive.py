"""Adaptive pooling: AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D (Keras 3's arguments).

The input's spatial axes are cut into ``output_size`` bins, PyTorch's and Keras's way: bin ``i`` of an axis of
length ``L`` pooled to ``n`` covers ``[floor(i L / n), ceil((i + 1) L / n))``. A box is the product of per-axis
bins, so the pooling runs one axis at a time (exact for max; for average, a mean of means of equal-size rows,
equal to the box mean within float32 rounding). Kshim.ops has no adaptive pooling primitive yet; this module gives
way to ``kshim.ops.adaptive_average_pool`` / ``adaptive_max_pool`` once those exist.
"""

import math

import numpy as np

from kshim import ops
from kshim.layers.core import _data_format
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer


def _bins(length, size):
    return [(math.floor(i * length / size), math.ceil((i + 1) * length / size)) for i in range(size)]


def _pool_axis(x, axis, size, reduce):
    length = ops.shape(x)[axis]
    parts = [reduce(ops.slice_along_axis(x, start, end, axis), axis=axis, keepdims=True)
             for start, end in _bins(length, size)]
    return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=axis)


class _AdaptivePooling(Layer):
    _RANK = 1
    _REDUCE = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        n = self._RANK
        if isinstance(output_size, (int, np.integer)) and not isinstance(output_size, bool):
            sizes = (int(output_size),) * n
        elif isinstance(output_size, (tuple, list)) and len(output_size) == n:
            sizes = tuple(output_size)
        else:
            raise TypeError(f"{cls}: `output_size` must be an integer or a tuple of {n} integers. "
                            f"Received: output_size={output_size!r}")
        if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s <= 0 for s in sizes):
            raise ValueError(f"{cls}: `output_size` must hold positive integers. Received: output_size={output_size!r}")
        self.output_size = tuple(int(s) for s in sizes)
        self.data_format = _data_format(cls, data_format)
        self.input_spec = InputSpec(ndim=n + 2)

    def _first(self):
        return 2 if self.data_format == "channels_first" else 1

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def call(self, inputs):
        reduce = ops.max if self._REDUCE == "max" else ops.mean
        for i, size in enumerate(self.output_size):
            inputs = _pool_axis(inputs, self._first() + i, size, reduce)
        return inputs

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Averages (batch, steps, channels) into ``output_size`` bins along the steps."""
    _RANK, _REDUCE = 1, "mean"


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Averages (batch, height, width, channels) into ``output_size`` = (h, w) bins."""
    _RANK, _REDUCE = 2, "mean"


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Averages (batch, d1, d2, d3, channels) into ``output_size`` = (o1, o2, o3) bins."""
    _RANK, _REDUCE = 3, "mean"


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """The maximum of each of ``output_size`` bins along the steps."""
    _RANK, _REDUCE = 1, "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """The maximum of each of ``output_size`` = (h, w) bins."""
    _RANK, _REDUCE = 2, "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """The maximum of each of ``output_size`` = (o1, o2, o3) bins."""
    _RANK, _REDUCE = 3, "max"
