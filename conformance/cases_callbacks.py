"""Cases for callbacks that steer training: a seeded fit with ``EarlyStopping(restore_best_weights=True)`` and
``ReduceLROnPlateau`` stops at the same epoch, with the same learning rates and the same restored weights, on both
backends.

The data and seed are chosen so that every comparison the callbacks make is decided by a margin (about 1e-3)
far above the float32 rounding in which the backends differ (about 1e-6): the decisions are identical, the
numbers agree to rtol 1e-4 as in `cases_training`. The case also checks, on each backend, that the decisions
follow Keras's rules from the logged values (the numpy reference asserts those checks are all true).
"""

import numpy as np

from conformance.case import case, kshim, rng
from conformance.cases_random import set_seed

SEED = 77
X = rng(910).normal(size=(60, 6)).astype(np.float32)
_W = rng(911).normal(size=(6, 1))
Y = (np.sin(X @ _W) + 0.3 * rng(912).normal(size=(60, 1))).astype(np.float32)
XV = rng(913).normal(size=(30, 6)).astype(np.float32)
YV = np.sin(XV @ _W).astype(np.float32)
PATIENCE, LR, FACTOR, LR_PATIENCE, MIN_DELTA = 3, 0.05, 0.5, 1, 1e-4


def _early_stopping_rule(val):
    """(stop epoch or None, best epoch) from Keras's EarlyStopping rule (min mode, min_delta 0)."""
    best, best_epoch, wait = None, 0, 0
    for epoch, v in enumerate(val):
        wait += 1
        if best is None or v < best:
            best, best_epoch, wait = v, epoch, 0
            continue
        if wait >= PATIENCE and epoch > 0:
            return epoch, best_epoch
    return None, best_epoch


def _lr_rule(val):
    """The learning rate in effect during each epoch under Keras's ReduceLROnPlateau rule (no cooldown)."""
    lr, best, wait, rates = np.float32(LR), None, 0, []
    for v in val:
        rates.append(float(lr))
        if best is None or v - (-MIN_DELTA) < best:  # min mode: min_delta counts against the improvement
            best, wait = v, 0
        else:
            wait += 1
            if wait >= LR_PATIENCE:
                lr, wait = np.float32(float(lr) * FACTOR), 0
    return rates


def _reference():
    return {"stops_early": np.array(True), "stop_follows_rule": np.array(True), "lr_follows_rule": np.array(True),
            "restored_best_epoch_weights": np.array(True)}


@case("callbacks.early_stopping_reduce_lr", family="callbacks", rtol=1e-4, atol=1e-5, reference=_reference,
      covers=("callbacks.EarlyStopping", "callbacks.ReduceLROnPlateau", "callbacks.LambdaCallback"))
def _early_stopping_reduce_lr():
    """set_random_seed(77); Dense(32, tanh) -> Dropout(0.1) -> Dense(1) with Adam(0.05) on mse, fit up to 40
    epochs (batch 10) with ReduceLROnPlateau(factor=0.5, patience=1) and EarlyStopping(patience=3,
    restore_best_weights=True) on val_loss: stop epoch, best epoch, the rates, the history and the weights."""
    callbacks, layers = kshim.callbacks, kshim.layers
    set_seed(SEED)
    model = kshim.Sequential([kshim.Input((6,)), layers.Dense(32, "tanh"), layers.Dropout(0.1), layers.Dense(1)])
    model.compile(kshim.optimizers.Adam(LR), "mse")
    snapshots = []
    snap = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    reduce_lr = callbacks.ReduceLROnPlateau(factor=FACTOR, patience=LR_PATIENCE, min_delta=MIN_DELTA)
    early = callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True)
    history = model.fit(X, Y, epochs=40, batch_size=10, validation_data=(XV, YV), verbose=0,
                        callbacks=[snap, reduce_lr, early])
    val = history.history["val_loss"]
    stop, best_epoch = _early_stopping_rule(val)
    weights = model.get_weights()
    return {
        "epochs_run": np.asarray(history.epoch),
        "stopped_epoch": np.array(early.stopped_epoch),
        "best_epoch": np.array(early.best_epoch),
        "learning_rate": np.asarray(history.history["learning_rate"], np.float64),
        "loss": np.asarray(history.history["loss"], np.float64),
        "val_loss": np.asarray(val, np.float64),
        "weights": weights,
        "stops_early": np.array(early.stopped_epoch > 0 and len(val) < 40),
        "stop_follows_rule": np.array(stop == early.stopped_epoch and best_epoch == early.best_epoch),
        "lr_follows_rule": np.array(bool(np.allclose(history.history["learning_rate"], _lr_rule(val), rtol=1e-7))),
        "restored_best_epoch_weights": np.array(all(np.array_equal(a, b)
                                                    for a, b in zip(weights, snapshots[early.best_epoch]))),
    }
