"""Augmentations that mix or erase regions: `MixUp`, `CutMix`, `RandomErasing` (Keras 3's arguments and
transformations).

`MixUp` and `CutMix` also mix labels: call them on ``{"images": x, "labels": y}`` (one-hot or soft labels) and
the result is a dict of both. Draws come from the layer's seeded in-step generator. The mixing weights are Beta
draws, sampled here from kshim's uniform and normal streams (Marsaglia and Tsang's gamma method with a fixed number
of candidates, so that the step stays a pure array function); since normal draws agree across backends to about
1 ulp, not bit for bit, a Beta draw may differ by a few ulps between jax and torch. A ``kshim.random.beta``, once
there, would replace `beta` below.
"""

import numpy as np

from kshim import ops
from kshim import random as krandom
from kshim.layers.preprocessing.color_augmentation import keras_factor, value_range_pair
from kshim.layers.preprocessing.image_layer import RandomImageLayer, check_number

_CANDIDATES = 12  # gamma proposals per draw; each is accepted with probability >= 0.95


def gamma(shape, alpha, seed):
    """Gamma(``alpha``, 1) draws of ``shape`` (``alpha`` a float or a tensor broadcasting to ``shape``)."""
    shape = tuple(int(d) for d in shape)
    alpha = ops.convert_to_tensor(alpha, dtype="float32")
    boosted = ops.where(ops.less(alpha, 1.0), ops.add(alpha, 1.0), alpha)
    d = ops.subtract(boosted, 1.0 / 3.0)
    c = ops.divide(1.0, ops.sqrt(ops.multiply(9.0, d)))
    d, c = ops.expand_dims(d, -1), ops.expand_dims(c, -1)
    x = krandom.normal(shape + (_CANDIDATES,), seed=seed)
    u = krandom.uniform(shape + (_CANDIDATES,), seed=seed)
    v = ops.power(ops.add(1.0, ops.multiply(c, x)), 3.0)
    safe_v = ops.where(ops.greater(v, 0.0), v, 1.0)
    bound = ops.add(ops.multiply(0.5, ops.square(x)),
                    ops.multiply(d, ops.add(ops.subtract(1.0, safe_v), ops.log(safe_v))))
    accept = ops.logical_and(ops.greater(v, 0.0), ops.less(ops.log(ops.subtract(1.0, u)), bound))
    first = ops.expand_dims(ops.argmax(ops.cast(accept, "int32"), axis=-1), -1)
    sample = ops.squeeze(ops.take_along_axis(ops.multiply(d, safe_v), first, axis=-1), -1)
    sample = ops.where(ops.any(accept, axis=-1), sample, ops.squeeze(d, -1))
    # alpha < 1: Gamma(alpha) = Gamma(alpha + 1) * U ** (1 / alpha)
    boost = ops.power(ops.subtract(1.0, krandom.uniform(shape, seed=seed)), ops.divide(1.0, alpha))
    return ops.where(ops.less(alpha, 1.0), ops.multiply(sample, boost), sample)


def beta(shape, a, b, seed):
    """Beta(``a``, ``b``) draws: ``X / (X + Y)`` with X ~ Gamma(a), Y ~ Gamma(b)."""
    x = gamma(shape, a, seed)
    y = gamma(shape, b, seed)
    return ops.divide(x, ops.add(x, y))


class _LabelMixing(RandomImageLayer):
    """Calls on images or on ``{"images": ..., "labels": ...}``."""

    def call(self, inputs, training=True):
        data = dict(inputs) if isinstance(inputs, dict) else {"images": inputs}
        images, single = self._batched(self._as_float(data["images"]))
        if training is not False and not single:
            t = self.get_random_transformation(images)
            images = self.transform_images(images, t)
            if "labels" in data:
                data["labels"] = self.transform_labels(ops.convert_to_tensor(data["labels"]), t)
        data["images"] = self._unbatch(images, single)
        return data if isinstance(inputs, dict) else data["images"]

    def compute_output_shape(self, input_shape):
        return input_shape

    def transform_labels(self, labels, transformation, training=True):
        weight = ops.reshape(ops.cast(transformation["mix_weight"], ops.dtype(labels)), (-1, 1))
        mixed = ops.take(labels, transformation["permutation_order"], axis=0)
        return ops.add(ops.multiply(weight, labels), ops.multiply(ops.subtract(1.0, weight), mixed))

    def permutation(self, batch):
        return ops.argsort(krandom.random_bits((batch,), self.seed_generator))


class MixUp(_LabelMixing):
    """Mixes each image (and label) with another of the batch: ``w x + (1 - w) x[perm]``, with ``w`` drawn from
    Beta(``alpha``, ``alpha``) per image."""

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.alpha = check_number("MixUp", "alpha", alpha)
        if self.alpha <= 0:
            raise ValueError(f"MixUp: `alpha` must be positive. Received: alpha={alpha!r}")

    def get_random_transformation(self, images, training=True, seed=None):
        batch = ops.shape(images)[0]
        return {"mix_weight": beta((batch,), self.alpha, self.alpha, self.seed_generator),
                "permutation_order": self.permutation(batch)}

    def transform_images(self, images, transformation, training=True):
        weight = ops.reshape(ops.cast(transformation["mix_weight"], ops.dtype(images)), (-1, 1, 1, 1))
        mixed = ops.take(images, transformation["permutation_order"], axis=0)
        return ops.add(ops.multiply(weight, images), ops.multiply(ops.subtract(1.0, weight), mixed))

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


def _grid(layer, height, width):
    """Float pixel coordinates (x, y), shaped to broadcast against a (B, H, W, C) or (B, C, H, W) batch."""
    ys, xs = np.meshgrid(np.arange(height, dtype="float32"), np.arange(width, dtype="float32"), indexing="ij")
    shape = (1, height, width, 1) if layer.data_format == "channels_last" else (1, 1, height, width)
    return ops.convert_to_tensor(xs.reshape(shape)), ops.convert_to_tensor(ys.reshape(shape))


def _box_masks(layer, images, x0, x1, y0, y1):
    """(B, ...) booleans: pixel inside the per-image box [x0, x1) x [y0, y1), repeated over the channels."""
    shape = ops.shape(images)
    height, width = layer._hw(shape)
    gx, gy = _grid(layer, height, width)
    x0, x1, y0, y1 = (ops.reshape(v, (-1, 1, 1, 1)) for v in (x0, x1, y0, y1))
    inside = ops.logical_and(ops.logical_and(ops.greater_equal(gx, x0), ops.less(gx, x1)),
                             ops.logical_and(ops.greater_equal(gy, y0), ops.less(gy, y1)))
    channel_axis = 3 if layer.data_format == "channels_last" else 1
    return ops.repeat(inside, shape[channel_axis], axis=channel_axis)


def _crop_bounds(layer, batch, length, ratio):
    crop = ops.multiply(ratio, float(length))
    start = ops.multiply(layer.uniform((batch,), 0.0, 1.0), ops.subtract(float(length), crop))
    return start, ops.add(start, crop)


class CutMix(_LabelMixing):
    """Pastes a random box of another image of the batch into each image; the box covers ``1 - w`` of the area,
    ``w`` drawn from Beta(a, a) with ``a`` drawn in ``factor`` (plus 1e-6). Labels mix by the box's true area."""

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor("CutMix", factor, (0.0, 1.0))

    def get_random_transformation(self, images, training=True, seed=None):
        batch = ops.shape(images)[0]
        height, width = self._hw(ops.shape(images))
        alpha = ops.add(self.uniform((), self.factor[0], self.factor[1]), 1e-6)
        ratio = ops.sqrt(ops.subtract(1.0, beta((batch,), alpha, alpha, self.seed_generator)))
        x0, x1 = _crop_bounds(self, batch, width, ratio)
        y0, y1 = _crop_bounds(self, batch, height, ratio)
        masks = _box_masks(self, images, x0, x1, y0, y1)
        area = ops.divide(ops.multiply(ops.subtract(x1, x0), ops.subtract(y1, y0)), float(width * height))
        return {"permutation_order": self.permutation(batch), "batch_masks": masks,
                "mix_weight": ops.subtract(1.0, area)}

    def transform_images(self, images, transformation, training=True):
        mixed = ops.take(images, transformation["permutation_order"], axis=0)
        return ops.where(transformation["batch_masks"], mixed, images)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


class RandomErasing(RandomImageLayer):
    """With a probability drawn in ``factor``, replaces a random box of each image (its sides are
    ``sqrt(s) * side`` with ``s`` drawn in ``scale`` per axis) by ``fill_value`` (a number, three per-channel
    numbers, or None for Gaussian noise times ``value_range[1]``), clipped to ``value_range``."""

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255), seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor("RandomErasing", factor, (0.0, 1.0))
        self.scale = keras_factor("RandomErasing", scale, (0.0, 1.0), "scale")
        if fill_value is not None and not (isinstance(fill_value, (int, float)) or (
                isinstance(fill_value, (tuple, list)) and len(fill_value) == 3)):
            raise ValueError("RandomErasing: `fill_value` must be None, a number or a list of three numbers. "
                             f"Received: fill_value={fill_value!r}")
        self.fill_value = list(fill_value) if isinstance(fill_value, (tuple, list)) else fill_value
        self.value_range = value_range_pair("RandomErasing", value_range)

    def transform(self, images):
        return self.transform_images(images, self.get_random_transformation(images))

    def get_random_transformation(self, images, training=True, seed=None):
        shape = ops.shape(images)
        batch = shape[0]
        height, width = self._hw(shape)
        side = ops.sqrt(self.uniform((batch, 2), self.scale[0], self.scale[1]))
        x0, x1 = _crop_bounds(self, batch, width, side[:, 0])
        y0, y1 = _crop_bounds(self, batch, height, side[:, 1])
        masks = _box_masks(self, images, x0, x1, y0, y1)
        probability = self.uniform((batch,), self.factor[0], self.factor[1])
        apply = ops.less(self.uniform((batch,), 0.0, 1.0), probability)
        if self.fill_value is None:
            fill = ops.multiply(krandom.normal(shape, seed=self.seed_generator), self.value_range[1])
        elif isinstance(self.fill_value, list):
            per_channel = (1, 1, 1, 3) if self.data_format == "channels_last" else (1, 3, 1, 1)
            fill = ops.broadcast_to(ops.convert_to_tensor(np.array(self.fill_value, "float32").reshape(
                per_channel)), shape)
        else:
            fill = ops.full(shape, float(self.fill_value), dtype="float32")
        fill = ops.clip(fill, self.value_range[0], self.value_range[1])
        return {"apply_erasing": apply, "batch_masks": masks, "fill_value": fill}

    def transform_images(self, images, transformation, training=True):
        erased = ops.where(transformation["batch_masks"], transformation["fill_value"], images)
        return ops.where(ops.reshape(transformation["apply_erasing"], (-1, 1, 1, 1)), erased, images)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "scale": list(self.scale),
                "fill_value": self.fill_value, "value_range": list(self.value_range)}
