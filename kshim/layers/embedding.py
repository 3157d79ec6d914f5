"""Embedding (integer indices to dense vectors) and Masking (skip timesteps equal to a value)."""

import math
import warnings

import numpy as np

from kshim import constraints, initializers, ops, regularizers
from kshim.layers.kernel_adaptation import _INT4_BLOCK_SIZE, AdaptableWeight
from kshim.quantizers.int4 import abs_max_quantize_grouped_with_zero_point, pack_int4, unpack_int4
from kshim.layers.layer import Layer


def _ser(module, value):
    return None if value is None else module.serialize(module.get(value))


def _positive_int(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{cls}: `{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


class Embedding(AdaptableWeight, Layer):
    """``embeddings[inputs]``: a lookup table of shape (input_dim, output_dim), named "embeddings".

    With ``mask_zero=True`` index 0 is padding: the layer's mask is ``inputs != 0`` (and ``input_dim`` should be
    the vocabulary size + 1). Keras 2's ``input_length`` still works (as the input's sequence length), with a
    DeprecationWarning.

    Indices must lie in ``[0, input_dim)``. Indices given on the host (a numpy array or a list, as in
    ``layer(np.array(...))``) are checked, and one out of range raises a ValueError. Tensors are not read back
    (inside a compiled step that would cost a host sync), so there an index out of range follows the backend:
    jax gives a row of NaN for an index >= input_dim and counts a negative one from the end (as numpy), torch
    raises an IndexError. Check the data, or map
    tokens with `IntegerLookup`/`StringLookup`, whose out-of-vocabulary index is always in range.

    ``lora_rank``/`enable_lora` and `quantize("int8")` (per-row scales): see `kshim.layers.kernel_adaptation`.
    `quantize("int4")` is Keras 3.15's default int4: each row's columns in groups of 128 with a scale and a zero
    point per (row, group), two values packed per int8 byte along the row (`embeddings` (input_dim,
    ceil(output_dim / 2)), `embeddings_scale` and `embeddings_zero` (input_dim, groups), `g_idx` (output_dim,))."""

    _weight_name = "embeddings"
    _quantize_axis = -1
    _store_order = {None: ("embeddings",), "int8": ("embeddings", "embeddings_scale"),
                    "int4": ("embeddings", "embeddings_scale", "embeddings_zero", "g_idx")}
    _int4_supported = True

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, (np.ndarray, list, tuple)):
            arr = np.asarray(inputs)
            if arr.size and arr.dtype.kind in "biuf" and (arr.min() < 0 or arr.max() >= self.input_dim):
                bad = arr.min() if arr.min() < 0 else arr.max()
                raise ValueError(f"Embedding '{self.name}': indices must be in [0, input_dim={self.input_dim}). "
                                 f"Received: an index {bad.item()!r} in inputs of shape {arr.shape}")
        return super().__call__(inputs, *args, **kwargs)

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 **kwargs):
        self.input_dim = _positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = _positive_int("Embedding", "output_dim", output_dim)
        if kwargs.get("input_length") is not None:
            warnings.warn("Embedding: `input_length` is a Keras 2 argument; Keras 3 deprecates it. kshim uses it as "
                          "the input's sequence length; prefer `kshim.Input(shape=(input_length,))`.",
                          DeprecationWarning, stacklevel=2)
        self._init_lora(lora_rank, lora_alpha)
        kwargs.pop("quantization_config", None)
        super().__init__(**kwargs)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.autocast = False
        self._embeddings = None
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape=None):
        if self.built:
            return
        if self.quantization_mode == "int8":
            self._int8_build((self.input_dim, self.output_dim))
        elif self.quantization_mode == "int4":
            self._int4_build((self.input_dim, self.output_dim), getattr(self._effective_policy(), "block_size", None))
        else:
            self._embeddings = self.add_weight(shape=(self.input_dim, self.output_dim), name="embeddings",
                                               initializer=self.embeddings_initializer,
                                               regularizer=self.embeddings_regularizer,
                                               constraint=self.embeddings_constraint, trainable=True)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    @property
    def embeddings(self):
        """The embeddings Variable; with LoRA enabled, the merged table (a tensor), as Keras 3's property."""
        return self._merged_weight()

    def call(self, inputs):
        if ops.dtype(inputs) not in ("int32", "int64"):
            inputs = ops.cast(inputs, "int32")
        if self._adapted:
            return self._adapted_call(inputs)
        out = ops.take(self._embeddings._value, inputs, axis=0)
        return out if ops.dtype(out) == self._compute_dtype else ops.cast(out, self._compute_dtype)

    # -- int4: groups of columns within each row (Dense groups rows; see `kshim.layers.kernel_adaptation`) --------
    def _int4_build(self, shape, block_size):
        if block_size is None or block_size < 1:
            raise NotImplementedError("Embedding: kshim quantizes to int4 in groups of columns only (Keras 3's "
                                      f"default); per-channel int4 is not implemented. Received: block_size={block_size!r}")
        rows, cols = shape
        groups = math.ceil(cols / block_size)
        table = self.add_weight(name="embeddings", shape=(rows, (cols + 1) // 2), initializer="zeros", dtype="int8",
                                trainable=False)
        scale = self.add_weight(name="embeddings_scale", shape=(rows, groups), initializer="ones", trainable=False)
        zero = self.add_weight(name="embeddings_zero", shape=(rows, groups), initializer="zeros", dtype="int8",
                               trainable=False)
        g_idx = self.add_weight(name="g_idx", shape=(cols,), initializer="zeros", dtype="float32", trainable=False)
        g_idx.assign(np.floor_divide(np.arange(cols), block_size).astype("float32"))
        for name, value in (("_embeddings", table), ("embeddings_scale", scale), ("embeddings_zero", zero),
                            ("g_idx", g_idx)):
            object.__setattr__(self, name, value)
        self._adapted = True

    def _quantize_int4(self, old):
        """Keras 3's grouped quantization of the transposed table (groups of columns), transposed back, packed."""
        block = _INT4_BLOCK_SIZE
        q, scale, zero = abs_max_quantize_grouped_with_zero_point(np.transpose(old.numpy()), block)
        packed, _, _ = pack_int4(np.transpose(ops.convert_to_numpy(q)), axis=-1)
        self._int4_build(tuple(old.shape), block)
        self._embeddings.assign(packed)
        self.embeddings_scale.assign(np.transpose(ops.convert_to_numpy(scale)))
        self.embeddings_zero.assign(np.transpose(ops.convert_to_numpy(zero)))

    def _int4_call(self, inputs):
        """The looked-up rows unpacked, then ``(q - zero) * scale`` with each column's group, as Keras 3."""
        q = ops.take(unpack_int4(self._embeddings._value, self.output_dim, axis=-1), inputs, axis=0)
        groups = ops.cast(self.g_idx._value, "int32")
        scale = ops.take(ops.take(self.embeddings_scale._value, inputs, axis=0), groups, axis=-1)
        zero = ops.take(ops.take(self.embeddings_zero._value, inputs, axis=0), groups, axis=-1)
        q = ops.cast(q, self.compute_dtype)
        return ops.multiply(ops.subtract(q, ops.cast(zero, ops.dtype(scale))), scale)

    def _adapted_call(self, inputs):
        if self.quantization_mode == "int4":
            return self._int4_call(inputs)
        if self.quantization_mode != "int8":
            return ops.cast(ops.take(self._merged_weight(), inputs, axis=0), self.compute_dtype)
        scale = ops.take(self.embeddings_scale._value, inputs, axis=0)
        out = ops.divide(ops.cast(ops.take(self._embeddings._value, inputs, axis=0), self.compute_dtype),
                         ops.expand_dims(scale, -1))
        if self.lora_enabled:
            lora = ops.matmul(ops.take(self.lora_embeddings_a._value, inputs, axis=0), self.lora_embeddings_b._value)
            out = ops.cast(ops.add(out, ops.multiply(self.lora_alpha / self.lora_rank, lora)), self.compute_dtype)
        return out

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": _ser(initializers, self.embeddings_initializer),
                "embeddings_regularizer": _ser(regularizers, self.embeddings_regularizer),
                "activity_regularizer": _ser(regularizers, self.activity_regularizer),
                "embeddings_constraint": _ser(constraints, self.embeddings_constraint),
                "mask_zero": self.mask_zero,
                **({"quantization_config": self._quantization_config()} if self.quantization_mode else {}),
                **({"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha} if self.lora_rank else {})}


class Masking(Layer):
    """Masks every timestep (axis 1) whose features all equal ``mask_value``: those timesteps become 0 in the
    output, and the layer's mask (``any(inputs != mask_value, axis=-1)``) tells downstream layers to skip them."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, dict):
            mask_value = mask_value.get("config", {}).get("value", mask_value)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.number)):
            raise ValueError(f"Masking: `mask_value` must be a number. Received: mask_value={mask_value!r}")
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = ops.any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return ops.where(keep, inputs, ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
