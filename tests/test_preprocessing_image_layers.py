"""Image preprocessing layers and kshim.ops.image against Keras 3 (jax backend) and numpy.

Deterministic layers must give Keras 3's numbers. The random layers draw from kshim's generator, so their draws
are recomputed here from the layer's seed (a fresh `SeedGenerator(seed)` gives the same stream) and fed to
Keras 3's own transform (``keras.ops.image.affine_transform``) or to numpy.
"""

import math
import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops
from kshim import random as krandom

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(0, 255, size=(3, 7, 9, 3)).astype("float32")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


def draws(seed, *specs):
    """The successive uniform draws of a layer seeded with ``seed``: specs are (shape, minval, maxval)."""
    gen = krandom.SeedGenerator(seed)
    return [np_(krandom.uniform(shape, minval=lo, maxval=hi, seed=gen)) for shape, lo, hi in specs]


# ----------------------------------------------------------------------------------------------------------------
# Deterministic layers against Keras 3


@pytest.mark.parametrize("size", [(4, 5), (11, 13)])
@pytest.mark.parametrize("kwargs", [
    {}, {"interpolation": "nearest"}, {"interpolation": "bicubic"}, {"interpolation": "lanczos3"},
    {"crop_to_aspect_ratio": True}, {"pad_to_aspect_ratio": True, "fill_value": 9.0}, {"antialias": True},
])
def test_resizing_equals_keras(size, kwargs):
    if kwargs.get("crop_to_aspect_ratio") or kwargs.get("pad_to_aspect_ratio"):
        size = (size[0], size[1] // 2)  # a different aspect ratio, so that the crop / pad matters
    ours = np_(layers.Resizing(*size, **kwargs)(IMAGES))
    theirs = np.asarray(keras.layers.Resizing(*size, **kwargs)(IMAGES))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-4)


def test_resizing_hand_computed_and_dtypes():
    x = np.array([[0.0, 4.0]], "float32").reshape(1, 1, 2, 1)
    # half-pixel centres: output pixel j samples input at (j + 0.5) * 2 / 4 - 0.5 = -0.25, 0.25, 0.75, 1.25
    np.testing.assert_allclose(np_(layers.Resizing(1, 4)(x))[0, 0, :, 0], [0.0, 1.0, 3.0, 4.0])
    np.testing.assert_array_equal(np_(layers.Resizing(1, 4, interpolation="nearest")(x))[0, 0, :, 0],
                                  [0, 0, 4, 4])
    u8 = (IMAGES[0]).astype("uint8")
    ours = np_(layers.Resizing(5, 4)(u8))
    theirs = np.asarray(keras.layers.Resizing(5, 4)(u8))
    assert ours.dtype == np.uint8 and ours.shape == (5, 4, 3)
    # rounded back to uint8: a value within float rounding of .5 may round either way
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1 and np.mean(ours == theirs) > 0.95
    cf = np_(layers.Resizing(4, 5, data_format="channels_first")(IMAGES.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(cf.transpose(0, 2, 3, 1), np_(layers.Resizing(4, 5)(IMAGES)), rtol=1e-6)


@pytest.mark.parametrize("size", [(3, 5), (7, 9), (10, 4)])
def test_center_crop_equals_keras(size):
    ours = np_(layers.CenterCrop(*size)(IMAGES))
    theirs = np.asarray(keras.layers.CenterCrop(*size)(IMAGES))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-4)
    if size[0] <= 7 and size[1] <= 9:
        h0, w0 = (7 - size[0]) // 2, (9 - size[1]) // 2
        np.testing.assert_array_equal(ours, IMAGES[:, h0:h0 + size[0], w0:w0 + size[1]])


def test_rescaling():
    x = np.arange(12, dtype="uint8").reshape(1, 2, 2, 3)
    np.testing.assert_allclose(np_(layers.Rescaling(1 / 255.0)(x)), x / 255.0, rtol=1e-6)
    np.testing.assert_allclose(np_(layers.Rescaling(1 / 127.5, offset=-1)(x)), x / 127.5 - 1, rtol=1e-6)
    per_channel = np_(layers.Rescaling([1.0, 2.0, 3.0])(x))
    np.testing.assert_allclose(per_channel, x * np.array([1.0, 2.0, 3.0]), rtol=1e-6)
    np.testing.assert_allclose(np_(layers.Rescaling(0.5, 2.0)(IMAGES)),
                               np.asarray(keras.layers.Rescaling(0.5, 2.0)(IMAGES)), rtol=1e-6)
    with pytest.raises(ValueError, match="scale"):
        layers.Rescaling("half")


@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_transform_equals_keras(fill_mode, interpolation):
    t = np.array([[0.9, -0.3, 1.5, 0.4, 1.1, -2.0, 0, 0], [1.3, 0.2, -1.0, -0.1, 0.8, 0.7, 0, 0],
                  [1, 0, 2.5, 0, 1, -1.5, 0, 0]], "float32")
    ours = np_(ops.image.affine_transform(IMAGES, t, interpolation, fill_mode, fill_value=3.0))
    theirs = np.asarray(keras.ops.image.affine_transform(IMAGES, t, interpolation, fill_mode, 3.0))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)


def test_map_coordinates_equals_keras():
    img = IMAGES[0, :, :, 0]
    coords = RNG.uniform(-3, 12, size=(2, 5, 4)).astype("float32")
    for order in (0, 1):
        ours = np_(ops.image.map_coordinates(img, coords, order, "reflect"))
        theirs = np.asarray(keras.ops.image.map_coordinates(img, coords, order, "reflect"))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)


# ----------------------------------------------------------------------------------------------------------------
# Random layers: identity at inference, Keras 3's transforms for our draws in training


RANDOM_LAYERS = [
    lambda: layers.RandomFlip(seed=1), lambda: layers.RandomRotation(0.2, seed=1),
    lambda: layers.RandomZoom(0.3, seed=1), lambda: layers.RandomTranslation(0.2, 0.3, seed=1),
    lambda: layers.RandomContrast(0.4, seed=1), lambda: layers.RandomBrightness(0.3, seed=1),
]


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_random_layers_identity_at_inference_and_seeded(make):
    np.testing.assert_array_equal(np_(make()(IMAGES, training=False)), IMAGES)
    a, b = make(), make()
    out1 = np_(a(IMAGES, training=True))
    np.testing.assert_array_equal(out1, np_(b(IMAGES, training=True)))  # same seed, same augmentation
    assert not np.array_equal(out1, IMAGES)
    assert not np.array_equal(np_(a(IMAGES, training=True)), out1)  # the stream advances
    single = np_(make()(IMAGES[0], training=True))
    assert single.shape == IMAGES[0].shape


def test_random_flip_matches_numpy():
    (u,) = draws(5, ((3, 1, 1, 1), 0.0, 1.0))
    flips = u.reshape(-1) <= 0.5
    expected = np.stack([x[::-1, ::-1] if f else x for x, f in zip(IMAGES, flips)])
    np.testing.assert_array_equal(np_(layers.RandomFlip(seed=5)(IMAGES)), expected)
    expected_h = np.stack([x[:, ::-1] if f else x for x, f in zip(IMAGES, flips)])
    np.testing.assert_array_equal(np_(layers.RandomFlip("horizontal", seed=5)(IMAGES)), expected_h)
    expected_v = np.stack([x[::-1] if f else x for x, f in zip(IMAGES, flips)])
    np.testing.assert_array_equal(np_(layers.RandomFlip("vertical", seed=5)(IMAGES)), expected_v)


def _keras_affine(images, rows, fill_mode="reflect", interpolation="bilinear", fill_value=0.0):
    return np.asarray(keras.ops.image.affine_transform(images, np.asarray(rows, "float32"), interpolation,
                                                       fill_mode, fill_value))


def test_random_rotation_matches_keras_transform():
    (angle,) = draws(11, ((3,), -0.2 * 360, 0.2 * 360))
    h, w = 7, 9
    rows = []
    for a in np.deg2rad(angle.astype(np.float64)):
        c, s = math.cos(a), math.sin(a)
        cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
        rows.append([c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy, 0, 0])
    ours = np_(layers.RandomRotation(0.2, seed=11)(IMAGES))
    np.testing.assert_allclose(ours, _keras_affine(IMAGES, rows), rtol=1e-4, atol=2e-3)
    ours = np_(layers.RandomRotation((-0.2, 0.2), fill_mode="constant", fill_value=1.0,
                                     interpolation="nearest", seed=11)(IMAGES))
    theirs = _keras_affine(IMAGES, rows, "constant", "nearest", 1.0)
    assert np.mean(np.isclose(ours, theirs, atol=1e-3)) > 0.99  # nearest: ties may round differently


def test_random_zoom_and_translation_match_keras_transform():
    zh, zw = draws(4, ((3, 1), 0.7, 1.3), ((3, 1), 0.9, 1.2))
    rows = [[w, 0, 4 * (1 - w), 0, h, 3 * (1 - h), 0, 0] for h, w in zip(zh[:, 0], zw[:, 0])]
    ours = np_(layers.RandomZoom(0.3, (-0.1, 0.2), seed=4)(IMAGES))
    np.testing.assert_allclose(ours, _keras_affine(IMAGES, rows), rtol=1e-4, atol=2e-3)
    dy, dx = draws(6, ((3, 1), -0.2, 0.2), ((3, 1), -0.3, 0.3))
    rows = [[1, 0, -x * 9, 0, 1, -y * 7, 0, 0] for y, x in zip(dy[:, 0], dx[:, 0])]
    ours = np_(layers.RandomTranslation(0.2, 0.3, fill_mode="wrap", seed=6)(IMAGES))
    np.testing.assert_allclose(ours, _keras_affine(IMAGES, rows, "wrap"), rtol=1e-4, atol=2e-3)


def test_random_contrast_and_brightness_match_numpy():
    (f,) = draws(8, ((3, 1, 1, 1), 0.6, 1.4))
    mean = IMAGES.mean(axis=(1, 2), keepdims=True)
    expected = np.clip((IMAGES - mean) * f + mean, 0, 255)
    np.testing.assert_allclose(np_(layers.RandomContrast(0.4, seed=8)(IMAGES)), expected, rtol=1e-5, atol=1e-3)
    (d,) = draws(9, ((3, 1, 1, 1), -0.3, 0.3))
    expected = np.clip(IMAGES + d * 255.0, 0, 255)
    np.testing.assert_allclose(np_(layers.RandomBrightness(0.3, seed=9)(IMAGES)), expected, rtol=1e-5,
                               atol=1e-3)
    scaled = IMAGES / 255.0
    out = np_(layers.RandomBrightness((0.1, 0.2), value_range=(0, 1), seed=9)(scaled))
    (d,) = draws(9, ((3, 1, 1, 1), 0.1, 0.2))
    np.testing.assert_allclose(out, np.clip(scaled + d, 0, 1), rtol=1e-5, atol=1e-6)


def test_random_crop_training_window_and_inference_resize():
    h0, w0 = draws(2, ((), 0.0, 7 - 4 + 1.0), ((), 0.0, 9 - 5 + 1.0))
    h0, w0 = int(h0), int(w0)
    out = np_(layers.RandomCrop(4, 5, seed=2)(IMAGES))
    np.testing.assert_array_equal(out, IMAGES[:, h0:h0 + 4, w0:w0 + 5])
    inference = np_(layers.RandomCrop(4, 5, seed=2)(IMAGES, training=False))
    np.testing.assert_allclose(inference, np_(layers.Resizing(4, 5, crop_to_aspect_ratio=True)(IMAGES)),
                               rtol=1e-6)
    up = np_(layers.RandomCrop(10, 12, seed=2)(IMAGES))  # smaller input: crop to the aspect ratio and resize up
    assert up.shape == (3, 10, 12, 3)


def test_random_layers_argument_errors():
    with pytest.raises(ValueError, match="mode"):
        layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="factor"):
        layers.RandomRotation(1.5)
    with pytest.raises(ValueError, match="fill_mode"):
        layers.RandomZoom(0.1, fill_mode="smear")
    with pytest.raises(ValueError, match="height_factor"):
        layers.RandomZoom(-1.0)
    with pytest.raises(ValueError, match="value_range"):
        layers.RandomBrightness(0.1, value_range=(0,))
    with pytest.raises(ValueError, match="rank 3"):
        layers.RandomFlip(seed=1)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="height"):
        layers.Resizing(0, 3)


def test_augmentation_in_a_model_trains_only_in_fit():
    kshim.utils.set_random_seed(0)
    x = RNG.uniform(0, 1, size=(32, 8, 8, 1)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype("int32")
    model = kshim.Sequential([kshim.Input((8, 8, 1)), layers.RandomFlip("horizontal", seed=3),
                              layers.RandomRotation(0.05, seed=4), layers.Flatten(),
                              layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    state = np_(model.layers[0].seed_generator.state.value).tolist()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np_(model.layers[0].seed_generator.state.value).tolist() == [state[0], state[1] + 4]
    p1 = model.predict(x, verbose=0)
    np.testing.assert_array_equal(p1, model.predict(x, verbose=0))  # inference: no augmentation
    assert model.layers[1].compute_output_shape((None, 8, 8, 1)) == (None, 8, 8, 1)


def test_configs_round_trip():
    for layer in [layers.Resizing(3, 4, interpolation="nearest", crop_to_aspect_ratio=True),
                  layers.CenterCrop(2, 3), layers.Rescaling(0.5, 1.0), layers.RandomFlip("vertical", seed=3),
                  layers.RandomRotation(0.1, fill_mode="constant", seed=2), layers.RandomZoom(0.2, 0.1),
                  layers.RandomTranslation(0.1, 0.2), layers.RandomCrop(3, 3, seed=1),
                  layers.RandomContrast(0.2), layers.RandomBrightness(0.1, value_range=(0, 1))]:
        clone = type(layer).from_config(layer.get_config())
        cfg, cfg2 = layer.get_config(), clone.get_config()
        cfg.pop("name"), cfg2.pop("name")
        assert cfg == cfg2
