"""Cases for kshim.optimizers: every optimizer class, gradient clipping, weight decay and learning-rate schedules.

Each case builds two kshim Variables (a (3, 4) kernel and a (4,) bias) with fixed values and calls
``optimizer.apply(grads, variables)`` three times with fixed gradients (a different set each step). It returns the
variables after every step (``step1``..``step3``), the iteration count and every optimizer variable at the end
(``slots``: iteration, learning rate, then the per-variable slots in Keras 3's order).

The numpy references (float64) are Keras 3's update rules, step by step; Ftrl is compared across backends only.
Tolerances: backend vs backend rtol 1e-5 (three float32 steps; adaptive optimizers divide by square roots of small
accumulators, which amplifies the last-bit differences of the backends' sqrt/pow a little); against numpy the
default 2e-5 relative, 2e-6 absolute.
"""

import numpy as np

from conformance.case import _Lazy, case, kshim, ops, rng

INIT = [rng(800).uniform(-1, 1, size=(3, 4)).astype(np.float32), np.array([0.5, -0.25, 0.1, -1.0], np.float32)]
GRADS = [[rng(810 + k).uniform(-2, 2, size=(3, 4)).astype(np.float32),
          rng(820 + k).uniform(-2, 2, size=(4,)).astype(np.float32)] for k in range(3)]
EPS = 1e-7


def optimizer_case(name, cls_name, make, np_step=None, *, rtol=1e-5, atol=1e-6, ref_rtol=2e-5, ref_atol=2e-6,
                   clip=None, lr=None, weight_decay=None, doc=None):
    """Register ``optimizers.<name>``: three ``apply`` steps of ``make()`` (called in the worker).

    The reference runs ``np_step(w, g, state, t, lr)`` (returns the new ``w``, keeps its slots in the ``state``
    dict; ``t`` is the 1-based step) on each variable, after ``clip(grads)`` and the decoupled ``weight_decay``;
    ``lr(k)`` is the learning rate of 0-based step ``k``."""

    def run():
        opt = make()
        variables = [kshim.Variable(w, name=f"v{i}") for i, w in enumerate(INIT)]
        out = {}
        for k, grads in enumerate(GRADS):
            opt.apply([ops.convert_to_tensor(g) for g in grads], variables)
            out[f"step{k + 1}"] = [v.value for v in variables]
        out["iterations"] = opt.iterations
        out["slots"] = [v.value for v in opt.variables]
        return out

    reference = None
    if np_step is not None:
        def reference():
            ws = [w.astype(np.float64) for w in INIT]
            states = [{} for _ in ws]
            res = {}
            for k, grads in enumerate(GRADS):
                gs = [g.astype(np.float64) for g in grads]
                gs = clip(gs) if clip else gs
                rate = lr(k) if lr else None
                for i, g in enumerate(gs):
                    if weight_decay:
                        ws[i] = ws[i] - ws[i] * weight_decay * rate
                    ws[i] = np_step(ws[i], g, states[i], k + 1, rate)
                res[f"step{k + 1}"] = list(ws)
            res["iterations"] = np.array(3)
            return res

    run.__doc__ = doc or f"{cls_name}: three apply() steps on two variables"
    run.__module__ = __name__
    return case(f"optimizers.{name}", family="optimizers", rtol=rtol, atol=atol, reference=reference,
                ref_rtol=ref_rtol, ref_atol=ref_atol, covers=(f"optimizers.{cls_name}",))(run)


def _const(value):
    return lambda k: value


# ----------------------------------------------------------------------------------------------------------------
# Keras 3's update rules in numpy


def sgd(momentum=0.0, nesterov=False):
    def step(w, g, s, t, lr):
        if momentum == 0:
            return w - lr * g
        m = s["m"] = s.get("m", 0.0) * momentum - lr * g
        return w + (m * momentum - lr * g if nesterov else m)

    return step


def rmsprop(rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    def step(w, g, s, t, lr):
        v = s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
        if centered:
            a = s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
            denominator = v - a * a + epsilon
        else:
            denominator = v + epsilon
        increment = lr * g / np.sqrt(denominator)
        if momentum > 0:
            mom = s["mom"] = momentum * s.get("mom", 0.0) + increment
            return w - mom
        return w - increment

    return step


def adam(beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    def step(w, g, s, t, lr):
        alpha = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        m = s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
        v = s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - beta_2)
        if amsgrad:
            v = s["vhat"] = np.maximum(s.get("vhat", 0.0), v)
        return w - m * alpha / (np.sqrt(v) + epsilon)

    return step


def adagrad(initial=0.1, epsilon=1e-7):
    def step(w, g, s, t, lr):
        acc = s["acc"] = s.get("acc", initial) + g * g
        return w - lr * g / np.sqrt(acc + epsilon)

    return step


def adadelta(rho=0.95, epsilon=1e-7):
    def step(w, g, s, t, lr):
        eg = s["eg"] = rho * s.get("eg", 0.0) + (1 - rho) * g * g
        delta = -np.sqrt(s.get("ed", 0.0) + epsilon) * g / np.sqrt(eg + epsilon)
        s["ed"] = rho * s.get("ed", 0.0) + (1 - rho) * delta * delta
        return w + lr * delta

    return step


def adamax(beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    def step(w, g, s, t, lr):
        m = s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
        u = s["u"] = np.maximum(beta_2 * s.get("u", 0.0), np.abs(g))
        return w - lr * m / ((1 - beta_1 ** t) * (u + epsilon))

    return step


def nadam(beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    def step(w, g, s, t, lr):
        u_t = beta_1 * (1 - 0.5 * 0.96 ** t)
        u_t_1 = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_product_t = s["u_product"] = s.get("u_product", 1.0) * u_t
        u_product_t_1 = u_product_t * u_t_1
        m = s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
        v = s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - beta_2)
        m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
        v_hat = v / (1 - beta_2 ** t)
        return w - m_hat * lr / (np.sqrt(v_hat) + epsilon)

    return step


def lion(beta_1=0.9, beta_2=0.99):
    def step(w, g, s, t, lr):
        m = s.get("m", 0.0)
        w = w - lr * np.sign(m * beta_1 + g * (1 - beta_1))
        s["m"] = m * beta_2 + g * (1 - beta_2)
        return w

    return step


def ftrl(power=-0.5, initial=0.1, l1=0.0, l2=0.0, shrinkage=0.0, beta=0.0):
    def step(w, g, s, t, lr):
        accum = s.get("accum", np.full_like(w, initial))
        linear = s.get("linear", np.zeros_like(w))
        grad_to_use = g + 2 * shrinkage * w
        new_accum = accum + g * g
        sigma = (new_accum ** -power - accum ** -power) / lr
        linear = s["linear"] = linear + grad_to_use - sigma * w
        quadratic = new_accum ** -power / lr + 2 * (l2 + beta / (2 * lr))
        s["accum"] = new_accum
        return (np.clip(linear, -l1, l1) - linear) / quadratic

    return step


def _clipnorm(c):
    return lambda gs: [g * c / max(np.sqrt(np.sum(g * g)), c) for g in gs]


def _global_clipnorm(c):
    def clip(gs):
        norm = np.sqrt(sum(np.sum(g * g) for g in gs))
        return [g * c / max(norm, c) for g in gs]

    return clip


# ----------------------------------------------------------------------------------------------------------------
# Every optimizer class

O = _Lazy("kshim.optimizers")  # resolved in the worker (importing this module must not import kshim)

optimizer_case("sgd", "SGD", lambda: O.SGD(0.1), sgd(), lr=_const(0.1))
optimizer_case("sgd.momentum", "SGD", lambda: O.SGD(0.1, momentum=0.9), sgd(0.9), lr=_const(0.1))
optimizer_case("sgd.nesterov", "SGD", lambda: O.SGD(0.1, momentum=0.9, nesterov=True), sgd(0.9, True),
               lr=_const(0.1))
optimizer_case("rmsprop", "RMSprop", lambda: O.RMSprop(0.01), rmsprop(), lr=_const(0.01))
optimizer_case("rmsprop.centered_momentum", "RMSprop", lambda: O.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True),
               rmsprop(0.8, 0.5, centered=True), lr=_const(0.01))
optimizer_case("adam", "Adam", lambda: O.Adam(0.01), adam(), lr=_const(0.01))
optimizer_case("adam.amsgrad", "Adam", lambda: O.Adam(0.01, beta_1=0.8, beta_2=0.9, amsgrad=True),
               adam(0.8, 0.9, amsgrad=True), lr=_const(0.01))
optimizer_case("adamw", "AdamW", lambda: O.AdamW(0.01, weight_decay=0.1), adam(), lr=_const(0.01),
               weight_decay=0.1)
optimizer_case("adagrad", "Adagrad", lambda: O.Adagrad(0.05), adagrad(), lr=_const(0.05))
# Adadelta at its default learning rate moves the weights by ~1e-7; lr=1.0 makes the updates visible.
optimizer_case("adadelta", "Adadelta", lambda: O.Adadelta(1.0), adadelta(), lr=_const(1.0))
optimizer_case("adamax", "Adamax", lambda: O.Adamax(0.01), adamax(), lr=_const(0.01))
optimizer_case("nadam", "Nadam", lambda: O.Nadam(0.01), nadam(), lr=_const(0.01))
optimizer_case("ftrl", "Ftrl", lambda: O.Ftrl(0.05), ftrl(), lr=_const(0.05))
optimizer_case("ftrl.regularized", "Ftrl",
               lambda: O.Ftrl(0.05, l1_regularization_strength=0.01, l2_regularization_strength=0.02,
                              l2_shrinkage_regularization_strength=0.03, beta=0.1),
               ftrl(l1=0.01, l2=0.02, shrinkage=0.03, beta=0.1), lr=_const(0.05))
optimizer_case("lion", "Lion", lambda: O.Lion(0.01), lion(), lr=_const(0.01))

# ----------------------------------------------------------------------------------------------------------------
# Clipping, weight decay, schedules (on SGD, whose update is simple enough to check them in numpy)

optimizer_case("clipnorm", "SGD", lambda: O.SGD(0.1, clipnorm=1.0), sgd(), lr=_const(0.1), clip=_clipnorm(1.0),
               doc="SGD(0.1, clipnorm=1.0): each gradient rescaled to norm <= 1")
optimizer_case("clipvalue", "SGD", lambda: O.SGD(0.1, clipvalue=0.5), sgd(), lr=_const(0.1),
               clip=lambda gs: [np.clip(g, -0.5, 0.5) for g in gs],
               doc="SGD(0.1, clipvalue=0.5): gradients clipped elementwise")
optimizer_case("global_clipnorm", "SGD", lambda: O.SGD(0.1, momentum=0.5, global_clipnorm=1.5), sgd(0.5),
               lr=_const(0.1), clip=_global_clipnorm(1.5),
               doc="SGD(0.1, momentum=0.5, global_clipnorm=1.5): all gradients rescaled by one factor")
optimizer_case("clipnorm.adam", "Adam", lambda: O.Adam(0.01, clipnorm=0.5), adam(), lr=_const(0.01),
               clip=_clipnorm(0.5), doc="Adam(0.01, clipnorm=0.5)")
optimizer_case("sgd.weight_decay", "SGD", lambda: O.SGD(0.1, momentum=0.9, weight_decay=0.05), sgd(0.9),
               lr=_const(0.1), weight_decay=0.05, doc="SGD with decoupled weight decay applied before the update")
optimizer_case("schedule.exponential_decay", "SGD",
               lambda: O.SGD(O.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5), momentum=0.9),
               sgd(0.9), lr=lambda k: 0.1 * 0.5 ** k,
               doc="SGD(momentum=0.9) with ExponentialDecay(0.1, 1, 0.5): lr 0.1, 0.05, 0.025")
optimizer_case("schedule.cosine_decay", "Adam",
               lambda: O.Adam(O.schedules.CosineDecay(0.02, decay_steps=4)), adam(),
               lr=lambda k: 0.02 * 0.5 * (1 + np.cos(np.pi * min(k, 4) / 4)),
               doc="Adam with CosineDecay(0.02, decay_steps=4)")


def _stateless_reference():
    ws = [w.astype(np.float64) for w in INIT]
    states = [{} for _ in ws]
    step = adam()
    for k, grads in enumerate(GRADS):
        ws = [step(w, g.astype(np.float64), s, k + 1, 0.01) for w, g, s in zip(ws, grads, states)]
    return {"trainable": ws, "own_values_kept": np.array(True)}


@case("optimizers.stateless_apply", family="optimizers", rtol=1e-5, atol=1e-6, reference=_stateless_reference,
      covers=("optimizers.Adam",))
def _stateless_apply():
    """Adam.stateless_apply three times gives the stateful numbers and leaves the variables untouched."""
    opt = kshim.optimizers.Adam(0.01)
    variables = [kshim.Variable(w, name=f"v{i}") for i, w in enumerate(INIT)]
    opt.build(variables)
    trainable = [v.value for v in variables]
    opt_values = [v.value for v in opt.variables]
    for grads in GRADS:
        trainable, opt_values = opt.stateless_apply(opt_values, [ops.convert_to_tensor(g) for g in grads], trainable)
    kept = all(np.array_equal(ops.convert_to_numpy(v.value), w) for v, w in zip(variables, INIT))
    return {"trainable": trainable, "optimizer": opt_values, "own_values_kept": np.array(kept)}
