"""Nadam (Adam with Nesterov momentum and Dozat's momentum schedule), as Keras 3."""

from kshim import ops
from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, each, local_step


class Nadam(Optimizer):
    """Keras 3's Nadam: momentum ``u_t = beta_1 * (1 - 0.5 * 0.96**t)``, whose running product is one extra
    optimizer variable (after the slots, as in Keras), updated once per step before the variables."""

    hyperparameters = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        epsilon = self.default_epsilon(epsilon)
        check_number("Nadam", "beta_1", beta_1, low=0, high=1, high_open=True)
        check_number("Nadam", "beta_2", beta_2, low=0, high=1, high_open=True)
        check_number("Nadam", "epsilon", epsilon, low=0)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def slots(self):
        return [["momentum", "velocity"]]

    def scalar_slots(self):
        return [("u_product", 1.0)]

    def _momentum(self, decay, t):
        """``beta_1 * (1 - 0.5 * decay**t)``, Dozat's momentum at step t."""
        return ops.multiply(ops.cast(self.beta_1, ops.dtype(decay)),
                            ops.subtract(1.0, ops.multiply(0.5, ops.power(decay, t))))

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        u = state["u_product"]
        decay_power = ops.power(0.96, local_step(step, ops.dtype(u)))
        u = ops.multiply(ops.multiply(u, self.beta_1), ops.subtract(1.0, ops.multiply(0.5, decay_power)))
        lr = self.cast(learning_rate, params)
        dtype = ops.dtype(lr)
        decay, t = ops.cast(0.96, dtype), local_step(step, dtype)
        u_t, u_t_1 = self._momentum(decay, t), self._momentum(decay, local_step(step, dtype, 2))
        u_product_t = ops.cast(u, dtype)
        u_product_t_1 = ops.multiply(u_product_t, u_t_1)
        one_minus_beta_2_power = ops.subtract(1, ops.power(ops.cast(self.beta_2, dtype), t))
        # m_hat = c1 * m + c2 * g and v_hat = v / (1 - beta_2**t), with the step's scalars folded once.
        c1 = ops.divide(u_t_1, ops.subtract(1, u_product_t_1))
        c2 = ops.divide(ops.subtract(1, u_t), ops.subtract(1, u_product_t))
        m, v = state["momentum"], state["velocity"]
        m = foreach.add(m, foreach.multiply(foreach.subtract(grads, m), 1 - self.beta_1))
        v = foreach.add(v, foreach.multiply(foreach.subtract(each(ops.square, grads), v), 1 - self.beta_2))
        m_hat = foreach.add(foreach.multiply(m, c1), foreach.multiply(grads, c2))
        v_hat = foreach.divide(v, one_minus_beta_2_power)
        steps = foreach.divide(foreach.multiply(m_hat, lr), foreach.add(foreach.sqrt(v_hat), self.epsilon))
        return foreach.subtract(params, steps), {"momentum": m, "velocity": v, "u_product": u}
