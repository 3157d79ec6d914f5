"""EarlyStopping: training stops at the epoch Keras's rules say (patience, min_delta, baseline, start_from_epoch,
mode), and restore_best_weights brings back the weights of the best epoch."""

import numpy as np
import pytest

import kshim
from kshim import callbacks, layers

X = np.random.default_rng(1).normal(size=(48, 3)).astype("float32")
Y = (X @ np.array([[1.5], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
XV = np.random.default_rng(2).normal(size=(16, 3)).astype("float32")
YV = (XV @ np.array([[1.5], [-2.0], [0.5]], "float32") + 0.3).astype("float32")


def _model(lr=0.05):
    kshim.utils.set_random_seed(11)
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(4, activation="tanh"), layers.Dense(1)])
    model.compile(kshim.optimizers.SGD(lr), "mse")
    return model


_CACHE = {}


def _scripted_model():
    """One compiled model for the scripted tests (whose logs are scripted), reset to its initial weights: the
    compiled step is reused instead of compiled again for every run."""
    if "model" not in _CACHE:
        _CACHE["model"] = _model()
        _CACHE["initial"] = _CACHE["model"].get_weights()
    model = _CACHE["model"]
    model.set_weights(_CACHE["initial"])
    return model


class Script(callbacks.Callback):
    """Scripted values for ``key`` in the epoch logs, and a snapshot of the weights at every epoch end."""

    def __init__(self, key=None, values=None):
        super().__init__()
        self.key, self.values, self.weights = key, values, []

    def on_epoch_end(self, epoch, logs=None):
        if self.key is not None:
            logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())


def _run(values, epochs=None, key="val_loss", **kwargs):
    model = _scripted_model()
    script = Script(key, values)
    es = callbacks.EarlyStopping(monitor=key, **kwargs)
    history = model.fit(X, Y, epochs=epochs or len(values), batch_size=16, verbose=0, callbacks=[script, es])
    return model, script, es, history


def _same(a, b):
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))


def test_patience_stops_at_the_right_epoch_and_restores_best_weights():
    values = [1.0, 0.8, 0.9, 0.85, 0.95, 0.7, 0.6]
    model, script, es, history = _run(values, patience=2, restore_best_weights=True)
    # best 0.8 at epoch 1; epochs 2 and 3 do not improve: stop at the end of epoch 3.
    assert history.epoch == [0, 1, 2, 3]
    assert es.stopped_epoch == 3 and es.best_epoch == 1 and es.best == 0.8
    assert _same(model.get_weights(), script.weights[1])
    assert not _same(model.get_weights(), script.weights[3])


def test_without_restore_the_last_weights_stay():
    model, script, es, history = _run([1.0, 0.8, 0.9, 0.85, 0.95], patience=2)
    assert len(history.epoch) == 4
    assert _same(model.get_weights(), script.weights[3])


def test_patience_zero_stops_at_first_non_improvement():
    _, _, es, history = _run([1.0, 0.9, 0.95, 0.5])
    assert history.epoch == [0, 1, 2] and es.stopped_epoch == 2


def test_min_delta():
    # 0.95 improves on 1.0 by less than min_delta=0.1: no improvement, stop at once with patience=1.
    _, _, es, history = _run([1.0, 0.95, 0.8, 0.7], min_delta=0.1, patience=1)
    assert history.epoch == [0, 1]
    # min_delta's sign does not matter; with it 0.0 every decrease counts.
    _, _, _, history = _run([1.0, 0.95, 0.9, 0.85], min_delta=-0.0, patience=1)
    assert history.epoch == [0, 1, 2, 3]


def test_baseline():
    values = [0.9, 0.95, 0.97, 0.99, 1.0]
    # Without a baseline the first epoch is the best; patience 2 runs out at epoch 2.
    _, _, _, history = _run(values, patience=2)
    assert history.epoch == [0, 1, 2]
    # With baseline 0.5 the first epoch does not beat the baseline, so its wait is not reset: stop one earlier.
    _, _, _, history = _run(values, patience=2, baseline=0.5)
    assert history.epoch == [0, 1]
    # Beating the baseline behaves as without it.
    _, _, _, history = _run(values, patience=2, baseline=1.5)
    assert history.epoch == [0, 1, 2]


def test_baseline_with_restore_best_weights_restores_the_best_epoch_even_if_never_beaten():
    model, script, es, history = _run([0.9, 0.8, 0.85, 0.95], patience=2, baseline=0.5,
                                      restore_best_weights=True)
    assert history.epoch == [0, 1, 2]
    assert es.best_epoch == 1 and _same(model.get_weights(), script.weights[1])


def test_start_from_epoch():
    values = [0.5, 0.6, 0.7, 0.8, 0.9]
    _, _, _, history = _run(values, patience=1)
    assert history.epoch == [0, 1]
    # The first two epochs are warm-up: monitoring starts at epoch 2 (best 0.7), and epoch 3 stops.
    _, _, es, history = _run(values, patience=1, start_from_epoch=2)
    assert history.epoch == [0, 1, 2, 3] and es.best == 0.7


def test_restore_best_weights_when_training_completes():
    model, script, es, history = _run([0.5, 0.3, 0.4, 0.45], patience=5, restore_best_weights=True)
    assert len(history.epoch) == 4 and es.stopped_epoch == 0
    assert _same(model.get_weights(), script.weights[1])


def test_mode_max_and_auto_for_accuracy():
    values = [0.5, 0.7, 0.6, 0.65, 0.9]
    _, _, es, history = _run(values, key="score", mode="max", patience=2)
    assert history.epoch == [0, 1, 2, 3] and es.best == 0.7
    # mode="min" on the same values: 0.5 stays best.
    _, _, _, history = _run(values, key="score", mode="min", patience=2)
    assert history.epoch == [0, 1, 2]
    # auto on an accuracy metric maximises; on an unknown name it is an error naming the fix.
    kshim.utils.set_random_seed(0)
    clf = kshim.Sequential([kshim.Input((3,)), layers.Dense(2, activation="softmax")])
    clf.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    es = callbacks.EarlyStopping(monitor="val_accuracy", patience=1)
    clf.fit(X, (Y[:, 0] > 0).astype("int32"), epochs=3, verbose=0, validation_split=0.25,
            callbacks=[Script("val_accuracy", [0.5, 0.6, 0.55]), es])
    assert es.monitor_op is np.greater and es.stopped_epoch == 2
    with pytest.raises(ValueError, match="mode='max'"):
        _run([1.0, 2.0], key="score")


def test_reused_across_fits_and_verbose(capsys):
    model = _scripted_model()
    es = callbacks.EarlyStopping(monitor="val_loss", patience=1, verbose=1, restore_best_weights=True)
    h1 = model.fit(X, Y, epochs=5, verbose=0, callbacks=[Script("val_loss", [1.0, 1.1, 0.1, 0.1, 0.1]), es])
    h2 = model.fit(X, Y, epochs=5, verbose=0, callbacks=[Script("val_loss", [3.0, 2.0, 2.5, 1.0, 1.0]), es])
    assert len(h1.epoch) == 2 and len(h2.epoch) == 3
    out = capsys.readouterr().out
    assert "Epoch 2: early stopping" in out and "Epoch 3: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 2." in out


def test_missing_monitor_warns_and_never_stops():
    model = _scripted_model()
    with pytest.warns(UserWarning, match="Early stopping conditioned on metric `val_loss` which is not available"):
        history = model.fit(X, Y, epochs=3, verbose=0, callbacks=[callbacks.EarlyStopping(patience=0)])
    assert len(history.epoch) == 3


def test_real_training_stops_where_the_rule_says_with_best_weights():
    """A real fit on both backends: the stop epoch follows from the logged val_loss, and the weights that come
    back are the best epoch's."""
    model = _model(lr=0.6)  # large enough steps that val_loss goes up and down
    snap = Script()
    es = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True, min_delta=1e-3)
    history = model.fit(X, Y, epochs=40, batch_size=8, shuffle=False, validation_data=(XV, YV), verbose=0,
                        callbacks=[snap, es])
    val = history.history["val_loss"]
    best, best_epoch, wait, stop = None, 0, 0, None
    for epoch, v in enumerate(val):
        wait += 1
        if best is None or v + 1e-3 < best:
            best, best_epoch, wait = v, epoch, 0
        elif wait >= 2 and epoch > 0:
            stop = epoch
            break
    assert stop is not None and stop < 39, val
    assert history.epoch[-1] == stop and es.stopped_epoch == stop and es.best_epoch == best_epoch
    assert _same(model.get_weights(), snap.weights[best_epoch])
    np.testing.assert_allclose(model.evaluate(XV, YV, verbose=0), val[best_epoch], rtol=1e-5)
