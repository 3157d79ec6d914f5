"""Adamax (Adam with the infinity norm), as Keras 3."""

from kshim import config as _config, ops
from kshim.optimizers.optimizer import Optimizer, check_number


class Adamax(Optimizer):
    """``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 * u, |g|)``;
    ``w -= lr * m / ((1 - beta_1**t) * (u + epsilon))``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        epsilon = _config.epsilon() if epsilon is None else epsilon  # Keras 2 wrote epsilon=None
        check_number("Adamax", "beta_1", beta_1, low=0, high=1, high_open=True)
        check_number("Adamax", "beta_2", beta_2, low=0, high=1)
        check_number("Adamax", "epsilon", epsilon, low=0)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def _compute_step_constants(self, learning_rate, dtype):
        lr = ops.cast(learning_rate, dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), self._local_step(dtype))
        return lr, ops.subtract(1, beta_1_power)

    def update_step(self, gradient, variable, learning_rate):
        lr, one_minus_beta_1_power = self._step_constants(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        m, u = self._m[i], self._u[i]
        m.assign(ops.add(m.value, ops.multiply(ops.subtract(gradient, m.value), 1 - self.beta_1)))
        u.assign(ops.maximum(ops.multiply(self.beta_2, u.value), ops.abs(gradient)))
        update = ops.divide(ops.multiply(lr, m.value),
                            ops.multiply(one_minus_beta_1_power, ops.add(u.value, self.epsilon)))
        variable.assign(ops.subtract(variable.value, update))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
