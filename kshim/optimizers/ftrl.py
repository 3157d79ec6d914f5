"""FTRL-Proximal, as Keras 3."""

from kshim import ops
from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, each


class Ftrl(Optimizer):
    """Follow The Regularized Leader with L1, L2 and L2-shrinkage regularization (McMahan et al., 2013)."""

    hyperparameters = ("learning_rate_power", "initial_accumulator_value", "l1_regularization_strength",
                       "l2_regularization_strength", "l2_shrinkage_regularization_strength", "beta")

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_number("Ftrl", "learning_rate_power", learning_rate_power, high=0)
        for name in self.hyperparameters[1:]:
            check_number("Ftrl", name, locals()[name], low=0)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def slots(self):
        return [[("accumulator", float(self.initial_accumulator_value)), "linear"]]

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        l2_reg = ops.add(self.l2_regularization_strength, ops.divide(self.beta, ops.multiply(2.0, lr)))
        two_l2_reg = ops.multiply(2, l2_reg)
        power, l1 = -self.learning_rate_power, self.l1_regularization_strength
        accumulator, linear = state["accumulator"], state["linear"]
        grad_to_use = foreach.add(grads, foreach.multiply(params, 2 * self.l2_shrinkage_regularization_strength))
        new_accumulator = foreach.add(accumulator, each(ops.square, grads))
        new_accumulator_power = each(lambda a: ops.power(a, power), new_accumulator)
        old_accumulator_power = each(lambda a: ops.power(a, power), accumulator)
        sigma = foreach.divide(foreach.subtract(new_accumulator_power, old_accumulator_power), lr)
        linear = foreach.add(linear, foreach.subtract(grad_to_use, foreach.multiply(sigma, params)))
        quadratic = foreach.add(foreach.divide(new_accumulator_power, lr), two_l2_reg)
        clipped = each(lambda x: ops.clip(x, -l1, l1), linear)
        new_params = foreach.divide(foreach.subtract(clipped, linear), quadratic)
        return new_params, {"accumulator": new_accumulator, "linear": linear}
