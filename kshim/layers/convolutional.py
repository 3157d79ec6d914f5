"""Convolution layers with Keras 3's arguments, weight names, shapes and order.

Conv1D/2D/3D (kernel (k..., in // groups, filters), bias (filters,)); Conv1D/2D/3DTranspose (kernel
(k..., filters, in), bias); DepthwiseConv1D/2D (kernel (k..., in, depth_multiplier), bias (in * depth_multiplier,));
SeparableConv1D/2D (depthwise_kernel (k..., in, depth_multiplier), pointwise_kernel (1..., in * depth_multiplier,
filters), bias (filters,)). Keras's aliases (Convolution2D, SeparableConvolution2D, ...) name the same classes.
"""

import operator

from kshim import activations, constraints, initializers, ops, regularizers
from kshim.layers.core import _data_format
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer
from kshim.ops.convolution import conv_output_shape, conv_transpose_output_shape


def _int_tuple(cls, name, value, rank, allow_zero=False):
    """``value`` (an int or ``rank`` ints) as a tuple of ints, or a ValueError naming the argument."""
    kind = "non-negative" if allow_zero else "positive"
    try:
        items = [value] * rank if not isinstance(value, (tuple, list)) else list(value)
        out = tuple(operator.index(v) for v in items if not isinstance(v, bool))
    except TypeError:
        out = ()
    if len(out) != rank or any(v < 0 or (v == 0 and not allow_zero) for v in out):
        raise ValueError(f"{cls}: `{name}` must be a {kind} integer or a tuple of {rank} {kind} integers. "
                         f"Received: {name}={value!r}")
    return out


def _positive(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        try:
            if not isinstance(value, bool) and operator.index(value) > 0:
                return int(value)
        except TypeError:
            pass
        raise ValueError(f"{cls}: `{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def _padding(cls, value, allowed):
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        options = ", ".join(repr(p) for p in allowed)
        raise ValueError(f"{cls}: `padding` must be one of {options}. Received: padding={value!r}")
    return padding


def _checked(module, value):
    """``value``, after checking that ``module.get`` understands it (so a typo fails at construction)."""
    module.get(value)
    return value


def _serialize(module, value):
    if value is None or isinstance(value, str):
        return value
    return module.serialize(module.get(value))


class _Conv(Layer):
    """The shared machinery: argument checks, channel axis, the bias (added inside the conv op), config."""

    rank = None
    _paddings = ("valid", "same")
    # (attribute, argument name) of the initializers/regularizers/constraints that get_config writes, in order.
    _weight_args = (("kernel_initializer", initializers), ("bias_initializer", initializers),
                    ("kernel_regularizer", regularizers), ("bias_regularizer", regularizers),
                    ("activity_regularizer", regularizers), ("kernel_constraint", constraints),
                    ("bias_constraint", constraints))

    def _setup(self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias, **weight_args):
        cls, rank = type(self).__name__, self.rank
        self.kernel_size = _int_tuple(cls, "kernel_size", kernel_size, rank)
        self.strides = _int_tuple(cls, "strides", strides, rank)
        self.dilation_rate = _int_tuple(cls, "dilation_rate", dilation_rate, rank)
        self.padding = _padding(cls, padding, self._paddings)
        self.data_format = _data_format(cls, data_format)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{cls}: `strides` > 1 is not supported together with `dilation_rate` > 1. "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        modules = dict(self._weight_args)
        for name, value in weight_args.items():
            setattr(self, name, _checked(modules[name], value))
        self.input_spec = InputSpec(ndim=rank + 2)
        self._channel_axis = -1 if self.data_format == "channels_last" else 1

    def _input_channels(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected inputs of rank {self.rank + 2}. "
                             f"Received: input_shape={tuple(input_shape)}")
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the channel dimension of the inputs must be "
                             f"known. Received: input_shape={tuple(input_shape)}")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        return channels

    def _add_bias(self, size):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(size,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def _bias_value(self):
        return None if self.bias is None else self.bias._value

    def get_config(self):
        cfg = {**super().get_config(), **self._own_config()}
        cfg.update({"activation": activations.serialize(self.activation), "use_bias": self.use_bias})
        for name, module in self._weight_args:
            cfg[name] = _serialize(module, getattr(self, name))
        return cfg


class _BaseConv(_Conv):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        if lora_rank is not None:
            raise ValueError(f"{cls}: LoRA is not supported yet. Received: lora_rank={lora_rank!r}")
        self.filters = _positive(cls, "filters", filters)
        self.groups = _positive(cls, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(f"{cls}: `filters` must be divisible by `groups`. "
                             f"Received: filters={self.filters}, groups={self.groups}")
        self._setup(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                    kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                    kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                    kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        if self.padding == "causal":
            left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            self._causal_pad = [(0, 0), (left, 0), (0, 0)]
            if self.data_format == "channels_first":
                self._causal_pad = [(0, 0), (0, 0), (left, 0)]

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} '{self.name}': the number of input channels must be "
                             f"divisible by `groups`. Received: groups={self.groups}, "
                             f"input_shape={tuple(input_shape)}")
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._add_bias(self.filters)
        self.built = True

    def convolution_op(self, inputs, kernel):
        """The convolution without bias or activation (Keras 3's hook: override it for a custom convolution, as
        the guides' weight-standardized Conv2D does); `call` adds the bias and applies the activation."""
        padding = "valid" if self.padding == "causal" else self.padding  # `call` has padded a causal input
        return ops.conv(inputs, kernel, list(self.strides), padding, self.data_format, self.dilation_rate)

    def call(self, inputs):
        padding = self.padding
        if padding == "causal":
            inputs, padding = ops.pad(inputs, self._causal_pad), "valid"
        if type(self).convolution_op is not _BaseConv.convolution_op:
            outputs = self.convolution_op(inputs, self.kernel)
            if self.use_bias:
                shape = ((1,) * (len(self.kernel_size) + 1) + (self.filters,) if self.data_format == "channels_last"
                         else (1, self.filters) + (1,) * len(self.kernel_size))
                outputs = ops.add(outputs, ops.reshape(self.bias, shape))
            return self.activation(outputs)
        outputs = ops.conv(inputs, self.kernel._value, self.strides, padding, self.data_format,  # bias fused in
                           self.dilation_rate, self._bias_value())
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return conv_output_shape(input_shape, self.filters, self.kernel_size, self.strides, self.padding,
                                 self.data_format, self.dilation_rate, what=f"{type(self).__name__} '{self.name}'")

    def _own_config(self):
        return {"filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "groups": self.groups}


class Conv1D(_BaseConv):
    """1-D convolution over (batch, steps, channels); ``padding`` may also be "causal" (left padding only)."""

    rank = 1
    _paddings = ("valid", "same", "causal")


class Conv2D(_BaseConv):
    """2-D convolution over (batch, height, width, channels)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, **kwargs)


class Conv3D(_BaseConv):
    """3-D convolution over (batch, depth, height, width, channels)."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1, 1), groups=1, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, **kwargs)


class _BaseConvTranspose(_Conv):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        self.filters = _positive(cls, "filters", filters)
        self._setup(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                    kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                    kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                    kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = _int_tuple(cls, "output_padding", output_padding, self.rank, allow_zero=True)
            for i, (op, s) in enumerate(zip(self.output_padding, self.strides)):
                if op >= s:
                    raise ValueError(f"{cls}: each `output_padding` must be smaller than the stride on its axis "
                                     f"(axis {i}: {op} >= {s}). Received: output_padding={self.output_padding}, "
                                     f"strides={self.strides}")

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        outputs = ops.conv_transpose(inputs, self.kernel._value, self.strides, self.padding, self.output_padding,
                                     self.data_format, self.dilation_rate, self._bias_value())
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return conv_transpose_output_shape(input_shape, self.filters, self.kernel_size, self.strides, self.padding,
                                           self.output_padding, self.data_format, self.dilation_rate)

    def _own_config(self):
        return {"filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "output_padding": self.output_padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate}


class Conv1DTranspose(_BaseConvTranspose):
    """Transposed 1-D convolution (kernel (k, filters, in))."""

    rank = 1


class Conv2DTranspose(_BaseConvTranspose):
    """Transposed 2-D convolution (kernel (kh, kw, filters, in))."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         **kwargs)


class Conv3DTranspose(_BaseConvTranspose):
    """Transposed 3-D convolution (kernel (kd, kh, kw, filters, in)). Note Keras's argument order here:
    ``data_format`` comes before ``output_padding``."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 output_padding=None, dilation_rate=(1, 1, 1), **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         **kwargs)


class _BaseDepthwiseConv(_Conv):
    _weight_args = (("depthwise_initializer", initializers), ("bias_initializer", initializers),
                    ("depthwise_regularizer", regularizers), ("bias_regularizer", regularizers),
                    ("activity_regularizer", regularizers), ("depthwise_constraint", constraints),
                    ("bias_constraint", constraints))

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.depth_multiplier = _positive(type(self).__name__, "depth_multiplier", depth_multiplier)
        self._setup(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                    depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer,
                    depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                    depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        # Keras 3 names this weight "kernel" (Keras 2 called it "depthwise_kernel"; see the property below).
        self.kernel = self.add_weight(shape=self.kernel_size + (channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer,
                                      regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint, name="kernel")
        self._add_bias(channels * self.depth_multiplier)
        self.built = True

    @property
    def depthwise_kernel(self):
        return self.kernel

    def call(self, inputs):
        outputs = ops.depthwise_conv(inputs, self.kernel._value, self.strides, self.padding, self.data_format,
                                     self.dilation_rate, self._bias_value())
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        channels = input_shape[self._channel_axis]
        filters = None if channels is None else channels * self.depth_multiplier
        return conv_output_shape(input_shape, filters, self.kernel_size, self.strides, self.padding,
                                 self.data_format, self.dilation_rate, what=f"{type(self).__name__} '{self.name}'")

    def _own_config(self):
        return {"depth_multiplier": self.depth_multiplier, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate}


class DepthwiseConv1D(_BaseDepthwiseConv):
    """Depthwise 1-D convolution: each input channel gets ``depth_multiplier`` filters of its own."""

    rank = 1


class DepthwiseConv2D(_BaseDepthwiseConv):
    """Depthwise 2-D convolution: each input channel gets ``depth_multiplier`` filters of its own."""

    rank = 2

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), **kwargs):
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, **kwargs)


class _BaseSeparableConv(_Conv):
    _weight_args = (("depthwise_initializer", initializers), ("pointwise_initializer", initializers),
                    ("bias_initializer", initializers), ("depthwise_regularizer", regularizers),
                    ("pointwise_regularizer", regularizers), ("bias_regularizer", regularizers),
                    ("activity_regularizer", regularizers), ("depthwise_constraint", constraints),
                    ("pointwise_constraint", constraints), ("bias_constraint", constraints))

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        self.filters = _positive(cls, "filters", filters)
        self.depth_multiplier = _positive(cls, "depth_multiplier", depth_multiplier)
        self._setup(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                    depthwise_initializer=depthwise_initializer, pointwise_initializer=pointwise_initializer,
                    bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                    pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
                    depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                    bias_constraint=bias_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier), initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        outputs = ops.separable_conv(inputs, self.depthwise_kernel._value, self.pointwise_kernel._value,
                                     self.strides, self.padding, self.data_format, self.dilation_rate,
                                     self._bias_value())
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return conv_output_shape(input_shape, self.filters, self.kernel_size, self.strides, self.padding,
                                 self.data_format, self.dilation_rate, what=f"{type(self).__name__} '{self.name}'")

    def _own_config(self):
        return {"depth_multiplier": self.depth_multiplier, "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}


class SeparableConv1D(_BaseSeparableConv):
    """A depthwise 1-D convolution followed by a pointwise (1x1) convolution to ``filters`` channels."""

    rank = 1


class SeparableConv2D(_BaseSeparableConv):
    """A depthwise 2-D convolution followed by a pointwise (1x1) convolution to ``filters`` channels."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                         **kwargs)


Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (Conv1DTranspose, Conv2DTranspose,
                                                                          Conv3DTranspose)
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

__all__ = [
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "DepthwiseConv1D",
    "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "Convolution1D", "Convolution2D", "Convolution3D",
    "Convolution1DTranspose", "Convolution2DTranspose", "Convolution3DTranspose", "SeparableConvolution1D",
    "SeparableConvolution2D",
]
