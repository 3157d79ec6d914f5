"""FTRL-Proximal, as Keras 3."""

from kshim import ops
from kshim.optimizers.optimizer import Optimizer, check_number


class Ftrl(Optimizer):
    """Follow The Regularized Leader with L1, L2 and L2-shrinkage regularization (McMahan et al., 2013)."""

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        check_number("Ftrl", "learning_rate_power", learning_rate_power, high=0)
        check_number("Ftrl", "initial_accumulator_value", initial_accumulator_value, low=0)
        check_number("Ftrl", "l1_regularization_strength", l1_regularization_strength, low=0)
        check_number("Ftrl", "l2_regularization_strength", l2_regularization_strength, low=0)
        check_number("Ftrl", "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength, low=0)
        check_number("Ftrl", "beta", beta, low=0)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list, ["accumulator", "linear"], initializer=[float(self.initial_accumulator_value), "zeros"])

    def _compute_step_constants(self, learning_rate, dtype):
        lr = ops.cast(learning_rate, dtype)
        l2_reg = ops.add(self.l2_regularization_strength, ops.divide(self.beta, ops.multiply(2.0, lr)))
        return lr, ops.multiply(2, l2_reg)

    def update_step(self, gradient, variable, learning_rate):
        lr, two_l2_reg = self._step_constants(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        accum, linear = self._accumulators[i], self._linears[i]
        power = -self.learning_rate_power
        w = variable.value
        grad_to_use = ops.add(gradient, ops.multiply(2 * self.l2_shrinkage_regularization_strength, w))
        new_accum = ops.add(accum.value, ops.square(gradient))
        new_accum_pow = ops.power(new_accum, power)
        sigma = ops.divide(ops.subtract(new_accum_pow, ops.power(accum.value, power)), lr)
        linear.assign(ops.add(linear.value, ops.subtract(grad_to_use, ops.multiply(sigma, w))))
        quadratic = ops.add(ops.divide(new_accum_pow, lr), two_l2_reg)
        l1 = self.l1_regularization_strength
        linear_clipped = ops.clip(linear.value, -l1, l1)
        variable.assign(ops.divide(ops.subtract(linear_clipped, linear.value), quadratic))
        accum.assign(new_accum)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        })
        return config
