"""Adagrad, as Keras 3."""

from kshim import ops
from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, each


class Adagrad(Optimizer):
    """``acc += g**2``; ``w -= lr * g / sqrt(acc + epsilon)``, with ``acc`` starting at
    ``initial_accumulator_value``."""

    hyperparameters = ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        epsilon = self.default_epsilon(epsilon)
        check_number("Adagrad", "initial_accumulator_value", initial_accumulator_value, low=0)
        check_number("Adagrad", "epsilon", epsilon, low=0)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def slots(self):
        return [[("accumulator", float(self.initial_accumulator_value))]]

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        accumulator = foreach.add(state["accumulator"], each(ops.square, grads))
        steps = foreach.divide(foreach.multiply(grads, lr), foreach.sqrt(foreach.add(accumulator, self.epsilon)))
        return foreach.subtract(params, steps), {"accumulator": accumulator}
