"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax (Keras 3's arguments, defaults and formulas)."""

import numbers
import warnings

from kshim import activations, constraints, initializers, ops, regularizers
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer


def _ser(module, value):
    return None if value is None else module.serialize(module.get(value))


def _non_negative(cls, name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(f"{cls}: `{name}` must be a non-negative number{' or None' if allow_none else ''}. "
                         f"Received: {name}={value!r}")
    return float(value)


class _Elementwise(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape


class ReLU(_Elementwise):
    """``relu(x, negative_slope, max_value, threshold)``: x above ``threshold`` (capped at ``max_value``),
    ``negative_slope * (x - threshold)`` below it."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _non_negative("ReLU", "max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = _non_negative("ReLU", "threshold", threshold)

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """``x`` for x >= 0, ``negative_slope * x`` otherwise (Keras 3 default 0.3). Keras 2's ``alpha`` is accepted
    with a DeprecationWarning."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: `alpha` is a Keras 2 argument; use `negative_slope`.", DeprecationWarning,
                          stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """``relu(x) - alpha * relu(-x)`` with a learned ``alpha`` of shape ``input_shape[1:]`` (size 1 along
    ``shared_axes``)."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if any(isinstance(a, bool) or not isinstance(a, int) or a < 1 for a in axes):
                raise ValueError("PReLU: `shared_axes` must be positive integers (axis 0 is the batch). "
                                 f"Received: shared_axes={shared_axes!r}")
            self.shared_axes = axes
        self.alpha = None

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for a in self.shared_axes or ():
            if a >= len(input_shape):
                raise ValueError(f"PReLU '{self.name}': shared axis {a} is out of range for input shape "
                                 f"{tuple(input_shape)}. Received: shared_axes={self.shared_axes}")
            param_shape[a - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU '{self.name}': every non-shared axis of the input must be known. "
                             f"Received: input_shape={tuple(input_shape)}, shared_axes={self.shared_axes}")
        self.alpha = self.add_weight(shape=param_shape, name="alpha", initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in (self.shared_axes or ())}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs):
        pos = ops.relu(inputs)
        neg = ops.multiply(ops.negative(self.alpha.value), ops.relu(ops.negative(inputs)))
        return ops.add(pos, neg)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": _ser(initializers, self.alpha_initializer),
                "alpha_regularizer": _ser(regularizers, self.alpha_regularizer),
                "alpha_constraint": _ser(constraints, self.alpha_constraint), "shared_axes": self.shared_axes}


class ELU(_Elementwise):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"ELU: `alpha` must be a number. Received: alpha={alpha!r}")
        self.alpha = float(alpha)

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


def _check_axis(cls, axis):
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    if not axes or any(isinstance(a, bool) or not isinstance(a, int) for a in axes):
        raise ValueError(f"{cls}: `axis` must be an integer or a tuple of integers. Received: axis={axis!r}")
    return list(axis) if isinstance(axis, (list, tuple)) else axis


class Softmax(_Elementwise):
    """Softmax over ``axis`` (an int or several axes). With a ``mask`` (broadcastable to the inputs; True = keep)
    the masked entries get probability 0, as in Keras 3."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_axis("Softmax", axis)

    def call(self, inputs, mask=None):
        rank = len(ops.shape(inputs))
        for a in self.axis if isinstance(self.axis, list) else [self.axis]:
            if not -rank <= a < rank:
                raise ValueError(f"Softmax: `axis` must be in [-{rank}, {rank}) for inputs of rank {rank}. "
                                 f"Received: axis={self.axis}, inputs.shape={tuple(ops.shape(inputs))}")
        if mask is not None:
            in_shape, m_shape = tuple(ops.shape(inputs)), tuple(ops.shape(mask))
            fits = len(m_shape) <= len(in_shape) and all(
                m in (1, i) for m, i in zip(m_shape[::-1], in_shape[::-1]))
            if not fits:
                raise ValueError("Softmax: the `mask` must be broadcastable to the inputs (each mask axis 1 or equal "
                                 f"to the input's). Received: inputs.shape={in_shape}, mask.shape={m_shape}")
            if ops.dtype(mask) != "bool":
                mask = ops.greater(mask, 0.5)
            inputs = ops.where(mask, inputs, -1e9)
        if isinstance(self.axis, list) and len(self.axis) > 1:
            axes = tuple(self.axis)
            out = ops.exp(ops.subtract(inputs, ops.logsumexp(inputs, axis=axes, keepdims=True)))
        else:
            axis = self.axis[0] if isinstance(self.axis, list) else self.axis
            out = activations.softmax(inputs, axis=axis)
        if mask is not None:
            out = ops.where(mask, out, 0.0)
        return out

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
