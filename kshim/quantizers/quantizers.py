"""Keras 3's quantizer functions: absmax int8 quantization, float8 scaling, fake quantization.

``abs_max_quantize(x, axis)`` returns ``(q, scale)`` with ``scale = 127 / (max|x| + epsilon)`` along ``axis`` and
``q = clip(round(x * scale), -127, 127)`` as int8, so ``x ~= q / scale``. The int8 layers (`Dense.quantize`,
`EinsumDense.quantize`, `Embedding.quantize`) store weights that way, per output channel.
"""

import numpy as np

from kshim import config, ops

_FLOAT8_MAX = {"float8_e4m3fn": 448.0, "float8_e5m2": 57344.0}


class Quantizer:
    """Base quantizer: ``__call__(x)`` returns the quantized form (the identity here)."""

    def __init__(self, output_dtype="int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        return x

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")


def _axes(axis, ndim):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axes)


def abs_max_quantize(inputs, axis, value_range=(-127, 127), dtype="int8", epsilon=None, to_numpy=False):
    """``(quantized, scale)``: ``scale = value_range[1] / (max(|inputs|, axis, keepdims) + epsilon)``,
    ``quantized = clip(round(inputs * scale), *value_range)`` cast to ``dtype``. ``to_numpy`` computes on the
    host (numpy), as Keras 3 does to spare device memory."""
    epsilon = config.epsilon() if epsilon is None else epsilon
    if to_numpy:
        original = ops.dtype(inputs) if ops.is_tensor(inputs) or hasattr(inputs, "_kshim_variable") \
            else str(np.asarray(inputs).dtype)
        x = np.asarray(ops.convert_to_numpy(inputs) if not isinstance(inputs, np.ndarray) else inputs)
        axes = _axes(axis, x.ndim)
        scale = np.divide(value_range[1], np.add(np.max(np.abs(x), axis=axes, keepdims=True), epsilon))
        out = np.clip(np.round(np.multiply(x, scale)), value_range[0], value_range[1]).astype(dtype)
        return ops.convert_to_tensor(out), ops.convert_to_tensor(scale, dtype=original)
    x = ops.convert_to_tensor(inputs)
    scale = ops.divide(value_range[1], ops.add(ops.max(ops.abs(x), axis=axis, keepdims=True), epsilon))
    scale = ops.cast(scale, ops.dtype(x))
    out = ops.clip(ops.round(ops.multiply(x, scale)), value_range[0], value_range[1])
    return ops.cast(out, dtype), scale


class AbsMaxQuantizer(Quantizer):
    """`abs_max_quantize` as an object: ``quantizer(x, axis=None)`` -> ``(quantized, scale)``; the axis defaults
    to the constructor's, else -1."""

    def __init__(self, axis=None, value_range=(-127, 127), epsilon=None, output_dtype="int8"):
        super().__init__(output_dtype=output_dtype)
        self.axis = None if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
        self.value_range = tuple(value_range)
        self.epsilon = config.epsilon() if epsilon is None else epsilon
        if output_dtype == "int8" and (value_range[0] < -128 or value_range[1] > 127):
            raise ValueError("AbsMaxQuantizer: with output_dtype='int8', `value_range` must lie within [-128, 127]. "
                             f"Received: value_range={value_range!r}")

    def __call__(self, x, axis=None, to_numpy=False):
        axis = self.axis if axis is None else axis
        return abs_max_quantize(x, -1 if axis is None else axis, self.value_range, self.output_dtype, self.epsilon,
                                to_numpy)

    def get_config(self):
        cfg = {"value_range": self.value_range, "epsilon": self.epsilon, "output_dtype": self.output_dtype}
        if self.axis is not None:
            cfg["axis"] = self.axis
        return cfg


def compute_float8_scale(amax, scale, dtype_max, margin=0):
    """The new float8 scale from the amax seen: ``1 / (dtype_max / amax / 2**margin)``, keeping the old scale
    where ``amax`` is zero or not finite."""
    inverse = ops.reciprocal(scale)
    new = ops.divide(ops.divide(dtype_max, amax), 2 ** margin)
    new = ops.where(ops.greater(amax, 0.0), new, inverse)
    new = ops.where(ops.isfinite(amax), new, inverse)
    return ops.reciprocal(new)


def compute_float8_amax_history(x, amax_history):
    """The amax history rolled by one, with ``max(|x|)`` written first."""
    amax = ops.reshape(ops.cast(ops.max(ops.abs(x)), ops.dtype(amax_history)), (1,))
    if ops.shape(amax_history)[0] == 1:
        return amax
    # roll by -1 ([h1, ..., hn-1, h0]), then the first entry becomes the new amax
    return ops.concatenate([amax, amax_history[2:], amax_history[:1]], axis=0)


def quantize_and_dequantize(inputs, scale, quantized_dtype, compute_dtype):
    """``inputs / scale`` clipped to the float8 type's range, rounded through ``quantized_dtype``, times
    ``scale``, in ``compute_dtype``."""
    limit = _FLOAT8_MAX.get(str(quantized_dtype))
    if limit is None:
        raise ValueError(f"quantize_and_dequantize: `quantized_dtype` must be one of {sorted(_FLOAT8_MAX)}. "
                         f"Received: quantized_dtype={quantized_dtype!r}")
    scale = ops.cast(scale, compute_dtype)
    x = ops.clip(ops.divide(inputs, scale), -limit, limit)
    x = ops.cast(ops.cast(x, quantized_dtype), compute_dtype)
    return ops.multiply(x, scale)


def _nudge(min_range, max_range, num_bits, narrow_range):
    dtype = "float64" if ops.dtype(min_range) == "float64" else "float32"
    min_range, max_range = ops.cast(min_range, dtype), ops.cast(max_range, dtype)
    quant_max = (1 << num_bits) - 1
    quant_min = 1 if narrow_range else 0
    span = ops.subtract(max_range, min_range)
    scale = ops.divide(span, quant_max - quant_min)
    inv_scale = ops.divide(quant_max - quant_min, span)
    zero_point = ops.round(ops.clip(ops.subtract(quant_min, ops.divide(min_range, scale)), quant_min, quant_max))
    nudged_min = ops.multiply(ops.subtract(quant_min, zero_point), scale)
    nudged_max = ops.multiply(ops.subtract(quant_max, zero_point), scale)
    return nudged_min, nudged_max, scale, inv_scale


def fake_quant_with_min_max_vars(inputs, min_vals, max_vals, num_bits=8, narrow_range=False, axis=None):
    """Keras 3's fake quantization: clamp ``inputs`` to the nudged ``[min_vals, max_vals]``, quantize to
    ``num_bits`` levels and dequantize. ``min_vals``/``max_vals`` are scalars, or per-channel along ``axis``.
    The gradient with respect to ``inputs`` is the straight-through one (1 inside the range, 0 outside);
    ``min_vals`` and ``max_vals`` get no gradient here (Keras 3 trains them: kshim does not yet)."""
    x = ops.convert_to_tensor(inputs)
    min_vals, max_vals = (ops.convert_to_tensor(v, dtype=config.floatx()) if isinstance(v, (int, float)) else
                          ops.convert_to_tensor(v) for v in (min_vals, max_vals))
    nudged_min, nudged_max, scale, inv_scale = _nudge(min_vals, max_vals, int(num_bits), narrow_range)
    if axis is not None and ops.ndim(nudged_min) > 0:
        shape = [1] * ops.ndim(x)
        shape[axis % ops.ndim(x)] = -1
        nudged_min, nudged_max, scale, inv_scale = (ops.reshape(t, shape)
                                                    for t in (nudged_min, nudged_max, scale, inv_scale))
    quant_zero = ops.floor(ops.add(ops.multiply(ops.negative(nudged_min), inv_scale), 0.5))
    clamped = ops.clip(ops.cast(x, ops.dtype(nudged_min)), nudged_min, nudged_max)
    levels = ops.floor(ops.add(ops.subtract(ops.multiply(ops.subtract(clamped, nudged_min), inv_scale), quant_zero),
                               0.5))
    result = ops.cast(ops.multiply(levels, scale), ops.dtype(x))
    inside = ops.logical_and(ops.greater_equal(x, nudged_min), ops.less_equal(x, nudged_max))
    # Straight-through: the value is `result` exactly (plus x - x = 0), the gradient flows to `x` inside the range.
    passthrough = ops.where(inside, x, ops.stop_gradient(x))
    return ops.add(ops.stop_gradient(result), ops.subtract(passthrough, ops.stop_gradient(passthrough)))
