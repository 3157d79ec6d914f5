"""Metrics that average a loss formula over samples: crossentropies, KL divergence, Poisson and the hinges.

The per-sample formulas are Keras 3's loss functions of the same names (reduced over the last axis).
"""

from kshim import config, ops
from kshim.metrics.metrics_utils import squeeze_or_expand_to_same_rank, to_tensor
from kshim.metrics.reduction_metrics import MeanMetricWrapper


def _pred_and_true(y_true, y_pred):
    y_pred = to_tensor(y_pred)
    if not ops.is_float_dtype(ops.dtype(y_pred)):
        y_pred = ops.cast(y_pred, config.floatx())
    return to_tensor(y_true, ops.dtype(y_pred)), y_pred


def _log_probs(y_pred, from_logits, axis):
    if from_logits:
        return ops.log_softmax(y_pred, axis=axis)
    eps = config.epsilon()
    y_pred = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    return ops.log(ops.clip(y_pred, eps, 1.0 - eps))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean(-(y log p + (1 - y) log(1 - p)), axis), with p clipped to [eps, 1 - eps] (or from logits)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    if from_logits:
        log_p, log_not_p = ops.log_sigmoid(y_pred), ops.log_sigmoid(ops.negative(y_pred))
    else:
        eps = config.epsilon()
        p = ops.clip(y_pred, eps, 1.0 - eps)
        log_p, log_not_p = ops.log(p), ops.log(ops.subtract(1.0, p))
    bce = ops.add(ops.multiply(y_true, log_p), ops.multiply(ops.subtract(1.0, y_true), log_not_p))
    return ops.mean(ops.negative(bce), axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(p), axis) for one-hot (or soft) labels; p is normalized and clipped unless logits."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    if label_smoothing:
        num_classes = float(ops.shape(y_true)[-1])
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / num_classes)
    return ops.negative(ops.sum(ops.multiply(y_true, _log_probs(y_pred, from_logits, axis)), axis=axis))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """-log(p[y_true]) for integer labels; entries whose label is ``ignore_class`` give 0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true)
    if ops.ndim(y_true) == ops.ndim(y_pred) and ops.shape(y_true)[axis] == 1:
        y_true = ops.squeeze(y_true, axis=axis)
    valid = None
    if ignore_class is not None:
        valid = ops.not_equal(y_true, ignore_class)
        y_true = ops.where(valid, y_true, 0)
        y_pred = ops.where(ops.expand_dims(valid, axis), y_pred, 0.0)
    labels = ops.one_hot(ops.cast(y_true, "int32"), ops.shape(y_pred)[axis], axis=axis, dtype=ops.dtype(y_pred))
    res = ops.negative(ops.sum(ops.multiply(labels, _log_probs(y_pred, from_logits, axis)), axis=axis))
    return res if valid is None else ops.where(valid, res, 0.0)


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [eps, 1]."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    eps = config.epsilon()
    y_true, y_pred = ops.clip(y_true, eps, 1.0), ops.clip(y_pred, eps, 1.0)
    return ops.sum(ops.multiply(y_true, ops.log(ops.divide(y_true, y_pred))), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + eps), axis=-1)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, ops.log(ops.add(y_pred, config.epsilon())))), axis=-1)


def _hinge_labels(y_true):
    """Labels in {0, 1} become {-1, 1}; other labels are kept (decided on values, without branching)."""
    is_binary = ops.all(ops.logical_or(ops.equal(y_true, 0), ops.equal(y_true, 1)))
    return ops.where(is_binary, ops.subtract(ops.multiply(2.0, y_true), 1.0), y_true)


def hinge(y_true, y_pred):
    """mean(maximum(1 - y_true * y_pred, 0), axis=-1), labels in {-1, 1} (or {0, 1}, converted)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(_hinge_labels(y_true), y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    margin = ops.maximum(ops.subtract(1.0, ops.multiply(_hinge_labels(y_true), y_pred)), 0.0)
    return ops.mean(ops.square(margin), axis=-1)


def categorical_hinge(y_true, y_pred):
    """maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) along the last axis."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


class _Plain(MeanMetricWrapper):
    """A wrapper whose only configuration is its name and dtype."""

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class KLDivergence(_Plain):
    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)


class Poisson(_Plain):
    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)


class Hinge(_Plain):
    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)


class SquaredHinge(_Plain):
    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(_Plain):
    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary crossentropy."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical crossentropy (one-hot labels)."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean sparse categorical crossentropy (integer labels)."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None,
                 axis=-1):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.ignore_class is None or sample_weight is None:
            # As Keras 3: without sample weights, ignored entries give 0 and still count in the mean.
            return super().update_state(y_true, y_pred, sample_weight=sample_weight)
        # With sample weights Keras applies the loss's mask to them: ignored entries get weight 0.
        labels = to_tensor(y_true)
        if ops.ndim(labels) == ops.ndim(to_tensor(y_pred)) and ops.shape(labels)[self.axis] == 1:
            labels = ops.squeeze(labels, axis=self.axis)
        mask = ops.cast(ops.not_equal(labels, self.ignore_class), self.dtype)
        mask, sample_weight = squeeze_or_expand_to_same_rank(mask, to_tensor(sample_weight, self.dtype))
        return super().update_state(y_true, y_pred, sample_weight=ops.multiply(sample_weight, mask))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}
