"""Pooling layers with Keras 3's arguments: Max/AveragePooling1D/2D/3D and Global Max/AveragePooling1D/2D/3D.

"same" padding is TensorFlow's (the odd pixel goes after); average pooling with "same" padding divides each
window by the number of real (non-padded) elements it covers, as Keras does. Keras's aliases (MaxPool2D,
AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D, ...) name the same classes.
"""

from kshim import ops
from kshim.layers.convolutional import _int_tuple, _padding
from kshim.layers.core import _data_format
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer
from kshim.ops.convolution import pool_output_shape


class _Pooling(Layer):
    rank = None

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        cls = type(self).__name__
        self.pool_size = _int_tuple(cls, "pool_size", pool_size, self.rank)
        self.strides = self.pool_size if strides is None else _int_tuple(cls, "strides", strides, self.rank)
        self.padding = _padding(cls, padding, ("valid", "same"))
        self.data_format = _data_format(cls, data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # a too-small input fails here, with the layer's name
        self.built = True

    def compute_output_shape(self, input_shape):
        return pool_output_shape(input_shape, self.pool_size, self.strides, self.padding, self.data_format,
                                 what=f"{type(self).__name__} '{self.name}'")

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class _MaxPooling(_Pooling):
    def call(self, inputs):
        return ops.max_pool(inputs, self.pool_size, self.strides, self.padding, self.data_format)


class _AveragePooling(_Pooling):
    def call(self, inputs):
        return ops.average_pool(inputs, self.pool_size, self.strides, self.padding, self.data_format)


class MaxPooling1D(_MaxPooling):
    """Max over windows of ``pool_size`` steps (``strides`` defaults to ``pool_size``)."""

    rank = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling2D(_MaxPooling):
    """Max over ``pool_size`` windows of an image (``strides`` defaults to ``pool_size``)."""

    rank = 2

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling3D(_MaxPooling):
    """Max over ``pool_size`` windows of a volume (``strides`` defaults to ``pool_size``)."""

    rank = 3

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling1D(_AveragePooling):
    """Mean over windows of ``pool_size`` steps (``strides`` defaults to ``pool_size``)."""

    rank = 1


class AveragePooling2D(_AveragePooling):
    """Mean over ``pool_size`` windows of an image (``strides`` defaults to ``pool_size``)."""

    rank = 2


class AveragePooling3D(_AveragePooling):
    """Mean over ``pool_size`` windows of a volume (``strides`` defaults to ``pool_size``)."""

    rank = 3


class _GlobalPooling(Layer):
    rank = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        first = 1 if self.data_format == "channels_last" else 2
        self._axes = tuple(range(first, first + self.rank))

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            channels = input_shape[-1]
            return (input_shape[0],) + (1,) * self.rank * self.keepdims + (channels,)
        return (input_shape[0], input_shape[1]) + (1,) * self.rank * self.keepdims

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalMaxPooling(_GlobalPooling):
    def call(self, inputs):
        return ops.max(inputs, axis=self._axes, keepdims=self.keepdims)


class _GlobalAveragePooling(_GlobalPooling):
    def call(self, inputs):
        return ops.mean(inputs, axis=self._axes, keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalMaxPooling):
    """Max over the steps axis."""

    rank = 1


class GlobalMaxPooling2D(_GlobalMaxPooling):
    """Max over the two spatial axes."""

    rank = 2


class GlobalMaxPooling3D(_GlobalMaxPooling):
    """Max over the three spatial axes."""

    rank = 3


class GlobalAveragePooling1D(_GlobalAveragePooling):
    """Mean over the steps axis. With a (batch, steps) ``mask``, the mean of the unmasked steps (as Keras)."""

    rank = 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=self._axes, keepdims=self.keepdims)
        mask = ops.expand_dims(ops.cast(mask, "bool"), 2 if self.data_format == "channels_last" else 1)
        total = ops.sum(ops.where(mask, inputs, 0.0), axis=self._axes, keepdims=self.keepdims)
        count = ops.sum(ops.cast(mask, ops.dtype(inputs)), axis=self._axes, keepdims=self.keepdims)
        return ops.divide(total, count)

    def compute_mask(self, inputs, previous_mask=None):
        return None


class GlobalAveragePooling2D(_GlobalAveragePooling):
    """Mean over the two spatial axes."""

    rank = 2


class GlobalAveragePooling3D(_GlobalAveragePooling):
    """Mean over the three spatial axes."""

    rank = 3


MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D, GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D",
    "AvgPool2D", "AvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalAvgPool1D",
    "GlobalAvgPool2D", "GlobalAvgPool3D",
]
