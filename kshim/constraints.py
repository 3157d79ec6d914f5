"""Weight constraints (MaxNorm, NonNeg, UnitNorm, MinMaxNorm), applied after each optimizer update."""

from kshim import config, ops
from kshim.registry import CONSTRAINTS, Configurable


class Constraint(Configurable):
    def __call__(self, w):
        return w


class MaxNorm(Constraint):
    """Rescale so the norm along ``axis`` is at most ``max_value``."""

    def __init__(self, max_value=2.0, axis=0):
        self.max_value, self.axis = float(max_value), axis

    def __call__(self, w):
        norms = ops.sqrt(ops.sum(ops.square(w), axis=self.axis, keepdims=True))
        desired = ops.clip(norms, 0.0, self.max_value)
        return ops.multiply(w, ops.divide(desired, ops.add(norms, config.epsilon())))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Zero out negative weights."""

    def __call__(self, w):
        return ops.multiply(w, ops.cast(ops.greater_equal(w, 0.0), ops.dtype(w)))


class UnitNorm(Constraint):
    """Rescale to unit norm along ``axis``."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        norms = ops.sqrt(ops.sum(ops.square(w), axis=self.axis, keepdims=True))
        return ops.divide(w, ops.add(config.epsilon(), norms))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move the norm along ``axis`` into [min_value, max_value] at speed ``rate``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = float(min_value), float(max_value), float(rate), axis

    def __call__(self, w):
        norms = ops.sqrt(ops.sum(ops.square(w), axis=self.axis, keepdims=True))
        desired = ops.add(ops.multiply(self.rate, ops.clip(norms, self.min_value, self.max_value)),
                          ops.multiply(1.0 - self.rate, norms))
        return ops.multiply(w, ops.divide(desired, ops.add(config.epsilon(), norms)))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
_BY_NAME = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
            "MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm}


# `serialize` (the Keras 3 config) and `get` (from a name, a config dict, an instance or a callable; None stays
# None) are the registry's own.
serialize, get = CONSTRAINTS.serialize, CONSTRAINTS.get


def deserialize(config, custom_objects=None):
    """The constraint a Keras 3 config (``{"class_name": ..., "config": ...}``) or a name describes."""
    if custom_objects:
        name = config.get("class_name") if isinstance(config, dict) else config
        if name in custom_objects:
            cls = custom_objects[name]
            return cls.from_config(config.get("config", {})) if isinstance(config, dict) else cls()
    return get(config)


CONSTRAINTS.register_all((), _BY_NAME)
CONSTRAINTS.bind(base=Constraint, module="keras.constraints", serialize=serialize,
                 deserialize=deserialize, get=get)
