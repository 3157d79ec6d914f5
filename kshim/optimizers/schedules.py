"""Learning-rate schedules, as Keras 3's ``keras.optimizers.schedules``.

A schedule maps the optimizer's step (an int tensor, possibly traced inside a compiled step) to a learning rate.
Every schedule is written with ``kshim.ops`` and ``where`` rather than Python branches on the step, so it runs
inside ``jax.jit`` and under ``torch.compile`` alike. Formulas follow Keras 3.
"""

import math
import numbers

from kshim import config, ops
from kshim.registry import SCHEDULES


def _check_positive(cls_name, arg, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{cls_name}: `{arg}` must be > 0. Received: {arg}={value!r}")


def _floatx(x):
    return ops.convert_to_tensor(x, dtype=config.floatx())


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `__call__`.")

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` to be serializable."
        )

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} {self.get_config()}>"


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent floored with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        _check_positive(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        initial = _floatx(self.initial_learning_rate)
        dtype = ops.dtype(initial)
        p = ops.divide(ops.cast(step, dtype), ops.cast(self.decay_steps, dtype))
        if self.staircase:
            p = ops.floor(p)
        return ops.multiply(initial, ops.power(ops.cast(self.decay_rate, dtype), p))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        _check_positive(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        initial = _floatx(self.initial_learning_rate)
        dtype = ops.dtype(initial)
        p = ops.divide(ops.cast(step, dtype), ops.cast(self.decay_steps, dtype))
        if self.staircase:
            p = ops.floor(p)
        return ops.divide(initial, ops.add(1.0, ops.multiply(ops.cast(self.decay_rate, dtype), p)))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while ``boundaries[i-1] < step <=
    boundaries[i]``, and ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: `boundaries` must have one element fewer than `values`. Received: "
                f"boundaries={boundaries!r} (length {len(boundaries)}), values={values!r} (length {len(values)})"
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = ops.convert_to_tensor(step)
        step_dtype = ops.dtype(step)
        bounds = [ops.cast(ops.convert_to_tensor(b), step_dtype) for b in self.boundaries]
        values = [_floatx(v) for v in self.values]
        dtype = ops.dtype(values[0])
        result = ops.multiply(ops.cast(ops.less_equal(step, bounds[0]), dtype), values[0])
        result = ops.add(result, ops.multiply(ops.cast(ops.greater(step, bounds[-1]), dtype), values[-1]))
        for low, high, value in zip(bounds[:-1], bounds[1:], values[1:-1]):
            inside = ops.logical_and(ops.greater(step, low), ops.less_equal(step, high))
            result = ops.add(result, ops.multiply(ops.cast(inside, dtype), value))
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate`` over ``decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _check_positive(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        initial = _floatx(self.initial_learning_rate)
        dtype = ops.dtype(initial)
        end = ops.cast(self.end_learning_rate, dtype)
        step = ops.cast(step, dtype)
        decay_steps = ops.cast(self.decay_steps, dtype)
        if self.cycle:
            multiplier = ops.where(ops.equal(step, 0), 1.0, ops.ceil(ops.divide(step, self.decay_steps)))
            decay_steps = ops.multiply(decay_steps, multiplier)
        else:
            step = ops.minimum(step, decay_steps)
        p = ops.divide(step, decay_steps)
        return ops.add(ops.multiply(ops.subtract(initial, end), ops.power(ops.subtract(1.0, p),
                                                                          ops.cast(self.power, dtype))), end)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay to ``alpha * initial`` over ``decay_steps``, after an optional linear warmup from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        _check_positive(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step, decay_steps, decay_from, dtype):
        fraction = ops.divide(step, decay_steps)
        cosine = ops.multiply(0.5, ops.add(1.0, ops.cos(ops.multiply(ops.cast(math.pi, dtype), fraction))))
        decayed = ops.add(ops.multiply(1 - self.alpha, cosine), self.alpha)
        return ops.multiply(decay_from, decayed)

    def __call__(self, step):
        initial = _floatx(self.initial_learning_rate)
        dtype = ops.dtype(initial)
        decay_steps = ops.cast(self.decay_steps, dtype)
        step = ops.cast(step, dtype)
        if self.warmup_target is None:
            return self._decay(ops.minimum(step, decay_steps), decay_steps, initial, dtype)
        target = ops.cast(self.warmup_target, dtype)
        warmup_steps = ops.cast(self.warmup_steps, dtype)
        step = ops.minimum(step, ops.add(decay_steps, warmup_steps))
        # Both branches are computed and one is selected, so the step may be traced. The warmup branch divides
        # by warmup_steps; with no warmup it is never selected, so guard the division instead of dividing by 0.
        safe_warmup = ops.maximum(warmup_steps, 1.0)
        warm = ops.add(ops.multiply(ops.subtract(target, initial), ops.divide(step, safe_warmup)), initial)
        decayed = self._decay(ops.subtract(step, warmup_steps), decay_steps, target, dtype)
        return ops.where(ops.less(step, warmup_steps), warm, decayed)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods grow by ``t_mul``, peaks shrink by ``m_mul``."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        _check_positive(type(self).__name__, "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        initial = _floatx(self.initial_learning_rate)
        dtype = ops.dtype(initial)
        alpha = ops.cast(self.alpha, dtype)
        fraction = ops.divide(ops.cast(step, dtype), ops.cast(self.first_decay_steps, dtype))
        if self._t_mul == 1.0:
            i_restart = ops.floor(fraction)
            fraction = ops.subtract(fraction, i_restart)
        else:
            t_mul = ops.cast(self._t_mul, dtype)
            i_restart = ops.floor(ops.divide(ops.log(ops.subtract(1.0, ops.multiply(fraction, 1.0 - self._t_mul))),
                                             ops.log(t_mul)))
            sum_r = ops.divide(ops.subtract(1.0, ops.power(t_mul, i_restart)), 1.0 - self._t_mul)
            fraction = ops.divide(ops.subtract(fraction, sum_r), ops.power(t_mul, i_restart))
        m_fac = ops.power(ops.cast(self._m_mul, dtype), i_restart)
        cosine = ops.multiply(ops.multiply(0.5, m_fac),
                              ops.add(1.0, ops.cos(ops.multiply(ops.cast(math.pi, dtype), fraction))))
        return ops.multiply(initial, ops.add(ops.multiply(ops.subtract(1.0, alpha), cosine), alpha))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay, CosineDecay,
              CosineDecayRestarts)
SCHEDULES.register_all(_SCHEDULES)


def serialize(learning_rate_schedule):
    """The schedule as a Keras 3 config dict: ``{"module", "class_name", "config", "registered_name"}``."""
    return SCHEDULES.serialize(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """A schedule from `serialize`'s dict (or a plain ``{"class_name", "config"}``)."""
    return SCHEDULES.deserialize(config, custom_objects)


SCHEDULES.bind(base=LearningRateSchedule, module="keras.optimizers.schedules", serialize=serialize,
               deserialize=deserialize)

__all__ = ["LearningRateSchedule", "serialize", "deserialize"] + [cls.__name__ for cls in _SCHEDULES]
