"""`LearningRateScheduler`: set the optimizer's learning rate at the start of every epoch from a schedule."""

import numbers

import numpy as np

from kshim import ops
from kshim.callbacks.callback import Callback
from kshim.callbacks.monitor_callback import print_msg


def learning_rate_float(optimizer):
    """The optimizer's current learning rate as a Python float (a Variable, or a schedule's current value)."""
    return float(np.asarray(ops.convert_to_numpy(optimizer.learning_rate)))


def inner_optimizers(optimizer):
    """The optimizers whose learning rates a callback sets: the inner ones of a multi-optimizer, else itself."""
    inner = getattr(optimizer, "optimizers", None)
    return list(inner) if inner else [optimizer]


def _as_float(value):
    """A schedule's output as a float; Keras 3 requires a float (ints and 0-d arrays are accepted here too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if ops.is_tensor(value) or isinstance(value, np.ndarray):
        arr = np.asarray(ops.convert_to_numpy(value))
        if arr.ndim == 0 and np.issubdtype(arr.dtype, np.number):
            return float(arr)
    return None


class LearningRateScheduler(Callback):
    """At the beginning of every epoch, set the learning rate to ``schedule(epoch, lr)`` (or ``schedule(epoch)``
    for a one-argument schedule); ``epoch`` is 0-based and ``lr`` the current rate as a float. The rate in effect
    is logged as ``learning_rate`` at the end of each epoch.

    Args:
        schedule: a function ``(epoch, lr) -> float`` or ``epoch -> float``.
        verbose: 0 (quiet) or 1 (print the rate set at each epoch).
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"LearningRateScheduler: `schedule` must be a function of the epoch (and the current "
                             f"learning rate). Received: schedule={schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def _update_optimizer_lr(self, optimizer, epoch):
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            lr = self.schedule(epoch, learning_rate_float(optimizer))
        except TypeError:  # a schedule of the epoch alone
            lr = self.schedule(epoch)
        value = _as_float(lr)
        if value is None:
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr!r}")
        optimizer.learning_rate = value
        return value

    def on_epoch_begin(self, epoch, logs=None):
        opts = inner_optimizers(self.model.optimizer)
        for opt in opts:
            lr = self._update_optimizer_lr(opt, epoch)
            if self.verbose > 0:
                which = f" {opt.name}" if len(opts) > 1 else ""
                print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting{which} learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        opts = getattr(self.model.optimizer, "optimizers", None)
        if opts:
            for opt in opts:
                logs[f"learning_rate_{opt.name}"] = learning_rate_float(opt)
        else:
            logs["learning_rate"] = learning_rate_float(self.model.optimizer)
