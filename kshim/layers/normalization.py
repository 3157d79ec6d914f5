"""Normalization layers: BatchNormalization, LayerNormalization, RMSNormalization, GroupNormalization,
UnitNormalization.

Formulas follow Keras 3 exactly: ``inv = rsqrt(variance + epsilon) * gamma``, ``out = x * inv + (beta - mean *
inv)``; BatchNormalization's moving statistics are ``moving * momentum + batch * (1 - momentum)``, updated only in
training and only while the layer is trainable (``trainable=False`` runs it in inference mode, as in Keras 3).
The updates rebind the moving-statistics Variables, which is how the pure training step carries them
(`Layer.stateless_call` returns the new non-trainable values).
"""

import numbers
import warnings

from kshim import config, constraints, initializers, ops, regularizers
from kshim.ops import nn as nn_ops
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer


def _ser(module, value):
    """Keras 3's config form of an initializer / regularizer / constraint (None stays None)."""
    return None if value is None else module.serialize(module.get(value))


def _number(cls, name, value, low=None, high=None):
    """``value`` as a float, checked to lie in [low, high]; a ValueError naming the argument otherwise."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        rng = f" in [{low}, {high}]" if high is not None else (f" >= {low}" if low is not None else "")
        raise ValueError(f"{cls}: `{name}` must be a number{rng}. Received: {name}={value!r}")
    return value


def _int_axis(cls, axis):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"{cls}: `axis` must be an integer. Received: axis={axis!r}")
    return int(axis)


def _axis_list(cls, axis):
    """An int axis, or a list of int axes (Keras 3's LayerNormalization / UnitNormalization `axis`)."""
    if isinstance(axis, (list, tuple)):
        return [_int_axis(cls, a) for a in axis]
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"{cls}: `axis` must be an integer or a list of integers. Received: axis={axis!r}")
    return int(axis)


def _check_axes_in_range(layer, input_shape):
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    for a in axes:
        if a >= len(input_shape) or a < -len(input_shape):
            raise ValueError(f"{type(layer).__name__} '{layer.name}': axis {a} is out of bounds for input shape "
                             f"{tuple(input_shape)}. Received: axis={layer.axis}")
    return input_shape


def _rsqrt(x):
    return ops.divide(1.0, ops.sqrt(x))


def _normalize(x, mean, variance, epsilon, gamma, beta):
    """``x * inv + (beta - mean * inv)`` with ``inv = rsqrt(variance + epsilon) * gamma`` (Keras 3's order of
    operations); ``gamma`` and ``beta`` are broadcastable to ``x``, or None."""
    inv = _rsqrt(ops.add(variance, epsilon))
    if gamma is not None:
        inv = ops.multiply(inv, gamma)
    res = ops.multiply(ops.negative(mean), inv)
    if beta is not None:
        res = ops.add(res, beta)
    return ops.add(ops.multiply(x, inv), res)


# The arguments of the gamma and beta weights, in Keras's order, with the family each one is looked up in.
_GAMMA_BETA_ARGS = (("beta_initializer", initializers), ("gamma_initializer", initializers),
                    ("beta_regularizer", regularizers), ("gamma_regularizer", regularizers),
                    ("beta_constraint", constraints), ("gamma_constraint", constraints))


def _set_gamma_beta_args(layer, *values):
    """Set the `_GAMMA_BETA_ARGS` attributes of ``layer`` from ``values``, given in that order."""
    for (name, family), value in zip(_GAMMA_BETA_ARGS, values, strict=True):
        setattr(layer, name, family.get(value))


def _gamma_beta_config(layer):
    return {name: _ser(family, getattr(layer, name)) for name, family in _GAMMA_BETA_ARGS}


def _add_gamma_beta(layer, shape, scale, center, **weight_args):
    """The ``gamma`` (when ``scale``) then ``beta`` (when ``center``) weights of ``shape``, with the layer's
    initializers, regularizers and constraints."""
    if scale:
        layer.gamma = layer.add_weight(shape=shape, name="gamma", initializer=layer.gamma_initializer,
                                       regularizer=layer.gamma_regularizer, constraint=layer.gamma_constraint,
                                       autocast=False, **weight_args)
    if center:
        layer.beta = layer.add_weight(shape=shape, name="beta", initializer=layer.beta_initializer,
                                      regularizer=layer.beta_regularizer, constraint=layer.beta_constraint,
                                      autocast=False, **weight_args)


class _Normalization(Layer):
    """The normalization layers' shared base: the output has the input's shape, once ``axis`` is checked
    against it."""

    def compute_output_shape(self, input_shape):
        return _check_axes_in_range(self, input_shape)


class BatchNormalization(_Normalization):
    """Normalizes with the batch statistics in training (updating the moving statistics) and with the moving
    statistics in inference. Weights: gamma, beta (trainable), moving_mean, moving_variance (non-trainable), each
    of shape (input_shape[axis],)."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        cls = "BatchNormalization"
        self.axis = _int_axis(cls, axis)
        # One device: synchronized statistics are the plain batch statistics. Accepted for Keras compatibility.
        self.synchronized = bool(synchronized)
        self.momentum = _number(cls, "momentum", momentum, 0.0, 1.0)
        self.epsilon = _number(cls, "epsilon", epsilon, 0.0)
        self.center, self.scale = bool(center), bool(scale)
        _set_gamma_beta_args(self, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                             beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.supports_masking = True
        self.renorm = bool(renorm)
        if self.renorm:
            renorm_clipping = dict(renorm_clipping or {})
            bad = set(renorm_clipping) - {"rmax", "rmin", "dmax"}
            if bad:
                raise ValueError(f"{cls}: `renorm_clipping` keys must be among 'rmax', 'rmin', 'dmax'. "
                                 f"Received: renorm_clipping={renorm_clipping!r}")
            rmax, rmin, dmax = (renorm_clipping.get(k) for k in ("rmax", "rmin", "dmax"))
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ValueError(f"{cls}: `renorm_clipping` needs rmax >= rmin. "
                                 f"Received: renorm_clipping={renorm_clipping!r}")
            if dmax is not None and dmax < 0:
                raise ValueError(f"{cls}: `renorm_clipping` needs dmax >= 0. "
                                 f"Received: renorm_clipping={renorm_clipping!r}")
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = _number(cls, "renorm_momentum", renorm_momentum, 0.0, 1.0)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None
        self._reduction_axes = None

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} is out of bounds for input shape "
                             f"{tuple(input_shape)}. Received: axis={self.axis}")
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} of the input must be known. "
                             f"Received: input_shape={tuple(input_shape)}")
        shape = (dim,)
        _add_gamma_beta(self, shape, self.scale, self.center, trainable=True)
        self.moving_mean = self.add_weight(shape=shape, name="moving_mean", initializer=self.moving_mean_initializer,
                                           trainable=False, autocast=False)
        self.moving_variance = self.add_weight(shape=shape, name="moving_variance",
                                               initializer=self.moving_variance_initializer, trainable=False,
                                               autocast=False)
        if self.renorm:
            variance_init = self.moving_variance_initializer

            def stddev_init(shape, dtype=None):
                return ops.sqrt(initializers.get(variance_init)(shape, dtype=dtype))

            self.moving_stddev = self.add_weight(shape=shape, name="moving_stddev", initializer=stddev_init,
                                                 trainable=False, autocast=False)
            self.renorm_mean = self.add_weight(shape=shape, name="renorm_mean",
                                               initializer=self.moving_mean_initializer, trainable=False,
                                               autocast=False)
            self.renorm_stddev = self.add_weight(shape=shape, name="renorm_stddev", initializer=stddev_init,
                                                 trainable=False, autocast=False)
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis: dim})
        axis = self.axis % ndim
        self._reduction_axes = tuple(i for i in range(ndim) if i != axis)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        if mask is not None and ops.ndim(mask) != ops.ndim(inputs) - 1:
            raise ValueError("BatchNormalization: the mask must have one axis less than the inputs. Received: "
                             f"mask.shape={tuple(ops.shape(mask))}, inputs.shape={tuple(ops.shape(inputs))}")
        if ops.dtype(inputs) in ("float16", "bfloat16"):  # as Keras 3: statistics in float32 under mixed precision
            inputs = ops.cast(inputs, "float32")
        gamma = self.gamma.value if self.scale else None
        beta = self.beta.value if self.center else None
        if training and self.trainable:
            mean, variance = self._moments(inputs, mask)
            if self.renorm:
                r, d = self._renorm_correction(mean, variance)
                gamma, beta = self._compose_transforms(r, d, gamma, beta)
                self._update_renorm_statistics(mean, variance)
            else:
                m = self.momentum
                self.moving_mean.assign(ops.stop_gradient(ops.add(
                    ops.multiply(self.moving_mean.value, m), ops.multiply(mean, 1.0 - m))))
                self.moving_variance.assign(ops.stop_gradient(ops.add(
                    ops.multiply(self.moving_variance.value, m), ops.multiply(variance, 1.0 - m))))
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
        outputs = _batch_normalization(inputs, mean, variance, self.axis, beta, gamma, self.epsilon)
        return outputs if ops.dtype(outputs) == self._compute_dtype else ops.cast(outputs, self._compute_dtype)

    def _moments(self, inputs, mask):
        axes = self._reduction_axes
        if mask is None:
            return ops.mean(inputs, axis=axes), ops.var(inputs, axis=axes)
        keep = ops.broadcast_to(ops.expand_dims(ops.cast(mask, "bool"), -1), ops.shape(inputs))
        weights = ops.sum(ops.cast(keep, ops.dtype(inputs)), axis=axes, keepdims=True)
        denom = ops.add(weights, config.epsilon())
        mean = ops.divide(ops.sum(ops.where(keep, inputs, 0.0), axis=axes, keepdims=True), denom)
        diff = ops.where(keep, ops.subtract(inputs, mean), 0.0)
        variance = ops.divide(ops.sum(ops.square(diff), axis=axes, keepdims=True), denom)
        return ops.reshape(mean, (-1,)), ops.reshape(variance, (-1,))

    # -- batch renormalization (Keras 3's renorm=True) -----------------------------------------------------------
    def _renorm_correction(self, mean, variance):
        stddev = ops.sqrt(ops.add(variance, self.epsilon))
        renorm_stddev = ops.maximum(self.renorm_stddev.value, float(self.epsilon) ** 0.5)
        r = ops.divide(stddev, renorm_stddev)
        d = ops.divide(ops.subtract(mean, self.renorm_mean.value), renorm_stddev)
        clip = self.renorm_clipping
        if clip.get("rmin") is not None:
            r = ops.maximum(r, clip["rmin"])
        if clip.get("rmax") is not None:
            r = ops.minimum(r, clip["rmax"])
        if clip.get("dmax") is not None:
            d = ops.clip(d, -clip["dmax"], clip["dmax"])
        return r, d

    @staticmethod
    def _compose_transforms(r, d, gamma, beta):
        r, d = ops.stop_gradient(r), ops.stop_gradient(d)
        if gamma is not None:
            new_gamma, new_beta = ops.multiply(r, gamma), ops.multiply(d, gamma)
        else:
            new_gamma, new_beta = r, d
        if beta is not None:
            new_beta = ops.add(new_beta, beta)
        return new_gamma, new_beta

    def _update_renorm_statistics(self, mean, variance):
        mean, variance = ops.stop_gradient(mean), ops.stop_gradient(variance)
        stddev = ops.sqrt(ops.add(variance, self.epsilon))
        rm, m = self.renorm_momentum, self.momentum
        self.renorm_mean.assign(ops.add(ops.multiply(self.renorm_mean.value, rm), ops.multiply(mean, 1.0 - rm)))
        self.renorm_stddev.assign(ops.add(ops.multiply(self.renorm_stddev.value, rm),
                                          ops.multiply(stddev, 1.0 - rm)))
        self.moving_mean.assign(ops.add(ops.multiply(self.moving_mean.value, m), ops.multiply(mean, 1.0 - m)))
        new_stddev = ops.add(ops.multiply(self.moving_stddev.value, m), ops.multiply(stddev, 1.0 - m))
        self.moving_stddev.assign(new_stddev)
        self.moving_variance.assign(ops.relu(ops.subtract(ops.multiply(new_stddev, new_stddev), self.epsilon)))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": _ser(initializers, self.beta_initializer),
                "gamma_initializer": _ser(initializers, self.gamma_initializer),
                "moving_mean_initializer": _ser(initializers, self.moving_mean_initializer),
                "moving_variance_initializer": _ser(initializers, self.moving_variance_initializer),
                "beta_regularizer": _ser(regularizers, self.beta_regularizer),
                "gamma_regularizer": _ser(regularizers, self.gamma_regularizer),
                "beta_constraint": _ser(constraints, self.beta_constraint),
                "gamma_constraint": _ser(constraints, self.gamma_constraint),
                "synchronized": self.synchronized, "renorm": self.renorm, "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum}


def _batch_normalization(x, mean, variance, axis, offset, scale, epsilon):
    """Keras 3's ``ops.batch_normalization``: ``x * inv + (offset - mean * inv)``, ``inv = rsqrt(var + eps) *
    scale``, with the per-channel vectors reshaped to broadcast along ``axis``."""
    ndim = ops.ndim(x)
    shape = [1] * ndim
    shape[axis] = ops.shape(mean)[0]
    shape = tuple(shape)
    scale = None if scale is None else ops.reshape(scale, shape)
    offset = None if offset is None else ops.reshape(offset, shape)
    return _normalize(x, ops.reshape(mean, shape), ops.reshape(variance, shape), epsilon, scale, offset)


class LayerNormalization(_Normalization):
    """Normalizes each sample over ``axis``: ``(x - mean) * rsqrt(var + epsilon) * gamma + beta``. Weights: gamma,
    beta, of shape ``input_shape[axis]``. ``rms_scaling=True`` is Keras 3's deprecated variant: ``x * rsqrt(var +
    epsilon) * gamma`` with no beta."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        rms_scaling = bool(kwargs.pop("rms_scaling", False))
        if rms_scaling:
            warnings.warn("LayerNormalization: `rms_scaling=True` is deprecated in Keras 3: it scales by the "
                          "variance, not the root mean square.", stacklevel=2)
        super().__init__(**kwargs)
        self.axis = _axis_list("LayerNormalization", axis)
        self.epsilon = _number("LayerNormalization", "epsilon", epsilon, 0.0)
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), rms_scaling
        _set_gamma_beta_args(self, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                             beta_constraint, gamma_constraint)
        self.supports_masking = True
        self.autocast = False
        self.gamma = self.beta = None

    def build(self, input_shape):
        _check_axes_in_range(self, input_shape)
        if isinstance(self.axis, (list, tuple)):
            self.axis = sorted(self.axis)
            shape = tuple(input_shape[a] for a in self.axis)
        else:
            shape = (input_shape[self.axis],)
            self.axis = [self.axis]
        if any(d is None for d in shape):
            raise ValueError(f"LayerNormalization '{self.name}': the normalized axes {self.axis} of the input must "
                             f"be known. Received: input_shape={tuple(input_shape)}")
        _add_gamma_beta(self, shape, self.scale or self.rms_scaling, self.center and not self.rms_scaling,
                        trainable=True)
        self.built = True

    def call(self, inputs):
        x = inputs if ops.dtype(inputs) in ("float32", "float64") else ops.cast(inputs, "float32")
        ndim = ops.ndim(x)
        axis = sorted(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        axes = tuple(a % ndim for a in axis)
        bshape = [1] * ndim
        for a in axis:
            bshape[a] = ops.shape(x)[a]

        def bcast(v):
            if v is None:
                return None
            v = v.value
            if ops.ndim(v) != ndim and axis != [ndim - 1]:
                return ops.reshape(v, tuple(bshape))
            return v

        if not self.rms_scaling and axes == (ndim - 1,):
            # The common case (normalizing the last axis) in one fused primitive: torch's F.layer_norm, as Keras 3
            # itself uses on torch; on jax Keras 3's formula in one jitted function.
            gamma = None if self.gamma is None else self.gamma.value
            beta = None if self.beta is None else self.beta.value
            return ops.cast(nn_ops.layer_norm(x, gamma, beta, self.epsilon), self.compute_dtype)
        if self.rms_scaling:
            out = ops.multiply(x, _rsqrt(ops.add(ops.var(x, axis=axes, keepdims=True), self.epsilon)))
            if self.gamma is not None:
                out = ops.multiply(out, bcast(self.gamma))
        else:
            mean = ops.mean(x, axis=axes, keepdims=True)
            variance = ops.var(x, axis=axes, keepdims=True)
            out = _normalize(x, mean, variance, self.epsilon, bcast(self.gamma), bcast(self.beta))
        return ops.cast(out, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": self.rms_scaling, **_gamma_beta_config(self)}


class RMSNormalization(Layer):
    """Root-mean-square normalization (Keras 3): ``x * rsqrt(mean(x**2, axis) + epsilon) * scale``. Weight:
    ``scale`` (ones) of shape ``input_shape[axis]``."""

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_list("RMSNormalization", axis)
        self.epsilon = _number("RMSNormalization", "epsilon", epsilon, 0.0)
        self.supports_masking = True
        self.scale = None

    def build(self, input_shape):
        _check_axes_in_range(self, input_shape)
        self.axis = sorted(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        shape = tuple(input_shape[a] for a in self.axis)
        if any(d is None for d in shape):
            raise ValueError(f"RMSNormalization '{self.name}': the normalized axes {self.axis} of the input must "
                             f"be known. Received: input_shape={tuple(input_shape)}")
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")
        self.built = True

    def call(self, inputs):
        x = inputs if ops.dtype(inputs) in ("float32", "float64") else ops.cast(inputs, "float32")
        ndim = ops.ndim(x)
        axes = tuple(sorted(a % ndim for a in self.axis))
        scale = self.scale.value
        if axes != tuple(range(ndim - len(axes), ndim)):
            bshape = [1] * ndim
            for a in axes:
                bshape[a] = ops.shape(x)[a]
            scale = ops.reshape(scale, tuple(bshape))
        ms = ops.mean(ops.square(x), axis=axes, keepdims=True)
        out = ops.multiply(ops.multiply(x, _rsqrt(ops.add(ms, self.epsilon))), scale)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return _check_axes_in_range(self, input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


class GroupNormalization(_Normalization):
    """Splits the ``axis`` channels into ``groups`` and normalizes each group of each sample over the group's
    channels and every other non-batch axis. ``groups=-1`` is instance normalization. Weights: gamma, beta of
    shape (channels,)."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        if isinstance(groups, bool) or not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise ValueError("GroupNormalization: `groups` must be a positive integer (or -1 for instance "
                             f"normalization). Received: groups={groups!r}")
        super().__init__(**kwargs)
        self.supports_masking = True
        self.autocast = False
        self.groups = groups
        self.axis = _int_axis("GroupNormalization", axis)
        self.epsilon = _number("GroupNormalization", "epsilon", epsilon, 0.0)
        self.center, self.scale = bool(center), bool(scale)
        _set_gamma_beta_args(self, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                             beta_constraint, gamma_constraint)
        self.gamma = self.beta = None

    def build(self, input_shape):
        _check_axes_in_range(self, input_shape)
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"GroupNormalization '{self.name}': axis {self.axis} of the input must be known. "
                             f"Received: input_shape={tuple(input_shape)}")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups or dim % self.groups:
            raise ValueError(f"GroupNormalization '{self.name}': the number of channels ({dim}) must be a multiple "
                             f"of `groups`. Received: groups={self.groups}")
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: dim})
        _add_gamma_beta(self, (dim,), self.scale, self.center)
        self.built = True

    def call(self, inputs):
        shape = tuple(ops.shape(inputs))
        ndim = len(shape)
        axis = self.axis % ndim
        group_shape = list(shape)
        group_shape[axis] = shape[axis] // self.groups
        group_shape.insert(axis, self.groups)  # (..., groups, channels // groups, ...)
        x = ops.reshape(inputs, tuple(group_shape))
        reduce = tuple(i for i in range(1, ndim + 1) if i != axis)
        bshape = [1] * (ndim + 1)
        bshape[axis], bshape[axis + 1] = self.groups, shape[axis] // self.groups
        mean = ops.mean(x, axis=reduce, keepdims=True)
        variance = ops.var(x, axis=reduce, keepdims=True)
        gamma, beta = (None if w is None else ops.reshape(w.value, tuple(bshape)) for w in (self.gamma, self.beta))
        out = _normalize(x, mean, variance, self.epsilon, gamma, beta)
        return ops.cast(ops.reshape(out, shape), self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, **_gamma_beta_config(self)}


class UnitNormalization(_Normalization):
    """Scales each sample to unit L2 norm over ``axis``: ``x * min(rsqrt(sum(x ** 2)), 1e12)`` (Keras 3's
    ``ops.normalize`` with epsilon 1e-12)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_list("UnitNormalization", axis)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        square_sum = ops.sum(ops.square(inputs), axis=axis, keepdims=True)
        return ops.multiply(inputs, ops.minimum(_rsqrt(square_sum), 1e12))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
