"""More geometric augmentation of Keras 3: `RandomShear`, `RandomPerspective`, `RandomGaussianBlur`,
`RandomElasticTransform`.

Each follows Keras 3's two steps (``get_random_transformation`` from the layer's seeded in-step generator, then
``transform_images``), with Keras's arguments and, for the same transformation, Keras's numbers. The perspective
warp, the Gaussian blur and the elastic warp (``elastic_warp``, shared with ``ops.image.elastic_transform``) are
``kshim.ops.image``'s.
"""

import numpy as np

from kshim import ops
from kshim import random as krandom
from kshim.layers.preprocessing.color_augmentation import ColorAugmentation, keras_factor, value_range_pair
from kshim.layers.preprocessing.image_layer import check_choice, check_number
from kshim.ops import image as image_ops
from kshim.ops.image import gaussian_blur, perspective_transform

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _to_last(layer, images):
    return images if layer.data_format == "channels_last" else ops.transpose(images, (0, 2, 3, 1))


def _from_last(layer, images):
    return images if layer.data_format == "channels_last" else ops.transpose(images, (0, 3, 1, 2))


def _apply_where(flags, transformed, images):
    return ops.where(ops.reshape(flags, (-1, 1, 1, 1)), transformed, images)


def _probability_flags(layer, batch):
    """Keras's "apply with a probability drawn in ``factor``": a probability and a threshold per image."""
    probability = layer.uniform((batch,), layer.factor[0], layer.factor[1])
    return ops.less(layer.uniform((batch,), 0.0, 1.0), probability)


class RandomShear(ColorAugmentation):
    """Shears each image along x by ``s_x`` and along y by ``s_y``, drawn in ``x_factor`` and ``y_factor`` (a
    number f gives [-f, f]); one random sign per image flips both."""

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.x_factor = self._factor("x_factor", x_factor)
        self.y_factor = self._factor("y_factor", y_factor)
        self.interpolation = check_choice("RandomShear", "interpolation", interpolation, _INTERPOLATIONS)
        self.fill_mode = check_choice("RandomShear", "fill_mode", fill_mode, _FILL_MODES)
        self.fill_value = check_number("RandomShear", "fill_value", fill_value)

    @staticmethod
    def _factor(name, factor):
        """A number f in [0, 1] gives [-f, f]; a pair is taken as it is, within [-1, 1] (Keras 3 asks [0, 1] of
        each end, which its own ``get_config`` of a number then breaks)."""
        message = (f"RandomShear: `{name}` must be a number in [0, 1] or a pair of numbers in [-1, 1]. "
                   f"Received: {name}={factor!r}")
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2 or any(not -1.0 <= check_number("RandomShear", name, v) <= 1.0 for v in factor):
                raise ValueError(message)
            return tuple(sorted(float(v) for v in factor))
        if not 0.0 <= check_number("RandomShear", name, factor) <= 1.0:
            raise ValueError(message)
        return (-float(factor), float(factor))

    def get_random_transformation(self, images, training=True, seed=None):
        batch = self.batch_size(images)
        sign = ops.where(ops.greater(self.uniform((batch, 1), 0.0, 1.0), 0.5), -1.0, 1.0)
        shear_y = self.uniform((batch, 1), *self.y_factor)
        shear_x = self.uniform((batch, 1), *self.x_factor)
        return {"shear_factor": ops.multiply(ops.concatenate([shear_x, shear_y], axis=1), sign)}

    def transform_images(self, images, transformation, training=True):
        shear = transformation["shear_factor"]
        ones, zeros = ops.ones_like(shear[:, 0]), ops.zeros_like(shear[:, 0])
        matrix = ops.stack([ones, shear[:, 0], zeros, shear[:, 1], ones, zeros, zeros, zeros], axis=1)
        return image_ops.affine_transform(images, matrix, interpolation=self.interpolation,
                                          fill_mode=self.fill_mode, fill_value=self.fill_value,
                                          data_format=self.data_format)

    def get_config(self):
        return {**super().get_config(), "x_factor": list(self.x_factor), "y_factor": list(self.y_factor),
                "interpolation": self.interpolation, "fill_mode": self.fill_mode, "fill_value": self.fill_value}


class RandomPerspective(ColorAugmentation):
    """With a probability drawn in ``factor``, moves each image corner by up to ``scale / 2`` of its coordinates
    and warps the image to match (constant ``fill_value`` outside)."""

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0, seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor("RandomPerspective", factor, (0.0, 1.0))
        self.scale = check_number("RandomPerspective", "scale", scale)
        if not 0.0 <= self.scale <= 1.0:
            raise ValueError(f"RandomPerspective: `scale` must be in [0, 1]. Received: scale={scale!r}")
        self.interpolation = check_choice("RandomPerspective", "interpolation", interpolation, _INTERPOLATIONS)
        self.fill_value = check_number("RandomPerspective", "fill_value", fill_value)

    def get_random_transformation(self, images, training=True, seed=None):
        batch = self.batch_size(images)
        height, width = self._hw(ops.shape(images))
        apply = _probability_flags(self, batch)
        moves = self.uniform((batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale)
        corners = np.array([[[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1], [width - 1, height - 1]]], "float32")
        start = ops.convert_to_tensor(np.repeat(corners, batch, axis=0))
        return {"apply_perspective": apply, "start_points": start,
                "end_points": ops.add(start, ops.multiply(start, moves))}

    def transform_images(self, images, transformation, training=True):
        warped = perspective_transform(images, transformation["start_points"], transformation["end_points"],
                                       self.interpolation, self.fill_value, self.data_format)
        return _apply_where(transformation["apply_perspective"], warped, images)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "scale": self.scale,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomGaussianBlur(ColorAugmentation):
    """With a probability drawn in ``factor``, blurs each image with a Gaussian of ``kernel_size`` (odd; or a pair
    (x, y)) and deviations drawn in ``sigma`` (one (x, y) pair per batch); clipped to ``value_range``."""

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255), data_format=None, seed=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor("RandomGaussianBlur", factor, (0.0, 1.0))
        sizes = list(kernel_size) if isinstance(kernel_size, (tuple, list)) else [kernel_size] * 2
        if len(sizes) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s % 2 == 0
                                  or s <= 0 for s in sizes):
            raise ValueError("RandomGaussianBlur: `kernel_size` must be an odd positive integer or a pair of them. "
                             f"Received: kernel_size={kernel_size!r}")
        self.kernel_size = tuple(int(s) for s in sizes)
        self.sigma = keras_factor("RandomGaussianBlur", sigma, (0.0, 1.0), "sigma")
        self.value_range = value_range_pair("RandomGaussianBlur", value_range)

    def get_random_transformation(self, images, training=True, seed=None):
        apply = _probability_flags(self, self.batch_size(images))
        return {"should_apply_blur": apply, "blur_factor": ops.add(self.uniform((2,), *self.sigma), 1e-6)}

    def transform_images(self, images, transformation, training=True):
        sigma = transformation["blur_factor"]
        blurred = gaussian_blur(images, self.kernel_size, (sigma[0], sigma[1]), self.data_format)
        out = _apply_where(transformation["should_apply_blur"], blurred, images)
        return ops.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "kernel_size": list(self.kernel_size),
                "sigma": list(self.sigma), "value_range": list(self.value_range)}


class RandomElasticTransform(ColorAugmentation):
    """With a probability drawn in ``factor``, displaces each pixel by a smoothed Gaussian noise field: for a
    strength ``s`` drawn in ``scale`` (one per batch), ``sigma = 0.05 s min(H, W)`` and ``alpha = 0.1 s max(H, W)``,
    the field is ``alpha * blur_sigma(sigma * N(0, 1))`` per axis; the image is resampled there with ``fill_mode``
    and clipped to ``value_range``.

    The blur kernel has a static size, ``int(6 sigma_max) | 1`` for the largest ``sigma`` the layer can draw
    (Keras 3 sizes it from each draw, which a compiled step cannot), so that the step stays traceable."""

    _FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor("RandomElasticTransform", factor, (0.0, 1.0))
        self.scale = keras_factor("RandomElasticTransform", scale, (0.0, 1.0), "scale")
        self.interpolation = check_choice("RandomElasticTransform", "interpolation", interpolation, _INTERPOLATIONS)
        self.fill_mode = check_choice("RandomElasticTransform", "fill_mode", fill_mode, self._FILL_MODES)
        self.fill_value = check_number("RandomElasticTransform", "fill_value", fill_value)
        self.value_range = value_range_pair("RandomElasticTransform", value_range)

    def get_random_transformation(self, images, training=True, seed=None):
        batch = self.batch_size(images)
        height, width = self._hw(ops.shape(images))
        apply = _probability_flags(self, batch)
        strength = self.uniform((), self.scale[0], self.scale[1])
        noise = krandom.normal((2, batch, height, width), seed=self.seed_generator)
        return {"apply_transform": apply, "distortion_factor": strength, "noise": noise}

    def transform_images(self, images, transformation, training=True):
        if self.scale[1] == 0 or self.factor[1] == 0:  # Keras 3 leaves the images as they are
            return images
        height, width = self._hw(ops.shape(images))
        strength = transformation["distortion_factor"]
        sigma = ops.multiply(strength, 0.05 * min(height, width))
        alpha = ops.multiply(strength, 0.1 * max(height, width))
        size = int(6 * 0.05 * min(height, width) * self.scale[1]) | 1
        warped = image_ops.elastic_warp(_to_last(self, images), transformation["noise"], alpha,
                                        ops.maximum(sigma, 1e-6), size, self.interpolation, self.fill_mode,
                                        self.fill_value)
        out = _apply_where(transformation["apply_transform"], _from_last(self, warped), images)
        return ops.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "scale": list(self.scale),
                "interpolation": self.interpolation, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "value_range": list(self.value_range)}
