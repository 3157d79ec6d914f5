"""`R2Score`: the coefficient of determination over everything seen, per output column, as Keras 3 computes it."""

from kshim import ops
from kshim.metrics.metric import Metric
from kshim.metrics.metrics_utils import squeeze_or_expand_to_same_rank, to_tensor

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """``1 - SS_res / SS_tot`` per output column, from running (weighted) sums; ``class_aggregation`` averages the
    columns uniformly, by their variance, or not at all (None). ``num_regressors > 0`` gives the adjusted score
    ``1 - (1 - R2) (n - 1) / (n - p - 1)``, where ``n`` counts the values seen; it falls back to the plain score
    when ``p >= n - 1`` (Keras 3 warns there; kshim's `result` stays traceable and does not)."""

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(f"R2Score: `class_aggregation` must be one of {list(_AGGREGATIONS)}. "
                             f"Received: class_aggregation={class_aggregation!r}")
        if not isinstance(num_regressors, int) or isinstance(num_regressors, bool) or num_regressors < 0:
            raise ValueError("R2Score: `num_regressors` must be an integer >= 0. "
                             f"Received: num_regressors={num_regressors!r}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), name="num_samples")
        self.built = False

    def build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError("R2Score: `y_true` and `y_pred` must be 2-D (batch_size, output_dim) with a known "
                             f"output_dim. Received: y_true.shape={tuple(y_true_shape)}, "
                             f"y_pred.shape={tuple(y_pred_shape)}")
        n = int(y_pred_shape[-1])
        self.squared_sum = self.add_variable(shape=(n,), name="squared_sum")
        self.sum = self.add_variable(shape=(n,), name="sum")
        self.total_mse = self.add_variable(shape=(n,), name="residual")
        self.count = self.add_variable(shape=(n,), name="count")
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = squeeze_or_expand_to_same_rank(to_tensor(y_true, self.dtype), to_tensor(y_pred, self.dtype))
        if not self.built:
            self.build(tuple(ops.shape(y_true)), tuple(ops.shape(y_pred)))
        weight = ops.convert_to_tensor(1.0 if sample_weight is None else sample_weight, self.dtype)
        if len(ops.shape(weight)) == 1:
            weight = ops.expand_dims(weight, 1)
        weight = ops.broadcast_to(weight, tuple(ops.shape(y_true)))
        weighted = ops.multiply(y_true, weight)
        self.sum.assign(ops.add(self.sum.value, ops.sum(weighted, axis=0)))
        self.squared_sum.assign(ops.add(self.squared_sum.value, ops.sum(ops.multiply(y_true, weighted), axis=0)))
        residual = ops.multiply(ops.square(ops.subtract(y_true, y_pred)), weight)
        self.total_mse.assign(ops.add(self.total_mse.value, ops.sum(residual, axis=0)))
        self.count.assign(ops.add(self.count.value, ops.sum(weight, axis=0)))
        size = 1
        for d in ops.shape(y_true):
            size *= int(d)
        self.num_samples.assign(ops.add(self.num_samples.value, float(size)))

    def result(self):
        mean = ops.divide(self.sum.value, self.count.value)
        total = ops.subtract(self.squared_sum.value, ops.multiply(self.sum.value, mean))
        raw = ops.subtract(1.0, ops.divide(self.total_mse.value, total))
        raw = ops.where(ops.isinf(raw), ops.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = ops.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = ops.divide(ops.sum(ops.multiply(total, raw)), ops.sum(total))
        else:
            score = raw
        if self.num_regressors:
            n, p = self.num_samples.value, float(self.num_regressors)
            adjusted = ops.subtract(1.0, ops.divide(ops.multiply(ops.subtract(1.0, score), ops.subtract(n, 1.0)),
                                                    ops.subtract(ops.subtract(n, p), 1.0)))
            score = ops.where(ops.less(p, ops.subtract(n, 1.0)), adjusted, score)
        return score

    def reset_state(self):
        for v in self.variables:
            v.assign(ops.zeros(v.shape, dtype=v.dtype))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
