"""Augmentation policies of Keras 3: `RandAugment` and `AugMix`, built from the single augmentation layers with
Keras's arguments and sub-layer settings.

Every choice is drawn in-step from kshim's seeded generator, so a policy runs inside a compiled step and a seed
gives the same augmentation on jax and torch. Where Keras 3 picks AugMix's operations with Python's ``random``
(fixed once a step is traced), kshim draws the operation index per chain and depth and applies it with ``where``
(every candidate is computed, as Keras's RandAugment does too). Each sub-layer draws its own parameters at each use.
"""

from kshim import ops
from kshim import random as krandom
from kshim.layers.preprocessing.color_augmentation import (AutoContrast, ColorAugmentation, Equalization,
                                                           RandomColorDegeneration, RandomPosterization,
                                                           RandomSharpness, Solarization, keras_factor,
                                                           value_range_pair)
from kshim.layers.preprocessing.geometry_augmentation import RandomShear
from kshim.layers.preprocessing.image_layer import check_number, check_positive_int
from kshim.layers.preprocessing.mixing_augmentation import beta, gamma
from kshim.layers.preprocessing.random_color import RandomBrightness, RandomContrast
from kshim.layers.preprocessing.random_geometry import RandomRotation, RandomTranslation

_GEOMETRY = ("random_shear", "random_translation", "random_rotation")
_COLOR = ("random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness")
_ALWAYS = ("random_posterization", "solarization", "auto_contrast", "equalization")


def _make_ops(layer, names, factor, value_range, interpolation, seed, data_format):
    """The sub-layers ``names`` with Keras 3's settings for a policy of strength ``factor`` = (low, high)."""
    common = {"seed": seed, "data_format": data_format}
    makers = {
        "random_shear": lambda: RandomShear(x_factor=factor, y_factor=factor, interpolation=interpolation, **common),
        "random_translation": lambda: RandomTranslation(factor, factor, interpolation=interpolation, **common),
        "random_rotation": lambda: RandomRotation(factor, interpolation=interpolation, **common),
        "random_brightness": lambda: RandomBrightness(factor, value_range=value_range, **common),
        "random_color_degeneration": lambda: RandomColorDegeneration(factor, value_range=value_range, **common),
        "random_contrast": lambda: RandomContrast(factor, value_range=value_range, **common),
        "random_sharpness": lambda: RandomSharpness(factor, value_range=value_range, **common),
        "random_posterization": lambda: RandomPosterization(max(1, int(8 * factor[1])), value_range=value_range,
                                                            **common),
        "solarization": lambda: Solarization(factor, factor, value_range=value_range, **common),
        "auto_contrast": lambda: AutoContrast(value_range=value_range, data_format=data_format),
        "equalization": lambda: Equalization(value_range=value_range, data_format=data_format),
    }
    for name in names:
        setattr(layer, name, makers[name]())
    return list(names)


def _apply(layer, images):
    """One sub-layer's augmentation of a float batch (a fresh draw from its own generator)."""
    if hasattr(layer, "transform"):
        return layer.transform(images)
    return layer.transform_images(images, None)


def _select(index, images, candidates):
    """``candidates[index](images)`` for a scalar int tensor ``index`` (an index past the end keeps ``images``)."""
    out = images
    for i, make in enumerate(candidates):
        out = ops.where(ops.equal(index, i), make(images), out)
    return out


class RandAugment(ColorAugmentation):
    """Applies ``num_ops`` operations drawn uniformly from Keras's eleven (shear, translation, rotation,
    brightness, colour degeneration, contrast, sharpness, posterization, solarization, auto-contrast,
    equalization), each of strength ``factor``."""

    _AUGMENT_LAYERS = _GEOMETRY + _COLOR + ("random_posterization", "solarization", "auto_contrast",
                                             "equalization")

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range_pair("RandAugment", value_range)
        self.num_ops = check_positive_int("RandAugment", "num_ops", num_ops)
        self.factor = keras_factor("RandAugment", factor, (0.0, 1.0))
        self.interpolation = interpolation
        self._names = _make_ops(self, self._AUGMENT_LAYERS, self.factor, self.value_range, interpolation, seed,
                                self.data_format)

    def get_random_transformation(self, images, training=True, seed=None):
        return {"layer_idxes": krandom.randint((self.num_ops,), 0, len(self._names), seed=self.seed_generator)}

    def transform_images(self, images, transformation, training=True):
        candidates = [lambda x, n=name: _apply(getattr(self, n), x) for name in self._names]
        for i in range(self.num_ops):
            images = _select(transformation["layer_idxes"][i], images, candidates)
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range), "num_ops": self.num_ops,
                "factor": list(self.factor), "interpolation": self.interpolation}


class AugMix(ColorAugmentation):
    """AugMix (Hendrycks et al., 2020): ``num_chains`` chains of up to ``chain_depth`` random operations, mixed
    with Dirichlet(``alpha``) weights, then blended with the original by a Beta(``alpha``, ``alpha``) weight and
    clipped to ``value_range``. ``all_ops=False`` leaves out the colour operations."""

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, alpha=1.0, all_ops=True,
                 interpolation="bilinear", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range_pair("AugMix", value_range)
        self.num_chains = check_positive_int("AugMix", "num_chains", num_chains)
        self.chain_depth = check_positive_int("AugMix", "chain_depth", chain_depth)
        self.factor = keras_factor("AugMix", factor, (0.0, 1.0))
        self.alpha = check_number("AugMix", "alpha", alpha)
        if self.alpha <= 0:
            raise ValueError(f"AugMix: `alpha` must be positive. Received: alpha={alpha!r}")
        self.all_ops = bool(all_ops)
        self.interpolation = interpolation
        names = _GEOMETRY + ("random_posterization", "solarization", "auto_contrast", "equalization")
        names += _COLOR if self.all_ops else ()
        self._names = _make_ops(self, names, self.factor, self.value_range, interpolation, seed, self.data_format)

    def get_random_transformation(self, images, training=True, seed=None):
        weights = gamma((self.num_chains,), self.alpha, self.seed_generator)
        return {"chain_mixing_weights": ops.divide(weights, ops.sum(weights)),
                "weight_sample": beta((), self.alpha, self.alpha, self.seed_generator),
                # one index per chain and depth; len(names) means "no operation" (as Keras's choice of None)
                "chain_ops": krandom.randint((self.num_chains, self.chain_depth), 0, len(self._names) + 1,
                                             seed=self.seed_generator)}

    def transform_images(self, images, transformation, training=True):
        candidates = [lambda x, n=name: _apply(getattr(self, n), x) for name in self._names]
        weights = transformation["chain_mixing_weights"]
        mixed = ops.zeros_like(images)
        for c in range(self.num_chains):
            chain = images
            for d in range(self.chain_depth):
                chain = _select(transformation["chain_ops"][c, d], chain, candidates)
            mixed = ops.add(mixed, ops.multiply(chain, weights[c]))
        w = transformation["weight_sample"]
        out = ops.add(ops.multiply(w, images), ops.multiply(ops.subtract(1.0, w), mixed))
        return ops.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range), "num_chains": self.num_chains,
                "chain_depth": self.chain_depth, "factor": list(self.factor), "alpha": self.alpha,
                "all_ops": self.all_ops, "interpolation": self.interpolation}
