"""Colour augmentation and colour normalisation layers of Keras 3.

Random ones: `RandomGrayscale`, `RandomHue`, `RandomSaturation`, `RandomSharpness`, `RandomPosterization`,
`RandomInvert`, `Solarization`, `RandomColorDegeneration`, `RandomColorJitter`. Deterministic ones: `AutoContrast`,
`Equalization`.

Each random layer splits its work like Keras 3's: ``get_random_transformation(images)`` draws the parameters (from
the layer's seeded in-step generator, so a seed gives the same draws on jax and torch), and
``transform_images(images, transformation)`` applies them. Given the same transformation, the numbers are Keras
3's. The factor conventions (a number f meaning ``(max(-f, low), f)``, a pair meaning itself) are Keras's too.

The colour spaces (grayscale, HSV) are ``kshim.ops.image``'s.
"""

import numpy as np

from kshim import ops
from kshim.config import epsilon
from kshim.ops.image import hsv_to_rgb, rgb_to_grayscale, rgb_to_hsv
from kshim.layers.preprocessing.image_layer import (ImagePreprocessingLayer, RandomImageLayer, check_number,
                                                    check_positive_int)


# -- shared helpers ------------------------------------------------------------------------------------------------
def keras_factor(cls, factor, bounds, name="factor"):
    """Keras 3's ``_set_factor``: a pair (sorted) overlapping ``bounds``, or a number f in ``bounds`` giving
    ``(max(-|f|, low), |f|)``."""
    low, high = bounds
    message = (f"{cls}: `{name}` must be a number or a pair of numbers in [{low}, {high}]. "
               f"Received: {name}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(message)
        f0, f1 = (check_number(cls, name, f) for f in factor)
        if f0 > high or f1 < low:
            raise ValueError(message)
        return tuple(sorted((f0, f1)))
    if isinstance(factor, bool) or not isinstance(factor, (int, float, np.integer, np.floating)):
        raise ValueError(message)
    if factor < low or factor > high:
        raise ValueError(message)
    f = abs(float(factor))
    return (max(-f, float(low)), f)


def value_range_pair(cls, value_range):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{cls}: `value_range` must be a list of two numbers (low, high). "
                         f"Received: value_range={value_range!r}")
    return sorted(check_number(cls, "value_range", v) for v in value_range)


def rescale(images, source, target):
    """Maps ``source`` = (low, high) linearly onto ``target``, Keras's ``_transform_value_range``."""
    if tuple(source) == tuple(target):
        return images
    unit = ops.divide(ops.subtract(images, source[0]), float(source[1] - source[0]))
    return ops.add(ops.multiply(unit, float(target[1] - target[0])), float(target[0]))


def _channel_axis(data_format):
    return -1 if data_format == "channels_last" else -3


def _planes(images, axis):
    return [ops.squeeze(p, axis) for p in ops.split(images, 3, axis=axis)]


def _replace_plane(images, index, plane, data_format):
    axis = _channel_axis(data_format)
    planes = _planes(images, axis)
    planes[index] = plane
    return ops.stack(planes, axis=axis)


def _per_image(x):
    """(B,) to (B, 1, 1, 1)."""
    return ops.reshape(x, (-1, 1, 1, 1))


def adjust_hue(images, delta, value_range, data_format):
    """Shifts the hue of each image by ``delta`` (B,) (a fraction of the colour circle)."""
    images = rescale(images, value_range, (0.0, 1.0))
    hsv = rgb_to_hsv(images, data_format)
    axis = _channel_axis(data_format)
    hue = ops.add(_planes(hsv, axis)[0], ops.reshape(delta, (-1, 1, 1)))
    hue = ops.where(ops.greater(hue, 1.0), ops.subtract(hue, 1.0), hue)
    hue = ops.where(ops.less(hue, 0.0), ops.add(hue, 1.0), hue)
    out = ops.clip(hsv_to_rgb(_replace_plane(hsv, 0, hue, data_format), data_format), 0.0, 1.0)
    return rescale(out, (0.0, 1.0), value_range)


def adjust_saturation(images, factor, value_range, data_format):
    """Multiplies the HSV saturation by ``factor`` (B,), clipped to ``value_range`` (Keras applies the clip to the
    saturation plane and converts the image without rescaling it)."""
    hsv = rgb_to_hsv(images, data_format)
    saturation = ops.multiply(_planes(hsv, _channel_axis(data_format))[1], ops.reshape(factor, (-1, 1, 1)))
    saturation = ops.clip(saturation, value_range[0], value_range[1])
    return hsv_to_rgb(_replace_plane(hsv, 1, saturation, data_format), data_format)


# -- the base of the random colour layers ----------------------------------------------------------------------------
class ColorAugmentation(RandomImageLayer):
    """A random layer in Keras 3's two steps: draw a transformation, apply it."""

    def transform(self, images):
        return self.transform_images(images, self.get_random_transformation(images))

    def batch_size(self, images):
        return ops.shape(images)[0]

    def get_random_transformation(self, images, training=True, seed=None):
        raise NotImplementedError

    def transform_images(self, images, transformation, training=True):
        raise NotImplementedError


class RandomGrayscale(ColorAugmentation):
    """Turns each image to grayscale (the same value on every channel) with probability ``factor``."""

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        factor = check_number("RandomGrayscale", "factor", factor)
        if not 0.0 <= factor <= 1.0:
            raise ValueError(f"RandomGrayscale: `factor` must be in [0, 1]. Received: factor={factor!r}")
        self.factor = factor

    def get_random_transformation(self, images, training=True, seed=None):
        return _per_image(ops.less(self.uniform((self.batch_size(images),), 0.0, 1.0), self.factor))

    def transform_images(self, images, transformation, training=True):
        return ops.where(transformation, rgb_to_grayscale(images, self.data_format), images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class _ValueRangeLayer(ColorAugmentation):
    """A random colour layer with Keras's ``factor`` (within ``_BOUNDS``) and ``value_range`` arguments."""

    _BOUNDS = (-1.0, 1.0)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(type(self).__name__, factor, self._BOUNDS)
        self.value_range = value_range_pair(type(self).__name__, value_range)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomHue(_ValueRangeLayer):
    """Rotates the hue of each image by ``±u / 2`` of the colour circle, ``u`` drawn in ``factor`` and the sign
    drawn with probability 1/2 (``factor`` in [0, 1]; 0 is the identity)."""

    _BOUNDS = (0.0, 1.0)

    def get_random_transformation(self, images, training=True, seed=None):
        batch = self.batch_size(images)
        sign = ops.where(ops.greater(self.uniform((batch,), 0.0, 1.0), 0.5), -1.0, 1.0)
        amount = self.uniform((batch,), self.factor[0], self.factor[1])
        return {"factor": ops.multiply(ops.multiply(sign, amount), 0.5)}

    def transform_images(self, images, transformation, training=True):
        return adjust_hue(images, transformation["factor"], self.value_range, self.data_format)


class RandomSaturation(_ValueRangeLayer):
    """Scales the saturation of each image by ``u / (1 - u + epsilon)``, ``u`` drawn in ``factor`` (0.5 keeps
    the image, 0 makes it gray, 1 fully saturated)."""

    def get_random_transformation(self, images, training=True, seed=None):
        u = self.uniform((self.batch_size(images),), self.factor[0], self.factor[1])
        return {"factor": ops.divide(u, ops.add(ops.subtract(1.0, u), epsilon()))}

    def transform_images(self, images, transformation, training=True):
        return adjust_saturation(images, transformation["factor"], self.value_range, self.data_format)


class RandomColorDegeneration(_ValueRangeLayer):
    """Blends each image towards its grayscale version by ``u`` drawn in ``factor``; clipped to ``value_range``."""

    def get_random_transformation(self, images, training=True, seed=None):
        return {"factor": self.uniform((self.batch_size(images), 1, 1, 1), self.factor[0], self.factor[1])}

    def transform_images(self, images, transformation, training=True):
        gray = rgb_to_grayscale(images, self.data_format)
        out = ops.add(images, ops.multiply(transformation["factor"], ops.subtract(gray, images)))
        return ops.clip(out, self.value_range[0], self.value_range[1])


class RandomSharpness(_ValueRangeLayer):
    """Blends each image with a 3x3 smoothed copy: ``x + (1 - 2u) (smooth(x) - x)``, ``u`` drawn in ``factor``
    (0 blurs, 0.5 keeps, 1 sharpens); clipped to ``value_range``."""

    _BOUNDS = (0.0, 1.0)

    def get_random_transformation(self, images, training=True, seed=None):
        return {"factor": self.uniform((self.batch_size(images),), self.factor[0], self.factor[1])}

    def transform_images(self, images, transformation, training=True):
        if self.data_format == "channels_first":
            images = ops.swapaxes(images, -3, -1)
        a, b = 1.0 / 13.0, 5.0 / 13.0
        channels = ops.shape(images)[-1]
        kernel = np.tile(np.array([[a, a, a], [a, b, a], [a, a, a]], "float32").reshape(3, 3, 1, 1),
                         (1, 1, channels, 1))
        smooth = ops.depthwise_conv(images, ops.convert_to_tensor(kernel, dtype=ops.dtype(images)), strides=1,
                                    padding="same", data_format="channels_last")
        weight = _per_image(ops.subtract(1.0, ops.multiply(transformation["factor"], 2.0)))
        out = ops.clip(ops.add(images, ops.multiply(weight, ops.subtract(smooth, images))),
                       self.value_range[0], self.value_range[1])
        return ops.swapaxes(out, -3, -1) if self.data_format == "channels_first" else out


class RandomPosterization(_ValueRangeLayer):
    """Keeps the top ``bits`` bits of each 8-bit channel value, ``bits`` drawn as an integer in
    [factor[0], factor[1]) (or ``factor`` itself when both ends agree), ``factor`` in [1, 8]."""

    _BOUNDS = (1.0, 8.0)

    def get_random_transformation(self, images, training=True, seed=None):
        batch = self.batch_size(images)
        low, high = int(self.factor[0]), int(self.factor[1])
        if low != high:
            u = self.uniform((batch,), 0.0, 1.0)
            bits = ops.add(ops.cast(ops.floor(ops.multiply(u, float(high - low))), "int32"), low)
        else:
            bits = ops.full((batch,), low, dtype="int32")
        return {"shift_factor": ops.subtract(8, bits)}

    def transform_images(self, images, transformation, training=True):
        shift = ops.reshape(ops.cast(transformation["shift_factor"], "int32"), (-1, 1, 1, 1))
        dtype = ops.dtype(images)
        pixels = ops.cast(rescale(images, self.value_range, (0.0, 255.0)), "int32")
        pixels = ops.left_shift(ops.right_shift(pixels, shift), shift)
        return rescale(ops.cast(pixels, dtype), (0.0, 255.0), self.value_range)

    def get_config(self):
        config = super().get_config()
        config["factor"] = [int(f) for f in self.factor]
        return config


class RandomInvert(_ValueRangeLayer):
    """Replaces an image by ``value_range[1] - x`` with a probability drawn in ``factor`` (in [0, 1])."""

    _BOUNDS = (0.0, 1.0)

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        batch = self.batch_size(images)
        probability = self.uniform((batch,), self.factor[0], self.factor[1])
        threshold = self.uniform((batch,), 0.0, 1.0)
        return {"apply_inversion": ops.less(threshold, probability)}

    def transform_images(self, images, transformation, training=True):
        apply = ops.reshape(transformation["apply_inversion"], (-1, 1, 1, 1))
        return ops.where(apply, ops.subtract(self.value_range[1], images), images)


class Solarization(ColorAugmentation):
    """On the [0, 255] scale: adds a drawn ``addition`` (clipped to [0, 255]), then inverts (``255 - x``) every
    value at or above a drawn ``threshold``. Both are drawn per image in [f0, f1 * 255] of their factor (Keras 3's
    ranges, whose lower end is not scaled)."""

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = keras_factor("Solarization", addition_factor, (0.0, 1.0), "addition_factor")
        self.threshold_factor = keras_factor("Solarization", threshold_factor, (0.0, 1.0), "threshold_factor")
        self.value_range = value_range_pair("Solarization", value_range)

    def get_random_transformation(self, images, training=True, seed=None):
        shape = (self.batch_size(images), 1, 1, 1)
        a, t = self.addition_factor, self.threshold_factor
        return {"additions": self.uniform(shape, a[0], a[1] * 255.0),
                "thresholds": self.uniform(shape, t[0], t[1] * 255.0)}

    def transform_images(self, images, transformation, training=True):
        x = rescale(images, self.value_range, (0.0, 255.0))
        x = ops.clip(ops.add(x, transformation["additions"]), 0.0, 255.0)
        x = ops.where(ops.less(x, transformation["thresholds"]), x, ops.subtract(255.0, x))
        return rescale(x, (0.0, 255.0), self.value_range)

    def get_config(self):
        return {**super().get_config(), "addition_factor": list(self.addition_factor),
                "threshold_factor": list(self.threshold_factor), "value_range": list(self.value_range)}


class RandomColorJitter(ColorAugmentation):
    """Random brightness, contrast, saturation and hue, in that order, each when its factor is given (the factors
    and the operations of `RandomBrightness`, `RandomContrast`, `RandomSaturation`, `RandomHue`), drawn from this
    layer's generator."""

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None, saturation_factor=None,
                 hue_factor=None, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        cls = "RandomColorJitter"
        self.value_range = value_range_pair(cls, value_range)
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        self._brightness = None if brightness_factor is None else keras_factor(
            cls, brightness_factor, (-1.0, 1.0), "brightness_factor")
        self._contrast = None if contrast_factor is None else keras_factor(
            cls, contrast_factor, (0.0, 1.0), "contrast_factor")
        self._saturation = None if saturation_factor is None else keras_factor(
            cls, saturation_factor, (-1.0, 1.0), "saturation_factor")
        self._hue = None if hue_factor is None else keras_factor(cls, hue_factor, (0.0, 1.0), "hue_factor")

    def get_random_transformation(self, images, training=True, seed=None):
        batch = self.batch_size(images)
        t = {}
        if self._brightness is not None:
            delta = self.uniform((batch, 1, 1, 1), *self._brightness)
            t["rgb_delta"] = ops.multiply(delta, self.value_range[1] - self.value_range[0])
        if self._contrast is not None:
            t["contrast_factor"] = self.uniform((batch, 1, 1, 1), 1.0 - self._contrast[0], 1.0 + self._contrast[1])
        if self._saturation is not None:
            u = self.uniform((batch,), *self._saturation)
            t["saturation_factor"] = ops.divide(u, ops.add(ops.subtract(1.0, u), epsilon()))
        if self._hue is not None:
            sign = ops.where(ops.greater(self.uniform((batch,), 0.0, 1.0), 0.5), -1.0, 1.0)
            t["hue_factor"] = ops.multiply(ops.multiply(sign, self.uniform((batch,), *self._hue)), 0.5)
        return t

    def transform_images(self, images, transformation, training=True):
        low, high = self.value_range
        if "rgb_delta" in transformation:
            images = ops.clip(ops.add(images, transformation["rgb_delta"]), low, high)
        if "contrast_factor" in transformation:
            h_axis, w_axis = self._hw_axes(4)
            mean = ops.mean(ops.mean(images, axis=h_axis, keepdims=True), axis=w_axis, keepdims=True)
            images = ops.add(ops.multiply(ops.subtract(images, mean), transformation["contrast_factor"]), mean)
            images = ops.clip(images, low, high)
        if "saturation_factor" in transformation:
            images = adjust_saturation(images, transformation["saturation_factor"], self.value_range,
                                       self.data_format)
        if "hue_factor" in transformation:
            images = adjust_hue(images, transformation["hue_factor"], self.value_range, self.data_format)
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range),
                "brightness_factor": self.brightness_factor, "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor, "hue_factor": self.hue_factor}


# -- deterministic colour normalisation -----------------------------------------------------------------------------
class _ColorNormalization(ImagePreprocessingLayer):
    def __init__(self, value_range=(0, 255), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range_pair(type(self).__name__, value_range)

    def call(self, inputs, training=True):
        x, single = self._batched(self._as_float(inputs))
        return self._unbatch(self.transform_images(x, None), single)

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range)}


class AutoContrast(_ColorNormalization):
    """Stretches each image and channel so that its smallest value maps to ``value_range[0]`` and its largest to
    ``value_range[1]`` (a constant channel is left as it is)."""

    def transform_images(self, images, transformation=None, training=True):
        x = rescale(images, self.value_range, (0.0, 255.0))
        low = ops.min(x, axis=(1, 2), keepdims=True)
        high = ops.max(x, axis=(1, 2), keepdims=True)
        scale = ops.divide(255.0, ops.subtract(high, low))
        x = ops.clip(ops.subtract(ops.multiply(x, scale), ops.multiply(low, scale)), 0.0, 255.0)
        out = rescale(x, (0.0, 255.0), self.value_range)
        return ops.where(ops.isnan(out), images, out)


class Equalization(_ColorNormalization):
    """Histogram equalisation of each channel (its histogram over the whole batch, in ``bins`` bins of the
    [0, 255] scale), mapping values through the rounded, normalised cumulative histogram."""

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self.bins = check_positive_int("Equalization", "bins", bins)

    @staticmethod
    def _scale(values, source, target):
        scale = (target[1] - target[0]) / (source[1] - source[0])
        return ops.add(ops.multiply(values, scale), target[0] - source[0] * scale)

    def _equalize(self, channel):
        # Keras 3 rescales through [0, 255] whatever the range (an identity for [0, 255]).
        channel = self._scale(channel, self.value_range, (0.0, 255.0))
        bins = self.bins
        index = ops.clip(ops.cast(ops.divide(ops.multiply(channel, float(bins - 1)), 255.0), "int32"), 0, bins - 1)
        hist = ops.sum(ops.one_hot(ops.reshape(index, (-1,)), bins, dtype="int32"), axis=0)
        cdf = ops.cumsum(hist)
        cdf_min = ops.take(cdf, ops.argmax(ops.greater(cdf, 0)))
        denominator = ops.subtract(ops.take(cdf, bins - 1), cdf_min)
        denominator = ops.where(ops.equal(denominator, 0), 1, denominator)
        table = ops.divide(ops.cast(ops.multiply(ops.subtract(cdf, cdf_min), 255), "float32"),
                           ops.cast(denominator, "float32"))
        table = ops.clip(ops.round(table), 0.0, 255.0)
        lookup = ops.cast(ops.clip(ops.multiply(ops.divide(channel, 255.0), float(bins - 1)), 0, bins - 1), "int32")
        equalized = ops.cast(ops.take(table, lookup), ops.dtype(channel))
        nonzero = ops.sum(ops.cast(ops.greater(hist, 0), "int32"))
        out = ops.where(ops.less_equal(nonzero, 1), channel, equalized)
        return self._scale(out, (0.0, 255.0), self.value_range)

    def transform_images(self, images, transformation=None, training=True):
        axis = _channel_axis(self.data_format)
        channels = ops.shape(images)[axis]
        planes = [self._equalize(ops.take(images, i, axis=ops.ndim(images) + axis)) for i in range(channels)]
        return ops.stack(planes, axis=axis)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins}
