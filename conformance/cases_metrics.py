"""Cases for kshim.metrics: every metric class, updated with two batches (with sample weights), then ``result()``.

Each case returns ``after1`` (the result after the first batch) and ``after2`` (after both), so that the
accumulation across batches is checked, not only one batch. Where the numbers are a short numpy formula (the
accuracy family, the mean-of-a-loss metrics, confusion counts, precision/recall, AUC (ROC), F1, IoU) the case has
a float64 numpy reference of Keras 3's definition; the "X at Y" metrics are compared across backends only.
Predictions stay away from the decision thresholds and from ties, so thresholding and argmax/top-k are exact.
"""

import numpy as np

from conformance.case import away_from, case, kshim, ops, rng
from conformance.cases_losses import (
    np_binary_crossentropy, np_categorical_crossentropy, np_categorical_hinge, np_cosine_similarity, np_hinge,
    np_kl_divergence, np_log_cosh, np_mean_absolute_error, np_mean_absolute_percentage_error,
    np_mean_squared_error, np_mean_squared_logarithmic_error, np_poisson, np_sparse_categorical_crossentropy,
    np_squared_hinge,
)

EPS = 1e-7
NB, C = 8, 4  # batch size, classes

# ----------------------------------------------------------------------------------------------------------------
# Fixed inputs: two batches of each kind, seeded by (kind, batch).


def _f32(x):
    return np.asarray(x, np.float32)


def _sw(b):
    """Sample weights of batch ``b``: one zero weight, the others in [0.25, 2]."""
    w = rng(700 + b).uniform(0.25, 2.0, size=NB)
    w[3 + b] = 0.0
    return _f32(w)


def _int_sw(b):
    """Integer-valued weights (the IoU metrics keep int32 state, so float weights would be truncated)."""
    return _f32(rng(710 + b).integers(0, 4, size=NB))


def _probs(seed, shape):
    return _f32(away_from(rng(seed).uniform(0.02, 0.98, size=shape), (0.5,), 0.03))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _binary(b):
    p = _probs(720 + b, (NB, 1))
    t = _f32((p + rng(722 + b).uniform(-0.45, 0.45, size=(NB, 1))) > 0.5)  # correlated labels: AUC well inside
    return t, p


def _categorical(b):
    labels = rng(730 + b).integers(0, C, size=NB).astype(np.int32)
    probs = _f32(_softmax(rng(732 + b).uniform(-2, 2, size=(NB, C))))
    return labels, _f32(np.eye(C)[labels]), probs


def _regression(b, lo=-2.0, hi=2.0):
    return _f32(rng(740 + b).uniform(lo, hi, size=(NB, 3))), _f32(rng(742 + b).uniform(lo, hi, size=(NB, 3)))


def _multilabel(b):
    return _f32(rng(750 + b).uniform(size=(NB, 3)) > 0.5), _probs(752 + b, (NB, 3))


BIN = [(*_binary(b), _sw(b)) for b in range(2)]
CAT = [_categorical(b) for b in range(2)]
ONE_HOT = [(oh, p, _sw(b)) for b, (_, oh, p) in enumerate(CAT)]
SPARSE = [(lab, p, _sw(b)) for b, (lab, _, p) in enumerate(CAT)]
REG = [(*_regression(b), _sw(b)) for b in range(2)]
POS = [(*_regression(b, 0.2, 3.0), _sw(b)) for b in range(2)]
LOGITS = [(t, _f32(rng(760 + b).uniform(-3, 3, size=(NB, 1))), _sw(b)) for b, (t, _, _) in enumerate(BIN)]
COUNTS = [(_f32(rng(762 + b).integers(0, 5, size=(NB, 3))), p, w) for b, (_, p, w) in enumerate(POS)]
SOFT = [(_f32(_softmax(rng(764 + b).uniform(-1, 1, size=(NB, C)))), p, w) for b, (_, p, w) in enumerate(ONE_HOT)]
SIGNS = [(_f32(np.where(rng(766 + b).uniform(size=(NB, 3)) > 0.5, 1.0, -1.0)), p, w) for b, (_, p, w) in
         enumerate(REG)]
MULTI = [(*_multilabel(b), _sw(b)) for b in range(2)]
VALUES = [(_f32(rng(770 + b).uniform(-3, 3, size=NB)), _sw(b)) for b in range(2)]
# exact-match accuracy: integer-valued predictions, about half equal to the labels
EXACT = [(_f32(rng(772 + b).integers(0, 3, size=NB)), _f32(rng(774 + b).integers(0, 3, size=NB)), _sw(b))
         for b in range(2)]
IOU = [(rng(776 + b).integers(0, 3, size=NB).astype(np.int32), rng(778 + b).integers(0, 3, size=NB).astype(np.int32),
        _int_sw(b)) for b in range(2)]
ONE_HOT3 = [(_f32(np.eye(3)[t]), _f32(_softmax(rng(780 + b).uniform(-2, 2, size=(NB, 3)))), w)
            for b, (t, _, w) in enumerate(IOU)]
BIN_IOU = [(t, p, _int_sw(b)) for b, (t, p, _) in enumerate(BIN)]

# ----------------------------------------------------------------------------------------------------------------
# The case factory


def _cat(batches):
    return [np.concatenate([np.asarray(b[i]) for b in batches]) for i in range(len(batches[0]))]


def metric_case(name, cls_name, batches, np_ref=None, kwargs=None, *, rtol=1e-5, atol=1e-6, ref_rtol=2e-5,
                ref_atol=2e-6, weighted=True):
    """Register ``metrics.<name>``: ``cls_name(**kwargs)`` updated with each of ``batches`` (tuples of inputs
    ending with the sample weight), ``result()`` after each. ``np_ref(*inputs, sample_weight)`` gets the inputs of
    the batches seen so far, concatenated. ``kwargs`` may be a function returning the dict (to build kshim
    arguments in the worker only)."""

    def run():
        m = getattr(kshim.metrics, cls_name)(**((kwargs() if callable(kwargs) else kwargs) or {}))
        out = {}
        for i, b in enumerate(batches):
            args = [ops.convert_to_tensor(a) for a in b[:-1]]
            if weighted:
                m.update_state(*args, sample_weight=ops.convert_to_tensor(b[-1]))
            else:
                m.update_state(*args)
            out[f"after{i + 1}"] = m.result()
        return out

    reference = None
    if np_ref is not None:
        def reference():
            res = {}
            for i in range(len(batches)):
                *inputs, sw = _cat(batches[:i + 1])
                inputs = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in inputs]
                res[f"after{i + 1}"] = np_ref(*inputs, sw.astype(np.float64) if weighted else None)
            return res

    run.__doc__ = f"{cls_name}: update_state on two batches{' with sample_weight' if weighted else ''}, result()"
    run.__module__ = __name__
    return case(f"metrics.{name}", family="metrics", rtol=rtol, atol=atol, reference=reference, ref_rtol=ref_rtol,
                ref_atol=ref_atol, covers=(f"metrics.{cls_name}",))(run)


def wmean(per_sample):
    """The weighted mean over samples of ``per_sample(*inputs)`` (a MeanMetricWrapper's result)."""

    def ref(*args):
        *inputs, sw = args
        v = np.asarray(per_sample(*inputs), np.float64).reshape(len(inputs[0]), -1).mean(axis=1)
        sw = np.ones_like(v) if sw is None else sw
        return np.sum(v * sw) / np.sum(sw)

    return ref


def _top_k(labels, p, k):
    at_label = np.take_along_axis(p, labels.astype(np.int64)[:, None], axis=-1)
    return (np.sum(p > at_label, axis=-1) < k).astype(np.float64)


def _counts(t, p, sw, thresholds=(0.5,)):
    """(tp, fp, tn, fn) per threshold, weighted, with Keras's ``y_pred > threshold``."""
    t, p = t.reshape(len(t), -1), p.reshape(len(p), -1)
    w = np.ones(len(t)) if sw is None else sw
    w = np.broadcast_to(w[:, None], t.shape)
    out = []
    for thr in thresholds:
        pos = p > thr
        out.append([np.sum(w * ((t == 1) & pos)), np.sum(w * ((t == 0) & pos)), np.sum(w * ((t == 0) & ~pos)),
                    np.sum(w * ((t == 1) & ~pos))])
    return np.array(out, np.float64).T  # (4, n_thresholds)


def _count_ref(i, thresholds=None):
    def ref(t, p, sw):
        c = _counts(t, p, sw, thresholds or (0.5,))[i]
        return c if thresholds else c[0]

    return ref


def _precision(t, p, sw):
    tp, fp, _, _ = _counts(t, p, sw)[:, 0]
    return tp / (tp + fp)


def _recall(t, p, sw):
    tp, _, _, fn = _counts(t, p, sw)[:, 0]
    return tp / (tp + fn)


def _auc_roc(t, p, sw, num_thresholds=200):
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    tp, fp, tn, fn = _counts(t, p, sw, [-EPS] + inner + [1.0 + EPS])
    recall, fpr = tp / np.maximum(tp + fn, 1e-300), fp / np.maximum(fp + tn, 1e-300)
    return np.sum((fpr[:-1] - fpr[1:]) * (recall[:-1] + recall[1:]) / 2.0)


def _f1(t, p, sw, average=None, threshold=0.5):
    w = (np.ones(len(t)) if sw is None else sw)[:, None]
    pred = (p > threshold).astype(np.float64)
    axis = None if average == "micro" else 0
    tp, fp = np.sum(w * pred * t, axis=axis), np.sum(w * pred * (1 - t), axis=axis)
    fn = np.sum(w * (1 - pred) * t, axis=axis)
    precision, recall = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    f1 = 2.0 * precision * recall / (precision + recall + EPS)
    if average == "weighted":
        support = np.sum(w * t, axis=0)
        return np.sum(f1 * support / (np.sum(support) + EPS))
    return np.mean(f1) if average else f1


def _iou(labels, preds, sw, num_classes=3, ids=(0, 1, 2)):
    cm = np.zeros((num_classes, num_classes))
    w = np.trunc(np.ones(len(labels)) if sw is None else sw)
    for a, b, c in zip(labels.astype(int), preds.astype(int), w):
        cm[a, b] += c
    tp = np.diag(cm)
    denom = (cm.sum(axis=0) + cm.sum(axis=1) - tp)[list(ids)]
    tp = tp[list(ids)]
    valid = denom > 1e-9
    return np.sum(np.where(valid, tp / (denom + EPS), 0.0)) / (valid.sum() + EPS)


def _onehot_iou(ids=(0, 1, 2)):
    return lambda t, p, sw: _iou(np.argmax(t, -1), np.argmax(p, -1), sw, 3, ids)


# ----------------------------------------------------------------------------------------------------------------
# Reduction metrics

metric_case("mean", "Mean", VALUES, lambda v, sw: np.sum(v * sw) / np.sum(sw))
metric_case("mean.unweighted", "Mean", VALUES, lambda v, sw: np.mean(v), weighted=False)
metric_case("sum", "Sum", VALUES, lambda v, sw: np.sum(v * sw))
metric_case("mean_metric_wrapper", "MeanMetricWrapper", REG, wmean(np_mean_absolute_error),
            lambda: {"fn": kshim.metrics.mean_absolute_error})

# Accuracy metrics
metric_case("accuracy", "Accuracy", EXACT, wmean(lambda t, p: (t == p) * 1.0))
metric_case("binary_accuracy", "BinaryAccuracy", BIN, wmean(lambda t, p: (t == (p > 0.5)) * 1.0))
metric_case("binary_accuracy.threshold", "BinaryAccuracy", BIN, wmean(lambda t, p: (t == (p > 0.7)) * 1.0),
            {"threshold": 0.7})
metric_case("binary_accuracy.unweighted", "BinaryAccuracy", BIN, wmean(lambda t, p: (t == (p > 0.5)) * 1.0),
            weighted=False)
metric_case("categorical_accuracy", "CategoricalAccuracy", ONE_HOT,
            wmean(lambda t, p: (np.argmax(t, -1) == np.argmax(p, -1)) * 1.0))
metric_case("sparse_categorical_accuracy", "SparseCategoricalAccuracy", SPARSE,
            wmean(lambda t, p: (t == np.argmax(p, -1)) * 1.0))
metric_case("top_k_categorical_accuracy", "TopKCategoricalAccuracy", ONE_HOT,
            wmean(lambda t, p: _top_k(np.argmax(t, -1), p, 2)), {"k": 2})
metric_case("sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy", SPARSE,
            wmean(lambda t, p: _top_k(t, p, 2)), {"k": 2})

# Regression metrics
metric_case("mean_squared_error", "MeanSquaredError", REG, wmean(np_mean_squared_error))
metric_case("mean_absolute_error", "MeanAbsoluteError", REG, wmean(np_mean_absolute_error))
metric_case("root_mean_squared_error", "RootMeanSquaredError", REG,
            lambda t, p, sw: np.sqrt(wmean(np_mean_squared_error)(t, p, sw)))
metric_case("mean_absolute_percentage_error", "MeanAbsolutePercentageError", POS,
            wmean(np_mean_absolute_percentage_error))
metric_case("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", POS,
            wmean(np_mean_squared_logarithmic_error))
metric_case("log_cosh_error", "LogCoshError", REG, wmean(np_log_cosh))
metric_case("cosine_similarity", "CosineSimilarity", REG, wmean(lambda t, p: -np_cosine_similarity(t, p)))

# Probabilistic metrics (the per-sample loss formulas, averaged)
metric_case("binary_crossentropy", "BinaryCrossentropy", BIN, wmean(np_binary_crossentropy))
metric_case("binary_crossentropy.from_logits", "BinaryCrossentropy", LOGITS,
            wmean(lambda t, p: np_binary_crossentropy(t, p, from_logits=True)), {"from_logits": True})
metric_case("categorical_crossentropy", "CategoricalCrossentropy", ONE_HOT, wmean(np_categorical_crossentropy))
metric_case("categorical_crossentropy.label_smoothing", "CategoricalCrossentropy", ONE_HOT,
            wmean(lambda t, p: np_categorical_crossentropy(t, p, label_smoothing=0.1)), {"label_smoothing": 0.1})
metric_case("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", SPARSE,
            wmean(np_sparse_categorical_crossentropy))
metric_case("sparse_categorical_crossentropy.from_logits", "SparseCategoricalCrossentropy",
            [(t, np.log(p) * 1.5, w) for t, p, w in SPARSE],
            wmean(lambda t, p: np_sparse_categorical_crossentropy(t, p, from_logits=True)), {"from_logits": True})


def _scce_ignore(t, p, sw):
    """Keras 3 with sample weights: the ignored entries get weight 0 (they leave the mean)."""
    keep = (t != 1) * 1.0
    return np.sum(np_sparse_categorical_crossentropy(t, p, ignore_class=1) * sw * keep) / np.sum(sw * keep)


metric_case("sparse_categorical_crossentropy.ignore_class", "SparseCategoricalCrossentropy", SPARSE, _scce_ignore,
            {"ignore_class": 1})
metric_case("kl_divergence", "KLDivergence", SOFT, wmean(np_kl_divergence))
metric_case("poisson", "Poisson", COUNTS, wmean(np_poisson))
metric_case("hinge", "Hinge", SIGNS, wmean(np_hinge))
metric_case("squared_hinge", "SquaredHinge", SIGNS, wmean(np_squared_hinge))
metric_case("categorical_hinge", "CategoricalHinge", ONE_HOT, wmean(np_categorical_hinge))

# Confusion counts, precision and recall
metric_case("true_positives", "TruePositives", BIN, _count_ref(0))
metric_case("false_positives", "FalsePositives", BIN, _count_ref(1))
metric_case("true_negatives", "TrueNegatives", BIN, _count_ref(2))
metric_case("false_negatives", "FalseNegatives", BIN, _count_ref(3))
metric_case("true_positives.thresholds", "TruePositives", BIN, _count_ref(0, [0.3, 0.5, 0.8]),
            {"thresholds": [0.3, 0.5, 0.8]})
metric_case("precision", "Precision", BIN, _precision)
metric_case("recall", "Recall", BIN, _recall)
metric_case("precision.multilabel", "Precision", MULTI, _precision)
metric_case("recall.multilabel", "Recall", MULTI, _recall)
metric_case("precision.top_k", "Precision", MULTI, kwargs={"top_k": 2})
metric_case("recall.class_id", "Recall", MULTI, lambda t, p, sw: _recall(t[:, 1:2], p[:, 1:2], sw), {"class_id": 1})

# Threshold-sweep metrics (the "X at Y" ones on the noisier multi-label data, so the results are not 0 or 1)
metric_case("auc", "AUC", BIN, _auc_roc)
metric_case("auc.pr", "AUC", BIN, kwargs={"curve": "PR"})
metric_case("auc.pr_minoring", "AUC", BIN, kwargs={"curve": "PR", "summation_method": "minoring",
                                                   "num_thresholds": 50})
metric_case("auc.multi_label", "AUC", MULTI, kwargs={"multi_label": True, "num_thresholds": 50})
metric_case("sensitivity_at_specificity", "SensitivityAtSpecificity", MULTI, kwargs={"specificity": 0.6})
metric_case("specificity_at_sensitivity", "SpecificityAtSensitivity", MULTI, kwargs={"sensitivity": 0.6})
metric_case("precision_at_recall", "PrecisionAtRecall", MULTI, kwargs={"recall": 0.6})
metric_case("recall_at_precision", "RecallAtPrecision", MULTI, kwargs={"precision": 0.6})

# F-scores
metric_case("f1_score", "F1Score", MULTI, lambda t, p, sw: _f1(t, p, sw), {"threshold": 0.5})
metric_case("f1_score.micro", "F1Score", MULTI, lambda t, p, sw: _f1(t, p, sw, "micro"),
            {"average": "micro", "threshold": 0.5})
metric_case("f1_score.argmax", "F1Score", ONE_HOT)  # threshold None: the row maximum is the positive class
metric_case("fbeta_score", "FBetaScore", MULTI, kwargs={"average": "macro", "beta": 2.0, "threshold": 0.5})
metric_case("fbeta_score.weighted_beta1", "FBetaScore", MULTI, lambda t, p, sw: _f1(t, p, sw, "weighted"),
            {"average": "weighted", "beta": 1.0, "threshold": 0.5})

# Intersection over union (int32 state: integer-valued sample weights)
metric_case("iou", "IoU", IOU, lambda t, p, sw: _iou(t, p, sw, ids=(0, 2)),
            {"num_classes": 3, "target_class_ids": [0, 2]})
metric_case("mean_iou", "MeanIoU", IOU, lambda t, p, sw: _iou(t, p, sw), {"num_classes": 3})
metric_case("mean_iou.unweighted", "MeanIoU", IOU, lambda t, p, sw: _iou(t, p, sw), {"num_classes": 3},
            weighted=False)
metric_case("binary_iou", "BinaryIoU", BIN_IOU,
            lambda t, p, sw: _iou(t.reshape(-1), (p.reshape(-1) >= 0.5) * 1, sw, 2, (0, 1)))
metric_case("one_hot_iou", "OneHotIoU", ONE_HOT3, _onehot_iou((0, 2)), {"num_classes": 3, "target_class_ids": [0, 2]})
metric_case("one_hot_mean_iou", "OneHotMeanIoU", ONE_HOT3, _onehot_iou(), {"num_classes": 3})


@case("metrics.stateless_matches_stateful", family="metrics", rtol=1e-6, atol=1e-7,
      reference=lambda: {"own_state_untouched": np.array(True)})
def _stateless():
    """The pure API (stateless_reset/update/result) gives the stateful result and leaves the metric untouched."""
    m = kshim.metrics.Precision()
    values = m.stateless_reset_state()
    for t, p, w in BIN:
        values = m.stateless_update_state(values, ops.convert_to_tensor(t), ops.convert_to_tensor(p),
                                          sample_weight=ops.convert_to_tensor(w))
    untouched = all(float(ops.convert_to_numpy(ops.sum(v.value))) == 0.0 for v in m.variables)
    return {"result": m.stateless_result(values), "own_state_untouched": np.array(untouched)}
