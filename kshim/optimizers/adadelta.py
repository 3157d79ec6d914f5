"""Adadelta, as Keras 3."""

from kshim import ops
from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, each


class Adadelta(Optimizer):
    """``Eg = rho * Eg + (1 - rho) * g**2``; ``delta = -sqrt(Ed + eps) / sqrt(Eg + eps) * g``;
    ``Ed = rho * Ed + (1 - rho) * delta**2``; ``w += lr * delta``."""

    hyperparameters = ("rho", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        epsilon = self.default_epsilon(epsilon)
        check_number("Adadelta", "rho", rho, low=0, high=1)
        check_number("Adadelta", "epsilon", epsilon, low=0)
        self.rho = rho
        self.epsilon = epsilon

    def slots(self):
        return [["accumulated_grad", "accumulated_delta_var"]]

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        rho, epsilon = self.rho, self.epsilon

        def average(old, new):  # rho * old + (1 - rho) * new**2
            return foreach.add(foreach.multiply(old, rho), foreach.multiply(each(ops.square, new), 1 - rho))

        eg = average(state["accumulated_grad"], grads)
        scaled = foreach.multiply(foreach.sqrt(foreach.add(state["accumulated_delta_var"], epsilon)), grads)
        delta = each(ops.negative, foreach.divide(scaled, foreach.sqrt(foreach.add(eg, epsilon))))
        ed = average(state["accumulated_delta_var"], delta)
        new_params = foreach.add(params, foreach.multiply(delta, lr))
        return new_params, {"accumulated_grad": eg, "accumulated_delta_var": ed}
