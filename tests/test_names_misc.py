"""Keras 3 names added for issue 16 against Keras 3 (installed): the epoch/step caps of ``keras.config``, the
interactive-logging switch, and the names that go with them."""

import logging
import os
import warnings

import numpy as np
import pytest

import kshim
from kshim import ops

os.environ.setdefault("KERAS_BACKEND", os.environ.get("KSHIM_BACKEND", "jax"))
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(16)
X = RNG.normal(size=(20, 3)).astype("float32")
Y = RNG.normal(size=(20, 2)).astype("float32")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


def _counting_fit(lib, **fit_kwargs):
    """(history, batches seen per epoch, validation batches per epoch, warnings) of a tiny fit with ``lib``."""
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    seen = {"train": [], "test": []}

    class Count(lib.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen["train"].append(0)

        def on_train_batch_end(self, batch, logs=None):
            seen["train"][-1] += 1

        def on_test_begin(self, logs=None):
            seen["test"].append(0)

        def on_test_batch_end(self, batch, logs=None):
            seen["test"][-1] += 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(X, Y, batch_size=4, verbose=0, callbacks=[Count()], shuffle=False, **fit_kwargs)
        predicted = model.predict(X, batch_size=4, verbose=0)
    messages = sorted({str(w.message) for w in caught if str(w.message).startswith("Limiting")})
    return history.params["epochs"], len(history.history["loss"]), seen, messages, len(predicted)


@pytest.fixture
def caps():
    yield
    for lib in (kshim, keras):
        lib.config.set_max_epochs(None)
        lib.config.set_max_steps_per_epoch(None)


@pytest.mark.parametrize("max_epochs, max_steps, fit_kwargs", [
    (2, 3, dict(epochs=4, validation_data=(X, Y))),
    (5, None, dict(epochs=3)),
    (None, 2, dict(epochs=2, steps_per_epoch=4)),
    (None, 7, dict(epochs=1)),
])
def test_fit_caps_behave_as_in_keras(caps, max_epochs, max_steps, fit_kwargs):
    results = []
    for lib in (kshim, keras):
        lib.config.set_max_epochs(max_epochs)
        lib.config.set_max_steps_per_epoch(max_steps)
        assert lib.config.max_epochs() == max_epochs and lib.config.max_steps_per_epoch() == max_steps
        results.append(_counting_fit(lib, **fit_kwargs))
    ours, theirs = results
    # epochs in the callbacks' params, epochs run, batches per epoch (train and validation), warnings
    assert ours[:4] == theirs[:4]
    # predict is capped to `max_steps` batches in Keras 3 (5 batches of 4 otherwise)
    assert ours[4] == theirs[4]


def test_caps_off_by_default_and_checked():
    assert kshim.config.max_epochs() is None and kshim.config.max_steps_per_epoch() is None
    with pytest.raises(ValueError, match="max_epochs"):
        kshim.config.set_max_epochs(-1)
    with pytest.raises(ValueError, match="max_steps_per_epoch"):
        kshim.config.set_max_steps_per_epoch("3")


@pytest.fixture
def logging_off():
    kshim.config.disable_interactive_logging()
    yield
    kshim.config.enable_interactive_logging()


def test_interactive_logging_switch(capsys, caplog, logging_off):
    assert kshim.utils.disable_interactive_logging is kshim.config.disable_interactive_logging
    assert kshim.utils.is_interactive_logging_enabled() is False
    model = kshim.Sequential([kshim.Input((3,)), kshim.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    with caplog.at_level(logging.INFO, logger="kshim"):
        model.fit(X, Y, batch_size=10, epochs=2, verbose=1)
        model.summary()
    assert capsys.readouterr().out == ""  # nothing on stdout: every line went to logging
    lines = [r.getMessage() for r in caplog.records if r.name == "kshim"]
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("2/2 ") and "loss: " in lines[1]
    assert "Epoch 2/2" in lines and any(line.startswith('Model: "sequential') for line in lines)
    kshim.utils.enable_interactive_logging()
    assert kshim.config.is_interactive_logging_enabled() is True
    with caplog.at_level(logging.INFO, logger="kshim"):
        caplog.clear()
        model.fit(X, Y, batch_size=10, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and not [r for r in caplog.records if r.name == "kshim"]
    # Keras 3 has the same switch, on by default
    assert keras.config.is_interactive_logging_enabled() is True


# -- HashedCrossing (Keras 3 needs TensorFlow for it: its own test vectors are the reference) --------------------
FEAT1 = np.array(["A", "B", "A", "B", "A"])
FEAT2 = np.array([101, 101, 101, 102, 102])


def test_hashed_crossing_bins_equal_keras():
    layer = kshim.layers.HashedCrossing(num_bins=5)
    out = layer((FEAT1, FEAT2))
    # int64, as `Hashing` gives (int32 on jax without x64, as Keras 3 there)
    assert ops.standardize_dtype(out.dtype) == ops.standardize_dtype(kshim.layers.Hashing(5)(FEAT1).dtype)
    np.testing.assert_array_equal(np_(out), [1, 4, 1, 1, 3])  # keras/src/layers/preprocessing/hashed_crossing_test
    one_hot = np_(kshim.layers.HashedCrossing(num_bins=5, output_mode="one_hot")((FEAT1, FEAT2)))
    np.testing.assert_array_equal(one_hot, np.eye(5, dtype="float32")[[1, 4, 1, 1, 3]])
    assert int(np_(kshim.layers.HashedCrossing(num_bins=10)(("A", 101)))) == 1  # a scalar cross: shape ()
    scalar_hot = kshim.layers.HashedCrossing(num_bins=10, output_mode="one_hot")(("A", 101))
    np.testing.assert_array_equal(np_(scalar_hot), np.eye(10)[1])
    # (batch, 1) inputs keep their shape in "int" mode; the order of the inputs matters
    col = kshim.layers.HashedCrossing(num_bins=5)((FEAT1[:, None], FEAT2[:, None]))
    np.testing.assert_array_equal(np_(col)[:, 0], [1, 4, 1, 1, 3])
    swapped = np_(kshim.layers.HashedCrossing(num_bins=1 << 30)((FEAT2, FEAT1)))
    assert not np.array_equal(swapped, np_(kshim.layers.HashedCrossing(num_bins=1 << 30)((FEAT1, FEAT2))))


def test_hashed_crossing_shapes_dtypes_config_and_errors():
    ints = (np.array([1, 2]), np.array([4, 5]))
    layer = kshim.layers.HashedCrossing(num_bins=3, dtype="int32")
    assert ops.standardize_dtype(layer(ints).dtype) == "int32"
    hot = kshim.layers.HashedCrossing(num_bins=4, output_mode="one_hot")
    assert hot.compute_output_shape([(None, 1), (None, 1)]) == (None, 4)
    assert tuple(hot(ints).shape) == (2, 4) and ops.standardize_dtype(hot(ints).dtype) == "float32"
    a, b = kshim.Input((1,), dtype="int64"), kshim.Input((1,), dtype="int64")
    assert tuple(kshim.layers.HashedCrossing(num_bins=4)((a, b)).shape) == (None, 1)
    config = kshim.layers.serialize(hot)["config"]
    assert config == {"num_bins": 4, "output_mode": "one_hot", "sparse": False, "name": hot.name,
                      "dtype": "float32"}
    assert kshim.layers.deserialize(kshim.layers.serialize(hot)).num_bins == 4
    with pytest.raises(ValueError, match="list or tuple"):
        layer(np.array(1))
    with pytest.raises(ValueError, match="at least two"):
        layer([np.array(1)])
    with pytest.raises(ValueError, match="same shape"):
        layer((np.array([1, 2]), np.array([1, 2, 3])))
    with pytest.raises(ValueError, match="integers or strings"):
        layer((np.array([1.5]), np.array([2.5])))
    with pytest.raises(ValueError, match="shape"):
        layer((np.ones((2, 2), "int64"), np.ones((2, 2), "int64")))
    with pytest.raises(ValueError, match="output_mode"):
        kshim.layers.HashedCrossing(3, output_mode="multi_hot")
