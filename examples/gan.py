"""A GAN on scikit-learn's digits, with the training step written by hand, as Keras 3's guides write it for each
backend: a stateless ``train_step(state, data)`` on jax (``jax.value_and_grad``, ``optimizer.stateless_apply``) and a
stateful ``train_step(data)`` on torch (``loss.backward()``, separate generator and discriminator optimizers).

    KSHIM_BACKEND=torch python examples/gan.py

On jax the step is pure, so its optimizer state travels in ``state``: Keras 3's contract carries one optimizer's
variables there, so the jax step gives both networks one SGD optimizer (one update of the discriminator, then one
of the generator; a zero gradient leaves a weight as it was under plain SGD).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kshim as keras  # noqa: E402
from digits_data import digits_split  # noqa: E402
from kshim import ops  # noqa: E402

LATENT = 16


def networks():
    discriminator = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64), keras.layers.LeakyReLU(0.2),
                                      keras.layers.Dense(1)], name="discriminator")
    generator = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(64), keras.layers.LeakyReLU(0.2),
                                  keras.layers.Dense(64, activation="sigmoid")], name="generator")
    return discriminator, generator


class GANBase(keras.Model):
    def __init__(self, discriminator, generator):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]


class TorchGAN(GANBase):
    """Keras 3's "Customizing what happens in fit() with PyTorch" GAN."""

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def train_step(self, real_images):
        if isinstance(real_images, tuple):
            real_images = real_images[0]
        batch = ops.shape(real_images)[0]
        noise = keras.random.normal((batch, LATENT), seed=self.seed_generator)
        fake = self.generator(noise)
        combined = ops.concatenate([fake, real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
        self.zero_grad()
        d_loss = self.loss_fn(labels, self.discriminator(combined))
        d_loss.backward()
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply([v.value.grad for v in weights], weights)

        noise = keras.random.normal((batch, LATENT), seed=self.seed_generator)
        self.zero_grad()
        g_loss = self.loss_fn(ops.zeros((batch, 1)), self.discriminator(self.generator(noise)))
        g_loss.backward()
        weights = self.generator.trainable_weights
        self.g_optimizer.apply([v.value.grad for v in weights], weights)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


class JaxGAN(GANBase):
    """The same GAN as a stateless jax step."""

    def _d_loss(self, trainable, non_trainable, real, noise):
        fake, _ = self.stateless_call(trainable, non_trainable, noise, which="generator")
        logits, _ = self.stateless_call(trainable, non_trainable, ops.concatenate([fake, real], axis=0),
                                        which="discriminator")
        batch = ops.shape(real)[0]
        labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
        return self.loss_fn(labels, logits)

    def _g_loss(self, trainable, non_trainable, noise):
        fake, _ = self.stateless_call(trainable, non_trainable, noise, which="generator")
        logits, _ = self.stateless_call(trainable, non_trainable, fake, which="discriminator")
        return self.loss_fn(ops.zeros((ops.shape(noise)[0], 1)), logits)

    def call(self, x, which="generator"):
        if which == "noise":
            return keras.random.normal((ops.shape(x)[0], LATENT), seed=self.seed_generator)
        return self.generator(x) if which == "generator" else self.discriminator(x)

    def train_step(self, state, real_images):
        import jax

        if isinstance(real_images, tuple):
            real_images = real_images[0]
        trainable, non_trainable, optimizer_values, metric_values = state
        n_d = len(self.discriminator.trainable_weights)  # the model's trainable list: discriminator, generator
        # The seed generator's state is a non-trainable variable: stateless calls draw from the state given.
        noise, non_trainable = self.stateless_call(trainable, non_trainable, real_images, which="noise")
        noise2, non_trainable = self.stateless_call(trainable, non_trainable, real_images, which="noise")

        d_loss, grads = jax.value_and_grad(self._d_loss)(trainable, non_trainable, real_images, noise)
        grads = grads[:n_d] + [ops.zeros_like(g) for g in grads[n_d:]]
        trainable, optimizer_values = self.optimizer.stateless_apply(optimizer_values, grads, trainable)
        g_loss, grads = jax.value_and_grad(self._g_loss)(trainable, non_trainable, noise2)
        grads = [ops.zeros_like(g) for g in grads[:n_d]] + grads[n_d:]
        trainable, optimizer_values = self.optimizer.stateless_apply(optimizer_values, grads, trainable)

        d_values = metric_values[:len(self.d_loss_tracker.variables)]
        g_values = metric_values[len(self.d_loss_tracker.variables):]
        d_values = self.d_loss_tracker.stateless_update_state(d_values, d_loss)
        g_values = self.g_loss_tracker.stateless_update_state(g_values, g_loss)
        logs = {"d_loss": self.d_loss_tracker.stateless_result(d_values),
                "g_loss": self.g_loss_tracker.stateless_result(g_values)}
        return logs, (trainable, non_trainable, optimizer_values, d_values + g_values)


def main(epochs=20):
    keras.utils.set_random_seed(0)
    x_train, _, _, _ = digits_split()
    discriminator, generator = networks()
    if ops.stateless_steps():
        gan = JaxGAN(discriminator, generator)
        gan.compile(optimizer=keras.optimizers.SGD(0.05))
    else:
        gan = TorchGAN(discriminator, generator)
        gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    gan.built = True
    history = gan.fit(x_train, batch_size=64, epochs=epochs, verbose=2)
    samples = ops.convert_to_numpy(generator(keras.random.normal((8, LATENT), seed=7)))
    print(f"generated {samples.shape}, pixel mean {np.mean(samples):.3f} (real digits: {np.mean(x_train):.3f})")
    return history, samples


if __name__ == "__main__":
    main()
