"""Lion (evolved sign momentum), as Keras 3."""

from kshim import ops
from kshim.optimizers.optimizer import Optimizer, check_number


class Lion(Optimizer):
    """``w -= lr * sign(beta_1 * m + (1 - beta_1) * g)``; then ``m = beta_2 * m + (1 - beta_2) * g``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        # beta_1 = 0 would make Lion plain SignSGD, so Keras requires beta_1 in (0, 1].
        check_number("Lion", "beta_1", beta_1, low=0, high=1, low_open=True)
        check_number("Lion", "beta_2", beta_2, low=0, high=1)
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        (lr,) = self._step_constants(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        m = self._momentums[self._get_variable_index(variable)]
        b1, b2 = self.beta_1, self.beta_2
        direction = ops.sign(ops.add(ops.multiply(m.value, b1), ops.multiply(gradient, 1.0 - b1)))
        variable.assign(ops.subtract(variable.value, ops.multiply(lr, direction)))
        m.assign(ops.add(ops.multiply(m.value, b2), ops.multiply(gradient, 1.0 - b2)))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
