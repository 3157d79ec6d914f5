"""Lamb (layer-wise adaptive moments), as Keras 3."""

from kshim import ops
from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, each, local_step


def _trust_ratio(weight, update):
    """``|w| / |update|`` (Frobenius norms), or 1 where either norm is 0."""
    w_norm = ops.sqrt(ops.sum(ops.square(weight)))
    u_norm = ops.sqrt(ops.sum(ops.square(update)))
    one = ops.ones_like(w_norm)
    safe = ops.where(ops.greater(u_norm, 0), u_norm, one)
    return ops.where(ops.logical_and(ops.greater(w_norm, 0), ops.greater(u_norm, 0)), ops.divide(w_norm, safe), one)


class Lamb(Optimizer):
    """Adam's bias-corrected direction ``u = m_hat / (sqrt(v_hat) + epsilon)``, scaled per variable by the trust
    ratio ``|w| / |u|``: ``w -= ratio * lr * u``."""

    hyperparameters = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_number("Lamb", "beta_1", beta_1, low=0, high=1, high_open=True)
        check_number("Lamb", "beta_2", beta_2, low=0, high=1, high_open=True)
        check_number("Lamb", "epsilon", epsilon, low=0)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def slots(self):
        return [["momentum", "velocity"]]

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        t = local_step(step, ops.dtype(lr))
        bias_1 = ops.subtract(1.0, ops.power(float(self.beta_1), t))
        bias_2 = ops.subtract(1.0, ops.power(float(self.beta_2), t))
        m, v = state["momentum"], state["velocity"]
        m = foreach.add(m, foreach.multiply(foreach.subtract(grads, m), 1 - self.beta_1))
        v = foreach.add(v, foreach.multiply(foreach.subtract(foreach.multiply(grads, grads), v), 1 - self.beta_2))
        denominator = foreach.add(foreach.sqrt(foreach.divide(v, bias_2)), self.epsilon)
        direction = foreach.divide(foreach.divide(m, bias_1), denominator)
        ratios = each(_trust_ratio, params, direction)
        steps = [ops.multiply(ops.multiply(r, lr), u) for r, u in zip(ratios, direction)]
        return foreach.subtract(params, steps), {"momentum": m, "velocity": v}
