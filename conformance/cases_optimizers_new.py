"""Cases for the optimizers Keras 3 added: Lamb and Adafactor (three apply steps on a kernel and a bias, every
optimizer variable), with numpy references of Keras 3's update rules."""

import numpy as np

from conformance.cases_optimizers import O, _const, optimizer_case


def lamb(beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    def step(w, g, s, t, lr):
        m = s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
        v = s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - beta_2)
        u = (m / (1 - beta_1 ** t)) / (np.sqrt(v / (1 - beta_2 ** t)) + epsilon)
        w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        return w - ratio * lr * u

    return step


def _rms(x):
    return np.sqrt(np.mean(np.square(x)))


def adafactor(beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0):
    def step(w, g, s, t, lr):
        rho = min(lr, 1 / np.sqrt(t))
        alpha = max(epsilon_2, _rms(w)) * rho
        g2 = g * g + epsilon_1
        beta = 1 - t ** beta_2_decay
        if w.ndim >= 2:
            r = s["r"] = beta * s.get("r", 0.0) + (1 - beta) * g2.mean(axis=-1)
            c = s["c"] = beta * s.get("c", 0.0) + (1 - beta) * g2.mean(axis=-2)
            v = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
        else:
            v = s["v"] = beta * s.get("v", 0.0) + (1 - beta) * g2
        u = g / np.sqrt(v)
        u = u / max(1.0, _rms(u) / clip_threshold)
        return w - alpha * u

    return step


optimizer_case("lamb", "Lamb", lambda: O.Lamb(0.01), lamb(), lr=_const(0.01))
optimizer_case("lamb.args", "Lamb", lambda: O.Lamb(0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-5),
               lamb(0.8, 0.99, 1e-5), lr=_const(0.05))
optimizer_case("adafactor", "Adafactor", lambda: O.Adafactor(0.01), adafactor(), lr=_const(0.01))
optimizer_case("adafactor.args", "Adafactor",
               lambda: O.Adafactor(0.5, beta_2_decay=-0.5, epsilon_2=1e-2, clip_threshold=0.5, relative_step=False),
               adafactor(-0.5, 1e-30, 1e-2, 0.5), lr=_const(0.5))


def muon(momentum=0.95, a=3.4445, b=-4.7750, c=2.0315, steps=5, rms_rate=0.2, beta_1=0.9, beta_2=0.999,
         epsilon=1e-7):
    """Muon on the (3, 4) kernel, AdamW on the bias (a vector), as Keras 3."""
    def step(w, g, s, t, lr):
        if w.ndim != 2:
            alpha = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
            m = s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
            v = s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - beta_2)
            return w - m * alpha / (np.sqrt(v) + epsilon)
        m = s["m"] = s.get("m", 0.0) + g + s.get("m", 0.0) * (momentum - 1)
        x = g + momentum * m
        tall = x.shape[0] > x.shape[1]
        x = x.T if tall else x
        x = x / (np.linalg.norm(x) + 1e-7)
        for _ in range(steps):
            xa = x @ x.T
            x = a * x + (b * xa + c * xa @ xa) @ x
        x = x.T if tall else x
        return w - lr * x * np.sqrt(max(w.shape)) * rms_rate

    return step


optimizer_case("muon", "Muon", lambda: O.Muon(0.01, weight_decay=None, adam_weight_decay=None), muon(),
               lr=_const(0.01))


def schedule_free_adamw(beta_1=0.9, beta_2=0.999, epsilon=1e-8, warmup_steps=0):
    """Schedule-free AdamW: ``z`` (the momentum slot) starts at the weights; ``y`` (the weights) interpolates."""
    def step(w, g, s, t, lr):
        z_old = s.get("z", w)
        rate = lr * min(t / warmup_steps, 1.0) if warmup_steps else lr
        v = s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - beta_2)
        z = s["z"] = z_old - rate * g / (np.sqrt(v / (1 - beta_2 ** t)) + epsilon)
        x = (1 - 1 / t) * (w - (1 - beta_1) * z_old) / beta_1 + z / t
        return (1 - beta_1) * z + beta_1 * x

    return step


optimizer_case("schedule_free_adamw", "ScheduleFreeAdamW",
               lambda: O.ScheduleFreeAdamW(0.01, warmup_steps=2, epsilon=1e-6),
               schedule_free_adamw(epsilon=1e-6, warmup_steps=2), lr=_const(0.01))
