"""A variational autoencoder on scikit-learn's digits: the KL term is added with ``add_loss`` inside ``call``, and
a metric tracker logs it, updated in a ``compute_loss`` override. No backend-specific code: it runs unchanged on
either backend.

    KSHIM_BACKEND=jax python examples/vae.py
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kshim as keras  # noqa: E402
from digits_data import digits_split  # noqa: E402
from kshim import ops  # noqa: E402

LATENT = 2


class Sampling(keras.layers.Layer):
    """z = mean + exp(logvar / 2) * eps, eps ~ N(0, 1) from the layer's seed (the same draws on both backends)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        mean, logvar = inputs
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * logvar) * eps


class VAE(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encoder_hidden = keras.layers.Dense(32, activation="relu")
        self.to_mean = keras.layers.Dense(LATENT)
        self.to_logvar = keras.layers.Dense(LATENT)
        self.sampling = Sampling()
        self.decoder_hidden = keras.layers.Dense(32, activation="relu")
        self.decoder_out = keras.layers.Dense(64, activation="sigmoid")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    def encode(self, x):
        h = self.encoder_hidden(x)
        return self.to_mean(h), self.to_logvar(h)

    def decode(self, z):
        return self.decoder_out(self.decoder_hidden(z))

    def call(self, x):
        mean, logvar = self.encode(x)
        kl = -0.5 * ops.mean(ops.sum(1.0 + logvar - ops.square(mean) - ops.exp(logvar), axis=1))
        self.add_loss(kl / 64.0)  # per pixel, like the reconstruction loss
        return self.decode(self.sampling([mean, logvar]))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)  # reconstruction + KL
        if self.losses:
            self.kl_tracker.update_state(self.losses[0])
        return loss


def main(epochs=30):
    keras.utils.set_random_seed(0)
    x_train, _, x_test, _ = digits_split()
    vae = VAE()
    vae.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy")
    history = vae.fit(x_train, x_train, batch_size=64, epochs=epochs, verbose=2)
    test_loss = vae.evaluate(x_test, x_test, verbose=0)
    mean, _ = vae.encode(ops.convert_to_tensor(x_test))
    images = vae.decode(mean)
    print(f"test loss {test_loss[0]:.4f}; latent means span {ops.convert_to_numpy(ops.min(mean)):.2f} .. "
          f"{ops.convert_to_numpy(ops.max(mean)):.2f}; decoded {tuple(images.shape)}")
    return history, test_loss


if __name__ == "__main__":
    main()
