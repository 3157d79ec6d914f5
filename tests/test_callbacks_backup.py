"""BackupAndRestore (an interrupted fit resumes on the next fit from the last completed epoch, with the same
weights, optimizer state and epoch counter, and ends with the weights of an uninterrupted run) and SwapEMAWeights
(evaluation and prediction with the optimizer's moving averages)."""

import json
import os

import numpy as np
import pytest

import kshim
from kshim import callbacks, layers

X = np.random.default_rng(8).normal(size=(40, 4)).astype("float32")
Y = (np.tanh(X @ np.array([[1.0], [-1.0], [0.5], [2.0]], "float32"))).astype("float32")
SEED = 21
EPOCHS = 6



def _model():
    """What a restarted script does: seed, build, compile."""
    kshim.utils.set_random_seed(SEED)
    model = kshim.Sequential([kshim.Input((4,)), layers.Dense(8, activation="relu"), layers.Dropout(0.25),
                              layers.Dense(1)])
    model.compile(kshim.optimizers.Adam(0.01), "mse")
    return model


def _fit(model, backup_dir, callbacks_=(), epochs=EPOCHS, **kwargs):
    return model.fit(X, Y, epochs=epochs, batch_size=8, shuffle=True, verbose=0,
                     callbacks=[callbacks.BackupAndRestore(str(backup_dir), **kwargs), *callbacks_])


class Interrupt(callbacks.Callback):
    """Raises in the middle of epoch ``epoch`` (after batch ``batch``), like a crash or a preemption."""

    def __init__(self, epoch, batch=2):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise KeyboardInterrupt("simulated interruption")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    model = _model()
    history = _fit(model, tmp_path_factory.mktemp("full"))
    return model.get_weights(), model.optimizer.get_weights(), history


def _assert_same(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=1e-6, atol=1e-7)


def test_interrupted_fit_resumes_and_ends_like_an_uninterrupted_run(tmp_path, uninterrupted):
    weights, opt_weights, history = uninterrupted
    backup = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        _fit(_model(), backup, [Interrupt(epoch=3)])
    record = json.loads((backup / "training_metadata.json").read_text())
    assert record["epoch"] == 3  # epochs 0, 1 and 2 completed
    resumed = _model()  # a fresh process: new model, same seed
    seen = []
    h = _fit(resumed, backup, [callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))])
    assert seen == [3, 4, 5] and h.epoch == [3, 4, 5]
    np.testing.assert_allclose(h.history["loss"], history.history["loss"][3:], rtol=1e-5)
    _assert_same(resumed.get_weights(), weights)
    _assert_same(resumed.optimizer.get_weights(), opt_weights)  # iterations, learning rate, Adam moments
    assert int(resumed.optimizer.iterations) == EPOCHS * 5
    assert not backup.exists()  # deleted once training ended normally


def test_a_crash_while_backing_up_keeps_the_previous_backup(tmp_path, uninterrupted, monkeypatch):
    weights = uninterrupted[0]
    backup = tmp_path / "backup"

    class CrashWhileSaving(callbacks.Callback):
        """At the end of epoch 3, makes the backup's file write fail before it is complete."""

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 3:
                import kshim.saving.atomic as atomic

                def failing_fsync(fd):
                    raise OSError("simulated crash while writing the backup")

                monkeypatch.setattr(atomic.os, "fsync", failing_fsync)

    model = _model()
    with pytest.raises(OSError, match="simulated crash"):
        model.fit(X, Y, epochs=EPOCHS, batch_size=8, shuffle=True, verbose=0,
                  callbacks=[CrashWhileSaving(), callbacks.BackupAndRestore(str(backup))])
    monkeypatch.undo()
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 3
    assert len([f for f in os.listdir(backup) if f.endswith(".weights.h5")]) == 1  # no partial file
    resumed = model  # holds the weights of epoch 3 now; the backup of epoch 2 replaces them
    h = _fit(resumed, backup)
    assert h.epoch == [3, 4, 5]
    _assert_same(resumed.get_weights(), weights)


def test_keep_the_backup_and_continue_training_later(tmp_path, uninterrupted):
    backup = tmp_path / "b"
    model = _model()
    h1 = _fit(model, backup, epochs=4, delete_checkpoint=False)
    assert h1.epoch == [0, 1, 2, 3] and (backup / "training_metadata.json").exists()
    h2 = _fit(model, backup, epochs=EPOCHS, delete_checkpoint=False)
    assert h2.epoch == [4, 5]
    # Nothing left to do: the loop does not run, and the model holds the backed-up weights.
    again = model
    again.set_weights([np.zeros_like(w) for w in again.get_weights()])
    h3 = _fit(again, backup, epochs=EPOCHS)
    assert h3.epoch == []
    _assert_same(again.get_weights(), uninterrupted[0])
    # A later plain fit starts from its own initial_epoch again.
    assert again.fit(X, Y, epochs=1, verbose=0).epoch == [0]


def test_batch_level_backups_resume_at_the_start_of_the_epoch(tmp_path):
    backup = tmp_path / "b"
    model = _model()
    with pytest.raises(KeyboardInterrupt):
        _fit(model, backup, [Interrupt(epoch=2, batch=3)], save_freq=3)
    record = json.loads((backup / "training_metadata.json").read_text())
    # 5 batches per epoch; backups after global batches 3, 6, 9, 12: the last one in epoch 2, after its batch 1.
    assert (record["epoch"], record["batch"]) == (2, 1)
    seen = []
    _fit(model, backup, [callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))], save_freq=3)
    assert seen == [2, 3, 4, 5]


def test_reads_the_keras3_backup_layout(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0)
    backup = tmp_path / "keras_layout"
    backup.mkdir()
    model.save_weights(str(backup / "latest.weights.h5"))
    saved = model.get_weights()
    (backup / "training_metadata.json").write_text(json.dumps({"epoch": 2, "batch": 0}))
    model.set_weights([np.zeros_like(w) for w in saved])
    captured = []
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: captured.append(model.get_weights()))
    h = _fit(model, backup, [cb], epochs=3)
    assert h.epoch == [2]
    _assert_same(captured[0], saved)


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    backup = tmp_path / "b"
    model = _model()
    after_epoch = []
    snap = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: after_epoch.append(model.get_weights()))
    _fit(model, backup, [snap], epochs=2, double_checkpoint=True, delete_checkpoint=False)
    record = json.loads((backup / "training_metadata.json").read_text())
    assert record["epoch"] == 2 and record["previous"]["epoch"] == 1
    (backup / record["weights"]).write_bytes(b"garbage, not HDF5")  # the latest backup is unreadable
    captured = []
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: captured.append(model.get_weights()))
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[callbacks.BackupAndRestore(str(backup)), cb])
    _assert_same(captured[0], after_epoch[0])


def test_arguments_and_unbuilt_model(tmp_path):
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.BackupAndRestore(str(tmp_path), save_freq="batch")
    model = kshim.Sequential([layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="must be built"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.BackupAndRestore(str(tmp_path))])


def test_backup_dir_keeps_files_it_does_not_own(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    _fit(_model(), tmp_path, epochs=1)
    assert os.listdir(tmp_path) == ["notes.txt"]


# -- SwapEMAWeights -----------------------------------------------------------------------------------------------
XV = X[:16]
YV = Y[:16]


def _linear_ema_model(use_ema=True):
    model = kshim.Sequential([kshim.Input((4,)), layers.Dense(1)])
    model.set_weights([np.full((4, 1), 0.1, "float32"), np.zeros(1, "float32")])
    model.compile(kshim.optimizers.SGD(0.1, use_ema=use_ema, ema_momentum=0.5), "mse")
    return model


def _mse(weights, x=XV, y=YV):
    w, b = (np.asarray(v, np.float64) for v in weights)
    return float(np.mean((x.astype(np.float64) @ w + b - y) ** 2))


def _ema_values(model):
    return [a.numpy() for a in model.optimizer._model_variables_moving_average]


def test_swap_ema_weights_validates_and_evaluates_with_the_averages():
    model = _linear_ema_model()
    recorded = []

    class Record(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            recorded.append((_ema_values(self.model), self.model.get_weights(), logs["val_loss"]))

    swap = callbacks.SwapEMAWeights()
    model.fit(X, Y, epochs=3, batch_size=8, shuffle=False, validation_data=(XV, YV), verbose=0,
              callbacks=[swap, Record()])
    for ema, raw, val_loss in recorded:
        assert not np.allclose(ema[0], raw[0])
        np.testing.assert_allclose(val_loss, _mse(ema), rtol=1e-5)  # validation ran on the EMA weights
    raw, ema = model.get_weights(), _ema_values(model)
    np.testing.assert_allclose(model.evaluate(XV, YV, verbose=0, callbacks=[swap]), _mse(ema), rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(XV, YV, verbose=0), _mse(raw), rtol=1e-5)
    pred = model.predict(XV, verbose=0, callbacks=[swap])
    np.testing.assert_allclose(pred, XV @ ema[0] + ema[1], rtol=1e-5, atol=1e-6)
    # Weights and averages are back in place after evaluate and predict.
    for a, b in zip(model.get_weights() + _ema_values(model), raw + ema):
        np.testing.assert_array_equal(a, b)


def test_swap_ema_weights_on_epoch_leaves_the_averages_in_the_model():
    model = _linear_ema_model()
    seen = []

    class Record(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.model.get_weights(), _ema_values(self.model)))

    model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0,
              callbacks=[callbacks.SwapEMAWeights(swap_on_epoch=True), Record()])
    # During epoch-end callbacks after the swap, the model holds the averages (and the averages the raw weights).
    final_weights, final_avg = seen[-1]
    np.testing.assert_array_equal(model.get_weights()[0], final_weights[0])
    np.testing.assert_array_equal(final_avg[0], final_weights[0])  # finalized after the last epoch


def test_swap_ema_weights_needs_use_ema():
    model = _linear_ema_model(use_ema=False)
    with pytest.raises(ValueError, match="use_ema=True"):
        model.fit(X, Y, epochs=1, validation_data=(XV, YV), verbose=0, callbacks=[callbacks.SwapEMAWeights()])


def test_swap_ema_weights_leaves_variables_set_to_their_gradient_alone():
    # float8 training adds scale and amax-history variables with `overwrite_with_gradient`: the optimizer keeps no
    # moving average for them (None, as Keras 3), so the swap must skip them and swap only the others.
    model = kshim.Sequential([kshim.Input((4,)), layers.Dense(2)])
    model.layers[0].quantize("float8")
    model.compile(kshim.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), "mse")
    model.fit(X, np.repeat(Y, 2, axis=1), epochs=2, batch_size=8, shuffle=False, verbose=0)
    opt = model.optimizer
    averages = opt._model_variables_moving_average
    skipped = [v.path for v, a in zip(opt._trainable_variables, averages) if a is None]
    assert skipped and all("scale" in p or "amax" in p for p in skipped)
    before = {v.path: v.numpy() for v in model.weights}
    ema = {v.path: a.numpy() for v, a in zip(opt._trainable_variables, averages) if a is not None}
    seen = {}

    class Record(callbacks.Callback):
        def on_test_begin(self, logs=None):
            seen.update({v.path: v.numpy() for v in self.model.weights})

    model.evaluate(XV, np.repeat(YV, 2, axis=1), verbose=0, callbacks=[callbacks.SwapEMAWeights(), Record()])
    for path, value in seen.items():  # during evaluation: the averages, and the float8 state as it was
        np.testing.assert_array_equal(value, ema.get(path, before[path]))
    for v in model.weights:  # afterwards: everything back
        np.testing.assert_array_equal(v.numpy(), before[v.path])
