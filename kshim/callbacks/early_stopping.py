"""`EarlyStopping`: stop training when a monitored quantity has stopped improving."""

import warnings

from kshim.callbacks.monitor_callback import MonitorCallback, print_msg, scalar_value


class EarlyStopping(MonitorCallback):
    """Set ``model.stop_training`` once ``monitor`` has not improved for ``patience`` epochs (Keras 3's rules).

    Args:
        monitor: the log to watch. Default "val_loss".
        min_delta: a change of at most ``abs(min_delta)`` counts as no improvement. Default 0.
        patience: epochs without improvement after which training stops. Default 0.
        verbose: 0 or 1 (print when stopping and when restoring weights).
        mode: "auto", "min" or "max".
        baseline: training stops unless the model beats this value within ``patience`` epochs.
        restore_best_weights: at the end of training, set the weights of the best epoch (also when training ran
            to the last epoch without stopping). Default False.
        start_from_epoch: epochs of warm-up (0-based ``epoch < start_from_epoch``) during which nothing is
            monitored. Default 0.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        # Instances can be reused across fit() calls.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Until some epoch improves, the first monitored epoch is the best one.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # The wait restarts only when the value beats both the baseline and the previous best.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(list(logs.keys()))}", stacklevel=3)
            return None
        scalar = scalar_value(value)
        if scalar is None:
            raise ValueError(f"EarlyStopping: `monitor` must name a scalar log; '{self.monitor}' is an array of "
                             f"shape {getattr(value, 'shape', '?')}.")
        return scalar
