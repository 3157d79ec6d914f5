"""Lion (evolved sign momentum), as Keras 3."""

from kshim import ops
from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, each


class Lion(Optimizer):
    """``w -= lr * sign(beta_1 * m + (1 - beta_1) * g)``; then ``m = beta_2 * m + (1 - beta_2) * g``."""

    hyperparameters = ("beta_1", "beta_2")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        # beta_1 = 0 would make Lion plain SignSGD, so Keras requires beta_1 in (0, 1].
        check_number("Lion", "beta_1", beta_1, low=0, high=1, low_open=True)
        check_number("Lion", "beta_2", beta_2, low=0, high=1)
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def slots(self):
        return [["momentum"]]

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        m, b1, b2 = state["momentum"], self.beta_1, self.beta_2
        direction = each(ops.sign, foreach.add(foreach.multiply(m, b1), foreach.multiply(grads, 1.0 - b1)))
        new_params = foreach.subtract(params, foreach.multiply(direction, lr))
        return new_params, {"momentum": foreach.add(foreach.multiply(m, b2), foreach.multiply(grads, 1.0 - b2))}
