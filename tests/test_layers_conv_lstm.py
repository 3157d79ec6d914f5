"""ConvLSTM1D/2D/3D against Keras 3 (installed): weights (names, shapes, order), outputs for the same weights,
states, config, and a seeded dropout run that repeats."""

import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", os.environ.get("KSHIM_BACKEND", "jax"))
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(5)


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


def kn(x):
    return keras.ops.convert_to_numpy(x)


CASES = [
    ("ConvLSTM1D", (2, 3, 6, 2), {"filters": 3, "kernel_size": 3, "return_sequences": True}),
    ("ConvLSTM2D", (2, 3, 5, 4, 2), {"filters": 2, "kernel_size": (3, 2), "padding": "same",
                                     "return_state": True}),
    pytest.param("ConvLSTM2D", (1, 2, 2, 5, 4), {"filters": 2, "kernel_size": 2, "strides": (1, 2),
                                                 "data_format": "channels_first", "go_backwards": True},
                 marks=pytest.mark.slow),
    pytest.param("ConvLSTM3D", (1, 2, 4, 3, 3, 1), {"filters": 2, "kernel_size": 2, "unit_forget_bias": False},
                 marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name,shape,kwargs", CASES)
def test_conv_lstm_equals_keras(name, shape, kwargs):
    x = RNG.normal(size=shape).astype("float32")
    ours = getattr(layers, name)(**kwargs)
    theirs = getattr(keras.layers, name)(**kwargs)
    got = ours(x)
    theirs(x)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    bias = ours.get_weights()[2]
    f = kwargs["filters"]
    expected_forget = 0.0 if kwargs.get("unit_forget_bias") is False else 1.0
    np.testing.assert_array_equal(bias[f:2 * f], expected_forget)
    weights = [RNG.normal(scale=0.4, size=w.shape).astype("float32") for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    got, want = ours(x), theirs(x)
    got = got if isinstance(got, (list, tuple)) else [got]
    want = want if isinstance(want, (list, tuple)) else [want]
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(np_(a), kn(b), rtol=1e-5, atol=1e-5)
    spec = ours.compute_output_shape(shape)
    specs = spec if isinstance(spec, list) else [spec]
    assert [tuple(s) for s in specs] == [np_(a).shape for a in got]
    config, keras_config = ours.get_config(), theirs.get_config()
    assert set(config) == set(keras_config)
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "return_sequences", "unit_forget_bias"):
        assert tuple(np.atleast_1d(config[key])) == tuple(np.atleast_1d(keras_config[key])), key
    clone = getattr(layers, name).from_config(config)
    clone(x)
    clone.set_weights(weights)
    again = clone(x)
    np.testing.assert_array_equal(np_(again[0] if kwargs.get("return_state") else again), np_(got[0]))


@pytest.mark.slow
def test_conv_lstm_dropout_is_seeded_and_trains():
    x = RNG.normal(size=(2, 3, 5, 5, 1)).astype("float32")
    y = RNG.normal(size=(2, 5, 5, 2)).astype("float32")

    def run():
        kshim.utils.set_random_seed(7)
        model = kshim.Sequential([kshim.Input((3, 5, 5, 1)),
                                  layers.ConvLSTM2D(2, 3, padding="same", dropout=0.3, recurrent_dropout=0.2,
                                                    seed=1)])
        model.compile(optimizer="adam", loss="mse")
        history = model.fit(x, y, epochs=1, batch_size=2, verbose=0)
        return history.history["loss"], model.get_weights()

    (loss_a, w_a), (loss_b, w_b) = run(), run()
    assert loss_a == loss_b and np.all(np.isfinite(loss_a))
    for a, b in zip(w_a, w_b):
        np.testing.assert_array_equal(a, b)


def test_conv_lstm_errors():
    with pytest.raises(ValueError, match="ConvLSTMCell: `padding` must be 'valid' or 'same'"):
        layers.ConvLSTM2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="ConvLSTMCell: `filters` must be a positive integer"):
        layers.ConvLSTM1D(0, 3)
