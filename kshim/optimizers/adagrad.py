"""Adagrad, as Keras 3."""

from kshim import config as _config, ops
from kshim.optimizers.optimizer import Optimizer, check_number


class Adagrad(Optimizer):
    """``acc += g**2``; ``w -= lr * g / sqrt(acc + epsilon)``, with ``acc`` starting at
    ``initial_accumulator_value``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        epsilon = _config.epsilon() if epsilon is None else epsilon  # Keras 2 wrote epsilon=None
        check_number("Adagrad", "initial_accumulator_value", initial_accumulator_value, low=0)
        check_number("Adagrad", "epsilon", epsilon, low=0)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(
            var_list, "accumulator", initializer=float(self.initial_accumulator_value))

    def update_step(self, gradient, variable, learning_rate):
        (lr,) = self._step_constants(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        accumulator = self._accumulators[self._get_variable_index(variable)]
        acc = accumulator.assign(ops.add(accumulator.value, ops.square(gradient)))
        update = ops.divide(ops.multiply(lr, gradient), ops.sqrt(ops.add(acc, self.epsilon)))
        variable.assign(ops.subtract(variable.value, update))

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
