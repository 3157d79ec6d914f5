"""Adam (with the AMSGrad variant), as Keras 3."""

from kshim import config as _config, ops
from kshim.optimizers.optimizer import Optimizer, check_number


class Adam(Optimizer):
    """``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``w -= m * lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) / (sqrt(v) + epsilon)`` (Keras's epsilon-hat form).
    ``amsgrad`` uses the running maximum of ``v``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        epsilon = _config.epsilon() if epsilon is None else epsilon  # Keras 2 wrote epsilon=None
        cls_name = type(self).__name__
        check_number(cls_name, "beta_1", beta_1, low=0, high=1, high_open=True)
        check_number(cls_name, "beta_2", beta_2, low=0, high=1, high_open=True)
        check_number(cls_name, "epsilon", epsilon, low=0)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = bool(amsgrad)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def _compute_step_constants(self, learning_rate, dtype):
        lr = ops.cast(learning_rate, dtype)
        step = self._local_step(dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), step)
        alpha = ops.divide(ops.multiply(lr, ops.sqrt(ops.subtract(1, beta_2_power))), ops.subtract(1, beta_1_power))
        return (alpha,)

    def update_step(self, gradient, variable, learning_rate):
        (alpha,) = self._step_constants(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        m.assign(ops.add(m.value, ops.multiply(ops.subtract(gradient, m.value), 1 - self.beta_1)))
        v.assign(ops.add(v.value, ops.multiply(ops.subtract(ops.square(gradient), v.value), 1 - self.beta_2)))
        v_used = v.value
        if self.amsgrad:
            v_hat = self._velocity_hats[i]
            v_used = v_hat.assign(ops.maximum(v_hat.value, v_used))
        update = ops.divide(ops.multiply(m.value, alpha), ops.add(ops.sqrt(v_used), self.epsilon))
        variable.assign(ops.subtract(variable.value, update))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
