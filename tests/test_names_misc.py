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
    pytest.param(None, 7, dict(epochs=1), marks=pytest.mark.slow),
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


# -- ScheduleFreeAdamW ------------------------------------------------------------------------------------------
def _np_schedule_free(values, grads, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8, warmup_steps=0,
                      weight_decay=None):
    """The schedule-free AdamW steps in float32 numpy, in Keras 3's order (no clipping)."""
    f = np.float32
    y = [v.copy() for v in values]
    z = [v.copy() for v in values]
    v2 = [np.zeros_like(v) for v in values]
    b1, b2, eps = f(beta_1), f(beta_2), f(epsilon)
    out = []
    for step, gs in enumerate(grads):
        t = f(step + 1)
        lr = f(learning_rate)
        if weight_decay:
            y = [w - w * f(weight_decay) * lr for w in y]
        if warmup_steps:
            lr = lr * min(t / f(warmup_steps), f(1))
        weight = f(1) / t
        for i, g in enumerate(gs):
            v2[i] = v2[i] + (g * g - v2[i]) * (f(1) - b2)
            z_old = z[i]
            z[i] = z_old - (lr * g) / (np.sqrt(v2[i] / (f(1) - b2 ** t)) + eps)
            x_old = (y[i] - (f(1) - b1) * z_old) / b1
            x = (f(1) - weight) * x_old + weight * z[i]
            y[i] = (f(1) - b1) * z[i] + b1 * x
        out.append([w.copy() for w in y])
    return out


@pytest.mark.parametrize("kwargs", [dict(), dict(learning_rate=0.05, warmup_steps=3, weight_decay=0.1),
                                    pytest.param(dict(beta_1=0.5, beta_2=0.9, epsilon=1e-3), marks=pytest.mark.slow)])
def test_schedule_free_adamw_equals_keras(kwargs):
    values = [RNG.normal(size=(3, 2)).astype("float32"), RNG.normal(size=(2,)).astype("float32")]
    grads = [[RNG.normal(size=v.shape).astype("float32") for v in values] for _ in range(4)]
    trajectories = []
    for lib in (kshim, keras):
        variables = [lib.Variable(v, name=f"w{i}") for i, v in enumerate(values)]
        opt = lib.optimizers.ScheduleFreeAdamW(**kwargs)
        seen = []
        for step in grads:
            opt.apply(step, variables)
            seen.append([np.asarray(lib.ops.convert_to_numpy(v.value)).copy() for v in variables])
        slots = {v.name: np.asarray(lib.ops.convert_to_numpy(v.value)).copy() for v in opt.variables}
        trajectories.append((seen, slots, opt.get_config()))
    (ours, our_slots, our_config), (theirs, their_slots, their_config) = trajectories
    # Keras 3 on torch reads the old `momentum` after updating it in place (`momentum.value` aliases the updated
    # tensor), so from step 2 its weights differ from the formula; on jax it computes the formula. kshim gives
    # the formula on both backends, equal to Keras 3 on jax.
    references = [_np_schedule_free(values, grads, **kwargs)]
    if keras.config.backend() == "jax":
        references.append(theirs)
    for reference in references:
        for a_step, b_step in zip(ours, reference):
            for a, b in zip(a_step, b_step):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert list(our_slots) == list(their_slots)  # names and order: iteration, learning_rate, momentum/velocity...
    for name in our_slots:  # the slots themselves agree with Keras 3 on both backends
        np.testing.assert_allclose(our_slots[name], their_slots[name], rtol=1e-5, atol=1e-7)
    assert our_config == {**their_config, "name": our_config["name"]}
    assert type(kshim.optimizers.get({"class_name": "ScheduleFreeAdamW", "config": their_config})).__name__ == \
        "ScheduleFreeAdamW"


def test_schedule_free_adamw_trains_and_checks_arguments():
    kshim.utils.set_random_seed(4)
    model = kshim.Sequential([kshim.Input((3,)), kshim.layers.Dense(2)])
    model.compile(optimizer=kshim.optimizers.ScheduleFreeAdamW(0.05), loss="mse")
    first = model.evaluate(X, Y, verbose=0)
    model.fit(X, Y, epochs=3, batch_size=10, verbose=0)
    assert model.evaluate(X, Y, verbose=0) < first
    with pytest.raises(ValueError, match="warmup_steps"):
        kshim.optimizers.ScheduleFreeAdamW(warmup_steps=-1)
    with pytest.raises(ValueError, match="beta_1"):
        kshim.optimizers.ScheduleFreeAdamW(beta_1=0.0)


# -- KerasFileEditor ----------------------------------------------------------------------------------------------
def _two_dense(lib, units=2):
    return lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, name="d1"), lib.layers.Dense(units, name="d2")])


def _h5_tree(path):
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.setdefault(name, obj[()] if hasattr(obj, "shape") else None))
    return out


def test_file_editor_reads_and_edits_like_keras(tmp_path, capsys):
    theirs = _two_dense(keras)
    theirs.save(str(tmp_path / "k.keras"))
    ours_editor = kshim.saving.KerasFileEditor(str(tmp_path / "k.keras"))
    their_editor = keras.saving.KerasFileEditor(str(tmp_path / "k.keras"))
    out = capsys.readouterr().out
    assert f"Keras model file '{tmp_path / 'k.keras'}'" in out and "Saved with Keras 3" in out
    assert ours_editor.object_metadata == their_editor.object_metadata == {
        "/layers/dense": {"name": "d1"}, "/layers/dense_1": {"name": "d2"}}
    assert ours_editor.config == their_editor.config and ours_editor.metadata == their_editor.metadata

    def flat(tree, prefix=""):
        return {k2: v2 for k, v in tree.items()
                for k2, v2 in (flat(v, f"{prefix}{k}/").items() if isinstance(v, dict) else [(prefix + k, v)])}

    ours_flat, their_flat = flat(ours_editor.weights_dict), flat(their_editor.weights_dict)
    assert list(ours_flat) == list(their_flat) == ["layers/dense/0", "layers/dense/1", "layers/dense_1/0",
                                                   "layers/dense_1/1"]
    for key in ours_flat:
        np.testing.assert_array_equal(ours_flat[key], their_flat[key])
    for editor in (ours_editor, their_editor):
        editor.rename_object("dense_1", "renamed")
        editor.add_weights("renamed", {"2": np.ones(3, "float32")})
        editor.delete_weight("layers/renamed", "2")
        editor.add_object("layers/extra", {"0": np.arange(4, dtype="float32").reshape(2, 2)})
        editor.delete_object("layers/dense")
    ours_editor.save(str(tmp_path / "ours.weights.h5"))
    their_editor.save(str(tmp_path / "theirs.weights.h5"))
    ours_file, their_file = _h5_tree(tmp_path / "ours.weights.h5"), _h5_tree(tmp_path / "theirs.weights.h5")
    assert list(ours_file) == list(their_file)
    for key, value in ours_file.items():
        if value is not None:
            np.testing.assert_array_equal(value, their_file[key])
    ours_editor.summary()
    summary = capsys.readouterr().out
    assert "Weights structure" in summary and "renamed ('d2')" not in summary and "├─ renamed" in summary
    assert "0: shape=(4, 2), dtype=float32" in summary


def test_file_editor_round_trip_into_models_and_compare(tmp_path, capsys):
    kshim.utils.set_random_seed(5)
    ours = _two_dense(kshim)
    ours.save_weights(str(tmp_path / "m.weights.h5"))
    editor = kshim.saving.KerasFileEditor(str(tmp_path / "m.weights.h5"))
    assert editor.config is None
    assert editor.compare(_two_dense(kshim)) == {"status": "success", "error_count": 0, "match_count": 4}
    result = editor.compare(_two_dense(kshim, units=5))
    assert result["status"] == "error" and result["error_count"] == 2  # dense_1's kernel and bias shapes
    assert "Weight shape mismatch for /layers/dense_1/0" in capsys.readouterr().out
    # resize the last layer in the file, then a Keras 3 model with 5 units loads it
    editor.delete_object("dense_1")
    editor.add_object("layers/dense_1", {"0": np.full((4, 5), 0.5, "float32"), "1": np.arange(5, dtype="float32")})
    editor.resave_weights(str(tmp_path / "edited.weights.h5"))
    theirs = _two_dense(keras, units=5)
    theirs.load_weights(str(tmp_path / "edited.weights.h5"))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(theirs.layers[0].kernel), np_(ours.layers[0].kernel))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(theirs.layers[1].bias), np.arange(5))


def test_file_editor_failed_save_keeps_the_original(tmp_path):
    path = str(tmp_path / "m.weights.h5")
    _two_dense(kshim).save_weights(path)
    before = open(path, "rb").read()
    editor = kshim.saving.KerasFileEditor(path)
    editor.add_object("layers/bad", {"0": np.array([object()], dtype=object)})  # h5py cannot store objects
    with pytest.raises(Exception):
        editor.save(path)
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == ["m.weights.h5"]  # no temporary file left behind
    with pytest.raises(ValueError, match="weights.h5"):
        editor.save(str(tmp_path / "m.keras"))
    with pytest.raises(ValueError, match="occurs|not in the file"):
        editor.rename_object("nothing_here", "x")
    with pytest.raises(ValueError, match="a name, not a path"):
        editor.rename_object("dense", "layers/x")
    with pytest.raises(ValueError, match="dict"):
        editor.add_weights("dense", [np.ones(2)])
    with pytest.raises(ValueError, match=".keras"):
        kshim.saving.KerasFileEditor(str(tmp_path / "m.h5"))
