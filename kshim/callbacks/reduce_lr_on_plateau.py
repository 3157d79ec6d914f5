"""`ReduceLROnPlateau`: multiply the learning rate by ``factor`` when a monitored quantity stops improving."""

import warnings

import numpy as np

from kshim.callbacks.learning_rate_scheduler import learning_rate_float
from kshim.callbacks.monitor_callback import MonitorCallback, print_msg, scalar_value
from kshim.utils.suggest import unknown_name_error


class ReduceLROnPlateau(MonitorCallback):
    """Reduce the learning rate once ``monitor`` has not improved for ``patience`` epochs (Keras 3's rules).

    Args:
        monitor: the log to watch. Default "val_loss".
        factor: ``new_lr = lr * factor``; must be < 1. Default 0.1.
        patience: epochs without improvement before the rate is reduced. Default 10.
        verbose: 0 or 1 (print each reduction).
        mode: "auto", "min" or "max".
        min_delta: a change of at most ``min_delta`` counts as no improvement. Default 1e-4.
        cooldown: epochs after a reduction during which no new plateau is counted. Default 0.
        min_lr: the rate is never reduced below this. Default 0.
        epsilon: Keras 2's name of ``min_delta`` (DeprecationWarning).

    The current rate is logged as ``learning_rate`` at the end of each epoch.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn("ReduceLROnPlateau: `epsilon` is the Keras 2 name of `min_delta`; use `min_delta`.",
                          DeprecationWarning, stacklevel=2)
        if kwargs:
            known = ["monitor", "factor", "patience", "verbose", "mode", "min_delta", "cooldown", "min_lr"]
            raise unknown_name_error("ReduceLROnPlateau argument", next(iter(kwargs)), known, arg="argument")
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _reduce_optimizer_lr(self, optimizer, epoch, name=""):
        old_lr = learning_rate_float(optimizer)
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                name_str = f" {name}" if name else ""
                print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing{name_str} learning rate to {new_lr}.")
            return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        inner = getattr(optimizer, "optimizers", None)
        if inner:
            for opt in inner:
                logs[f"learning_rate_{opt.name}"] = learning_rate_float(opt)
        else:
            logs["learning_rate"] = learning_rate_float(optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(list(logs.keys()))}.", stacklevel=3)
            return
        current = scalar_value(current)
        if current is None:
            raise ValueError(f"ReduceLROnPlateau: `monitor` must name a scalar log; '{self.monitor}' is an array.")
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                reduced = False
                for opt in (inner or [optimizer]):
                    if self._reduce_optimizer_lr(opt, epoch, opt.name if inner else ""):
                        reduced = True
                if reduced:
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
