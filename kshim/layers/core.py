"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Identity."""

import math

import numpy as np

from kshim import activations, config, ops
from kshim import random as krandom
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer


def _positive_int(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        try:
            if isinstance(value, float) and value.is_integer() and value > 0:
                return int(value)
        except AttributeError:
            pass
        raise ValueError(f"{cls}: `{name}` must be a positive integer. Received: {name}={value!r}")
    return value


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``. Kernel shape (input_dim, units), bias shape (units,)."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if quantization_config is not None:
            raise ValueError(f"Dense: quantization is not supported. Received: quantization_config="
                             f"{quantization_config!r}")
        if lora_rank is not None:
            raise ValueError(f"Dense: LoRA is not supported yet. Received: lora_rank={lora_rank!r}")
        self.units = _positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must be known. "
                             f"Received: input_shape={tuple(input_shape)}")
        self.kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs):
        x = ops.matmul(inputs, self.kernel._value)
        if self.bias is not None:
            x = ops.add(x, self.bias._value)
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        from kshim import constraints, initializers, regularizers

        ser = (lambda mod, v: None if v is None else (v if isinstance(v, str) else mod.serialize(mod.get(v))))
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": ser(initializers, self.kernel_initializer),
                "bias_initializer": ser(initializers, self.bias_initializer),
                "kernel_regularizer": ser(regularizers, self.kernel_regularizer),
                "bias_regularizer": ser(regularizers, self.bias_regularizer),
                "activity_regularizer": ser(regularizers, self.activity_regularizer),
                "kernel_constraint": ser(constraints, self.kernel_constraint),
                "bias_constraint": ser(constraints, self.bias_constraint)}


class Activation(Layer):
    """Applies an activation function."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs in training and scales the rest by 1/(1-rate); identity otherwise.

    The mask comes from kshim's counter-based generator, so the same seed gives the same mask on both backends."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError("Dropout: `rate` must be a float between 0 and 1. "
                             f"Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None
        self.seed = seed
        if self.rate > 0:
            self.seed_generator = krandom.SeedGenerator(seed, name="seed_generator")
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return ops.zeros_like(inputs)
        noise_shape = None
        if self.noise_shape is not None:
            shape = ops.shape(inputs)
            noise_shape = tuple(shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        return krandom.dropout(inputs, self.rate, noise_shape=noise_shape, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": list(self.noise_shape) if self.noise_shape else None, "seed": self.seed}


class Flatten(Layer):
    """Flattens every axis but the batch axis (channels_first inputs are moved to channels_last order first)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format("Flatten", data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        shape = ops.shape(inputs)
        if self.data_format == "channels_first" and len(shape) > 2:
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, len(shape))) + (1,))
        return ops.reshape(inputs, (shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        flat = None if any(d is None for d in rest) else int(math.prod(rest))
        return (input_shape[0], flat)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(target_shape, (tuple, list)) or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in target_shape):
            raise ValueError(f"Reshape: `target_shape` must be a tuple of integers. "
                             f"Received: target_shape={target_shape!r}")
        target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in target_shape) > 1 or any(d < -1 or d == 0 for d in target_shape):
            raise ValueError("Reshape: `target_shape` must hold positive integers and at most one -1. "
                             f"Received: target_shape={target_shape!r}")
        self.target_shape = target_shape

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if -1 not in self.target_shape:
            if None not in rest and math.prod(rest) != math.prod(self.target_shape):
                raise ValueError(f"Reshape '{self.name}': cannot reshape input of shape {tuple(input_shape)} "
                                 f"to target_shape {self.target_shape}: {math.prod(rest)} values per sample, "
                                 f"{math.prod(self.target_shape)} expected.")
            return (input_shape[0],) + self.target_shape
        if None in rest:
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        known = -math.prod(self.target_shape)
        total = math.prod(rest)
        if total % known:
            raise ValueError(f"Reshape '{self.name}': cannot reshape input of shape {tuple(input_shape)} "
                             f"to target_shape {self.target_shape}.")
        return (input_shape[0],) + tuple(total // known if d == -1 else d for d in self.target_shape)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs):
        return ops.reshape(inputs, (ops.shape(inputs)[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Identity(Layer):
    """Returns its input unchanged."""

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


def _data_format(cls, value):
    value = config.image_data_format() if value is None else str(value).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{cls}: `data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={value!r}")
    return value
