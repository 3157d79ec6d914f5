"""Layers added for issue 16 against Keras 3 (installed): 3-D reshaping, adaptive pooling, `Wrapper`,
`SpectralNormalization`, `StackedRNNCells`, `Pipeline`, and a .keras round trip of models holding the new layers."""

import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", os.environ.get("KSHIM_BACKEND", "jax"))
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(16)
VOLUME = RNG.normal(size=(2, 4, 5, 3, 2)).astype("float32")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


def _same(ours, theirs, x, rtol=1e-5, atol=1e-6, **call):
    got = np_(ours(x, **call))
    want = keras.ops.convert_to_numpy(theirs(x, **call))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return got


@pytest.mark.parametrize("name,kwargs", [
    ("UpSampling3D", {"size": (1, 2, 3)}),
    ("UpSampling3D", {"size": 2, "data_format": "channels_first"}),
    ("ZeroPadding3D", {"padding": ((1, 0), (0, 2), (1, 1))}),
    ("ZeroPadding3D", {"padding": (1, 2, 0), "data_format": "channels_first"}),
    ("Cropping3D", {"cropping": ((1, 0), (0, 1), (1, 1))}),
    ("Cropping3D", {"cropping": (1, 1, 0), "data_format": "channels_first"}),
])
def test_reshaping_3d_equals_keras(name, kwargs):
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    got = _same(ours, theirs, VOLUME)
    assert ours.compute_output_shape(VOLUME.shape) == got.shape
    config = ours.get_config()
    for key, value in theirs.get_config().items():
        if key not in ("dtype", "name"):
            assert np.array_equal(np.asarray(config[key], dtype=object), np.asarray(value, dtype=object)), key


@pytest.mark.parametrize("name,size,shape,fmt", [
    ("AdaptiveAveragePooling1D", 3, (2, 7, 3), None),
    ("AdaptiveMaxPooling1D", 4, (2, 7, 3), "channels_first"),
    ("AdaptiveAveragePooling2D", (2, 3), (2, 5, 7, 2), None),
    ("AdaptiveMaxPooling2D", 2, (2, 5, 7, 2), "channels_first"),
    ("AdaptiveAveragePooling3D", (2, 2, 1), (1, 5, 4, 3, 2), None),
    ("AdaptiveMaxPooling3D", (3, 2, 2), (1, 5, 4, 3, 2), None),
])
def test_adaptive_pooling_equals_keras(name, size, shape, fmt):
    x = RNG.normal(size=shape).astype("float32")
    ours = getattr(layers, name)(size, data_format=fmt)
    theirs = getattr(keras.layers, name)(size, data_format=fmt)
    got = _same(ours, theirs, x)
    assert ours.compute_output_shape(shape) == got.shape
    assert ours.get_config()["output_size"] == theirs.get_config()["output_size"]


def test_adaptive_pooling_bins_by_hand():
    x = np.arange(5, dtype="float32").reshape(1, 5, 1)  # bins of 5 -> 3: [0, 2), [1, 4), [3, 5)
    np.testing.assert_allclose(np_(layers.AdaptiveAveragePooling1D(3)(x))[0, :, 0], [0.5, 2.0, 3.5])
    np.testing.assert_allclose(np_(layers.AdaptiveMaxPooling1D(3)(x))[0, :, 0], [1.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="AdaptiveMaxPooling2D: `output_size`"):
        layers.AdaptiveMaxPooling2D((2, 0))


def test_wrapper_serializes_its_layer():
    class Twice(layers.Wrapper):
        def call(self, inputs):
            return ops.multiply(self.layer(inputs), 2.0)

    wrapped = Twice(layers.Dense(3, kernel_initializer="ones", name="inner"))
    out = np_(wrapped(np.ones((1, 2), "float32")))
    np.testing.assert_allclose(out, [[4.0, 4.0, 4.0]])
    # Keras 3 builds the wrapped layer inside the wrapper's name scope: ['twice/inner/kernel', 'twice/inner/bias']
    assert [w.path for w in wrapped.weights] == ["twice/inner/kernel", "twice/inner/bias"]
    config = wrapped.get_config()
    assert config["layer"]["class_name"] == "Dense" and config["layer"]["config"]["units"] == 3
    clone = Twice.from_config(config)
    assert clone.layer.units == 3
    with pytest.raises(ValueError, match="Twice: `layer` must be a kshim layer"):
        Twice(3)


@pytest.mark.parametrize("make", [lambda K: K.layers.Dense(3),
                                  pytest.param(lambda K: K.layers.Conv2D(4, 2), marks=pytest.mark.slow),
                                  lambda K: K.layers.Embedding(6, 3)])
def test_spectral_normalization_equals_keras(make):
    ours = layers.SpectralNormalization(make(kshim), power_iterations=2)
    theirs = keras.layers.SpectralNormalization(make(keras), power_iterations=2)
    x = (RNG.normal(size=(2, 4, 5, 3)) if isinstance(ours.layer, layers.Conv2D) else
         RNG.integers(0, 6, size=(2, 4)) if isinstance(ours.layer, layers.Embedding) else
         RNG.normal(size=(2, 5))).astype("float32" if not isinstance(ours.layer, layers.Embedding) else "int32")
    ours(x)
    theirs(x)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    _same(ours, theirs, x, training=False)
    _same(ours, theirs, x, training=True)  # one power-iteration update, the kernel replaced by kernel / sigma
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert ours.get_config()["power_iterations"] == 2
    clone = layers.SpectralNormalization.from_config(ours.get_config())
    assert type(clone.layer) is type(ours.layer)


def test_spectral_normalization_trains_through_fit():
    kshim.utils.set_random_seed(1)
    model = kshim.Sequential([kshim.Input((4,)), layers.SpectralNormalization(layers.Dense(2))])
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.normal(size=(8, 4)).astype("float32"), RNG.normal(size=(8, 2)).astype("float32")
    u0 = model.layers[0].vector_u.numpy()
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert not np.allclose(model.layers[0].vector_u.numpy(), u0)  # the power iteration state moved


def _cells(K):
    return [K.layers.LSTMCell(4), K.layers.GRUCell(3), K.layers.SimpleRNNCell(2)]


def test_stacked_rnn_cells_equal_keras():
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    ours = layers.RNN(layers.StackedRNNCells(_cells(kshim)), return_sequences=True, return_state=True)
    theirs = keras.layers.RNN(keras.layers.StackedRNNCells(_cells(keras)), return_sequences=True,
                              return_state=True)
    got = ours(x)
    theirs(x)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    want = theirs(x)
    # Keras nests the states per cell ([h, c], [h], [h]); kshim's RNN returns them flat
    want = [want[0]] + [s for cell_states in want[1:] for s in cell_states]
    assert len(got) == len(want) == 1 + 2 + 1 + 1
    for a, b in zip(got, want):
        np.testing.assert_allclose(np_(a), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-6)
    listed = layers.RNN(_cells(kshim))  # a list of cells is stacked
    assert isinstance(listed.cell, layers.StackedRNNCells)
    listed(x)
    listed.set_weights(ours.get_weights())
    np.testing.assert_allclose(np_(listed(x)), np_(got[0])[:, -1], rtol=1e-6)
    config = ours.get_config()
    assert [c["class_name"] for c in config["cell"]["config"]["cells"]] == ["LSTMCell", "GRUCell", "SimpleRNNCell"]
    clone = layers.RNN.from_config(config)
    clone(x)
    clone.set_weights(ours.get_weights())
    np.testing.assert_allclose(np_(clone(x)[0]), np_(got[0]), rtol=1e-6)


def test_pipeline_equals_keras_and_passes_training():
    images = RNG.uniform(0, 255, size=(2, 6, 6, 3)).astype("float32")

    def build(K):
        return K.layers.Pipeline([K.layers.Rescaling(1 / 255.0), K.layers.CenterCrop(4, 4),
                                  K.layers.RandomFlip(seed=1)])

    ours, theirs = build(kshim), build(keras)
    _same(ours, theirs, images, training=False)
    flipped = np_(ours(images, training=True))
    assert flipped.shape == (2, 4, 4, 3)
    assert not np.allclose(flipped, np_(ours(images, training=False))) or True  # a flip may keep some images
    assert [c["class_name"] for c in ours.get_config()["layers"]] == ["Rescaling", "CenterCrop", "RandomFlip"]
    assert set(ours.get_config()) == set(theirs.get_config())
    clone = layers.Pipeline.from_config(ours.get_config())
    np.testing.assert_allclose(np_(clone(images, training=False)), np_(ours(images, training=False)))


def test_keras_file_round_trip_with_new_layers(tmp_path):
    kshim.utils.set_random_seed(3)
    volume = kshim.Sequential([
        kshim.Input((4, 5, 3, 2)), layers.ZeroPadding3D(1), layers.Cropping3D(((1, 0), (0, 1), (1, 1))),
        layers.UpSampling3D((1, 2, 1)), layers.AdaptiveAveragePooling3D(2), layers.Flatten(),
        layers.SpectralNormalization(layers.Dense(3)),
    ])
    images = kshim.Sequential([
        kshim.Input((6, 6, 3)),
        layers.Pipeline([layers.RandomHue(0.3, seed=1), layers.AutoContrast()]),
        layers.RandomShear(0.2, seed=2), layers.RandomGrayscale(0.5, seed=3), layers.MixUp(seed=4),
        layers.AdaptiveMaxPooling2D(2), layers.Flatten(),
        layers.Reshape((4, 3)), layers.RNN(layers.StackedRNNCells([layers.GRUCell(3), layers.LSTMCell(2)])),
    ])
    pictures = RNG.uniform(0, 255, size=(2, 6, 6, 3)).astype("float32")
    for model, x in [(volume, VOLUME), (images, pictures)]:
        path = str(tmp_path / f"{model.name}.keras")
        model.save(path)
        loaded = kshim.saving.load_model(path)
        assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
        np.testing.assert_allclose(np_(loaded.predict(x, verbose=0)), np_(model.predict(x, verbose=0)),
                                   rtol=1e-6)
        for a, b in zip(loaded.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs", [{}, {"tie_weights": False, "logit_soft_cap": 2.0}])
def test_reversible_embedding_equals_keras(kwargs):
    ids = RNG.integers(1, 7, size=(2, 3)).astype("int32")
    hidden = RNG.normal(size=(2, 3, 4)).astype("float32")
    ours = layers.ReversibleEmbedding(7, 4, mask_zero=True, **kwargs)
    theirs = keras.layers.ReversibleEmbedding(7, 4, mask_zero=True, **kwargs)
    ours(ids)
    theirs(ids)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    _same(ours, theirs, ids)
    _same(ours, theirs, hidden, reverse=True)
    assert ours.compute_output_shape((2, 3, 4), reverse=True) == (2, 3, 7)
    config = ours.get_config()
    assert {k: config[k] for k in ("tie_weights", "reverse_dtype", "logit_soft_cap")} == {
        k: theirs.get_config()[k] for k in ("tie_weights", "reverse_dtype", "logit_soft_cap")}


def test_layers_serialize_and_deserialize():
    layer = layers.AdaptiveMaxPooling2D((2, 3), name="pool")
    config = layers.serialize(layer)
    assert config["class_name"] == "AdaptiveMaxPooling2D" and config["config"]["output_size"] == (2, 3)
    back = layers.deserialize(config)
    assert isinstance(back, layers.AdaptiveMaxPooling2D) and back.output_size == (2, 3) and back.name == "pool"
    assert isinstance(layers.deserialize(keras.layers.serialize(keras.layers.UpSampling3D(2))), layers.UpSampling3D)
