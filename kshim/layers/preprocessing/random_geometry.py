"""Random geometric augmentation: `RandomFlip`, `RandomRotation`, `RandomZoom`, `RandomTranslation`, `RandomCrop`.

Each image of a batch gets its own random transformation (`RandomCrop`: one crop window per batch, as Keras 3),
drawn with kshim's seeded in-step generator. The transformations and their parametrisation are Keras 3's:
rotation, zoom and translation are affine maps from output to input pixels, sampled by
`kshim.ops.image.affine_transform` with ``fill_mode`` ("reflect", "wrap", "constant", "nearest") and
``interpolation`` ("bilinear", "nearest").
"""

import math

from kshim import ops
from kshim.layers.preprocessing.image_layer import (RandomImageLayer, affine, check_choice, check_positive_int,
                                                    factor_pair)
from kshim.layers.preprocessing.image_resizing import Resizing

HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL = "horizontal", "vertical", "horizontal_and_vertical"
_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


class RandomFlip(RandomImageLayer):
    """Flips each image left-right and/or up-down with probability 1/2. With ``"horizontal_and_vertical"`` one draw
    per image decides both flips (Keras 3's behaviour)."""

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = check_choice("RandomFlip", "mode", mode, (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL))

    def transform(self, images):
        batch = ops.shape(images)[0]
        flips = ops.less_equal(self.uniform((batch, 1, 1, 1), 0.0, 1.0), 0.5)
        h_axis, w_axis = self._hw_axes(4)
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            images = ops.where(flips, ops.flip(images, w_axis), images)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            images = ops.where(flips, ops.flip(images, h_axis), images)
        return images

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class _AffineLayer(RandomImageLayer):
    """Shared arguments of the affine augmentations."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.fill_mode = check_choice(cls, "fill_mode", fill_mode, _FILL_MODES)
        self.interpolation = check_choice(cls, "interpolation", interpolation, _INTERPOLATIONS)
        self.fill_value = float(fill_value)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


def _column(x):
    return ops.reshape(x, (-1, 1))


def _matrix(columns):
    """(batch, 8) affine transforms from eight (batch, 1) columns (or Python floats)."""
    batch = next(ops.shape(c)[0] for c in columns if not isinstance(c, float))
    return ops.concatenate([c if not isinstance(c, float) else ops.full((batch, 1), c, dtype="float32")
                            for c in columns], axis=1)


class RandomRotation(_AffineLayer):
    """Rotates each image about its centre by a random angle in ``factor * 360`` degrees (``factor`` a number f,
    giving [-f, f], or a pair), counter-clockwise for positive angles."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor_pair("RandomRotation", "factor", factor, -1.0, 1.0)

    def transform(self, images):
        batch = ops.shape(images)[0]
        height, width = self._hw(ops.shape(images))
        angle = self.uniform((batch,), self.factor[0] * 360.0, self.factor[1] * 360.0)
        angle = ops.multiply(angle, math.pi / 180.0)
        cos, sin = _column(ops.cos(angle)), _column(ops.sin(angle))
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        # Keras 3's matrix with scale 1, no shear and no translation.
        a2 = ops.subtract(ops.subtract(cx, ops.multiply(cos, cx)), ops.multiply(ops.negative(sin), cy))
        b2 = ops.subtract(ops.subtract(cy, ops.multiply(sin, cx)), ops.multiply(cos, cy))
        matrices = _matrix([cos, ops.negative(sin), a2, sin, cos, b2, 0.0, 0.0])
        return affine(self, images, matrices)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


def _factor_checked(cls, name, factor, allow_minus_one):
    low, high = factor_pair(cls, name, factor, -1.0, 1.0)
    if not allow_minus_one and low <= -1.0:
        raise ValueError(f"{cls}: `{name}` must be in (-1, 1]. Received: {name}={factor!r}")
    return low, high


class RandomZoom(_AffineLayer):
    """Zooms each image about its centre by ``1 + factor``: ``height_factor`` f (or a pair) draws the vertical
    scale in [1 - f, 1 + f]; a positive scale zooms out, a negative factor zooms in. ``width_factor=None`` keeps
    the aspect ratio (the same draw for both axes)."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = _factor_checked("RandomZoom", "height_factor", height_factor, False)
        self.width_factor = None if width_factor is None else _factor_checked("RandomZoom", "width_factor",
                                                                              width_factor, False)

    def transform(self, images):
        batch = ops.shape(images)[0]
        height, width = self._hw(ops.shape(images))
        zh = self.uniform((batch, 1), 1.0 + self.height_factor[0], 1.0 + self.height_factor[1])
        zw = zh if self.width_factor is None else self.uniform((batch, 1), 1.0 + self.width_factor[0],
                                                               1.0 + self.width_factor[1])
        x_offset = ops.multiply((width - 1.0) / 2.0, ops.subtract(1.0, zw))
        y_offset = ops.multiply((height - 1.0) / 2.0, ops.subtract(1.0, zh))
        return affine(self, images, _matrix([zw, 0.0, x_offset, 0.0, zh, y_offset, 0.0, 0.0]))

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": None if self.width_factor is None else list(self.width_factor)}


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random fraction of its size: ``height_factor`` f (or a pair) in [-f, f] of the
    height, likewise ``width_factor``; positive values move the content down / right."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = _factor_checked("RandomTranslation", "height_factor", height_factor, True)
        self.width_factor = _factor_checked("RandomTranslation", "width_factor", width_factor, True)

    def transform(self, images):
        batch = ops.shape(images)[0]
        height, width = self._hw(ops.shape(images))
        dy = ops.multiply(self.uniform((batch, 1), *self.height_factor), float(height))
        dx = ops.multiply(self.uniform((batch, 1), *self.width_factor), float(width))
        return affine(self, images, _matrix([1.0, 0.0, ops.negative(dx), 0.0, 1.0, ops.negative(dy), 0.0, 0.0]))

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": list(self.width_factor)}


class RandomCrop(RandomImageLayer):
    """In training, a random (``height``, ``width``) window of the batch (one window for the whole batch, as
    Keras 3). At inference, and in training when an image is not larger than the target on both axes, the largest
    centred crop with the target aspect ratio, resized to (``height``, ``width``)."""

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height = check_positive_int("RandomCrop", "height", height)
        self.width = check_positive_int("RandomCrop", "width", width)

    def call(self, inputs, training=True):
        x, single = self._batched(self._as_float(inputs))
        in_h, in_w = self._hw(ops.shape(x))
        if training is not False and in_h > self.height and in_w > self.width:
            x = self.transform(x)
        elif (in_h, in_w) != (self.height, self.width):
            x = ops.image.resize(x, (self.height, self.width), crop_to_aspect_ratio=True,
                                 data_format=self.data_format)
        return self._unbatch(x, single)

    def transform(self, images):
        h_axis, w_axis = self._hw_axes(4)
        in_h, in_w = self._hw(ops.shape(images))
        h0 = ops.cast(self.uniform((), 0.0, float(in_h - self.height + 1)), "int32")
        w0 = ops.cast(self.uniform((), 0.0, float(in_w - self.width + 1)), "int32")
        rows = ops.add(ops.arange(0, self.height, dtype="int32"), h0)
        cols = ops.add(ops.arange(0, self.width, dtype="int32"), w0)
        return ops.take(ops.take(images, rows, axis=h_axis), cols, axis=w_axis)

    compute_output_shape = Resizing.compute_output_shape

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}
