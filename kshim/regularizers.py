"""Weight regularizers (L1, L2, L1L2, OrthogonalRegularizer) with Keras 3's formulas."""

from kshim import ops
from kshim.registry import REGULARIZERS, Configurable


def _check_factor(cls, name, value):
    value = float(value)
    if value < 0:
        raise ValueError(f"{cls}: `{name}` must be non-negative. Received: {name}={value}")
    return value


class Regularizer(Configurable):
    def __call__(self, x):
        return 0.0


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check_factor(type(self).__name__, "l1", l1)
        self.l2 = _check_factor(type(self).__name__, "l2", l2)

    def __call__(self, x):
        out = 0.0
        if self.l1:
            out = ops.multiply(self.l1, ops.sum(ops.abs(x)))
        if self.l2:
            out = ops.add(out, ops.multiply(self.l2, ops.sum(ops.square(x))))
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """``factor * mean(|offdiag(X X^T)|)`` over the l2-normalised rows (or columns) of a 2-D weight."""

    def __init__(self, factor=0.01, mode="rows"):
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: `mode` must be 'rows' or 'columns'. Received: mode={mode!r}")
        self.factor = _check_factor("OrthogonalRegularizer", "factor", factor)
        self.mode = mode

    def __call__(self, x):
        if self.mode == "columns":
            x = ops.transpose(x)
        x = ops.l2_normalize(x, axis=1)
        prod = ops.matmul(x, ops.transpose(x))
        n = ops.shape(prod)[0]
        off = ops.subtract(prod, ops.multiply(prod, ops.eye(n)))
        return ops.multiply(self.factor, ops.divide(ops.sum(ops.abs(off)), n * (n - 1)))

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, l1l2, orthogonal_regularizer = L1, L2, L1L2, L1L2, OrthogonalRegularizer
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2,
            "orthogonal_regularizer": OrthogonalRegularizer, "OrthogonalRegularizer": OrthogonalRegularizer}


# `serialize` (the Keras 3 config) and `get` (from a name, a config dict, an instance or a callable; None stays
# None) are the registry's own.
serialize, get = REGULARIZERS.serialize, REGULARIZERS.get


def deserialize(config, custom_objects=None):
    """The regularizer a Keras 3 config (``{"class_name": ..., "config": ...}``) or a name describes."""
    if custom_objects:
        name = config.get("class_name") if isinstance(config, dict) else config
        if name in custom_objects:
            cls = custom_objects[name]
            return cls.from_config(config.get("config", {})) if isinstance(config, dict) else cls()
    return get(config)


REGULARIZERS.register_all((), _BY_NAME)
REGULARIZERS.bind(base=Regularizer, module="keras.regularizers", serialize=serialize,
                  deserialize=deserialize, get=get)
