"""Correlation metrics: Pearson's and the concordance correlation coefficient, per sample along an axis and
averaged over samples, with Keras 3's formulas (``keras.metrics.PearsonCorrelation``, ...)."""

from kshim import config, ops
from kshim.metrics.metrics_utils import squeeze_or_expand_to_same_rank, to_tensor
from kshim.metrics.reduction_metrics import MeanMetricWrapper


def _aligned(y_true, y_pred):
    y_pred = to_tensor(y_pred)
    if not ops.is_float_dtype(ops.dtype(y_pred)):
        y_pred = ops.cast(y_pred, config.floatx())
    return squeeze_or_expand_to_same_rank(to_tensor(y_true, ops.dtype(y_pred)), y_pred)


def pearson_correlation(y_true, y_pred, axis=-1):
    """``mean(z(y_true) * z(y_pred))`` along ``axis``, with ``z`` the centered values over their (population)
    standard deviation."""
    y_true, y_pred = _aligned(y_true, y_pred)
    t = ops.subtract(y_true, ops.mean(y_true, axis=axis, keepdims=True))
    p = ops.subtract(y_pred, ops.mean(y_pred, axis=axis, keepdims=True))
    t = ops.divide(t, ops.std(t, axis=axis, keepdims=True))
    p = ops.divide(p, ops.std(p, axis=axis, keepdims=True))
    return ops.mean(ops.multiply(t, p), axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along ``axis``, as Keras 3 computes it: ``mean(2 * (y_true - mean(y_pred)) *
    (y_pred - mean(y_pred)) / (var(y_true) + var(y_pred) + (mean(y_true) - mean(y_pred))**2 + epsilon))``.
    (Keras centers ``y_true`` on the mean of ``y_pred`` in the covariance term; kshim keeps that, for equal
    numbers.)"""
    y_true, y_pred = _aligned(y_true, y_pred)
    t_mean = ops.mean(y_true, axis=axis, keepdims=True)
    p_mean = ops.mean(y_pred, axis=axis, keepdims=True)
    t_var = ops.var(ops.subtract(y_true, t_mean), axis=axis, keepdims=True)
    p_var = ops.var(ops.subtract(y_pred, p_mean), axis=axis, keepdims=True)
    covariance = ops.multiply(ops.subtract(y_true, p_mean), ops.subtract(y_pred, p_mean))
    norm = ops.add(ops.add(t_var, p_var), ops.square(ops.subtract(t_mean, p_mean)))
    return ops.mean(ops.divide(ops.multiply(2.0, covariance), ops.add(norm, config.epsilon())), axis=axis)


class _Correlation(MeanMetricWrapper):
    _metric_fn = None
    _default_name = None

    def __init__(self, name=None, dtype=None, axis=-1):
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"{type(self).__name__}: `axis` must be an integer. Received: axis={axis!r}")
        super().__init__(type(self)._metric_fn, name=name or self._default_name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class PearsonCorrelation(_Correlation):
    """The mean over samples of `pearson_correlation`."""

    _metric_fn = staticmethod(pearson_correlation)
    _default_name = "pearson_correlation"


class ConcordanceCorrelation(_Correlation):
    """The mean over samples of `concordance_correlation`."""

    _metric_fn = staticmethod(concordance_correlation)
    _default_name = "concordance_correlation"
