"""`MonitorCallback`: the shared logic of callbacks that watch one logged quantity (``val_loss``, ``accuracy``...).

``mode="auto"`` picks the direction as Keras 3 does: names ending in ``loss`` are minimised; any other name is
looked up among the model's compiled metrics, whose class says whether higher is better. A name that is neither
is an error that asks for ``mode="min"`` or ``mode="max"``.
"""

import warnings

import numpy as np

from kshim.callbacks.callback import Callback

# Metric classes whose value improves upwards / downwards (Keras 3's ``Metric._direction``). A metric is matched
# through its class hierarchy, so subclasses (F1Score < FBetaScore, MeanIoU < IoU < _IoUBase) inherit it.
_UP = {"Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
       "SparseTopKCategoricalAccuracy", "Precision", "Recall", "SensitivitySpecificityBase", "AUC", "FBetaScore",
       "_IoUBase", "PearsonCorrelation", "ConcordanceCorrelation", "CosineSimilarity", "R2Score"}
_DOWN = {"Hinge", "SquaredHinge", "CategoricalHinge", "BinaryCrossentropy", "CategoricalCrossentropy",
         "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
         "MeanSquaredLogarithmicError", "RootMeanSquaredError", "LogCoshError", "KLDivergence", "Poisson"}


def print_msg(message):
    """Print a callback's message at once (Keras's ``io_utils.print_msg``)."""
    print(message, flush=True)


def metric_direction(metric):
    """``"up"``, ``"down"`` or None for a compiled metric object."""
    direction = getattr(metric, "_direction", None)
    if direction in ("up", "down"):
        return direction
    for klass in type(metric).__mro__:
        if klass.__name__ in _UP:
            return "up"
        if klass.__name__ in _DOWN:
            return "down"
    # A metric that wraps a loss function is minimised (Keras 3: MeanMetricWrapper around a loss).
    fn = getattr(metric, "_fn", None)
    if fn is not None and (getattr(fn, "__module__", "") or "").startswith("kshim.losses"):
        return "down"
    return None


def scalar_value(value):
    """A monitored value as a Python float, or None when it is not a scalar (a vector metric)."""
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.ndim != 0:
        return None
    return float(arr)


class MonitorCallback(Callback):
    """Base of `ModelCheckpoint`, `EarlyStopping` and `ReduceLROnPlateau`: which way is better, and by how much.

    Args:
        monitor: the log name to watch ("val_loss", "accuracy", ...).
        mode: "auto", "min" or "max". An unknown mode warns and falls back to "auto", as in Keras.
        baseline: the initial "best" value (None: the first value seen is the first best).
        min_delta: an improvement must beat the best by more than ``abs(min_delta)``.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        """Choose ``np.less`` (minimise) or ``np.greater`` (maximise); ``min_delta`` gets the matching sign."""
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        else:
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            if name == "loss" or name.endswith("_loss"):
                self.monitor_op = np.less
            for metric in getattr(self.model, "metrics", None) or []:
                if getattr(metric, "name", None) == name:
                    direction = metric_direction(metric)
                    if direction == "up":
                        self.monitor_op = np.greater
                    elif direction == "down":
                        self.monitor_op = np.less
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but kshim isn't able to "
                    "automatically determine whether that metric should be maximized or minimized. Pass "
                    "`mode='max'` in order to monitor based on the highest metric value, or pass `mode='min'` in "
                    "order to use the lowest value.")
        if self.monitor_op is np.less:
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))
