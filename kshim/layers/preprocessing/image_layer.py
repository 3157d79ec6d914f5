"""`ImagePreprocessingLayer`: what the image preprocessing layers share.

Inputs are one image (rank 3) or a batch (rank 4), channels_last unless ``data_format`` says otherwise. Integer
images are cast to the layer's float dtype first, as Keras 3 does.

The random layers draw from kshim's counter-based generator through their own `SeedGenerator`, so the same seed
gives the same augmentation on jax and torch, and the generator state travels through the compiled training step
like any other non-trainable variable. Like Keras 3's, they augment when ``training`` is True or not given (a
direct call, or a model called directly), and are the identity when ``training=False`` (``predict``,
``evaluate``).
"""

import numpy as np

from kshim import ops
from kshim import random as krandom
from kshim.layers.core import _data_format
from kshim.layers.layer import Layer
from kshim.ops import image as image_ops


def check_number(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{cls}: `{name}` must be a number. Received: {name}={value!r}")
    return float(value)


def check_positive_int(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{cls}: `{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def factor_pair(cls, name, factor, low, high, symmetric_low=None):
    """``(lower, upper)`` from a number ``f`` (giving ``(-f, f)``, or ``(symmetric_low, f)``) or a pair, each
    in [low, high]."""
    message = (f"{cls}: `{name}` must be a number or a pair of numbers in [{low}, {high}]. "
               f"Received: {name}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(message)
        lower, upper = sorted(check_number(cls, name, f) for f in factor)
    elif isinstance(factor, (int, float, np.integer, np.floating)) and not isinstance(factor, bool):
        f = abs(float(factor))
        lower, upper = (-f if symmetric_low is None else symmetric_low), f
    else:
        raise ValueError(message)
    if lower < low or upper > high:
        raise ValueError(message)
    return lower, upper


def check_choice(cls, name, value, choices):
    if value not in choices:
        raise ValueError(f"{cls}: `{name}` must be one of {choices}. Received: {name}={value!r}")
    return value


class ImagePreprocessingLayer(Layer):
    """The base of the image layers: data format, rank checks, float casting and the training switch."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(type(self).__name__, data_format)
        self.built = True

    # -- helpers -------------------------------------------------------------------------------------------------
    def _hw_axes(self, ndim):
        return (ndim - 3, ndim - 2) if self.data_format == "channels_last" else (ndim - 2, ndim - 1)

    def _hw(self, shape):
        h, w = self._hw_axes(len(shape))
        return shape[h], shape[w]

    def _check_rank(self, shape):
        if len(shape) not in (3, 4):
            raise ValueError(f"{type(self).__name__} '{self.name}': expected one image (rank 3) or a batch of "
                             f"images (rank 4). Received input with shape {tuple(shape)}")

    def _as_float(self, x):
        dtype = self.compute_dtype if ops.is_float_dtype(self.compute_dtype) else "float32"
        return x if ops.dtype(x) == dtype else ops.cast(x, dtype)

    def _batched(self, x):
        """``(x as a rank 4 batch, whether it was a single image)``."""
        shape = ops.shape(x)
        self._check_rank(shape)
        return (ops.expand_dims(x, 0), True) if len(shape) == 3 else (x, False)

    @staticmethod
    def _unbatch(x, single):
        return ops.squeeze(x, 0) if single else x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class RandomImageLayer(ImagePreprocessingLayer):
    """An image layer with a seeded random transformation, applied in training only."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"{type(self).__name__}: `seed` must be an integer or None. Received: seed={seed!r}")
        self.seed = seed
        self.seed_generator = krandom.SeedGenerator(seed, name="seed_generator")

    def call(self, inputs, training=True):
        x, single = self._batched(self._as_float(inputs))
        if training is not False:
            x = self.transform(x)
        return self._unbatch(x, single)

    def transform(self, images):
        """The augmented (B, H, W, C) or (B, C, H, W) batch."""
        raise NotImplementedError

    def uniform(self, shape, minval, maxval):
        return krandom.uniform(shape, minval=minval, maxval=maxval, seed=self.seed_generator)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def affine(layer, images, matrices):
    """``ops.image.affine_transform`` with the layer's interpolation and fill settings."""
    return image_ops.affine_transform(images, matrices, interpolation=layer.interpolation,
                                      fill_mode=layer.fill_mode, fill_value=layer.fill_value,
                                      data_format=layer.data_format)
