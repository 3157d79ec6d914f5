"""`AUC`: the area under the ROC or precision-recall curve, by a Riemann sum over fixed thresholds (as Keras 3)."""

import numpy as np

from kshim import config, ops
from kshim.metrics.confusion_counts import is_evenly_distributed_thresholds, update_confusion_variables
from kshim.metrics.metric import Metric
from kshim.metrics.metrics_utils import divide_no_nan, head, tail, to_tensor

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Approximate AUC from true/false positive/negative counts at ``num_thresholds`` thresholds.

    ``curve`` is "ROC" (default), "PR" or "PRGAIN"; ``summation_method`` is "interpolation" (default; for PR this is
    the Davis & Goadrich interpolation), "minoring" or "majoring". With ``from_logits=True`` predictions pass through
    a sigmoid first. With ``multi_label=True`` counts are kept per label (rank-2 inputs) and the per-label AUCs are
    averaged (weighted by ``label_weights`` if given); otherwise all inputs are flattened into one binary problem.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        curve_name = _CURVES.get(str(getattr(curve, "value", curve)).lower())
        if curve_name is None:
            raise ValueError(f"AUC: `curve` must be one of 'ROC', 'PR', 'PRGAIN'. Received: curve={curve!r}")
        method = str(getattr(summation_method, "value", summation_method)).lower()
        if method not in _SUMMATIONS:
            raise ValueError(
                "AUC: `summation_method` must be one of 'interpolation', 'majoring', 'minoring'. "
                f"Received: summation_method={summation_method!r}"
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            thresholds = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(thresholds) + 2
            self._evenly = is_evenly_distributed_thresholds(np.array([0.0] + thresholds + [1.0]))
        else:
            if not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(
                    f"AUC: `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds!r}"
                )
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        # End points just below 0 and above 1 catch predictions of exactly 0 or 1 despite rounding.
        eps = config.epsilon()
        self._thresholds = [0.0 - eps] + thresholds + [1.0 + eps]
        self.curve = curve_name
        self.summation_method = method
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else to_tensor(label_weights, self.dtype)
        self._label_weights_config = label_weights
        self._from_logits = from_logits
        self.built = False
        if self.multi_label:
            if num_labels:
                self._create_state((None, num_labels))
        else:
            if num_labels:
                raise ValueError(
                    f"AUC: `num_labels` is needed only when `multi_label` is True. Received: num_labels={num_labels!r}"
                )
            self._create_state(None)

    @property
    def thresholds(self):
        """The thresholds, including the two end points."""
        return list(self._thresholds)

    def _create_state(self, y_pred_shape):
        if self.multi_label:
            if y_pred_shape is None or len(y_pred_shape) != 2:
                raise ValueError(
                    "AUC: `y_pred` must have rank 2 when `multi_label=True`. "
                    f"Received: y_pred.shape={y_pred_shape}"
                )
            self._num_labels = int(y_pred_shape[1])
            shape = (self.num_thresholds, self._num_labels)
        else:
            shape = (self.num_thresholds,)
        self.true_positives = self.add_variable(shape=shape, initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable(shape=shape, initializer="zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape=shape, initializer="zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape=shape, initializer="zeros", name="false_negatives")
        self.built = True

    def build(self, y_true_shape, y_pred_shape):
        if not self.built:
            self._create_state(tuple(y_pred_shape))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_tensor(y_pred)
        if not self.built:
            self._create_state(ops.shape(y_pred))
        if self._from_logits:
            y_pred = ops.sigmoid(y_pred)
        update_confusion_variables(
            {"tp": self.true_positives, "tn": self.true_negatives, "fp": self.false_positives,
             "fn": self.false_negatives}, y_true, y_pred, self._thresholds, evenly=self._evenly,
            sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights, owner="AUC",
        )

    def _average_labels(self, per_threshold_terms):
        if not self.multi_label:
            return ops.sum(per_threshold_terms)
        by_label = ops.sum(per_threshold_terms, axis=0)
        if self.label_weights is None:
            return ops.mean(by_label)
        return divide_no_nan(ops.sum(ops.multiply(by_label, self.label_weights)), ops.sum(self.label_weights))

    def _interpolate_pr_auc(self, tp, fp, fn):
        """Davis & Goadrich (2006): interpolate true positives linearly between thresholds, not precision."""
        n = self.num_thresholds
        dtp = ops.subtract(head(tp, n - 1), tail(tp, 1))
        p = ops.add(tp, fp)
        p_lo, p_hi = head(p, n - 1), tail(p, 1)
        dp = ops.subtract(p_lo, p_hi)
        prec_slope = divide_no_nan(dtp, ops.maximum(dp, 0.0))
        intercept = ops.subtract(tail(tp, 1), ops.multiply(prec_slope, p_hi))
        safe_p_ratio = ops.where(
            ops.logical_and(ops.greater(p_lo, 0.0), ops.greater(p_hi, 0.0)),
            divide_no_nan(p_lo, ops.maximum(p_hi, 0.0)),
            ops.ones_like(p_hi),
        )
        increments = divide_no_nan(
            ops.multiply(prec_slope, ops.add(dtp, ops.multiply(intercept, ops.log(safe_p_ratio)))),
            ops.maximum(ops.add(tail(tp, 1), tail(fn, 1)), 0.0),
        )
        return self._average_labels(increments)

    def result(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = divide_no_nan(tp, ops.add(tp, fn))
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, ops.add(fp, tn)), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, ops.add(tp, fp))
        else:  # PRGAIN; gains are clamped as Keras does where they diverge.
            scale = divide_no_nan(ops.add(tp, fn), ops.add(tn, fp))
            recall_gain = ops.subtract(1.0, ops.multiply(scale, divide_no_nan(fn, tp)))
            precision_gain = ops.subtract(1.0, ops.multiply(scale, divide_no_nan(fp, tp)))
            no_tp = ops.equal(tp, 0.0)
            x = ops.maximum(ops.where(no_tp, 0.0, recall_gain), 0.0)
            y = ops.where(no_tp, 1.0, precision_gain)
        n = self.num_thresholds
        y_lo, y_hi = head(y, n - 1), tail(y, 1)
        if self.summation_method == "interpolation":
            heights = ops.divide(ops.add(y_lo, y_hi), 2.0)
        elif self.summation_method == "minoring":
            heights = ops.minimum(y_lo, y_hi)
        else:
            heights = ops.maximum(y_lo, y_hi)
        return self._average_labels(ops.multiply(ops.subtract(head(x, n - 1), tail(x, 1)), heights))

    def reset_state(self):
        if self.built:
            super().reset_state()

    def get_config(self):
        lw = self._label_weights_config
        config = {
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": lw.tolist() if isinstance(lw, np.ndarray) else lw,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return {**super().get_config(), **config}
