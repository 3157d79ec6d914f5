"""ModelCheckpoint: the file holds the best epoch's model and loads; name templates, weights-only files, saving
every N batches, initial_value_threshold, Keras 2 ``.h5`` names, and atomic saves (a crash mid-save leaves the
previous checkpoint intact)."""

import contextlib
import os
import zipfile

import numpy as np
import pytest

import kshim
from kshim import callbacks, layers

X = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32") + 0.25).astype("float32")


def _model(lr=0.01):
    kshim.utils.set_random_seed(7)
    model = kshim.Sequential([kshim.Input((4,)), layers.Dense(6, activation="tanh"), layers.Dense(1)])
    model.compile(kshim.optimizers.SGD(lr), "mse", metrics=["mae"])
    return model


class Script(callbacks.Callback):
    """Puts scripted values in the epoch logs (before the callbacks after it read them) and snapshots the weights
    at the end of every epoch."""

    def __init__(self, key=None, values=None, crash_at=None, crash=None):
        super().__init__()
        self.key, self.values = key, values
        self.crash_at, self.crash = crash_at, crash
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        if self.key is not None:
            logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())
        if self.crash_at is not None and epoch == self.crash_at:
            self.crash()


def _assert_weights_equal(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(e))


def _predict_with(weights):
    model = _model()
    model.set_weights(weights)
    return model.predict(X, verbose=0)


def test_save_best_only_keeps_the_best_epoch_and_loads(tmp_path):
    model = _model()
    path = str(tmp_path / "best.keras")
    val = [0.9, 0.5, 0.7, 0.4, 0.6, 0.45]
    script = Script("val_loss", val)
    model.fit(X, Y, epochs=6, batch_size=8, shuffle=False, verbose=0,
              callbacks=[script, callbacks.ModelCheckpoint(path, save_best_only=True)])
    best = int(np.argmin(val))
    assert best == 3
    loaded = kshim.models.load_model(path)
    _assert_weights_equal(loaded.get_weights(), script.weights[best])
    # The loaded model predicts what the trained model predicted at the end of its best epoch, not the last one.
    np.testing.assert_allclose(loaded.predict(X, verbose=0), _predict_with(script.weights[best]), rtol=1e-6)
    assert not np.allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    # It is compiled (the optimizer came along) and evaluates to the loss of those weights.
    expected = float(np.mean((_predict_with(script.weights[best]) - Y) ** 2))
    np.testing.assert_allclose(loaded.evaluate(X, Y, verbose=0)[0], expected, rtol=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["best.keras"]  # no temporary files left behind


def test_filepath_template_epoch_is_one_based_and_logs_fill_in(tmp_path):
    model = _model()
    val = [0.5, 0.25, 0.75]
    pattern = str(tmp_path / "weights.{epoch:02d}-{val_loss:.2f}.keras")
    model.fit(X, Y, epochs=3, batch_size=16, verbose=0,
              callbacks=[Script("val_loss", val), callbacks.ModelCheckpoint(pattern)])
    assert sorted(os.listdir(tmp_path)) == ["weights.01-0.50.keras", "weights.02-0.25.keras",
                                            "weights.03-0.75.keras"]
    # save_best_only with a template: only improvements create files.
    model2, sub = _model(), tmp_path / "best"
    model2.fit(X, Y, epochs=3, batch_size=16, verbose=0,
               callbacks=[Script("val_loss", val), callbacks.ModelCheckpoint(
                   str(sub / "m.{epoch}-{val_loss:.2f}.keras"), save_best_only=True)])
    assert sorted(os.listdir(sub)) == ["m.1-0.50.keras", "m.2-0.25.keras"]
    with pytest.raises(KeyError, match="Failed to format"):
        _model().fit(X, Y, epochs=1, verbose=0,
                     callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "{nope}.keras"))])


def test_mode_max_auto_and_initial_value_threshold(tmp_path):
    # monitor=accuracy in mode "auto" is maximised (the metric's class says higher is better).
    kshim.utils.set_random_seed(3)
    clf = kshim.Sequential([kshim.Input((4,)), layers.Dense(2, activation="softmax")])
    clf.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    script = Script("val_accuracy", [0.5, 0.75, 0.6])
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "clf.weights.h5"), monitor="val_accuracy",
                                     save_best_only=True, save_weights_only=True)
    clf.fit(X, (Y[:, 0] > 0).astype("int32"), epochs=3, verbose=0, callbacks=[script, ckpt])
    assert ckpt.monitor_op is np.greater and ckpt.best == 0.75
    fresh = kshim.Sequential([kshim.Input((4,)), layers.Dense(2, activation="softmax")])
    fresh.load_weights(str(tmp_path / "clf.weights.h5"))
    _assert_weights_equal(fresh.get_weights(), script.weights[1])

    # initial_value_threshold: nothing is saved until the monitored value beats it.
    pattern = str(tmp_path / "t{epoch}.keras")
    ckpt = callbacks.ModelCheckpoint(pattern, save_best_only=True, initial_value_threshold=0.35)
    _model().fit(X, Y, epochs=4, verbose=0, callbacks=[Script("val_loss", [0.5, 0.4, 0.3, 0.33]), ckpt])
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith("t")) == ["t3.keras"]
    # mode="max" explicitly, min_delta default 0: equal values are no improvement.
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "m{epoch}.keras"), monitor="score", mode="max",
                                     save_best_only=True)
    _model().fit(X, Y, epochs=4, verbose=0, callbacks=[Script("score", [1.0, 2.0, 2.0, 3.0]), ckpt])
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith("m")) == ["m1.keras", "m2.keras", "m4.keras"]


def test_save_freq_in_batches(tmp_path):
    model = _model()
    snapshots = {}

    class Snap(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            snapshots[(self.epoch + 1, batch + 1)] = self.model.get_weights()

    pattern = str(tmp_path / "{epoch:02d}-{batch:02d}.weights.h5")
    # 32 samples / batch 8 = 4 batches per epoch; a save every 3 batches: global batches 3, 6, 9, 12.
    model.fit(X, Y, epochs=3, batch_size=8, shuffle=False, verbose=0,
              callbacks=[Snap(), callbacks.ModelCheckpoint(pattern, save_weights_only=True, save_freq=3)])
    names = sorted(os.listdir(tmp_path))
    assert names == ["01-03.weights.h5", "02-02.weights.h5", "03-01.weights.h5", "03-04.weights.h5"]
    for name in names:
        epoch, batch = int(name[:2]), int(name[3:5])
        fresh = _model()
        fresh.load_weights(str(tmp_path / name))
        _assert_weights_equal(fresh.get_weights(), snapshots[(epoch, batch)])


def test_argument_checks():
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        callbacks.ModelCheckpoint("w.keras", save_weights_only=True)
    with pytest.raises(ValueError, match=r"must end in `\.keras`"):
        callbacks.ModelCheckpoint("model.ckpt")
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint("m.keras", save_freq="batch")
    with pytest.warns(UserWarning, match="unknown, fallback to auto"):
        callbacks.ModelCheckpoint("m.keras", mode="maximum")


def test_missing_monitor_warns_and_saves(tmp_path):
    path = str(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        _model().fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.ModelCheckpoint(path, save_best_only=True)])
    assert os.path.exists(path)


def test_verbose_messages(tmp_path, capsys):
    path = str(tmp_path / "m.keras")
    _model().fit(X, Y, epochs=2, verbose=0, callbacks=[
        Script("val_loss", [0.5, 0.6]), callbacks.ModelCheckpoint(path, save_best_only=True, verbose=1)])
    out = capsys.readouterr().out
    assert f"Epoch 1: val_loss improved from None to 0.50000, saving model to {path}" in out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out


def test_keras2_h5_names_save_as_best_possible(tmp_path):
    model_path = str(tmp_path / "best.h5")
    with pytest.warns(DeprecationWarning, match="Keras 2"):
        ckpt = callbacks.ModelCheckpoint(model_path, save_best_only=True)
    script = Script("val_loss", [0.3, 0.2, 0.4])
    model = _model()
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[script, ckpt])
    loaded = kshim.models.load_model(model_path)  # a .keras archive under the .h5 name
    _assert_weights_equal(loaded.get_weights(), script.weights[1])
    assert zipfile.is_zipfile(model_path)

    weights_path = str(tmp_path / "weights.{epoch:02d}.hdf5")
    with pytest.warns(DeprecationWarning, match="Keras 2"):
        ckpt = callbacks.ModelCheckpoint(weights_path, save_weights_only=True, monitor="loss")
    script = Script()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[script, ckpt])
    fresh = _model()
    fresh.load_weights(str(tmp_path / "weights.02.hdf5"))
    _assert_weights_equal(fresh.get_weights(), script.weights[1])
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]


@pytest.mark.parametrize("kind", ["keras", "weights", "legacy_h5"])
def test_crash_mid_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch, kind):
    """The second save dies half-way through writing the file; the first checkpoint survives, whole."""
    name = {"keras": "best.keras", "weights": "best.weights.h5", "legacy_h5": "best.h5"}[kind]
    path = str(tmp_path / name)

    def arm_crash():
        if kind == "weights":
            import kshim.saving.atomic as atomic

            def failing_fsync(fd):
                raise OSError("simulated crash before the file was complete")

            monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
        else:
            original = zipfile.ZipFile.writestr

            def crashing_writestr(self, member, data, *args, **kwargs):
                if member == "model.weights.h5":
                    original(self, member, data[: len(data) // 2], *args, **kwargs)
                    raise OSError("simulated crash mid-write")
                return original(self, member, data, *args, **kwargs)

            monkeypatch.setattr(zipfile.ZipFile, "writestr", crashing_writestr)

    # epoch 0 saves; epoch 1 improves, and its save crashes.
    script = Script("val_loss", [0.5, 0.1, 0.05], crash_at=1, crash=arm_crash)
    with pytest.warns(DeprecationWarning) if kind == "legacy_h5" else contextlib.nullcontext():
        ckpt = callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=(kind == "weights"))
    model = _model()
    with pytest.raises(OSError, match="simulated crash"):
        model.fit(X, Y, epochs=3, verbose=0, callbacks=[script, ckpt])
    monkeypatch.undo()
    assert os.listdir(tmp_path) == [name]  # no half-written or temporary file
    if kind == "weights":
        restored = _model()
        restored.load_weights(path)
    else:
        restored = kshim.models.load_model(path)
    _assert_weights_equal(restored.get_weights(), script.weights[0])
    assert not np.array_equal(script.weights[0][0], script.weights[1][0])



def test_example_checkpoint_early_stopping_reloads_the_best_model(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    import importlib.util

    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
    monkeypatch.syspath_prepend(folder)  # the example imports its data helper, as `python examples/...` does
    path = os.path.join(folder, "checkpoint_early_stopping.py")
    spec = importlib.util.spec_from_file_location("checkpoint_early_stopping_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(epochs=4, folder=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["best.keras", "training.csv"]
    assert result["test_accuracy"] > 0.8
