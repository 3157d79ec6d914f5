"""`LossScaleOptimizer`: dynamic loss scaling around another optimizer, with Keras 3's rules and numbers.

The train step multiplies the loss by the current scale before differentiating (`scale_loss`), so that small
float16 gradients do not underflow; this optimizer divides the gradients by the scale again and hands them to the
inner optimizer. When any gradient is not finite, the step is skipped: no weight and no inner optimizer state
changes (so ``iterations``, which is the inner optimizer's, does not advance), and the scale is halved. After
``dynamic_growth_steps`` finite steps in a row the scale doubles.

The skip is data-dependent, so it is written without a Python branch on a tensor: both outcomes are computed and
one is selected with ``where``. That traces under ``jax.jit`` and records in torch's replay like any other step.
`kshim.trainer` wraps the optimizer in one automatically when the model's policy is ``"mixed_float16"``
(``compile(auto_scale_loss=True)``, the default), as Keras 3 does.
"""

from kshim import ops
from kshim.optimizers.optimizer import Optimizer
from kshim.registry import OPTIMIZERS
from kshim.variables import read_values, swap_values

_UNSUPPORTED = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
                "gradient_accumulation_steps": None}


class LossScaleOptimizer(Optimizer):
    """Wraps ``inner_optimizer`` with dynamic loss scaling (Keras 3's arguments: ``initial_scale=2**15``,
    ``dynamic_growth_steps=2000``)."""

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000, name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer: `dynamic=False` is not supported (as in Keras 3); set "
                             "`loss_scale_factor` on the inner optimizer instead. Received: dynamic=False")
        for arg, default in _UNSUPPORTED.items():
            if arg in kwargs:
                value = kwargs.pop(arg)
                if value != default:
                    raise ValueError(f"LossScaleOptimizer does not support `{arg}`; set it on the inner optimizer "
                                     f"instead. Received: {arg}={value!r}")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer: unknown arguments {sorted(kwargs)}. Received: {kwargs!r}")
        if not isinstance(inner_optimizer, Optimizer):
            inner_optimizer = OPTIMIZERS.resolve(inner_optimizer)
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, int) or \
                dynamic_growth_steps < 1:
            raise ValueError("LossScaleOptimizer: `dynamic_growth_steps` must be a positive integer. Received: "
                             f"dynamic_growth_steps={dynamic_growth_steps!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        inner_optimizer.loss_scale_factor = None

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        self.step_counter = self.add_variable((), initializer="zeros", dtype="int32", name="step_counter")
        self.dynamic_scale = self.add_variable((), initializer=float(self.initial_scale), dtype="float32",
                                               name="dynamic_scale")
        self.inner_optimizer.build(variables)
        self._trainable_variables = variables
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(variables)}
        self.built = True

    @property
    def variables(self):
        """This optimizer's variables (iteration, learning_rate, step_counter, dynamic_scale), then the inner
        optimizer's, as Keras 3 lists (and saves) them."""
        return self._variables + self.inner_optimizer.variables

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    # -- the step ---------------------------------------------------------------------------------------------------
    def scale_loss(self, loss):
        """``loss * scale`` (the current dynamic scale once built, else ``initial_scale``)."""
        return ops.multiply(loss, self.dynamic_scale.value if self.built else self.initial_scale)

    def _loss_scale(self, optimizer_values):
        return optimizer_values[self._variables.index(self.dynamic_scale)]

    @staticmethod
    def check_finite(grads):
        """A boolean scalar tensor: whether every gradient is finite."""
        flags = [ops.all(ops.isfinite(g)) for g in grads if g is not None]
        return ops.all(ops.stack(flags)) if flags else ops.convert_to_tensor(True)

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        if not self.built:
            raise ValueError("LossScaleOptimizer: to call `stateless_apply`, the optimizer must be built. Call "
                             "`optimizer.build(trainable_variables)` first.")
        values = list(optimizer_variables)
        if len(values) != len(self.variables):
            raise ValueError(f"LossScaleOptimizer: `optimizer_variables` must match `optimizer.variables` one to "
                             f"one. Received {len(values)} values for {len(self.variables)} variables.")
        own, inner = values[:len(self._variables)], values[len(self._variables):]
        counter = own[self._variables.index(self.step_counter)]
        scale = own[self._variables.index(self.dynamic_scale)]
        grads = list(grads)
        finite = self.check_finite(grads)
        unscaled = [None if g is None else ops.divide(g, ops.cast(scale, ops.dtype(g))) for g in grads]
        params = list(trainable_variables)
        # The inner step runs without donation: on a skipped step the old values are kept.
        new_params, new_inner = self.inner_optimizer.stateless_apply(inner, unscaled, params)
        new_params = [n if n is o else ops.where(finite, n, o) for n, o in zip(new_params, params)]
        new_inner = [n if n is o else ops.where(finite, n, o) for n, o in zip(new_inner, inner)]
        grow = ops.equal(counter, self.dynamic_growth_steps - 1)
        zero = ops.zeros_like(counter)
        new_counter = ops.where(finite, ops.where(grow, zero, ops.add(counter, 1)), zero)
        new_scale = ops.where(finite, ops.where(grow, ops.multiply(scale, 2.0), scale), ops.multiply(scale, 0.5))
        own = list(own)
        own[self._variables.index(self.step_counter)] = new_counter
        own[self._variables.index(self.dynamic_scale)] = new_scale
        return new_params, own + new_inner

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if trainable_variables is not None and not self.built:
            self.build(trainable_variables)
        if not self.built:
            raise ValueError("LossScaleOptimizer: when `apply` gets gradients without variables, the optimizer "
                             "must already be built. Call `optimizer.build(trainable_variables)` first.")
        targets = self._trainable_variables if trainable_variables is None else list(trainable_variables)
        full = [None] * len(self._trainable_variables)
        for g, v in zip(grads, targets):
            full[self._trainable_variables_indices[id(v)]] = g
        variables = self.variables
        params = read_values(self._trainable_variables)
        new_params, new_values = self.stateless_apply(read_values(variables), full, params)
        swap_values(variables, new_values)
        for variable, old, new in zip(self._trainable_variables, params, new_params):
            if new is not old:
                variable.assign(new)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    @property
    def use_ema(self):
        return self.inner_optimizer.use_ema

    @use_ema.setter
    def use_ema(self, value):
        pass  # the base constructor sets it; the inner optimizer's is the one that counts

    # -- config -------------------------------------------------------------------------------------------------------
    def get_config(self):
        return {"name": self.name, "inner_optimizer": OPTIMIZERS.serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = OPTIMIZERS.deserialize(config.pop("inner_optimizer"), custom_objects=custom_objects)
        return cls(inner, **config)
