"""Accuracy metrics: exact, binary, categorical, sparse categorical and top-k, each as a function and a class."""

from kshim import config, ops
from kshim.metrics.metrics_utils import squeeze_or_expand_to_same_rank, to_tensor
from kshim.metrics.reduction_metrics import MeanMetricWrapper


def _matches(a, b):
    return ops.cast(ops.equal(a, b), config.floatx())


def accuracy(y_true, y_pred):
    """1.0 where ``y_pred == y_true`` exactly, else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, ops.dtype(y_pred))
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _matches(y_true, y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``(y_pred > threshold) == y_true``, else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = ops.cast(ops.greater(y_pred, threshold), ops.dtype(y_true))
    return _matches(y_true, y_pred)


def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_pred) == argmax(y_true)`` along the last axis (one-hot labels), else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = ops.cast(ops.argmax(to_tensor(y_true), axis=-1), ops.dtype(y_pred))
    true_shape = ops.shape(y_true)
    reshape_matches = ops.ndim(y_true) == ops.ndim(y_pred)
    if reshape_matches:
        y_true = ops.squeeze(y_true, -1)
    y_pred = ops.cast(ops.argmax(y_pred, axis=-1), ops.dtype(y_true))
    matches = _matches(y_true, y_pred)
    return ops.reshape(matches, true_shape) if reshape_matches else matches


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_pred) == y_true`` (integer labels of shape (N,) or (N, 1)), else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, ops.dtype(y_pred))
    true_shape = ops.shape(y_true)
    reshape_matches = ops.ndim(y_true) == ops.ndim(y_pred) and true_shape[-1] == 1
    if reshape_matches:
        y_true = ops.squeeze(y_true, -1)
    y_pred = ops.cast(ops.argmax(y_pred, axis=-1), ops.dtype(y_true))
    matches = _matches(y_true, y_pred)
    if reshape_matches:
        matches = ops.reshape(matches, true_shape)
    if ops.ndim(matches) > 1 and ops.shape(matches)[-1] == 1:
        matches = ops.squeeze(matches, -1)
    return matches


def in_top_k(targets, predictions, k):
    """True where ``predictions[i, targets[i]]`` is among the ``k`` largest of row ``i`` (ties count as in)."""
    at_label = ops.take_along_axis(predictions, ops.expand_dims(ops.cast(targets, "int32"), -1), axis=-1)
    at_label = ops.where(ops.isnan(at_label), float("-inf"), at_label)
    rank = ops.add(ops.sum(ops.cast(ops.greater(predictions, at_label), "int32"), axis=-1), 1)
    return ops.less_equal(rank, k)


def _top_k_matches(y_true, y_pred, k):
    true_shape = ops.shape(y_true)
    if ops.ndim(y_pred) > 2:
        y_pred = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1]))
    reshape_matches = ops.ndim(y_true) > 1
    if reshape_matches:
        y_true = ops.reshape(y_true, (-1,))
    matches = ops.cast(in_top_k(y_true, y_pred, k), config.floatx())
    return ops.reshape(matches, true_shape) if reshape_matches else matches


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the true class (argmax of one-hot ``y_true``) is in the top ``k`` of ``y_pred``, else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = ops.argmax(to_tensor(y_true, ops.dtype(y_pred)), axis=-1)
    return _top_k_matches(y_true, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label ``y_true`` is in the top ``k`` of ``y_pred``, else 0.0.

    With ``from_sorted_ids=True``, ``y_pred`` holds class ids sorted by decreasing score instead of scores.
    """
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, ops.dtype(y_pred) if from_sorted_ids else "int32")
    if not from_sorted_ids:
        return _top_k_matches(y_true, y_pred, k)
    true_shape = ops.shape(y_true)
    if ops.ndim(y_pred) > 2:
        y_pred = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1]))
    y_true = ops.reshape(y_true, (-1,))
    top = ops.slice_along_axis(y_pred, 0, min(k, ops.shape(y_pred)[-1]), 1)
    matches = ops.any(ops.equal(ops.expand_dims(y_true, 1), top), axis=1)
    return ops.reshape(ops.cast(matches, config.floatx()), true_shape)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(fn=accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the binary labels."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of ``y_pred`` matches the argmax of one-hot ``y_true``."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of ``y_pred`` matches the integer labels."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is in the top ``k`` predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer target is in the top ``k`` predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
