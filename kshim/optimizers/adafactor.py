"""Adafactor (factored second moments), as Keras 3."""

from kshim import ops
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, local_step


def _rms(x):
    return ops.sqrt(ops.mean(ops.square(x)))


class Adafactor(Optimizer):
    """Adam-like steps with the second moment of each matrix kept as its row and column means (``r``, ``c``; a
    vector keeps a full ``v``), a relative step ``rho = min(lr, 1 / sqrt(t))`` scaled by ``max(epsilon_2,
    rms(w))``, and the update clipped to RMS ``clip_threshold``.

    Variables are made in Keras 3's order: per variable ``r`` and ``c`` (rows and columns, for rank >= 2) then the
    velocity; for a vector, ``r`` and ``c`` are scalars that stay 0 (as Keras 3 makes them)."""

    hyperparameters = ("beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold", "relative_step")

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                 relative_step=True, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_number("Adafactor", "beta_2_decay", beta_2_decay, high=0)
        check_number("Adafactor", "epsilon_1", epsilon_1, low=0)
        check_number("Adafactor", "epsilon_2", epsilon_2, low=0)
        check_number("Adafactor", "clip_threshold", clip_threshold, low=0, low_open=True)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, bool(relative_step)

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self.built = False
        r, c, v = [], [], []
        for variable in variables:
            shape = tuple(variable.shape)
            factored = len(shape) >= 2  # a vector's r and c are scalar placeholders that stay 0, as in Keras 3
            r.append(self.add_variable(shape[:-1] if factored else (), dtype=variable.dtype, name=variable.name))
            c.append(self.add_variable(shape[:-2] + shape[-1:] if factored else (), dtype=variable.dtype,
                                       name=variable.name))
            v.append(self.add_variable_from_reference(variable, name="velocity"))
        self._slots = {"r": r, "c": c, "velocity": v}
        self.built = True

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        t = local_step(step, ops.dtype(lr))
        rho = ops.minimum(lr, ops.divide(1.0, ops.sqrt(t)))
        beta = ops.subtract(1.0, ops.power(t, float(self.beta_2_decay)))
        new_params, new_r, new_c, new_v = [], [], [], []
        for g, w, r, c, v in zip(grads, params, state["r"], state["c"], state["velocity"]):
            alpha = ops.multiply(ops.maximum(self.epsilon_2, _rms(w)), rho)
            g2 = ops.add(ops.square(g), self.epsilon_1)
            if len(ops.shape(w)) >= 2:
                r = ops.add(ops.multiply(beta, r), ops.multiply(ops.subtract(1.0, beta), ops.mean(g2, axis=-1)))
                c = ops.add(ops.multiply(beta, c), ops.multiply(ops.subtract(1.0, beta), ops.mean(g2, axis=-2)))
                v = ops.multiply(ops.expand_dims(ops.divide(r, ops.mean(r, axis=-1, keepdims=True)), -1),
                                 ops.expand_dims(c, -2))
            else:
                v = ops.add(ops.multiply(beta, v), ops.multiply(ops.subtract(1.0, beta), g2))
            u = ops.divide(g, ops.sqrt(v))
            u = ops.divide(u, ops.maximum(1.0, ops.divide(_rms(u), self.clip_threshold)))
            new_params.append(ops.subtract(w, ops.multiply(alpha, u)))
            new_r.append(r)
            new_c.append(c)
            new_v.append(v)
        return new_params, {"r": new_r, "c": new_c, "velocity": new_v}
