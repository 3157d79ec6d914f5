"""Adadelta, as Keras 3."""

from kshim import config as _config, ops
from kshim.optimizers.optimizer import Optimizer, check_number


class Adadelta(Optimizer):
    """``Eg = rho * Eg + (1 - rho) * g**2``; ``delta = -sqrt(Ed + eps) / sqrt(Eg + eps) * g``;
    ``Ed = rho * Ed + (1 - rho) * delta**2``; ``w += lr * delta``."""

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        epsilon = _config.epsilon() if epsilon is None else epsilon  # Keras 2 wrote epsilon=None
        check_number("Adadelta", "rho", rho, low=0, high=1)
        check_number("Adadelta", "epsilon", epsilon, low=0)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"])

    def update_step(self, grad, variable, learning_rate):
        (lr,) = self._step_constants(learning_rate, variable.dtype)
        grad = ops.cast(grad, variable.dtype)
        i = self._get_variable_index(variable)
        rho = self.rho
        acc_grad, acc_delta = self._accumulated_grads[i], self._accumulated_delta_vars[i]
        eg = acc_grad.assign(ops.add(ops.multiply(rho, acc_grad.value), ops.multiply(1 - rho, ops.square(grad))))
        delta = ops.negative(ops.divide(ops.multiply(ops.sqrt(ops.add(acc_delta.value, self.epsilon)), grad),
                                        ops.sqrt(ops.add(eg, self.epsilon))))
        acc_delta.assign(ops.add(ops.multiply(rho, acc_delta.value), ops.multiply(1 - rho, ops.square(delta))))
        variable.assign(ops.add(variable.value, ops.multiply(lr, delta)))

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
