"""Regression metrics: mean squared/absolute (percentage/logarithmic) error, RMSE, cosine similarity, log-cosh.

The per-sample functions are Keras 3's loss functions of the same names (one home: `kshim.losses.functions`),
except `cosine_similarity`: the metric is the positive similarity, normalized as Keras's metric does.
"""

from kshim import config, ops
from kshim.losses.functions import (  # noqa: F401  (re-exported: kshim.metrics.mean_squared_error, ...)
    log_cosh, mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
    mean_squared_logarithmic_error,
)
from kshim.metrics.metrics_utils import squeeze_or_expand_to_same_rank, to_tensor
from kshim.metrics.reduction_metrics import Mean, MeanMetricWrapper


def _aligned(y_true, y_pred):
    y_pred = to_tensor(y_pred)
    if not ops.is_float_dtype(ops.dtype(y_pred)):
        y_pred = ops.cast(y_pred, config.floatx())
    y_true = to_tensor(y_true, ops.dtype(y_pred))
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _l2_normalize(x, axis):
    """x * min(1 / sqrt(sum(x^2)), 1 / epsilon), as Keras 3's ``normalize(order=2)``."""
    if ops.ndim(x) == 0:
        x = ops.expand_dims(x, 0)
    inv_norm = ops.reciprocal(ops.sqrt(ops.sum(ops.square(x), axis=axis, keepdims=True)))
    return ops.multiply(x, ops.minimum(inv_norm, 1.0 / config.epsilon()))


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return ops.sum(ops.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)), axis=axis)


class _Wrapper(MeanMetricWrapper):
    """A MeanMetricWrapper whose only configuration is its name and dtype."""

    _metric_fn = None
    _default_name = None

    def __init__(self, name=None, dtype=None):
        super().__init__(type(self)._metric_fn, name=name or self._default_name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredError(_Wrapper):
    """The mean of squared errors."""

    _metric_fn = staticmethod(mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(_Wrapper):
    """The mean of absolute errors."""

    _metric_fn = staticmethod(mean_absolute_error)
    _default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(_Wrapper):
    """The mean absolute percentage error."""

    _metric_fn = staticmethod(mean_absolute_percentage_error)
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_Wrapper):
    """The mean squared logarithmic error."""

    _metric_fn = staticmethod(mean_squared_logarithmic_error)
    _default_name = "mean_squared_logarithmic_error"


class LogCoshError(_Wrapper):
    """The mean log-cosh of the prediction error."""

    _metric_fn = staticmethod(log_cosh)
    _default_name = "logcosh"


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of squared errors."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = to_tensor(y_true, self.dtype)
        y_pred = to_tensor(y_pred, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return super().update_state(ops.square(ops.subtract(y_pred, y_true)), sample_weight=sample_weight)

    def result(self):
        return ops.sqrt(super().result())


class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity between labels and predictions along ``axis``."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}
