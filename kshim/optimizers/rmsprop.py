"""RMSprop, plain, centered and with momentum, as Keras 3."""

from kshim import config as _config, ops
from kshim.ops import foreach
from kshim.optimizers import fused_update
from kshim.optimizers.optimizer import Optimizer, check_number


class RMSprop(Optimizer):
    """``v = rho * v + (1 - rho) * g**2``; ``w -= lr * g / sqrt(v + epsilon)``. ``centered`` subtracts the
    squared moving average of ``g`` from ``v`` inside the root; ``momentum`` accumulates the increments."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        epsilon = _config.epsilon() if epsilon is None else epsilon  # Keras 2 wrote epsilon=None
        check_number("RMSprop", "rho", rho, low=0, high=1)
        check_number("RMSprop", "momentum", momentum, low=0, high=1)
        check_number("RMSprop", "epsilon", epsilon, low=0)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = bool(centered)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = self.add_optimizer_variables(var_list, "momentum") if self.momentum > 0 else []
        self._average_gradients = (self.add_optimizer_variables(var_list, "average_gradient")
                                   if self.centered else [])

    def update_step(self, gradient, variable, learning_rate):
        (lr,) = self._step_constants(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        rho = self.rho
        velocity = self._velocities[i]
        velocity.assign(ops.add(ops.multiply(rho, velocity.value), ops.multiply(1 - rho, ops.square(gradient))))
        if self.centered:
            average = self._average_gradients[i]
            average.assign(ops.add(ops.multiply(rho, average.value), ops.multiply(1 - rho, gradient)))
            denominator = ops.add(ops.subtract(velocity.value, ops.square(average.value)), self.epsilon)
        else:
            denominator = ops.add(velocity.value, self.epsilon)
        increment = ops.divide(ops.multiply(lr, gradient), ops.sqrt(denominator))
        if self.momentum > 0:
            momentum = self._momentums[i]
            momentum.assign(ops.add(ops.multiply(self.momentum, momentum.value), increment))
            variable.assign(ops.subtract(variable.value, momentum.value))
        else:
            variable.assign(ops.subtract(variable.value, increment))

    def _update_all(self, grads, variables, learning_rate):
        """`update_step` for every variable at once, with fused list ops (the same numbers, bit for bit)."""
        dtype = variables[0].dtype
        (lr,) = self._step_constants(learning_rate, dtype)
        rho, momentum, epsilon, centered = self.rho, self.momentum, self.epsilon, self.centered

        def update(inplace, w, v, *rest):  # rest: (average if centered, momentum if momentum > 0, g)
            g = rest[-1]
            g2 = foreach.multiply(foreach.multiply(g, g), 1 - rho, inplace=True)
            v = foreach.add(foreach.multiply(v, rho, inplace=inplace), g2, inplace=inplace)
            out = (v,)
            if centered:
                a = foreach.add(foreach.multiply(rest[0], rho, inplace=inplace), foreach.multiply(g, 1 - rho),
                                inplace=inplace)
                out += (a,)
                denominator = foreach.add(foreach.subtract(v, foreach.multiply(a, a)), epsilon, inplace=True)
            else:
                denominator = foreach.add(v, epsilon)
            increment = foreach.divide(foreach.multiply(g, lr), foreach.sqrt(denominator, inplace=True), inplace=True)
            if momentum > 0:
                mom = foreach.add(foreach.multiply(rest[-2], momentum, inplace=inplace), increment, inplace=inplace)
                return (foreach.subtract(w, mom, inplace=inplace),) + out + (mom,)
            return (foreach.subtract(w, increment, inplace=inplace),) + out

        slots = [variables, fused_update.slots(self, self._velocities, variables)]
        if centered:
            slots.append(fused_update.slots(self, self._average_gradients, variables))
        if momentum > 0:
            slots.append(fused_update.slots(self, self._momentums, variables))
        fused_update.run(self, update, slots, grads, dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
