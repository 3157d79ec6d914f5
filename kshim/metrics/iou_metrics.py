"""Intersection-over-union metrics: `IoU`, `MeanIoU`, `BinaryIoU`, `OneHotIoU`, `OneHotMeanIoU` (as Keras 3).

State is the accumulated ``(num_classes, num_classes)`` confusion matrix (rows: true class, columns: predicted
class), kept in the metric's dtype, which defaults to int32 as in Keras (float sample weights are truncated then).
"""

from kshim import config, ops
from kshim.metrics.metric import Metric
from kshim.metrics.metrics_utils import to_tensor


def confusion_matrix(labels, predictions, num_classes, weights, dtype):
    """The (num_classes, num_classes) matrix of summed ``weights`` per (label, prediction) pair.

    Labels or predictions outside [0, num_classes) contribute nothing.
    """
    rows = ops.one_hot(ops.cast(labels, "int32"), num_classes, dtype="float32")
    cols = ops.one_hot(ops.cast(predictions, "int32"), num_classes, dtype="float32")
    cols = ops.multiply(cols, ops.expand_dims(ops.cast(weights, "float32"), -1))
    cm = ops.matmul(ops.transpose(rows), cols)
    if not ops.is_float_dtype(dtype):
        cm = ops.round(cm)
    return ops.cast(cm, dtype)


class _IoUBase(Metric):
    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        owner = type(self).__name__
        if not isinstance(num_classes, int) or num_classes <= 0:
            raise ValueError(
                f"{owner}: `num_classes` must be a positive integer. Received: num_classes={num_classes!r}"
            )
        super().__init__(name=name, dtype=dtype or "int32")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(shape=(num_classes, num_classes), initializer="zeros", dtype=self.dtype,
                                          name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.sparse_y_true:
            y_true = ops.argmax(to_tensor(y_true), axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = ops.argmax(to_tensor(y_pred), axis=self.axis)
        y_true = ops.reshape(to_tensor(y_true, self.dtype), (-1,))
        y_pred = ops.reshape(to_tensor(y_pred, self.dtype), (-1,))
        sample_weight = to_tensor(1 if sample_weight is None else sample_weight, self.dtype)
        if ops.ndim(sample_weight) > 1:
            sample_weight = ops.reshape(sample_weight, (-1,))
        sample_weight = ops.broadcast_to(sample_weight, ops.shape(y_true))
        valid = ops.logical_and(
            ops.logical_and(ops.greater_equal(y_true, 0), ops.less(y_true, self.num_classes)),
            ops.logical_and(ops.greater_equal(y_pred, 0), ops.less(y_pred, self.num_classes)),
        )
        if self.ignore_class is not None:
            valid = ops.logical_and(valid, ops.not_equal(y_true, self.ignore_class))
        sample_weight = ops.where(valid, sample_weight, ops.zeros_like(sample_weight))
        y_true = ops.where(valid, y_true, ops.zeros_like(y_true))
        y_pred = ops.where(valid, y_pred, ops.zeros_like(y_pred))
        current = confusion_matrix(y_true, y_pred, self.num_classes, sample_weight, self.dtype)
        self.total_cm.assign_add(current)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class IoU(_IoUBase):
    """IoU = tp / (tp + fp + fn) per class, averaged over ``target_class_ids`` that occur (others count 0)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        target_class_ids = list(target_class_ids)
        if not target_class_ids or max(target_class_ids) >= num_classes or min(target_class_ids) < 0:
            raise ValueError(
                f"{type(self).__name__}: `target_class_ids` must be non-empty and lie in [0, {num_classes}). "
                f"Received: target_class_ids={target_class_ids!r}"
            )
        self.target_class_ids = target_class_ids

    def result(self):
        cm = ops.cast(self.total_cm.value, "float32")
        true_positives = ops.diag(cm)
        # row sums + column sums = 2 tp + fp + fn
        denominator = ops.subtract(ops.add(ops.sum(cm, axis=0), ops.sum(cm, axis=1)), true_positives)
        ids = ops.convert_to_tensor(self.target_class_ids, dtype="int32")
        true_positives = ops.take(true_positives, ids, axis=0)
        denominator = ops.take(denominator, ids, axis=0)
        valid = ops.greater(denominator, 1e-9)
        num_valid = ops.sum(ops.cast(valid, "float32"))
        iou = ops.divide(true_positives, ops.add(denominator, config.epsilon()))
        iou = ops.where(valid, iou, 0.0)
        return ops.divide(ops.sum(iou, axis=self.axis), ops.add(num_valid, config.epsilon()))

    # The constructor arguments a subclass fixes, so leaves out of its config.
    _fixed_args = ()

    def get_config(self):
        config = {**super().get_config(), "target_class_ids": self.target_class_ids}
        for arg in self._fixed_args:
            del config[arg]
        return config


class MeanIoU(IoU):
    """IoU averaged over all ``num_classes`` classes that occur (in labels or predictions)."""
    _fixed_args = ("target_class_ids",)

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)


class BinaryIoU(IoU):
    """IoU of binary predictions (``y_pred >= threshold``) for the classes in ``target_class_ids``."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(ops.greater_equal(to_tensor(y_pred, "float32"), self.threshold), self.dtype)
        return super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class OneHotIoU(IoU):
    """IoU for one-hot labels (and, unless ``sparse_y_pred``, per-class scores)."""
    _fixed_args = ("sparse_y_true",)

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)


class OneHotMeanIoU(MeanIoU):
    """MeanIoU for one-hot labels (and, unless ``sparse_y_pred``, per-class scores)."""
    _fixed_args = ("target_class_ids", "sparse_y_true")

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)
