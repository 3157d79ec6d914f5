"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Identity, Lambda."""

import inspect
import math

import numpy as np

from kshim import activations, config, constraints, initializers, ops, regularizers
from kshim import random as krandom
from kshim.layers import float8_training
from kshim.layers.input_spec import InputSpec
from kshim.layers.kernel_adaptation import AdaptableWeight, check_quantization_config
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.ops import nn as nn_ops
from kshim.quantizers import abs_max_quantize
from kshim.serialization import (deserialize_function, deserialize_keras_object, serialize_function,
                                 serialize_keras_object)


def _positive_int(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        try:
            if isinstance(value, float) and value.is_integer() and value > 0:
                return int(value)
        except AttributeError:
            pass
        raise ValueError(f"{cls}: `{name}` must be a positive integer. Received: {name}={value!r}")
    return value


class Dense(AdaptableWeight, Layer):
    """``activation(inputs @ kernel + bias)``. Kernel shape (input_dim, units), bias shape (units,).

    ``lora_rank``/`enable_lora` and `quantize("int8")`/`quantize("int4")`: see `kshim.layers.kernel_adaptation`."""

    _int4_supported = True
    _float8_supported = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        check_quantization_config("Dense", quantization_config)
        self._init_lora(lora_rank, lora_alpha)
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
        if len(input_shape) < 1:
            raise ValueError(f"Dense '{self.name}': the input must have at least one axis (Dense maps its last "
                             f"axis). Received: input_shape={tuple(input_shape)}")
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must be known. "
                             f"Received: input_shape={tuple(input_shape)}")
        if self.quantization_mode == "int8":
            self._int8_build((input_dim, self.units))
        elif self.quantization_mode == "int4":
            self._int4_build((input_dim, self.units), getattr(self._effective_policy(), "block_size", None))
        else:
            if self.quantization_mode == "float8":  # its variables come first, as Keras 3 creates them
                float8_training.build(self)
            self._kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                           regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                           name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    @property
    def kernel(self):
        """The kernel Variable; with LoRA enabled, the merged kernel (a tensor), as Keras 3's property."""
        return self._merged_weight()

    def call(self, inputs, training=None):
        if self._adapted:
            return self._adapted_call(inputs, training)
        # One primitive for matmul + bias (torch: a fused addmm, as nn.Linear).
        x = nn_ops.dense(inputs, self._kernel._value, None if self.bias is None else self.bias._value)
        return self.activation(x)

    def _adapted_call(self, inputs, training):
        if self.quantization_mode == "float8":
            return float8_training.call(self, inputs, training, ops.matmul)
        if self.quantization_mode == "int8":
            # Keras 3's int8 matmul: inputs quantized per row (absmax), an exact integer product, then de-scaled.
            q, inputs_scale = abs_max_quantize(inputs, axis=-1)
            x = ops.matmul(ops.cast(q, "int32"), ops.cast(self._kernel._value, "int32"))
            x = ops.stop_gradient(ops.divide(ops.cast(x, self.compute_dtype),
                                             ops.multiply(self.kernel_scale._value, inputs_scale)))
            if training:  # the gradient to the inputs through the dequantized kernel (value unchanged), as Keras 3
                exact = ops.matmul(inputs, self._dequantized())
                x = ops.add(x, ops.subtract(exact, ops.stop_gradient(exact)))
            if self.lora_enabled:
                lora = ops.matmul(ops.matmul(inputs, self.lora_kernel_a._value), self.lora_kernel_b._value)
                x = ops.cast(ops.add(x, ops.multiply(self.lora_alpha / self.lora_rank, lora)), self.compute_dtype)
        elif self.quantization_mode == "int4":  # Keras 3: a float matmul with the dequantized kernel
            x = ops.matmul(inputs, self._int4_kernel())
        else:
            x = ops.matmul(inputs, self._merged_weight())
        if self.bias is not None:
            x = ops.add(x, self.bias._value)
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        ser = (lambda mod, v: None if v is None else (v if isinstance(v, str) else mod.serialize(mod.get(v))))
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": ser(initializers, self.kernel_initializer),
                "bias_initializer": ser(initializers, self.bias_initializer),
                "kernel_regularizer": ser(regularizers, self.kernel_regularizer),
                "bias_regularizer": ser(regularizers, self.bias_regularizer),
                "activity_regularizer": ser(regularizers, self.activity_regularizer),
                "kernel_constraint": ser(constraints, self.kernel_constraint),
                "bias_constraint": ser(constraints, self.bias_constraint),
                "quantization_config": self._quantization_config(),
                **({"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha} if self.lora_rank else {})}


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
                                 f"to target_shape={self.target_shape}: {math.prod(rest)} values per sample, "
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


class Lambda(Layer):
    """Wraps a function of the inputs as a layer: ``Lambda(lambda x: x ** 2)``.

    - ``output_shape``: the output shape without the batch axis (the batch axis is the input's), a list of them
      for several outputs, or a function of the whole input shape. When it is None, kshim runs the function
      twice on zeros of the input's shape and dtype, with every unknown axis (the batch axis, a variable time
      axis) set to 2 and then to 3, and reads the output: an axis whose size changes between the two runs is
      unknown (None), the others keep their size. Keras traces the function symbolically instead; the results
      agree for functions that do not look at the values.
    - ``mask``: None (the output has no mask), a function ``mask(inputs, previous_mask)``, or a fixed mask.
    - ``arguments``: keyword arguments passed to the function. A function that takes ``mask`` or ``training``
      receives them.

    Saving follows Keras 3: a Python lambda is stored as marshalled bytecode, which loads only with
    ``safe_mode=False`` and only in the Python version that wrote it; it then runs with the globals ``keras``
    (kshim), ``ops``, ``K`` and ``np``. A named function is stored by name and is found at load time among the
    registered functions and ``custom_objects``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: `function` must be callable. Received: function={function!r}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda: `arguments` must be a dict of keyword arguments for the function. "
                            f"Received: arguments={arguments!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape if output_shape is None or callable(output_shape) else \
            _lambda_output_shape(output_shape)
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_takes_mask = "mask" in params
        self._fn_takes_training = "training" in params

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    def compute_output_shape(self, input_shape):
        if callable(self._output_shape):
            out = self._output_shape(input_shape)
            return [tuple(s) for s in out] if out and isinstance(out[0], (list, tuple)) else tuple(out)
        if self._output_shape is not None:
            flat = input_shape
            while isinstance(flat, (list, tuple)) and flat and isinstance(flat[0], (list, tuple)):
                flat = flat[0]
            batch = flat[0] if flat else None
            if isinstance(self._output_shape, list):
                return [(batch,) + s for s in self._output_shape]
            return (batch,) + self._output_shape
        return self._probe(input_shape, None)[0]

    def compute_output_spec(self, inputs_spec):
        if self._output_shape is not None:
            return super().compute_output_spec(inputs_spec)
        if isinstance(inputs_spec, KerasTensor):
            shapes, dtypes = inputs_spec.shape, inputs_spec.dtype
        elif isinstance(inputs_spec, dict):
            shapes = {k: t.shape for k, t in inputs_spec.items()}
            dtypes = {k: t.dtype for k, t in inputs_spec.items()}
        else:
            shapes, dtypes = [t.shape for t in inputs_spec], [t.dtype for t in inputs_spec]
        shapes, dtypes = self._probe(shapes, dtypes)
        if isinstance(shapes, list):
            return [KerasTensor(s, d) for s, d in zip(shapes, dtypes)]
        return KerasTensor(shapes, dtypes)

    def _probe(self, input_shape, dtypes):
        """(output shape(s), output dtype(s)) read from two runs of the function on zeros (see the class doc)."""
        def zeros(shape, dtype, fill):
            return ops.zeros(tuple(fill if d is None else d for d in shape), dtype=dtype or self.compute_dtype)

        def make(fill):
            if isinstance(input_shape, dict):
                return {k: zeros(s, (dtypes or {}).get(k), fill) for k, s in input_shape.items()}
            if input_shape and isinstance(input_shape[0], (list, tuple)):
                return [zeros(s, dtypes[i] if dtypes else None, fill) for i, s in enumerate(input_shape)]
            return zeros(input_shape, dtypes, fill)

        runs = []
        for fill in (2, 3):
            try:
                y = self.call(make(fill))
            except Exception as e:
                raise ValueError(
                    f"Lambda '{self.name}': cannot infer the output shape by running the function on zeros of the "
                    f"input shape {input_shape} ({type(e).__name__}: {e}). Pass `output_shape=` (the shape "
                    "without the batch axis) to the Lambda layer.") from e
            runs.append(list(y) if isinstance(y, (list, tuple)) else [y])
        shapes, out_dtypes = [], []
        for a, b in zip(*runs):
            sa, sb = tuple(ops.shape(a)), tuple(ops.shape(b))
            if len(sa) != len(sb):
                raise ValueError(f"Lambda '{self.name}': the output rank depends on the input size ({sa} vs "
                                 f"{sb}); pass `output_shape=` to the Lambda layer.")
            shapes.append(tuple(d if d == e else None for d, e in zip(sa, sb)))
            out_dtypes.append(str(ops.dtype(a)))
        if len(runs[0]) == 1 and not isinstance(y, (list, tuple)):
            return shapes[0], out_dtypes[0]
        return shapes, out_dtypes

    def get_config(self):
        cfg = {**super().get_config(), "function": serialize_function(self.function)}
        if self._output_shape is not None:
            shape = self._output_shape
            cfg["output_shape"] = (serialize_function(shape) if callable(shape) else
                                   [list(s) for s in shape] if isinstance(shape, list) else list(shape))
        if self.mask is not None:
            cfg["mask"] = (serialize_function(self.mask) if callable(self.mask)
                           else serialize_keras_object(np.asarray(ops.convert_to_numpy(self.mask))))
        cfg["arguments"] = serialize_keras_object(self.arguments)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild a Lambda from Keras 3's (or Keras 2's) config. Bytecode is refused in safe mode."""
        config = dict(config)
        where = f"Lambda layer '{config.get('name', 'lambda')}'"
        for key in ("function_type", "module", "output_shape_type", "output_shape_module"):  # Keras 2 extras
            config.pop(key, None)
        config["function"] = deserialize_function(config.get("function"), custom_objects, where)
        shape = config.get("output_shape")
        if isinstance(shape, dict) or (isinstance(shape, list) and len(shape) == 3 and isinstance(shape[0], str)):
            config["output_shape"] = deserialize_function(shape, custom_objects, where)
        mask = config.get("mask")
        if isinstance(mask, dict) and mask.get("class_name") in ("__lambda__", "function"):
            config["mask"] = deserialize_function(mask, custom_objects, where)
        elif mask is not None:
            config["mask"] = deserialize_keras_object(mask, custom_objects)
        if config.get("arguments") is not None:
            config["arguments"] = deserialize_keras_object(config["arguments"], custom_objects)
        return super().from_config(config)


def _lambda_output_shape(shape):
    """``output_shape`` as a tuple (one output) or a list of tuples (several), each without the batch axis."""
    def one(s):
        if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
            return (int(s),)
        if isinstance(s, (list, tuple)) and all(d is None or (isinstance(d, (int, np.integer))
                                                              and not isinstance(d, bool)) for d in s):
            return tuple(None if d is None else int(d) for d in s)
        raise ValueError("Lambda: `output_shape` must be a shape (a tuple of ints or None, without the batch "
                         f"axis), a list of shapes, or a function. Received: output_shape={shape!r}")

    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) for s in shape):
        return [one(s) for s in shape]
    return one(shape)


def _data_format(cls, value):
    value = config.image_data_format() if value is None else str(value).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{cls}: `data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={value!r}")
    return value
