"""Regularization layers: SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout,
ActivityRegularization. (Dropout itself lives in `kshim.layers.core`.)

Every random layer draws from kshim's counter-based generator through its own `SeedGenerator`, so the same seed
gives the same noise on both backends, and the generator state is carried through the pure training step like
any other non-trainable variable. Outside training (``training`` falsy) each layer is the identity.
"""

import math
import numbers

from kshim import ops, regularizers
from kshim import random as krandom
from kshim.layers.core import Dropout, _data_format
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer


def _rate(cls, name, value, high_inclusive=True):
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    if ok:
        ok = 0 <= value <= 1 if high_inclusive else 0 <= value < 1
    if not ok:
        interval = "[0, 1]" if high_inclusive else "[0, 1)"
        raise ValueError(f"{cls}: `{name}` must be a float in {interval}. Received: {name}={value!r}")
    return float(value)


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep/drop decision per (sample, channel)."""

    _ndim = None

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        _rate(type(self).__name__, "rate", rate)
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _data_format(type(self).__name__, data_format)
        self.input_spec = InputSpec(ndim=self._ndim)

    def _noise_shape(self, shape):
        if self.data_format == "channels_first":
            return (shape[0], shape[1]) + (1,) * (len(shape) - 2)
        return (shape[0],) + (1,) * (len(shape) - 2) + (shape[-1],)

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            noise_shape = self._noise_shape(tuple(ops.shape(inputs)))
            return krandom.dropout(inputs, self.rate, noise_shape=noise_shape, seed=self.seed_generator)
        return inputs

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("noise_shape", None)
        return {**cfg, "data_format": self.data_format}


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of (batch, steps, channels) inputs: the mask has shape (batch, 1, channels)."""

    _ndim = 3

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, data_format="channels_last", seed=seed, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("data_format")
        return cfg


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of 4-D inputs: the mask has shape (batch, 1, 1, channels) (channels_last)."""

    _ndim = 4


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature volumes of 5-D inputs: the mask has shape (batch, 1, 1, 1, channels) (channels_last)."""

    _ndim = 5


class _NoiseLayer(Layer):
    """A layer that is the identity outside training and draws its training noise from its own `SeedGenerator`
    (made only when the noise ``amount`` is > 0, so a no-op layer carries no generator state)."""

    def _seed_noise(self, amount, seed):
        self.seed = seed
        if amount > 0:
            self.seed_generator = krandom.SeedGenerator(seed, name="seed_generator")
        self.supports_masking = True
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape


class GaussianNoise(_NoiseLayer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` in training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _rate("GaussianNoise", "stddev", stddev)
        self._seed_noise(self.stddev, seed)

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            noise = krandom.normal(ops.shape(inputs), mean=0.0, stddev=self.stddev, seed=self.seed_generator)
            return ops.add(inputs, ops.cast(noise, ops.dtype(inputs)))
        return inputs

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_NoiseLayer):
    """Multiplies by Gaussian noise of mean 1 and standard deviation ``sqrt(rate / (1 - rate))`` in training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate("GaussianDropout", "rate", rate, high_inclusive=False)
        self._seed_noise(self.rate, seed)

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            noise = krandom.normal(ops.shape(inputs), mean=1.0, stddev=stddev, seed=self.seed_generator)
            return ops.multiply(inputs, ops.cast(noise, ops.dtype(inputs)))
        return inputs

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_NoiseLayer):
    """Dropout for SELU networks: dropped values are set to SELU's negative saturation and the result is affinely
    rescaled so the mean and variance of the inputs are kept (Keras 3's formula)."""

    _ALPHA = 1.6732632423543772
    _SCALE = 1.0507009873554805

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate("AlphaDropout", "rate", rate, high_inclusive=False)
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None
        self._seed_noise(self.rate, seed)

    def call(self, inputs, training=False):
        if not (training and self.rate > 0):
            return inputs
        shape = tuple(ops.shape(inputs))
        noise_shape = shape if self.noise_shape is None else tuple(
            shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        alpha_p = -self._ALPHA * self._SCALE
        kept = ops.cast(ops.greater_equal(krandom.uniform(noise_shape, seed=self.seed_generator), self.rate),
                        ops.dtype(inputs))
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = ops.add(ops.multiply(inputs, kept), ops.multiply(alpha_p, ops.subtract(1.0, kept)))
        return ops.add(ops.multiply(a, x), b)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": list(self.noise_shape) if self.noise_shape is not None else None}


class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum(|x|) + l2 * sum(x ** 2)`` of its output (per sample) to the losses."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = self.activity_regularizer.l1, self.activity_regularizer.l2
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("activity_regularizer", None)
        return {**cfg, "l1": self.l1, "l2": self.l2}
