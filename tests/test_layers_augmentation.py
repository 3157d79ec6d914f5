"""The image augmentation layers added for issue 16 against Keras 3 (installed).

A random layer draws its transformation from kshim's seeded generator (``get_random_transformation``); the same
transformation, fed to Keras 3's own ``transform_images``, must give Keras's numbers. Deterministic settings
(factor 0, probability 1) and the deterministic layers are compared end to end. That the draws agree bit for bit
across backends is checked by the conformance cases (conformance/cases_layers_new.py).
"""

import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", os.environ.get("KSHIM_BACKEND", "jax"))
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(3)
IMAGES = RNG.uniform(0, 255, size=(2, 5, 6, 3)).astype("float32")
UNIT = (IMAGES / 255.0).astype("float32")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


def _numpy_tree(t):
    if isinstance(t, dict):
        return {k: np_(v) for k, v in t.items()}
    return np_(t)


def _keras_transformation(t):
    tree = _numpy_tree(t)
    if isinstance(tree, dict):
        return {k: keras.ops.convert_to_tensor(v) for k, v in tree.items()}
    return keras.ops.convert_to_tensor(tree)


COLOR_CASES = [
    ("RandomGrayscale", {"factor": 0.5}, IMAGES),
    ("RandomHue", {"factor": (0.2, 0.6), "value_range": (0, 1)}, UNIT),
    ("RandomSaturation", {"factor": (0.2, 0.9), "value_range": (0, 1)}, UNIT),
    ("RandomColorDegeneration", {"factor": 0.7}, IMAGES),
    ("RandomSharpness", {"factor": 0.9}, IMAGES),
    ("RandomPosterization", {"factor": (2, 6)}, IMAGES),
    pytest.param("RandomPosterization", {"factor": 3, "value_range": (0, 1)}, UNIT, marks=pytest.mark.slow),
    ("RandomInvert", {"factor": 0.6}, IMAGES),
    ("Solarization", {"addition_factor": 0.3, "threshold_factor": (0.2, 0.8)}, IMAGES),
    pytest.param("Solarization", {"threshold_factor": 0.5, "value_range": (0, 1)}, UNIT, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name,kwargs,images", COLOR_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_color_layer_transform_equals_keras(name, kwargs, images):
    ours = getattr(layers, name)(seed=7, **kwargs)
    theirs = getattr(keras.layers, name)(**kwargs)
    x = ops.convert_to_tensor(images)
    t = ours.get_random_transformation(x)
    got = np_(ours.transform_images(x, t))
    want = np.asarray(theirs.transform_images(keras.ops.convert_to_tensor(images), _keras_transformation(t),
                                              training=True))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
    # the call draws a transformation from the layer's generator and applies it; same seed, same numbers
    np.testing.assert_array_equal(np_(getattr(layers, name)(seed=7, **kwargs)(images)),
                                  np_(getattr(layers, name)(seed=7, **kwargs)(images)))
    assert np_(ours(images, training=False)).tolist() == images.tolist()
    config = ours.get_config()
    keras_config = theirs.get_config()
    assert set(keras_config) - {"dtype", "trainable", "name", "bounding_box_format"} <= set(config)
    for key in kwargs:
        np.testing.assert_allclose(np.asarray(config[key], "float64"), np.asarray(keras_config[key], "float64"))
    clone = getattr(layers, name).from_config(config)
    np.testing.assert_array_equal(np_(clone.transform_images(x, t)), got)


def test_color_jitter_transform_equals_keras():
    kwargs = {"brightness_factor": 0.2, "contrast_factor": 0.5, "saturation_factor": (0.3, 0.7),
              "hue_factor": 0.4, "value_range": (0, 255)}
    ours = layers.RandomColorJitter(seed=1, **kwargs)
    t = _numpy_tree(ours.get_random_transformation(ops.convert_to_tensor(IMAGES)))
    got = np_(ours.transform_images(ops.convert_to_tensor(IMAGES), t))
    # Keras 3 composes its sub-layers; apply each with our draws
    theirs = keras.layers.RandomColorJitter(**kwargs)
    x = keras.ops.convert_to_tensor(IMAGES)
    x = theirs.random_brightness.transform_images(x, {"rgb_delta": t["rgb_delta"]})
    x = theirs.random_contrast.transform_images(x, {"contrast_factor": t["contrast_factor"]})
    x = theirs.random_saturation.transform_images(x, {"factor": t["saturation_factor"]})
    x = theirs.random_hue.transform_images(x, {"factor": t["hue_factor"]})
    np.testing.assert_allclose(got, np.asarray(x), rtol=1e-5, atol=1e-3)
    assert layers.RandomColorJitter.from_config(ours.get_config()).get_config() == ours.get_config()


@pytest.mark.parametrize("name,kwargs", [
    ("RandomHue", {"factor": 0.0}), ("RandomColorDegeneration", {"factor": 0.0}),
    ("RandomSharpness", {"factor": (0.5, 0.5)}), ("RandomPosterization", {"factor": (8, 8)}),
    ("RandomGrayscale", {"factor": 1.0}), ("RandomInvert", {"factor": (1.0, 1.0)}), ("Solarization", {}),
])
def test_deterministic_settings_equal_keras_calls(name, kwargs):
    got = np_(getattr(layers, name)(seed=3, **kwargs)(IMAGES))
    want = np.asarray(getattr(keras.layers, name)(seed=3, **kwargs)(IMAGES))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("name,kwargs,images", [
    ("AutoContrast", {}, IMAGES),
    pytest.param("AutoContrast", {"value_range": (0, 1)}, UNIT, marks=pytest.mark.slow),
    ("Equalization", {"bins": 32}, IMAGES),
    pytest.param("Equalization", {"bins": 16, "value_range": (0, 1)}, UNIT, marks=pytest.mark.slow),
])
def test_deterministic_color_layers_equal_keras(name, kwargs, images):
    got = np_(getattr(layers, name)(**kwargs)(images))
    want = np.asarray(getattr(keras.layers, name)(**kwargs)(images))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


def test_color_errors_name_the_argument():
    with pytest.raises(ValueError, match="RandomHue: `factor`.*Received: factor=2"):
        layers.RandomHue(2)
    with pytest.raises(ValueError, match="RandomPosterization: `factor`"):
        layers.RandomPosterization(9)
    with pytest.raises(ValueError, match="RandomGrayscale: `factor`"):
        layers.RandomGrayscale(1.5)
    with pytest.raises(ValueError, match="Solarization: `value_range`"):
        layers.Solarization(value_range=3)


# ----------------------------------------------------------------------------------------------------------------
# Mixing, erasing and geometric layers

GEOMETRY_CASES = [
    ("MixUp", {"alpha": 0.4}),
    ("CutMix", {"factor": 0.8}),
    ("RandomErasing", {"factor": 1.0, "scale": (0.2, 0.6)}),
    pytest.param("RandomErasing", {"fill_value": 7.0}, marks=pytest.mark.slow),
    ("RandomShear", {"x_factor": 0.3, "y_factor": (0.1, 0.4)}),
    pytest.param("RandomShear", {"x_factor": 0.2, "fill_mode": "constant", "interpolation": "nearest"},
                 marks=pytest.mark.slow),
    ("RandomPerspective", {"factor": (0.9, 1.0), "scale": 0.6}),
    ("RandomGaussianBlur", {"factor": (0.9, 1.0), "kernel_size": 5, "sigma": (0.3, 0.9)}),
]


BATCH4 = np.random.default_rng(4).uniform(0, 255, size=(4, 5, 6, 3)).astype("float32")


@pytest.mark.parametrize("name,kwargs", GEOMETRY_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_geometry_and_mixing_transform_equals_keras(name, kwargs):
    ours = getattr(layers, name)(seed=1, **kwargs)
    theirs = getattr(keras.layers, name)(**kwargs)
    x = ops.convert_to_tensor(BATCH4)
    t = ours.get_random_transformation(x)
    got = np_(ours.transform_images(x, t))
    want = np.asarray(theirs.transform_images(keras.ops.convert_to_tensor(BATCH4), _keras_transformation(t),
                                              training=True))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-3)
    assert not np.allclose(got, BATCH4)  # the transformation did something
    np.testing.assert_array_equal(np_(getattr(layers, name)(seed=1, **kwargs)(BATCH4)),
                                  np_(getattr(layers, name)(seed=1, **kwargs)(BATCH4)))
    assert np_(ours(BATCH4, training=False)).tolist() == BATCH4.tolist()
    clone = getattr(layers, name).from_config(ours.get_config())
    np.testing.assert_array_equal(np_(clone.transform_images(x, t)), got)
    assert set(theirs.get_config()) - {"bounding_box_format"} <= set(ours.get_config())


def test_mix_up_and_cut_mix_mix_labels_like_keras():
    labels = np.eye(3, dtype="float32")[[0, 2]]
    for name, kwargs in [("MixUp", {"alpha": 0.5}), ("CutMix", {})]:
        ours = getattr(layers, name)(seed=11, **kwargs)
        out = ours({"images": IMAGES, "labels": labels})
        t = getattr(layers, name)(seed=11, **kwargs).get_random_transformation(ops.convert_to_tensor(IMAGES))
        theirs = getattr(keras.layers, name)(**kwargs)
        want = np.asarray(theirs.transform_labels(keras.ops.convert_to_tensor(labels), _keras_transformation(t)))
        np.testing.assert_allclose(np_(out["labels"]), want, rtol=1e-6)
        np.testing.assert_allclose(np_(out["labels"]).sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.slow
def test_beta_draws_have_the_beta_moments():
    from kshim.layers.preprocessing.mixing_augmentation import beta
    from kshim import random as krandom
    for a in (0.3, 2.0):
        draws = np_(beta((4000,), a, a, krandom.SeedGenerator(1)))
        assert draws.min() >= 0.0 and draws.max() <= 1.0
        np.testing.assert_allclose(draws.mean(), 0.5, atol=0.02)
        np.testing.assert_allclose(draws.var(), 1.0 / (4 * (2 * a + 1)), rtol=0.08)


# ----------------------------------------------------------------------------------------------------------------
# Policies


def test_rand_augment_applies_the_drawn_operations():
    ours = layers.RandAugment(num_ops=2, factor=0.4, seed=2)
    x = ops.convert_to_tensor(IMAGES)
    idx = np_(ours.get_random_transformation(x)["layer_idxes"])
    assert idx.shape == (2,) and idx.min() >= 0 and idx.max() < 11
    # a forced choice of the deterministic operations gives Keras's numbers
    names = ours._names
    for name, keras_layer in [("auto_contrast", keras.layers.AutoContrast()),
                              ("equalization", keras.layers.Equalization(bins=256))]:
        forced = ops.convert_to_tensor(np.array([names.index(name), len(names)], "int32"))  # then no operation
        got = np_(ours.transform_images(x, {"layer_idxes": forced}))
        np.testing.assert_allclose(got, np.asarray(keras_layer(IMAGES)), rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(np_(layers.RandAugment(seed=2)(IMAGES)), np_(layers.RandAugment(seed=2)(IMAGES)))
    assert np_(ours(IMAGES, training=False)).tolist() == IMAGES.tolist()
    assert set(keras.layers.RandAugment().get_config()) <= set(ours.get_config())
    clone = layers.RandAugment.from_config(ours.get_config())
    assert clone.num_ops == 2 and clone.factor == ours.factor and clone._names == ours._names


def test_aug_mix_blends_within_range_and_repeats():
    ours = layers.AugMix(num_chains=2, chain_depth=2, factor=0.3, seed=4)
    t = ours.get_random_transformation(ops.convert_to_tensor(IMAGES))
    np.testing.assert_allclose(np_(t["chain_mixing_weights"]).sum(), 1.0, rtol=1e-6)
    assert 0.0 <= float(np_(t["weight_sample"])) <= 1.0
    out = np_(ours(IMAGES))
    assert out.min() >= 0.0 and out.max() <= 255.0 and not np.allclose(out, IMAGES)
    np.testing.assert_array_equal(np_(layers.AugMix(num_chains=2, chain_depth=2, factor=0.3, seed=4)(IMAGES)),
                                  np_(layers.AugMix(num_chains=2, chain_depth=2, factor=0.3, seed=4)(IMAGES)))
    # weight_sample 1 keeps the image exactly
    kept = ours.transform_images(ops.convert_to_tensor(IMAGES), {**t, "weight_sample": ops.convert_to_tensor(1.0)})
    np.testing.assert_allclose(np_(kept), IMAGES, rtol=1e-6)
    assert set(keras.layers.AugMix().get_config()) <= set(ours.get_config())
    assert len(layers.AugMix(all_ops=False)._names) == 7 and len(ours._names) == 11


def test_random_elastic_transform():
    x8 = np.random.default_rng(8).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    off = layers.RandomElasticTransform(factor=0.0, seed=1)
    np.testing.assert_array_equal(np_(off(x8)), np.asarray(keras.layers.RandomElasticTransform(factor=0.0)(x8)))
    ours = layers.RandomElasticTransform(factor=(1.0, 1.0), scale=1.0, seed=1)
    t = ours.get_random_transformation(ops.convert_to_tensor(x8))
    still = ours.transform_images(ops.convert_to_tensor(x8), {**t, "noise": ops.zeros_like(t["noise"])})
    np.testing.assert_allclose(np_(still), x8, rtol=1e-6)  # no displacement: the image itself
    out = np_(ours.transform_images(ops.convert_to_tensor(x8), t))
    assert out.min() >= 0 and out.max() <= 255 and not np.allclose(out, x8)
    np.testing.assert_array_equal(np_(layers.RandomElasticTransform(factor=(1.0, 1.0), seed=1)(x8)),
                                  np_(layers.RandomElasticTransform(factor=(1.0, 1.0), seed=1)(x8)))
    assert set(keras.layers.RandomElasticTransform().get_config()) <= set(ours.get_config())
