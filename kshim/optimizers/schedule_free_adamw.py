"""ScheduleFreeAdamW (Defazio et al., 2024, "The Road Less Scheduled"), as Keras 3.15."""

import numpy as np

from kshim import ops
from kshim.ops import foreach
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, local_step


class ScheduleFreeAdamW(Optimizer):
    """Adam without a learning-rate schedule: the trained weights ``y`` interpolate between the fast iterate
    ``z`` (the ``momentum`` slot, which starts as a copy of the weights) and the running average ``x`` of the
    ``z`` iterates. Step ``t`` (with ``lr`` ramped by ``min(t / warmup_steps, 1)`` when ``warmup_steps > 0``):

    ``v += (g**2 - v)(1 - beta_2)``; ``z -= lr * g / (sqrt(v / (1 - beta_2**t)) + epsilon)``;
    ``x_old = (y - (1 - beta_1) z_old) / beta_1``; ``x = (1 - 1/t) x_old + z / t``; ``y = (1 - beta_1) z + beta_1 x``.

    Keras 3's arguments, slot names (``momentum``, ``velocity``) and float32 arithmetic; ``weight_decay`` is the
    decoupled decay every optimizer applies before its update."""

    hyperparameters = ("beta_1", "beta_2", "epsilon", "warmup_steps")

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8, warmup_steps=0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_number("ScheduleFreeAdamW", "beta_1", beta_1, low=0, high=1, low_open=True)
        check_number("ScheduleFreeAdamW", "beta_2", beta_2, low=0, high=1, high_open=True)
        check_number("ScheduleFreeAdamW", "epsilon", epsilon, low=0)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, np.integer)) or warmup_steps < 0:
            raise ValueError("ScheduleFreeAdamW: `warmup_steps` must be a non-negative integer. Received: "
                             f"warmup_steps={warmup_steps!r}")
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = int(warmup_steps)

    def slots(self):
        return [["momentum", "velocity"]]

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        for z, variable in zip(self._slots["momentum"], self._trainable_variables):
            z.assign(ops.copy(variable.value))  # z starts at the weights

    def _constants(self, dtype):
        """Keras 3 casts the betas and epsilon to the variable dtype before any arithmetic: the same roundings."""
        f = np.dtype("float32" if dtype in ("bfloat16", "float16") else dtype).type
        b1, b2 = f(self.beta_1), f(self.beta_2)
        return float(b1), float(b2), float(f(1) - b1), float(f(1) - b2), float(f(self.epsilon))

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        dtype = ops.standardize_dtype(ops.dtype(lr))
        b1, b2, one_minus_b1, one_minus_b2, eps = self._constants(dtype)
        t = local_step(step, dtype)
        if self.warmup_steps > 0:
            lr = ops.multiply(lr, ops.minimum(ops.divide(t, float(self.warmup_steps)), 1.0))
        bias_correction_2 = ops.subtract(1.0, ops.power(b2, t))
        weight = ops.divide(1.0, t)
        z_old, v = state["momentum"], state["velocity"]
        v = foreach.add(v, foreach.multiply(foreach.subtract(foreach.multiply(grads, grads), v), one_minus_b2))
        denominator = foreach.add(foreach.sqrt(foreach.divide(v, bias_correction_2)), eps)
        z = foreach.subtract(z_old, foreach.divide(foreach.multiply(grads, lr), denominator))
        x_old = foreach.divide(foreach.subtract(params, foreach.multiply(z_old, one_minus_b1)), b1)
        x = foreach.add(foreach.multiply(x_old, ops.subtract(1.0, weight)), foreach.multiply(z, weight))
        new_params = foreach.add(foreach.multiply(z, one_minus_b1), foreach.multiply(x, b1))
        return new_params, {"momentum": z, "velocity": v}
