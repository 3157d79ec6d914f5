"""Muon (momentum orthogonalized by Newton-Schulz), as Keras 3: 2-D weights take Muon steps, the others (and
embeddings, and layers matched by ``exclude_layers``) take AdamW steps."""

import re

from kshim import ops
from kshim.optimizers.arguments import check_number
from kshim.optimizers.optimizer import Optimizer, local_step


def _swap_last(x):
    axes = list(range(len(ops.shape(x))))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return ops.transpose(x, axes)


class Muon(Optimizer):
    """For a matrix: ``m += g + m (momentum - 1)``; the direction ``g + momentum * m`` (Nesterov) or ``m`` is
    orthogonalized by ``ns_steps`` quintic Newton-Schulz iterations (coefficients ``muon_a/b/c``) and scaled by
    ``sqrt(max(rows, cols)) * rms_rate``; ``w -= lr * that``. Other variables: Adam with ``adam_beta_1/2``,
    ``epsilon`` and the rate ``lr * adam_lr_ratio``. Weight decay: ``weight_decay`` for the Muon variables,
    ``adam_weight_decay`` for the AdamW ones."""

    hyperparameters = ("adam_beta_1", "adam_beta_2", "epsilon", "exclude_layers", "muon_a", "muon_b", "muon_c",
                       "adam_lr_ratio", "momentum", "ns_steps", "nesterov", "exclude_embeddings",
                       "adam_weight_decay", "rms_rate")
    _decays_per_variable = True

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, adam_weight_decay=0.004,
                 epsilon=1e-7, weight_decay=0.004, exclude_layers=None, exclude_embeddings=True, muon_a=3.4445,
                 muon_b=-4.7750, muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True,
                 rms_rate=0.2, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)
        check_number("Muon", "adam_beta_1", adam_beta_1, low=0, high=1, high_open=True)
        check_number("Muon", "adam_beta_2", adam_beta_2, low=0, high=1, high_open=True)
        check_number("Muon", "epsilon", epsilon, low=0)
        check_number("Muon", "momentum", momentum, low=0, high=1)
        if not isinstance(ns_steps, int) or isinstance(ns_steps, bool) or ns_steps < 0:
            raise ValueError(f"Muon: `ns_steps` must be a non-negative integer. Received: ns_steps={ns_steps!r}")
        self.adam_beta_1, self.adam_beta_2, self.epsilon = adam_beta_1, adam_beta_2, epsilon
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio, self.momentum, self.ns_steps, self.nesterov = adam_lr_ratio, momentum, ns_steps, nesterov
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings, self.adam_weight_decay, self.rms_rate = exclude_embeddings, adam_weight_decay, rms_rate

    def _uses_adamw(self, variable):
        if len(variable.shape) != 2:
            return True
        path = str(getattr(variable, "path", variable.name))
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def _weight_decay_for(self, variable):
        return self.adam_weight_decay if self._uses_adamw(variable) else self.weight_decay

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self.built = False
        momentum, velocity = [], []
        for variable in variables:
            momentum.append(self.add_variable_from_reference(variable, name="momentum"))
            # A Muon variable has no velocity; its entry aliases the momentum. `fused_update.run` writes the slots
            # in this dict's order, so the momentum (last) wins over the alias, which `update` passes through.
            velocity.append(self.add_variable_from_reference(variable, name="velocity")
                            if self._uses_adamw(variable) else momentum[-1])
        self._slots = {"velocity": velocity, "momentum": momentum}
        self.built = True

    def _orthogonalize(self, x):
        rows, cols = ops.shape(x)[-2:]
        if rows > cols:
            x = _swap_last(x)
        x = ops.divide(x, ops.add(ops.norm(x, axis=(-2, -1), keepdims=True), 1e-7))
        for _ in range(self.ns_steps):
            a = ops.matmul(x, _swap_last(x))
            b = ops.add(ops.multiply(self.muon_b, a), ops.multiply(self.muon_c, ops.matmul(a, a)))
            x = ops.add(ops.multiply(self.muon_a, x), ops.matmul(b, x))
        return _swap_last(x) if rows > cols else x

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        lr = self.cast(learning_rate, params)
        t = local_step(step, ops.dtype(lr))
        alpha = ops.divide(ops.multiply(ops.multiply(lr, self.adam_lr_ratio),
                                        ops.sqrt(ops.subtract(1.0, ops.power(float(self.adam_beta_2), t)))),
                           ops.subtract(1.0, ops.power(float(self.adam_beta_1), t)))
        new_w, new_m, new_v = [], [], []
        for g, w, m, v in zip(grads, params, state["momentum"], state["velocity"]):
            if v is not m:  # an AdamW variable (a Muon variable's velocity entry is its momentum, see `build`)
                m = ops.add(m, ops.multiply(ops.subtract(g, m), 1 - self.adam_beta_1))
                v = ops.add(v, ops.multiply(ops.subtract(ops.square(g), v), 1 - self.adam_beta_2))
                w = ops.subtract(w, ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), self.epsilon)))
            else:
                m = ops.add(m, ops.add(g, ops.multiply(m, self.momentum - 1)))
                direction = ops.add(g, ops.multiply(self.momentum, m)) if self.nesterov else m
                u = ops.multiply(lr, self._orthogonalize(direction))
                if self.rms_rate is not None:
                    rows, cols = ops.shape(u)
                    u = ops.multiply(ops.multiply(u, float(max(rows, cols)) ** 0.5), self.rms_rate)
                w = ops.subtract(w, u)
            new_w.append(w)
            new_m.append(m)
            new_v.append(v)
        return new_w, {"momentum": new_m, "velocity": new_v}
