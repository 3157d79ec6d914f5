"""ReduceLROnPlateau and LearningRateScheduler: the learning rate changes at the right epoch, is logged as
``learning_rate``, and is the rate the optimizer really uses (weights checked against numpy SGD)."""

import numpy as np
import pytest

import kshim
from kshim import callbacks, layers

N = 32
X = np.random.default_rng(5).normal(size=(N, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-1.0], [2.0]], "float32") + 0.5).astype("float32")
W0 = np.array([[0.3], [0.2], [-0.1]], "float32")
B0 = np.array([0.05], "float32")


def _model(lr):
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(1)])
    model.set_weights([W0, B0])
    model.compile(kshim.optimizers.SGD(lr), "mse")
    return model


def _numpy_sgd(lrs):
    """Full-batch SGD on mse, one step per epoch with the given per-epoch learning rates (float64)."""
    w, b = W0.astype(np.float64), B0.astype(np.float64)
    x, y = X.astype(np.float64), Y.astype(np.float64)
    for lr in lrs:
        err = x @ w + b - y
        w = w - lr * (2.0 / N) * x.T @ err
        b = b - lr * (2.0 / N) * err.sum(axis=0)
    return w, b


class Script(callbacks.Callback):
    """Scripted ``val_loss`` in the logs, and the optimizer's learning rate seen at the start of every epoch."""

    def __init__(self, values=None):
        super().__init__()
        self.values, self.lrs = values, []

    def on_epoch_begin(self, epoch, logs=None):
        self.lrs.append(float(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        if self.values is not None:
            logs["val_loss"] = self.values[epoch]


def _check_weights(model, lrs):
    w, b = _numpy_sgd(lrs)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, b, rtol=1e-5, atol=1e-6)


def test_reduce_lr_on_plateau_patience_cooldown_min_lr():
    model = _model(0.1)
    script = Script([1.0] * 9)  # a flat plateau
    cb = callbacks.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    history = model.fit(X, Y, epochs=9, batch_size=N, shuffle=False, verbose=0, callbacks=[script, cb])
    f32 = lambda v: float(np.float32(v))  # noqa: E731
    expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02]
    # Reductions at the end of epochs 2, 4 and 6 (patience 2, then a cooldown epoch); min_lr clamps the third.
    assert script.lrs == [f32(v) for v in expected]
    # The logged rate is the one in effect during the epoch.
    assert history.history["learning_rate"] == [f32(v) for v in expected]
    _check_weights(model, script.lrs)


def test_reduce_lr_on_plateau_improvements_reset_the_wait(capsys):
    model = _model(0.1)
    script = Script([1.0, 0.9, 0.95, 0.8, 0.85, 0.86, 0.87])
    cb = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=2, verbose=1)
    model.fit(X, Y, epochs=7, batch_size=N, shuffle=False, verbose=0, callbacks=[script, cb])
    # best 0.8 at epoch 3; epochs 4 and 5 do not improve -> reduced at the end of epoch 5.
    assert script.lrs == [float(np.float32(0.1))] * 6 + [float(np.float32(0.01))]
    assert "Epoch 6: ReduceLROnPlateau reducing learning rate to 0.0100000" in capsys.readouterr().out
    _check_weights(model, script.lrs)


def test_reduce_lr_on_plateau_min_delta_and_mode_max():
    model = _model(0.1)
    # min_delta=0.1: a 0.05 drop is no improvement; patience=1 reduces at once.
    script = Script([1.0, 0.95, 0.9, 0.5])
    model.fit(X, Y, epochs=4, batch_size=N, verbose=0,
              callbacks=[script, callbacks.ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.1)])
    assert script.lrs == [float(np.float32(v)) for v in (0.1, 0.1, 0.05, 0.025)]

    class Acc(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = [0.5, 0.6, 0.55, 0.58][epoch]

    model = _model(0.1)
    rec = Script()
    model.fit(X, Y, epochs=4, batch_size=N, verbose=0,
              callbacks=[rec, Acc(), callbacks.ReduceLROnPlateau("score", factor=0.5, patience=2, mode="max")])
    assert rec.lrs == [float(np.float32(v)) for v in (0.1, 0.1, 0.1, 0.1)]


def test_reduce_lr_on_plateau_arguments():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.0)
    with pytest.warns(DeprecationWarning, match="epsilon"):
        cb = callbacks.ReduceLROnPlateau(epsilon=0.01)
    assert cb.min_delta == 0.01
    with pytest.raises(ValueError, match="Did you mean 'patience'"):
        callbacks.ReduceLROnPlateau(patiense=3)


def test_learning_rate_scheduler_one_argument_schedule():
    model = _model(0.5)
    script = Script()
    schedule = lambda epoch: 0.1 * 0.5 ** epoch  # noqa: E731
    history = model.fit(X, Y, epochs=4, batch_size=N, shuffle=False, verbose=0,
                        callbacks=[callbacks.LearningRateScheduler(schedule), script])
    expected = [float(np.float32(schedule(e))) for e in range(4)]
    assert script.lrs == expected and history.history["learning_rate"] == expected
    _check_weights(model, expected)


def test_learning_rate_scheduler_two_argument_schedule_and_verbose(capsys):
    model = _model(0.2)
    script = Script()
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch < 2 else lr * 0.1

    model.fit(X, Y, epochs=4, batch_size=N, shuffle=False, verbose=0,
              callbacks=[callbacks.LearningRateScheduler(schedule, verbose=1), script])
    f32 = lambda v: float(np.float32(v))  # noqa: E731
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert seen[0][1] == f32(0.2) and isinstance(seen[0][1], float)
    assert script.lrs == [f32(0.2), f32(0.2), f32(f32(0.2) * 0.1), f32(f32(f32(0.2) * 0.1) * 0.1)]
    _check_weights(model, script.lrs)
    assert "Epoch 3: LearningRateScheduler setting learning rate to" in capsys.readouterr().out


def test_learning_rate_scheduler_rejects_non_numbers():
    model = _model(0.1)
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e: "fast")])
    with pytest.raises(ValueError, match="function"):
        callbacks.LearningRateScheduler(0.1)
