"""The volumetric reshaping layers: UpSampling3D, ZeroPadding3D, Cropping3D (Keras 3's arguments, shapes and
numbers; inputs are (batch, d1, d2, d3, channels) or channels_first)."""

import numpy as np

from kshim import ops
from kshim.layers.core import _data_format
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer
from kshim.layers.reshaping import _crop, _int_tuple


def _pairs_3d(cls, name, value):
    """An int, three ints (symmetric per axis), or three pairs ((d1 start, end), (d2 ...), (d3 ...))."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{cls}: `{name}` cannot be negative. Received: {name}={value!r}")
        return ((int(value),) * 2,) * 3
    if hasattr(value, "__len__") and len(value) == 3:
        return tuple(_int_tuple(cls, f"{name}[{i}]", v, 2, allow_zero=True) for i, v in enumerate(value))
    raise ValueError(f"{cls}: `{name}` must be an int, a tuple of 3 ints, or a tuple of 3 tuples of 2 ints. "
                     f"Received: {name}={value!r}")


def _first_spatial(data_format):
    return 2 if data_format == "channels_first" else 1


class UpSampling3D(Layer):
    """Repeats each voxel ``size`` = (s1, s2, s3) times along the three spatial axes."""

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format("UpSampling3D", data_format)
        self.size = _int_tuple("UpSampling3D", "size", size, 3)
        self.input_spec = InputSpec(ndim=5)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        first = _first_spatial(self.data_format)
        for i in range(3):
            out[first + i] = None if out[first + i] is None else out[first + i] * self.size[i]
        return tuple(out)

    def call(self, inputs):
        first = _first_spatial(self.data_format)
        for i in range(3):
            inputs = ops.repeat(inputs, self.size[i], axis=first + i)
        return inputs

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class ZeroPadding3D(Layer):
    """Pads the three spatial axes with zeros: ``padding`` is an int, three ints, or three (start, end) pairs."""

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format("ZeroPadding3D", data_format)
        self.padding = _pairs_3d("ZeroPadding3D", "padding", padding)
        self.input_spec = InputSpec(ndim=5)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        first = _first_spatial(self.data_format)
        for i in range(3):
            out[first + i] = None if out[first + i] is None else out[first + i] + sum(self.padding[i])
        return tuple(out)

    def call(self, inputs):
        if self.data_format == "channels_first":
            widths = ((0, 0), (0, 0), *self.padding)
        else:
            widths = ((0, 0), *self.padding, (0, 0))
        return ops.pad(inputs, widths)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Cropping3D(Layer):
    """Removes voxels from the edges of the three spatial axes: ``cropping`` is an int, three ints, or three
    (start, end) pairs."""

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format("Cropping3D", data_format)
        self.cropping = _pairs_3d("Cropping3D", "cropping", cropping)
        self.input_spec = InputSpec(ndim=5)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        first = _first_spatial(self.data_format)
        for i in range(3):
            d = out[first + i]
            if d is not None:
                if sum(self.cropping[i]) >= d:
                    raise ValueError(f"Cropping3D '{self.name}': `cropping` must be smaller than the spatial "
                                     f"dimensions of the input. Received: input_shape={tuple(input_shape)}, "
                                     f"cropping={self.cropping}")
                out[first + i] = d - sum(self.cropping[i])
        return tuple(out)

    def call(self, inputs):
        self.compute_output_shape(tuple(ops.shape(inputs)))
        first = _first_spatial(self.data_format)
        for i in range(3):
            inputs = _crop(inputs, first + i, *self.cropping[i])
        return inputs

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}
