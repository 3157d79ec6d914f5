"""A deliberately broken model: `NoisyScale` draws noise from ``np.random`` each time it is called.

That noise comes from the host's global numpy generator, not from kshim's seeded, counter-based randomness: it is
not the same on both backends (and a compiled step freezes it into a constant on jax). The check reports
`noisy_scale` as the first layer where the backends diverge.
"""

import numpy as np

import kshim as keras
from kshim import layers, ops


class NoisyScale(layers.Layer):
    """Multiplies by 1 + noise, with the noise drawn by numpy at call time (the bug)."""

    def call(self, inputs):
        noise = np.random.normal(0.0, 0.1, size=tuple(inputs.shape[1:])).astype("float32")
        return inputs * (1.0 + ops.convert_to_tensor(noise))


def build_model():
    model = keras.Sequential([
        keras.Input((12,)),
        layers.Dense(16, activation="relu"),
        NoisyScale(name="noisy_scale"),
        layers.Dense(1),
    ])
    model.compile(optimizer="sgd", loss="mse")
    return model


def sample():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 12)).astype("float32")
    return x, x[:, :1] * 2.0
