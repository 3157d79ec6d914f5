"""SGD, with optional (Nesterov) momentum, as Keras 3."""

from kshim import ops
from kshim.ops import foreach
from kshim.optimizers import fused_update
from kshim.optimizers.optimizer import Optimizer, check_number


class SGD(Optimizer):
    """Gradient descent. With ``momentum`` m: ``velocity = m * velocity - lr * g``; ``w += velocity`` (or, with
    ``nesterov``, ``w += m * velocity - lr * g``). Without momentum: ``w -= lr * g``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        check_number("SGD", "momentum", momentum, low=0, high=1)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum != 0 else []

    def update_step(self, gradient, variable, learning_rate):
        (lr,) = self._step_constants(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            variable.assign(ops.subtract(variable.value, ops.multiply(gradient, lr)))
            return
        m = self.momentums[self._get_variable_index(variable)]
        m.assign(ops.subtract(ops.multiply(m.value, self.momentum), ops.multiply(gradient, lr)))
        if self.nesterov:
            step = ops.subtract(ops.multiply(m.value, self.momentum), ops.multiply(gradient, lr))
            variable.assign(ops.add(variable.value, step))
        else:
            variable.assign(ops.add(variable.value, m.value))

    def _update_all(self, grads, variables, learning_rate):
        """`update_step` for every variable at once, with fused list ops (the same numbers, bit for bit)."""
        dtype = variables[0].dtype
        (lr,) = self._step_constants(learning_rate, dtype)
        momentum, nesterov = self.momentum, self.nesterov

        def update(inplace, w, *rest):  # rest: (m, g) with momentum, else (g,)
            scaled = foreach.multiply(rest[-1], lr)
            if momentum == 0:
                return (foreach.subtract(w, scaled, inplace=inplace),)
            m = foreach.subtract(foreach.multiply(rest[0], momentum, inplace=inplace), scaled, inplace=inplace)
            if nesterov:
                step = foreach.subtract(foreach.multiply(m, momentum), scaled, inplace=True)
                return foreach.add(w, step, inplace=inplace), m
            return foreach.add(w, m, inplace=inplace), m

        slots = [variables] + ([fused_update.slots(self, self.momentums, variables)] if momentum != 0 else [])
        fused_update.run(self, update, slots, grads, dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
