"""`FBetaScore` and `F1Score` for (multi-label or one-hot multi-class) rank-2 predictions, as Keras 3."""

from kshim import config, ops
from kshim.metrics.metric import Metric
from kshim.metrics.metrics_utils import to_tensor

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """(1 + beta^2) * precision * recall / (beta^2 * precision + recall), per class or averaged.

    Predictions are binarized at ``threshold``, or, when it is None, the row maximum counts as the positive class.
    ``average``: None (one score per class), "micro" (global counts), "macro" (mean of the class scores) or
    "weighted" (class scores weighted by their number of true instances). State is created on the first batch
    (or by `build`), because it has one entry per class.
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        owner = type(self).__name__
        if average not in _AVERAGES:
            raise ValueError(
                f"{owner}: `average` must be one of None, 'micro', 'macro', 'weighted'. Received: average={average!r}"
            )
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"{owner}: `beta` must be a Python float > 0. Received: beta={beta!r}")
        if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
            raise ValueError(
                f"{owner}: `threshold` must be None or a Python float in (0, 1]. Received: threshold={threshold!r}"
            )
        super().__init__(name=name, dtype=dtype)
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self.built = False

    def build(self, y_true_shape, y_pred_shape):
        if self.built:
            return
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                f"{type(self).__name__}: expects 2D inputs of shape (batch_size, output_dim). "
                f"Received: y_pred.shape={tuple(y_pred_shape)}, y_true.shape={tuple(y_true_shape)}"
            )
        shape = () if self.average == "micro" else (int(y_pred_shape[-1]),)
        for name in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, name, self.add_variable(shape=shape, initializer="zeros", dtype=self.dtype, name=name))
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = to_tensor(y_true, self.dtype)
        y_pred = to_tensor(y_pred, self.dtype)
        if not self.built:
            self.build(ops.shape(y_true), ops.shape(y_pred))
        if self.threshold is None:
            row_max = ops.max(y_pred, axis=-1, keepdims=True)
            # The row maximum is the positive class, but an all-zero row predicts nothing.
            y_pred = ops.logical_and(ops.greater_equal(y_pred, row_max), ops.greater(ops.abs(y_pred), 1e-9))
        else:
            y_pred = ops.greater(y_pred, self.threshold)
        y_pred = ops.cast(y_pred, self.dtype)
        if sample_weight is not None:
            sample_weight = ops.expand_dims(to_tensor(sample_weight, self.dtype), 1)

        def weighted_sum(val):
            if sample_weight is not None:
                val = ops.multiply(val, sample_weight)
            return ops.sum(val, axis=self.axis)

        not_true, not_pred = ops.subtract(1.0, y_true), ops.subtract(1.0, y_pred)
        self.true_positives.assign_add(weighted_sum(ops.multiply(y_pred, y_true)))
        self.false_positives.assign_add(weighted_sum(ops.multiply(y_pred, not_true)))
        self.false_negatives.assign_add(weighted_sum(ops.multiply(not_pred, y_true)))
        self.intermediate_weights.assign_add(weighted_sum(y_true))

    def result(self):
        eps = config.epsilon()
        tp = self.true_positives.value
        precision = ops.divide(tp, ops.add(ops.add(tp, self.false_positives.value), eps))
        recall = ops.divide(tp, ops.add(ops.add(tp, self.false_negatives.value), eps))
        b2 = self.beta ** 2
        score = ops.divide(ops.multiply(precision, recall), ops.add(ops.add(ops.multiply(b2, precision), recall), eps))
        score = ops.multiply(score, 1.0 + b2)
        if self.average == "weighted":
            w = self.intermediate_weights.value
            weights = ops.divide(w, ops.add(ops.sum(w), eps))
            return ops.sum(ops.multiply(score, weights))
        if self.average is not None:
            return ops.mean(score)
        return score

    def reset_state(self):
        if self.built:
            super().reset_state()

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F-beta score with beta = 1: the harmonic mean of precision and recall."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
