"""RMSprop, plain, centered and with momentum, as Keras 3."""

from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer



class RMSprop(Optimizer):
    """``v = rho * v + (1 - rho) * g**2``; ``w -= lr * g / sqrt(v + epsilon)``. ``centered`` subtracts the
    squared moving average of ``g`` from ``v`` inside the root; ``momentum`` accumulates the increments."""

    hyperparameters = ("rho", "momentum", "epsilon", "centered")
    inplace_update = True

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        epsilon = self.default_epsilon(epsilon)
        check_number("RMSprop", "rho", rho, low=0, high=1)
        check_number("RMSprop", "momentum", momentum, low=0, high=1)
        check_number("RMSprop", "epsilon", epsilon, low=0)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = bool(centered)

    def slots(self):
        return ([["velocity"]] + ([["momentum"]] if self.momentum > 0 else [])
                + ([["average_gradient"]] if self.centered else []))

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        rho = self.rho
        g2 = foreach.multiply(foreach.multiply(grads, grads), 1 - rho, inplace=True)
        v = foreach.add(foreach.multiply(state["velocity"], rho, inplace=inplace), g2, inplace=inplace)
        new = {"velocity": v}
        if self.centered:
            a = foreach.add(foreach.multiply(state["average_gradient"], rho, inplace=inplace),
                            foreach.multiply(grads, 1 - rho), inplace=inplace)
            new["average_gradient"] = a
            denominator = foreach.add(foreach.subtract(v, foreach.multiply(a, a)), self.epsilon, inplace=True)
        else:
            denominator = foreach.add(v, self.epsilon)
        increment = foreach.divide(foreach.multiply(grads, lr), foreach.sqrt(denominator, inplace=True), inplace=True)
        if self.momentum > 0:
            increment = new["momentum"] = foreach.add(foreach.multiply(state["momentum"], self.momentum,
                                                                       inplace=inplace), increment, inplace=inplace)
        return foreach.subtract(params, increment, inplace=inplace), new
