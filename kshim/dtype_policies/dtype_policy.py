"""Dtype policies, as Keras 3's: a policy names the dtype a layer computes in and the dtype of its variables.

``"float32"`` (or any float dtype) computes and stores in that dtype; ``"mixed_float16"`` and ``"mixed_bfloat16"``
compute in the half type and keep the variables in float32; ``"int8_from_float32"`` (and the other quantized
names) are the policy of a quantized layer: its source policy plus the quantization mode.

The global policy (`set_dtype_policy`, `kshim.config.set_dtype_policy`, `kshim.mixed_precision.set_global_policy`)
is the policy of every layer created without ``dtype=``.
"""

from kshim import config, ops

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")
_MIXED = {"mixed_float16": ("float16", "float32"), "mixed_bfloat16": ("bfloat16", "float32")}


def _parse_name(name):
    """``(compute dtype, variable dtype)`` of a float policy name."""
    if not isinstance(name, str):
        raise TypeError(f"DTypePolicy: `name` must be a string, such as 'mixed_float16'. Received: name={name!r} "
                        f"(of type {type(name).__name__})")
    if name in _MIXED:
        return _MIXED[name]
    try:
        dtype = ops.standardize_dtype(name)
    except (ValueError, TypeError, KeyError):
        dtype = None
    if dtype is None:
        raise ValueError(f"DTypePolicy: cannot convert {name!r} to a dtype policy. Expected 'mixed_float16', "
                         f"'mixed_bfloat16' or the name of a dtype such as 'float32'. Received: name={name!r}")
    return dtype, dtype


class DTypePolicy:
    """A float dtype policy: ``compute_dtype`` (what a layer computes in) and ``variable_dtype`` (what its
    variables are stored in). ``DTypePolicy()`` is the global policy's copy."""

    def __init__(self, name=None):
        if name is None:
            name = dtype_policy().name
        self._name = name
        self._compute_dtype, self._variable_dtype = _parse_name(name)
        self._quantization_mode = None

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute_dtype

    @property
    def variable_dtype(self):
        return self._variable_dtype

    @property
    def quantization_mode(self):
        """The quantization mode ("int8", ...) of a quantized policy; None otherwise."""
        return self._quantization_mode

    def convert_input(self, x, autocast, dtype):
        """``x`` cast to ``dtype`` when ``autocast`` is on and ``x`` is a float tensor of another dtype."""
        if ops.is_tensor(x) and autocast and ops.is_float_dtype(ops.dtype(x)) and ops.dtype(x) != dtype:
            return ops.cast(x, dtype)
        return x

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        name = "DTypePolicy" if type(self) is FloatDTypePolicy else type(self).__name__
        return f'<{name} "{self._name}">'

    def __eq__(self, other):
        plain = (DTypePolicy, FloatDTypePolicy)
        if type(self) in plain:
            if type(other) not in plain:
                return False
        elif type(other) is not type(self):
            return False
        return self._name == other._name

    __hash__ = object.__hash__


class FloatDTypePolicy(DTypePolicy):
    """Keras 3's alias of `DTypePolicy`."""


class QuantizedDTypePolicy(DTypePolicy):
    """The policy of a quantized layer: ``"<mode>_from_<source policy>"`` (``"int8_from_mixed_bfloat16"``). The
    compute and variable dtypes are the source policy's; the quantized weights have their own dtypes."""

    def __init__(self, mode, source_name=None):
        if source_name is None:
            source_name = dtype_policy().name
        self._compute_dtype, self._variable_dtype = _parse_name(source_name)
        base_mode = mode.split("/")[0] if isinstance(mode, str) else mode
        if base_mode not in QUANTIZATION_MODES:
            raise ValueError(f"QuantizedDTypePolicy: `mode` must be one of {QUANTIZATION_MODES}. "
                             f"Received: mode={mode!r}")
        if self._compute_dtype == "float16" and base_mode == "int8":
            raise ValueError(f"QuantizedDTypePolicy: mode='{mode}' doesn't work well with compute_dtype='float16'. "
                             f"Received: source_name={source_name!r}")
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    @property
    def source_name(self):
        return self._source_name

    def __eq__(self, other):
        return (super().__eq__(other) and self._quantization_mode == other._quantization_mode
                and self._source_name == other._source_name)

    __hash__ = object.__hash__

    def get_config(self):
        return {"mode": self._quantization_mode, "source_name": self._source_name}


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """The float8 quantized policy, with the length of its amax history (1024 by default, as Keras 3)."""

    default_amax_history_length = 1024

    def __init__(self, mode, source_name=None, amax_history_length=1024):
        super().__init__(mode=mode, source_name=source_name)
        if isinstance(amax_history_length, bool) or not isinstance(amax_history_length, int):
            raise TypeError("QuantizedFloat8DTypePolicy: `amax_history_length` must be an integer. Received: "
                            f"amax_history_length={amax_history_length!r}")
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self):
        return self._amax_history_length

    def __eq__(self, other):
        return super().__eq__(other) and self._amax_history_length == other._amax_history_length

    __hash__ = object.__hash__

    def get_config(self):
        return {**super().get_config(), "amax_history_length": self._amax_history_length}


class Int4DTypePolicy(QuantizedDTypePolicy):
    """The int4 policy, ``"int4/<block_size>_from_<source>"``: ``block_size`` rows of the kernel share a scale and
    a zero point (-1: one scale per output channel, no zero point). Keras 3.15 quantizes with block size 128."""

    def __init__(self, mode, source_name=None):
        parts = mode.split("/") if isinstance(mode, str) else []
        try:
            block_size = int(parts[1]) if len(parts) == 2 and parts[0] == "int4" else None
        except ValueError:
            block_size = None
        if block_size is None or block_size < -1 or block_size == 0:
            raise ValueError("Int4DTypePolicy: `mode` must be 'int4/<block_size>' with block_size -1 (per channel) "
                             f"or a positive integer. Received: mode={mode!r}")
        super().__init__("int4", source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.block_size = block_size

    def __eq__(self, other):
        return super().__eq__(other) and self.block_size == other.block_size

    __hash__ = object.__hash__

    def get_config(self):
        return {"mode": f"int4/{self.block_size}", "source_name": self._source_name}


def quantized_policy(name):
    """The quantized policy named ``"<mode>_from_<source>"``."""
    if not isinstance(name, str) or not name.startswith(QUANTIZATION_MODES):
        raise ValueError(f"dtype policy: {name!r} is not a quantized policy name; expected "
                         f"'<mode>_from_<source>' with mode one of {QUANTIZATION_MODES}. Received: {name!r}")
    parts = name.split("_from_")
    if len(parts) != 2:
        raise ValueError(f"dtype policy: a quantized policy name has the form '<mode>_from_<source>', such as "
                         f"'int8_from_float32'. Received: {name!r}")
    mode, source = parts
    if mode.startswith("float8"):
        return QuantizedFloat8DTypePolicy(mode, source)
    if mode.startswith("int4/"):
        return Int4DTypePolicy(mode, source)
    return QuantizedDTypePolicy(mode, source)


def set_dtype_policy(policy):
    """Set the global dtype policy (a name such as ``"mixed_float16"`` or a `DTypePolicy`)."""
    config.set_dtype_policy(policy)


def dtype_policy():
    """The global dtype policy: the one set with `set_dtype_policy`, else ``DTypePolicy(floatx())``."""
    return config.dtype_policy()
