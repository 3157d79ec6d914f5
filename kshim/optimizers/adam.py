"""Adam (with the AMSGrad variant), as Keras 3."""

from kshim import ops
from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, local_step


class Adam(Optimizer):
    """``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``w -= m * lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) / (sqrt(v) + epsilon)`` (Keras's epsilon-hat form).
    ``amsgrad`` uses the running maximum of ``v``."""

    hyperparameters = ("beta_1", "beta_2", "epsilon", "amsgrad")
    inplace_update = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        epsilon = self.default_epsilon(epsilon)
        cls_name = type(self).__name__
        check_number(cls_name, "beta_1", beta_1, low=0, high=1, high_open=True)
        check_number(cls_name, "beta_2", beta_2, low=0, high=1, high_open=True)
        check_number(cls_name, "epsilon", epsilon, low=0)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = bool(amsgrad)

    def slots(self):
        return [["momentum", "velocity"]] + ([["velocity_hat"]] if self.amsgrad else [])

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        t = local_step(step, ops.dtype(lr))
        # A Python float base is weak: it is rounded to the dtype first, so these are the same bits as
        # ``power(cast(beta, dtype), t)`` without converting the constant to a tensor on every step.
        beta_1_power = ops.power(float(self.beta_1), t)
        beta_2_power = ops.power(float(self.beta_2), t)
        alpha = ops.divide(ops.multiply(lr, ops.sqrt(ops.subtract(1, beta_2_power))), ops.subtract(1, beta_1_power))
        m, v = state["momentum"], state["velocity"]
        m = foreach.add(m, foreach.multiply(foreach.subtract(grads, m), 1 - self.beta_1, inplace=True), inplace=inplace)
        g2 = foreach.subtract(foreach.multiply(grads, grads), v, inplace=True)
        v = foreach.add(v, foreach.multiply(g2, 1 - self.beta_2, inplace=True), inplace=inplace)
        new = {"momentum": m, "velocity": v}
        if self.amsgrad:
            v = new["velocity_hat"] = foreach.maximum(state["velocity_hat"], v, inplace=inplace)
        denominator = foreach.add(foreach.sqrt(v), self.epsilon, inplace=True)
        steps = foreach.divide(foreach.multiply(m, alpha), denominator, inplace=True)
        return foreach.subtract(params, steps, inplace=inplace), new
