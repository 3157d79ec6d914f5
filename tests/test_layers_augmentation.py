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
    ("RandomPosterization", {"factor": 3, "value_range": (0, 1)}, UNIT),
    ("RandomInvert", {"factor": 0.6}, IMAGES),
    ("Solarization", {"addition_factor": 0.3, "threshold_factor": (0.2, 0.8)}, IMAGES),
    ("Solarization", {"threshold_factor": 0.5, "value_range": (0, 1)}, UNIT),
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
    ("AutoContrast", {}, IMAGES), ("AutoContrast", {"value_range": (0, 1)}, UNIT),
    ("Equalization", {"bins": 32}, IMAGES), ("Equalization", {"bins": 16, "value_range": (0, 1)}, UNIT),
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
