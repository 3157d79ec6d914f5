"""Threshold metrics built on confusion counts: TruePositives & co., Precision, Recall, and the
sensitivity/specificity/precision/recall-at-a-constraint family. (AUC lives in `kshim.metrics.auc`.)"""

from kshim import ops
from kshim.metrics.confusion_counts import (
    NEG_INF, is_evenly_distributed_thresholds, parse_init_thresholds, update_confusion_variables,
)
from kshim.metrics.metric import Metric
from kshim.metrics.metrics_utils import divide_no_nan, first


class _ConfusionMatrixConditionCount(Metric):
    """The weighted count of one confusion-matrix condition at each threshold. State: ``accumulator``."""

    _condition = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_init_thresholds(type(self).__name__, thresholds, 0.5)
        self._evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),), initializer="zeros",
                                             name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_variables({self._condition: self.accumulator}, y_true, y_pred, self.thresholds,
                                   evenly=self._evenly, sample_weight=sample_weight, owner=type(self).__name__)

    def result(self):
        return first(self.accumulator.value) if len(self.thresholds) == 1 else self.accumulator.value

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The weighted number of true positives (``y_true`` true and ``y_pred > threshold``)."""

    _condition = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """The weighted number of false positives (``y_true`` false and ``y_pred > threshold``)."""

    _condition = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The weighted number of true negatives (``y_true`` false and ``y_pred <= threshold``)."""

    _condition = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The weighted number of false negatives (``y_true`` true and ``y_pred <= threshold``)."""

    _condition = "fn"


class _PrecisionRecall(Metric):
    """Shared machinery of Precision and Recall: ``true_positives`` and one other count per threshold."""

    _other = None  # ("fp", "false_positives") or ("fn", "false_negatives")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        owner = type(self).__name__
        if top_k is not None and (not isinstance(top_k, int) or top_k <= 0):
            raise ValueError(f"{owner}: `top_k` must be a positive integer or None. Received: top_k={top_k!r}")
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = parse_init_thresholds(owner, thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = is_evenly_distributed_thresholds(self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), initializer="zeros", name="true_positives")
        setattr(self, self._other[1], self.add_variable(shape=(n,), initializer="zeros", name=self._other[1]))

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_variables(
            {"tp": self.true_positives, self._other[0]: getattr(self, self._other[1])}, y_true, y_pred,
            self.thresholds, evenly=self._evenly, top_k=self.top_k, class_id=self.class_id,
            sample_weight=sample_weight, owner=type(self).__name__,
        )

    def result(self):
        tp = self.true_positives.value
        value = divide_no_nan(tp, ops.add(tp, getattr(self, self._other[1]).value))
        return first(value) if len(self.thresholds) == 1 else value

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """tp / (tp + fp) at each threshold (or among the ``top_k`` predictions, or for one ``class_id``)."""

    _other = ("fp", "false_positives")


class Recall(_PrecisionRecall):
    """tp / (tp + fn) at each threshold (or among the ``top_k`` predictions, or for one ``class_id``)."""

    _other = ("fn", "false_negatives")


class SensitivitySpecificityBase(Metric):
    """Counts at ``num_thresholds`` thresholds spread evenly over [0, 1], for the "X at Y" metrics."""

    _value_arg = None

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        owner = type(self).__name__
        if value < 0 or value > 1:
            raise ValueError(f"{owner}: `{self._value_arg}` must lie in [0, 1]. "
                             f"Received: {self._value_arg}={value!r}")
        if not isinstance(num_thresholds, int) or num_thresholds <= 0:
            raise ValueError(f"{owner}: `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds!r}")
        super().__init__(name=name, dtype=dtype)
        self.value = value
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0] + inner + [1.0], True
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable(shape=(n,), initializer="zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape=(n,), initializer="zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape=(n,), initializer="zeros", name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_variables(
            {"tp": self.true_positives, "tn": self.true_negatives, "fp": self.false_positives,
             "fn": self.false_negatives}, y_true, y_pred, self.thresholds, evenly=self._evenly,
            class_id=self.class_id, sample_weight=sample_weight, owner=type(self).__name__,
        )

    def _rates(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        return {
            "sensitivity": divide_no_nan(tp, ops.add(tp, fn)),  # = recall
            "specificity": divide_no_nan(tn, ops.add(tn, fp)),
            "precision": divide_no_nan(tp, ops.add(tp, fp)),
        }

    def _max_under_constraint(self, constrained, dependent):
        """The largest ``dependent`` value among thresholds where ``constrained >= value`` (0 if none)."""
        return ops.max(ops.where(ops.greater_equal(constrained, self.value), dependent, 0.0))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._value_arg: self.value}


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """The best sensitivity (recall) among thresholds whose specificity is >= ``specificity``."""

    _value_arg = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)
        self.specificity = specificity

    def result(self):
        r = self._rates()
        return self._max_under_constraint(r["specificity"], r["sensitivity"])


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """The best specificity among thresholds whose sensitivity (recall) is >= ``sensitivity``."""

    _value_arg = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)
        self.sensitivity = sensitivity

    def result(self):
        r = self._rates()
        return self._max_under_constraint(r["sensitivity"], r["specificity"])


class PrecisionAtRecall(SensitivitySpecificityBase):
    """The best precision among thresholds whose recall is >= ``recall``."""

    _value_arg = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)
        self.recall = recall

    def result(self):
        r = self._rates()
        return self._max_under_constraint(r["sensitivity"], r["precision"])


class RecallAtPrecision(SensitivitySpecificityBase):
    """The best recall among thresholds whose precision is >= ``precision``."""

    _value_arg = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)
        self.precision = precision

    def result(self):
        r = self._rates()
        return self._max_under_constraint(r["precision"], r["sensitivity"])
