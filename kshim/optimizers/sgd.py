"""SGD, with optional (Nesterov) momentum, as Keras 3."""

from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer



class SGD(Optimizer):
    """Gradient descent. With ``momentum`` m: ``velocity = m * velocity - lr * g``; ``w += velocity`` (or, with
    ``nesterov``, ``w += m * velocity - lr * g``). Without momentum: ``w -= lr * g``."""

    hyperparameters = ("momentum", "nesterov")
    inplace_update = True

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_number("SGD", "momentum", momentum, low=0, high=1)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def slots(self):
        return [["momentum"]] if self.momentum != 0 else []

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        scaled = foreach.multiply(grads, lr)
        if self.momentum == 0:
            return foreach.subtract(params, scaled, inplace=inplace), state
        m = foreach.subtract(foreach.multiply(state["momentum"], self.momentum, inplace=inplace), scaled,
                             inplace=inplace)
        if self.nesterov:
            step = foreach.subtract(foreach.multiply(m, self.momentum), scaled, inplace=True)
            return foreach.add(params, step, inplace=inplace), {"momentum": m}
        return foreach.add(params, m, inplace=inplace), {"momentum": m}
