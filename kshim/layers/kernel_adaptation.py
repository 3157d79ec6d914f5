"""LoRA and int8 quantization of a layer's main weight (Dense's and EinsumDense's ``kernel``, Embedding's
``embeddings``), with Keras 3's names, shapes, numbers and saved layout.

LoRA (`enable_lora(rank)`, or ``lora_rank=`` at construction) freezes the weight ``W`` and adds two float32
trainable matrices ``A`` (``W.shape[:-1] + (rank,)``) and ``B`` (``(rank, W.shape[-1])``): the layer uses
``W + (lora_alpha / rank) * A @ B``. ``B`` starts at zero, so enabling LoRA does not change the outputs. Saving
writes the merged weight where the plain layer writes ``W`` (Keras 3's layout: the LoRA matrices are not saved),
and loading into a LoRA-enabled layer zeroes ``A`` and ``B``.

int8 quantization (`quantize("int8")`, or a ``"int8_from_<policy>"`` dtype policy) replaces ``W`` with an int8
weight of the same name plus a float ``<name>_scale`` per output channel (Dense: per column; Embedding: per row;
EinsumDense: over the contracted axes, laid out against the output), from `kshim.quantizers.abs_max_quantize`:
``W ~= W_int8 / scale``.

float8 training (Dense and EinsumDense, `quantize("float8")`): see `kshim.layers.float8_training`.
"""

import math

import numpy as np

from kshim import dtype_policies, initializers, ops
from kshim.layers import float8_training
from kshim.quantizers import abs_max_quantize
from kshim.quantizers.int4 import abs_max_quantize_grouped_with_zero_point, dequantize_grouped, pack_int4, unpack_int4

_INT4_BLOCK_SIZE = 128  # Keras 3.15's default for quantize("int4")


def _default_int8_config():
    """The quantization config Keras 3 writes for a layer quantized with ``quantize("int8")``."""
    activation = {"module": "keras.quantizers", "class_name": "AbsMaxQuantizer",
                  "config": {"value_range": [-127, 127], "epsilon": 1e-07, "output_dtype": "int8"},
                  "registered_name": None}
    return {"module": "keras.quantizers", "class_name": "Int8QuantizationConfig",
            "config": {"weight_quantizer": None, "activation_quantizer": activation}, "registered_name": None}


def _strip_ids(value):
    if isinstance(value, dict):
        return {k: _strip_ids(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, (list, tuple)):
        return [_strip_ids(v) for v in value]
    return value


def _int4_config(block_size):
    """The quantization config Keras 3 writes for a layer quantized with ``quantize("int4")``."""
    return {"module": "keras.quantizers", "class_name": "Int4QuantizationConfig",
            "config": {"weight_quantizer": None, "activation_quantizer": None, "block_size": block_size},
            "registered_name": None}


_FLOAT8_CONFIG = {"module": "keras.quantizers", "class_name": "Float8QuantizationConfig", "config": {},
                  "registered_name": None}


def check_quantization_config(cls, config):
    """A layer's ``quantization_config`` argument: None, or Keras 3's default int8, int4 or float8 config (what a
    quantized Keras 3 layer writes; the int4 block size comes from the dtype policy); anything else is refused."""
    if config is None or _strip_ids(config) in (_default_int8_config(), _FLOAT8_CONFIG):
        return None
    block = ((config.get("config") or {}).get("block_size") if isinstance(config, dict) else None)
    if isinstance(block, int) and block > 0 and _strip_ids(config) == _int4_config(block):
        return None
    raise ValueError(f"{cls}: only the default int8 quantization config is supported. "
                     f"Received: quantization_config={config!r}")


class AdaptableWeight:
    """Mixin for a layer whose main weight can take LoRA and int8 quantization. The layer defines ``_weight_name``
    ("kernel" or "embeddings"), keeps that variable as ``self._<name>`` and lists its saved variables (in Keras's
    order) in ``_store_order``; ``_quantize_axis`` is the axis reduced by the int8 absmax (the scale has the
    weight's shape without it)."""

    lora_enabled = False
    lora_rank = None
    lora_alpha = None
    _adapted = False  # LoRA or quantized: the layer's call takes the adapted path
    _weight_name = "kernel"
    _quantize_axis = 0
    _store_order = {None: ("kernel", "bias"), "int8": ("kernel", "bias", "kernel_scale"),
                    "int4": ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx"),
                    "float8": ("kernel", "bias") + float8_training.VARIABLE_NAMES}
    _int4_supported = False  # Dense: a 2D kernel quantized in groups of rows, packed along its last axis
    _float8_supported = False  # Dense and EinsumDense

    def _init_lora(self, lora_rank, lora_alpha):
        if lora_rank is not None and (isinstance(lora_rank, bool) or not isinstance(lora_rank, int)
                                      or lora_rank < 1):
            raise ValueError(f"{type(self).__name__}: `lora_rank` must be a positive integer. "
                             f"Received: lora_rank={lora_rank!r}")
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank

    # -- the weight ----------------------------------------------------------------------------------------------
    def _base(self):
        return getattr(self, "_" + self._weight_name)

    def _lora_delta(self):
        a = getattr(self, f"lora_{self._weight_name}_a")._value
        b = getattr(self, f"lora_{self._weight_name}_b")._value
        return ops.multiply(self.lora_alpha / self.lora_rank, ops.matmul(a, b))

    def _merged_weight(self):
        """Keras's ``kernel``/``embeddings`` property: the weight with LoRA merged, in the compute dtype (the
        Variable itself when LoRA is off)."""
        if not self.lora_enabled or self.quantization_mode is not None:
            return self._base()
        return ops.cast(ops.add(self._base()._value, self._lora_delta()), self.compute_dtype)

    # -- LoRA ------------------------------------------------------------------------------------------------------
    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros"):
        """Freeze the weight and train a rank-``rank`` update ``A @ B`` instead (see the module docstring)."""
        cls = type(self).__name__
        if getattr(self, f"{self._weight_name}_constraint", None):
            raise ValueError(f"{cls}: LoRA is incompatible with a `{self._weight_name}_constraint`; remove it to "
                             "enable LoRA.")
        if not self.built:
            raise ValueError(f"{cls} '{self.name}': cannot enable LoRA on a layer that isn't built yet.")
        if self.lora_enabled:
            raise ValueError(f"{cls} '{self.name}': LoRA is already enabled; it can only be enabled once per layer.")
        if self.quantization_mode == "int4":
            raise NotImplementedError(f"{cls} '{self.name}': kshim does not enable LoRA on an int4 layer yet.")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ValueError(f"{cls}: `rank` must be a positive integer. Received: rank={rank!r}")
        shape = tuple(self._base().shape)
        name = self._weight_name
        regularizer = getattr(self, f"{name}_regularizer", None)
        a = self.add_weight(name=f"lora_{name}_a", shape=shape[:-1] + (rank,),
                            initializer=initializers.get(a_initializer), dtype="float32", regularizer=regularizer)
        b = self.add_weight(name=f"lora_{name}_b", shape=(rank, shape[-1]),
                            initializer=initializers.get(b_initializer), dtype="float32", regularizer=regularizer)
        object.__setattr__(self, f"lora_{name}_a", a)
        object.__setattr__(self, f"lora_{name}_b", b)
        self._base().trainable = False
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank
        self._adapted = True

    # -- int8 quantization -------------------------------------------------------------------------------------------
    def _int8_build(self, shape):
        """The int8 weight and its scale (zeros and ones; `quantize` or a loaded file fills them)."""
        name = self._weight_name
        weight = self.add_weight(name=name, shape=shape, initializer="zeros", dtype="int8", trainable=False)
        scale = self.add_weight(name=f"{name}_scale", shape=self._int8_scale_shape(shape), initializer="ones",
                                trainable=False)
        object.__setattr__(self, "_" + name, weight)
        object.__setattr__(self, f"{name}_scale", scale)
        self._adapted = True

    # The scale's layout. Here: one scale per output channel (the weight's shape without ``_quantize_axis``);
    # EinsumDense lays its scale out against the output instead.
    def _int8_scale_shape(self, shape):
        return tuple(d for i, d in enumerate(shape) if i != self._quantize_axis % len(shape))

    def _int8_quantize_weight(self, value):
        """``(int8 weight, stored scale)`` of a float weight."""
        q, scale = abs_max_quantize(value, axis=self._quantize_axis, to_numpy=True)
        return q, ops.squeeze(scale, axis=self._quantize_axis)

    def _int8_scale_for_weight(self, scale):
        """The stored scale, broadcasting against the weight."""
        return ops.expand_dims(scale, self._quantize_axis)

    # -- int4 (Dense): grouped with a zero point, packed two per byte (see `kshim.quantizers.int4`) ----------------
    def _int4_build(self, shape, block_size):
        """The packed int4 kernel, its scale and zero point per group of ``block_size`` rows and column, and each
        row's group (``g_idx``), as Keras 3.15 names and shapes them."""
        if block_size is None or block_size < 1:
            raise NotImplementedError(f"{type(self).__name__}: kshim quantizes to int4 in groups of rows only "
                                      f"(Keras 3's default); per-channel int4 is not implemented. Received: "
                                      f"block_size={block_size!r}")
        rows, cols = shape
        groups = math.ceil(rows / block_size)
        kernel = self.add_weight(name="kernel", shape=(rows, (cols + 1) // 2), initializer="zeros", dtype="int8",
                                 trainable=False)
        scale = self.add_weight(name="kernel_scale", shape=(groups, cols), initializer="ones", trainable=False)
        zero = self.add_weight(name="kernel_zero", shape=(groups, cols), initializer="zeros", dtype="int8",
                               trainable=False)
        g_idx = self.add_weight(name="g_idx", shape=(rows,), initializer="zeros", dtype="float32", trainable=False)
        g_idx.assign(np.floor_divide(np.arange(rows), block_size).astype("float32"))
        for name, value in (("_kernel", kernel), ("kernel_scale", scale), ("kernel_zero", zero), ("g_idx", g_idx)):
            object.__setattr__(self, name, value)
        self._int4_columns = cols
        self._adapted = True

    def _int4_kernel(self):
        """The int4 kernel as floats in the compute dtype: unpacked, then ``(q - zero) * scale`` per group."""
        q = unpack_int4(self._kernel._value, self._int4_columns, axis=-1)
        weight = dequantize_grouped(q, self.kernel_scale._value, self.kernel_zero._value, self.g_idx._value)
        return ops.cast(weight, self.compute_dtype)

    def _int4_matrix(self, value):
        """The (rows, columns) matrix that int4 quantizes (EinsumDense flattens its kernel)."""
        return value

    def _quantize_int4(self, old):
        value, scale, zero = abs_max_quantize_grouped_with_zero_point(self._int4_matrix(old.numpy()),
                                                                      _INT4_BLOCK_SIZE)
        packed, _, _ = pack_int4(value, axis=-1)
        self._int4_build(tuple(old.shape), _INT4_BLOCK_SIZE)
        self._kernel.assign(packed)
        self.kernel_scale.assign(scale)
        self.kernel_zero.assign(zero)

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the weight in place (``mode="int8"``; Dense also ``"int4"``; Dense and EinsumDense also
        ``"float8"``, which keeps the float kernel and adds float8 training's scales); the policy becomes
        ``"<mode>_from_<policy>"`` (``"int4/128_from_<policy>"`` for int4)."""
        cls = type(self).__name__
        modes = ["int8"] + ["int4"] * self._int4_supported + ["float8"] * self._float8_supported
        if mode not in modes:
            raise NotImplementedError(f"{cls}: kshim quantizes this layer to {' or '.join(modes)} only. "
                                      f"Received: mode={mode!r}")
        if config is not None:
            raise NotImplementedError(f"{cls}: a quantization `config` is not supported. Received: config={config!r}")
        if not self.built:
            raise ValueError(f"{cls} '{self.name}': cannot quantize a layer that isn't built yet.")
        if self.quantization_mode is not None:
            raise ValueError(f"{cls} '{self.name}': the layer is already quantized "
                             f"(mode={self.quantization_mode!r}).")
        if self.lora_enabled and mode == "int4":
            raise NotImplementedError(f"{cls} '{self.name}': kshim does not quantize a LoRA-enabled layer to int4 "
                                      "yet.")
        if mode == "float8":
            float8_training.build(self)
            self.dtype_policy = dtype_policies.get(f"float8_from_{self._effective_policy().name}")
            return
        old = self._base()
        self._own_trainable = [v for v in self._own_trainable if v is not old]
        self._own_non_trainable = [v for v in self._own_non_trainable if v is not old]
        source = self._effective_policy().name
        if mode == "int4":
            self._quantize_int4(old)
            self.dtype_policy = dtype_policies.get(f"int4/{_INT4_BLOCK_SIZE}_from_{source}")
            return
        value, scale = self._int8_quantize_weight(old.numpy())
        self._int8_build(tuple(old.shape))
        self._base().assign(value)
        getattr(self, f"{self._weight_name}_scale").assign(scale)
        self.dtype_policy = dtype_policies.get(f"int8_from_{source}")

    def _quantization_config(self):
        """What ``get_config`` writes as ``quantization_config`` (Keras 3's default config of the mode)."""
        mode = self.quantization_mode
        if mode == "int4":
            return _int4_config(self._effective_policy().block_size)
        if mode == "float8":
            return dict(_FLOAT8_CONFIG)
        return _default_int8_config() if mode == "int8" else None

    def _dequantized(self):
        weight = ops.cast(self._base()._value, self.compute_dtype)
        scale = getattr(self, f"{self._weight_name}_scale")._value
        return ops.divide(weight, self._int8_scale_for_weight(scale))

    # -- saving: Keras 3's layout ------------------------------------------------------------------------------------
    def _saved_weight(self):
        """(weight, scale) as saved: LoRA merged, and re-quantized when the layer is int8."""
        if self.quantization_mode is None:
            if not self.lora_enabled:
                return self._base(), None
            # Merged in float32 and saved in the variable dtype (Keras 3 writes the compute dtype, which under a
            # mixed policy would round the merged weight to float16/bfloat16); either loads into either library.
            base = self._base()
            return ops.add(base._value, ops.cast(self._lora_delta(), base.dtype)), None
        scale = getattr(self, f"{self._weight_name}_scale")
        if not self.lora_enabled:
            return self._base(), scale
        merged = ops.add(self._dequantized(), self._lora_delta())
        return self._int8_quantize_weight(merged)

    @property
    def save_own_variables(self):
        """Keras 3's hook, only where the layout differs from the plain one (LoRA or quantized)."""
        return self._save_adapted if self._adapted else None

    @property
    def load_own_variables(self):
        return self._load_adapted if self._adapted else None

    def _save_adapted(self, store):
        weight, scale = self._saved_weight()
        values = {self._weight_name: weight, f"{self._weight_name}_scale": scale}
        i = 0
        for name in self._store_order[self.quantization_mode]:
            value = values[name] if name in values else getattr(self, name, None)
            if value is None:
                continue
            store[str(i)] = ops.convert_to_numpy(value.value if hasattr(value, "_kshim_variable") else value)
            i += 1

    def _load_adapted(self, store):
        names = [n for n in self._store_order[self.quantization_mode]
                 if n == self._weight_name or getattr(self, n, None) is not None]
        if len(store) != len(names):
            raise ValueError(f"{type(self).__name__} '{self.name}': expected {len(names)} variables {names} in the "
                             f"file, found {len(store)}.")
        for i, name in enumerate(names):
            target = self._base() if name == self._weight_name else getattr(self, name)
            target.assign(store[str(i)])
        if self.lora_enabled:
            for part in ("a", "b"):
                v = getattr(self, f"lora_{self._weight_name}_{part}")
                v.assign(ops.zeros(v.shape, v.dtype))
