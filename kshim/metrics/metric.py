"""`Metric`: the base class of every metric, with a stateful API and a pure one for the compiled training step.

A metric owns non-trainable `Variable`s (its state). ``update_state`` accumulates into them, only through
``assign``/``assign_add``; ``result`` reads them. Because ``Variable.assign`` rebinds the value rather than mutating
it, the pure API is the stateful one run on swapped-in values (see `kshim.variables.swap_values`):

    values = metric.stateless_reset_state()
    values = metric.stateless_update_state(values, y_true, y_pred)   # traceable: jax.jit, torch.compile
    result = metric.stateless_result(values)

The metric's own variables are left exactly as they were.
"""

from kshim import config, initializers, ops
from kshim.registry import Configurable
from kshim.common.naming import to_snake_case, uniquify
from kshim.common.properties import read_only
from kshim.variables import Variable, read_values, swap_values, values_of


def _initial_value(initializer, shape, dtype):
    """The initial tensor for ``add_variable``: "zeros"/"ones", an array-like, or ``initializer(shape, dtype)``."""
    if initializer is None or initializer in ("zeros", "Zeros"):
        return ops.zeros(shape, dtype=dtype)
    if initializer in ("ones", "Ones"):
        return ops.ones(shape, dtype=dtype)
    if isinstance(initializer, str):
        initializer = initializers.get(initializer)
    if callable(initializer) and not ops.is_tensor(initializer):
        return ops.cast(ops.convert_to_tensor(initializer(shape, dtype=dtype)), dtype)
    return ops.broadcast_to(ops.convert_to_tensor(initializer, dtype=dtype), shape)


def _standardize_dtype(dtype):
    dtype = str(getattr(dtype, "name", dtype))
    return {"int": "int32", "float": "float32"}.get(dtype, dtype)


class Metric(Configurable):
    """Encapsulates metric logic and state, as ``keras.metrics.Metric``.

    Subclasses create their state in ``__init__`` (or in ``build`` when it depends on the input shapes) with
    `add_variable`, update it in ``update_state`` with ``variable.assign(...)``, and compute ``result``.
    """

    _kshim_metric = True  # what a Layer tracks as one of its `metrics` (kshim.layers cannot import this module)

    def __init__(self, dtype=None, name=None):
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{type(self).__name__}: `name` must be a string. Received: name={name!r}")
        self.name = name or uniquify(to_snake_case(type(self).__name__))
        self._dtype = _standardize_dtype(dtype) if dtype is not None else config.floatx()
        self._variables = []
        self.built = True

    # -- state ----------------------------------------------------------------------------------------------------
    dtype = read_only("_dtype")

    @property
    def variables(self):
        """The metric's state variables, in creation order."""
        return list(self._variables)

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="sum", name=None):
        """Create a non-trainable state `Variable` of ``shape`` and track it in `variables`."""
        if not hasattr(self, "_variables"):
            raise RuntimeError(
                f"{type(self).__name__}: call `super().__init__()` in `__init__()` before `add_variable()`."
            )
        shape = tuple(int(d) for d in shape)
        dtype = dtype or config.floatx()
        variable = Variable(
            _initial_value(initializer, shape, dtype), dtype=dtype, trainable=False, name=name,
            aggregation=aggregation, synchronization="on_read",
        )
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """An alias of `add_variable`, kept for Keras 2 code."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    def build(self, y_true_shape, y_pred_shape):
        """Create shape-dependent state. Metrics whose state depends on the input shapes override this; the
        trainer calls it with the first batch's shapes before it compiles the step."""
        self.built = True

    # -- the stateful API -----------------------------------------------------------------------------------------
    def update_state(self, *args, **kwargs):
        """Accumulate statistics for the metric."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_state()`.")

    def result(self):
        """The current value: a scalar tensor (or a tensor or dict of them for some metrics)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `result()`.")

    def reset_state(self):
        """Set every state variable back to zeros."""
        for v in self._variables:
            v.assign(ops.zeros(v.shape, dtype=v.dtype))

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    # -- the pure API (traceable: no host conversion, no branching on values) ---------------------------------------
    def _check_values(self, metric_variables):
        if not self.built:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the metric is not built yet; call "
                "`build(y_true_shape, y_pred_shape)` or `update_state()` once before using the stateless API."
            )
        if len(metric_variables) != len(self._variables):
            raise ValueError(
                f"{type(self).__name__}: `metric_variables` must hold one value per entry of `variables` "
                f"({len(self._variables)}). Received: a list of length {len(metric_variables)}"
            )

    def stateless_update_state(self, metric_variables, *args, **kwargs):
        """The values ``update_state`` would leave in `variables`, starting from ``metric_variables``."""
        self._check_values(metric_variables)
        old = swap_values(self._variables, values_of(metric_variables))
        try:
            self.update_state(*args, **kwargs)
            return read_values(self._variables)
        finally:
            swap_values(self._variables, old)

    def stateless_result(self, metric_variables):
        """``result()`` computed from ``metric_variables`` instead of the metric's own state."""
        self._check_values(metric_variables)
        old = swap_values(self._variables, values_of(metric_variables))
        try:
            return self.result()
        finally:
            swap_values(self._variables, old)

    def stateless_reset_state(self):
        """The values ``reset_state`` would leave in `variables` (the metric's own state is untouched)."""
        old = read_values(self._variables)
        try:
            self.reset_state()
            return read_values(self._variables)
        finally:
            swap_values(self._variables, old)

    # -- configuration --------------------------------------------------------------------------------------------
    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__
