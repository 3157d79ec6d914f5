"""Adamax (Adam with the infinity norm), as Keras 3."""

from kshim import ops
from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, each, local_step


class Adamax(Optimizer):
    """``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 * u, |g|)``;
    ``w -= lr * m / ((1 - beta_1**t) * (u + epsilon))``."""

    hyperparameters = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        epsilon = self.default_epsilon(epsilon)
        check_number("Adamax", "beta_1", beta_1, low=0, high=1, high_open=True)
        check_number("Adamax", "beta_2", beta_2, low=0, high=1)
        check_number("Adamax", "epsilon", epsilon, low=0)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def slots(self):
        return [["momentum", "norm"]]

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        dtype = ops.dtype(lr)
        one_minus_beta_1_power = ops.subtract(1, ops.power(ops.cast(self.beta_1, dtype), local_step(step, dtype)))
        m = state["momentum"]
        m = foreach.add(m, foreach.multiply(foreach.subtract(grads, m), 1 - self.beta_1))
        u = foreach.maximum(foreach.multiply(state["norm"], self.beta_2), each(ops.abs, grads))
        denominator = foreach.multiply(foreach.add(u, self.epsilon), one_minus_beta_1_power)
        steps = foreach.divide(foreach.multiply(m, lr), denominator)
        return foreach.subtract(params, steps), {"momentum": m, "norm": u}
