"""kshim.metrics: every metric over two batches (with and without sample weights) against independent numpy
references and real Keras 3, the stateless API (also compiled), reset, the registry, serialization and the
compile-time accuracy choice. Runs on whichever backend KSHIM_BACKEND selects."""

import os

import numpy as np
import pytest

from kshim import ops
from kshim import metrics as M

RTOL, ATOL = 1e-5, 1e-6
EPS = 1e-7


def np_(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except Exception:  # keras is an optional reference
        return None
    return keras


KERAS = _keras()

# ----------------------------------------------------------------------------------------------------------------
# Data: two batches (sizes 8 and 6) per kind


def _batch(kind, rng, n):
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    c = 4
    probs = rng.dirichlet(np.ones(c), size=n)
    if kind == "exact":
        yt = rng.integers(0, 3, size=(n, 1))
        return f32(yt), f32(np.where(rng.random((n, 1)) < 0.5, yt, rng.integers(0, 3, size=(n, 1))))
    if kind == "binary":
        return f32(rng.integers(0, 2, size=(n, 1))), f32(rng.random((n, 1)))
    if kind == "multilabel":
        return f32(rng.integers(0, 2, size=(n, c))), f32(rng.random((n, c)))
    if kind == "onehot":
        return f32(np.eye(c)[rng.integers(0, c, size=n)]), f32(probs)
    if kind == "sparse":
        return rng.integers(0, c, size=n).astype(np.int32), f32(probs)
    if kind == "sparse_col_float":
        return f32(rng.integers(0, c, size=(n, 1))), f32(probs)
    if kind == "logits":
        return f32(rng.integers(0, 2, size=(n, 1))), f32(rng.normal(size=(n, 1)) * 2)
    if kind == "onehot_logits":
        return f32(np.eye(c)[rng.integers(0, c, size=n)]), f32(rng.normal(size=(n, c)) * 2)
    if kind == "positive":
        return f32(rng.uniform(0.1, 2.0, size=(n, 3))), f32(rng.uniform(0.1, 2.0, size=(n, 3)))
    if kind == "regression":
        return f32(rng.normal(size=(n, 3))), f32(rng.normal(size=(n, 3)))
    if kind == "hinge":
        return f32(rng.integers(0, 2, size=(n, 3)) * 2 - 1), f32(rng.normal(size=(n, 3)))
    if kind == "sparse_logits":
        return rng.integers(0, c, size=n).astype(np.int32), f32(rng.normal(size=(n, c)) * 2)
    if kind == "binary_classes":
        return rng.integers(0, 2, size=n).astype(np.int32), f32(rng.random(n))
    if kind == "classes":
        return rng.integers(0, c, size=n).astype(np.int32), rng.integers(0, c, size=n).astype(np.int32)
    raise KeyError(kind)


def batches(kind, weighted, seed=0, int_weights=False):
    """Two (y_true, y_pred, sample_weight) batches; when ``weighted`` only the first carries weights."""
    rng = np.random.default_rng(seed)
    out = []
    for i, n in enumerate((8, 6)):
        yt, yp = _batch(kind, rng, n)
        sw = None
        if weighted and i == 0:
            sw = rng.integers(0, 3, size=n).astype(np.float32) if int_weights else \
                rng.uniform(0.0, 1.0, size=n).astype(np.float32)
        out.append((yt, yp, sw))
    return out


def run(metric, data):
    for yt, yp, sw in data:
        metric.update_state(yt, yp, sample_weight=sw)
    return np_(metric.result())


# ----------------------------------------------------------------------------------------------------------------
# Independent numpy references (float64)


def weighted_mean_of(fn):
    def ref(data):
        total = count = 0.0
        for yt, yp, sw in data:
            v = np.asarray(fn(np.asarray(yt, np.float64), np.asarray(yp, np.float64)), np.float64)
            v = v.reshape(len(v), -1).mean(1)
            w = np.ones(len(v)) if sw is None else sw.astype(np.float64)
            total, count = total + (v * w).sum(), count + w.sum()
        return total / count
    return ref


def _rank_of_label(yp, labels):
    at = yp[np.arange(len(yp)), labels.astype(int)]
    return 1 + (yp > at[:, None]).sum(1)


def _xent(yt, p):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -(yt * np.log(p)).sum(-1)


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _normalize(x):
    return x * np.minimum(1 / np.sqrt((x * x).sum(-1, keepdims=True)), 1 / EPS)


def _bce(yt, yp):
    p = np.clip(yp, EPS, 1 - EPS)
    return -(yt * np.log(p) + (1 - yt) * np.log(1 - p)).mean(-1)


PER_SAMPLE = {
    "accuracy": lambda t, p: (t == p).astype(float),
    "binary_accuracy": lambda t, p: ((p > 0.5) == t).astype(float),
    "binary_accuracy_t03": lambda t, p: ((p > 0.3) == t).astype(float),
    "categorical_accuracy": lambda t, p: (t.argmax(-1) == p.argmax(-1)).astype(float),
    "sparse_categorical_accuracy": lambda t, p: (t.reshape(-1) == p.argmax(-1)).astype(float),
    "top_k_categorical_accuracy_2": lambda t, p: (_rank_of_label(p, t.argmax(-1)) <= 2).astype(float),
    "sparse_top_k_categorical_accuracy_2": lambda t, p: (_rank_of_label(p, t.reshape(-1)) <= 2).astype(float),
    "mse": lambda t, p: ((t - p) ** 2).mean(-1),
    "mae": lambda t, p: np.abs(t - p).mean(-1),
    "mape": lambda t, p: 100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(-1),
    "msle": lambda t, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1),
    "logcosh": lambda t, p: np.log(np.cosh(p - t)).mean(-1),
    "cosine": lambda t, p: (_normalize(t) * _normalize(p)).sum(-1),
    "bce": _bce,
    "bce_logits": lambda t, z: (np.logaddexp(0, -z) * t + np.logaddexp(0, z) * (1 - t)).mean(-1),
    "cce": _xent,
    "cce_logits": lambda t, z: -(t * _log_softmax(z)).sum(-1),
    "scce": lambda t, p: _xent(np.eye(p.shape[-1])[t.astype(int).reshape(-1)], p),
    "kld": lambda t, p: (np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1),
    "poisson": lambda t, p: (p - t * np.log(p + EPS)).mean(-1),
    "hinge": lambda t, p: np.maximum(1 - t * p, 0).mean(-1),
    "hinge01": lambda t, p: np.maximum(1 - (2 * t - 1) * p, 0).mean(-1),
    "cce_smooth": lambda t, p: _xent(t * 0.9 + 0.1 / t.shape[-1], p),
    "bce_smooth": lambda t, p: _bce(t * 0.9 + 0.05, p),
    "scce_logits": lambda t, z: -(np.eye(z.shape[-1])[t.astype(int)] * _log_softmax(z)).sum(-1),
    "squared_hinge": lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1),
    "categorical_hinge": lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
}


def ref_rmse(data):
    return np.sqrt(weighted_mean_of(PER_SAMPLE["mse"])(data))


def np_counts(data, thresholds, top_k=None, class_id=None, from_logits=False, per_label=False, label_weights=None):
    """(tp, fp, tn, fn) at each threshold, with ``y_pred > t`` as positive."""
    th = np.asarray(thresholds, np.float64)
    acc = 0
    for yt, yp, sw in data:
        yt, yp = np.asarray(yt, np.float64), np.asarray(yp, np.float64)
        if yt.ndim < yp.ndim:
            yt = yt[:, None]
        if from_logits:
            yp = 1 / (1 + np.exp(-yp))
        if top_k is not None:
            keep = np.argsort(-yp, axis=-1)[:, :top_k]
            mask = np.zeros_like(yp)
            np.put_along_axis(mask, keep, 1.0, axis=-1)
            yp = np.where(mask > 0, yp, -1e10)
        if class_id is not None:
            yt, yp = yt[:, [class_id]], yp[:, [class_id]]
        w = np.broadcast_to((np.ones(len(yp)) if sw is None else sw)[:, None], yp.shape)
        if label_weights is not None:
            w = w * np.asarray(label_weights)[None, :]
        pos = yp[None] > th.reshape(-1, 1, 1)
        lab = (yt != 0)[None]
        axes = 1 if per_label else (1, 2)
        acc = acc + np.stack([(w * (lab & pos)).sum(axes), (w * (~lab & pos)).sum(axes),
                              (w * (~lab & ~pos)).sum(axes), (w * (lab & ~pos)).sum(axes)])
    return acc


def div(a, b):
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def ref_auc(data, curve="ROC", method="interpolation", num_thresholds=200, from_logits=False, multi_label=False,
            thresholds=None, label_weights=None):
    inner = thresholds or [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    th = [-EPS] + sorted(inner) + [1 + EPS]
    tp, fp, tn, fn = np_counts(data, th, from_logits=from_logits, per_label=multi_label,
                               label_weights=None if multi_label else label_weights)
    if curve == "PR" and method == "interpolation":
        dtp, p = tp[:-1] - tp[1:], tp + fp
        slope = div(dtp, np.maximum(p[:-1] - p[1:], 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        terms = div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
    else:
        recall = div(tp, tp + fn)
        if curve == "ROC":
            x, y = div(fp, fp + tn), recall
        elif curve == "PR":
            x, y = recall, div(tp, tp + fp)
        else:  # PRGAIN
            scale = div(tp + fn, tn + fp)
            x = np.maximum(np.where(tp == 0, 0.0, 1 - scale * div(fn, tp)), 0)
            y = np.where(tp == 0, 1.0, 1 - scale * div(fp, tp))
        h = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
             "majoring": np.maximum(y[:-1], y[1:])}[method]
        terms = (x[:-1] - x[1:]) * h
    if not multi_label:
        return terms.sum()
    by_label = terms.sum(0)
    if label_weights is None:
        return by_label.mean()
    return (by_label * label_weights).sum() / np.sum(label_weights)


def ref_precision_recall(which, thresholds=(0.5,), **kw):
    def ref(data):
        tp, fp, _, fn = np_counts(data, thresholds, **kw)
        out = div(tp, tp + (fp if which == "precision" else fn))
        return out[0] if len(out) == 1 else out
    return ref


def ref_at(kind, value, num_thresholds=50):
    th = [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]

    def ref(data):
        tp, fp, tn, fn = np_counts(data, th)
        sens, spec, prec = div(tp, tp + fn), div(tn, tn + fp), div(tp, tp + fp)
        constrained, dependent = {"sens_at_spec": (spec, sens), "spec_at_sens": (sens, spec),
                                  "prec_at_rec": (sens, prec), "rec_at_prec": (prec, sens)}[kind]
        return np.where(constrained >= value, dependent, 0).max()
    return ref


def ref_fbeta(average, beta=1.0, threshold=None):
    def ref(data):
        tp = fp = fn = support = 0
        for yt, yp, sw in data:
            yt, yp = yt.astype(np.float64), yp.astype(np.float64)
            if threshold is None:
                pred = ((yp >= yp.max(-1, keepdims=True)) & (np.abs(yp) > 1e-9)).astype(float)
            else:
                pred = (yp > threshold).astype(float)
            w = (np.ones(len(yp)) if sw is None else sw)[:, None]
            ax = None if average == "micro" else 0
            tp = tp + (w * pred * yt).sum(ax)
            fp = fp + (w * pred * (1 - yt)).sum(ax)
            fn = fn + (w * (1 - pred) * yt).sum(ax)
            support = support + (w * yt).sum(ax)
        p, r = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
        f = (1 + beta ** 2) * p * r / (beta ** 2 * p + r + EPS)
        if average == "weighted":
            return (f * support / (np.sum(support) + EPS)).sum()
        return f if average is None else np.mean(f)
    return ref


def ref_iou(num_classes, target=None, ignore_class=None, transform=None):
    def ref(data):
        cm = np.zeros((num_classes, num_classes))
        for yt, yp, sw in data:
            if transform is not None:
                yt, yp = transform(yt, yp)
            w = np.ones(len(yt)) if sw is None else np.trunc(sw)
            keep = np.ones(len(yt), bool) if ignore_class is None else yt != ignore_class
            np.add.at(cm, (yt[keep].astype(int), yp[keep].astype(int)), w[keep])
        tp = np.diag(cm)
        den = cm.sum(0) + cm.sum(1) - tp
        ids = list(range(num_classes)) if target is None else target
        tp, den = tp[ids], den[ids]
        valid = den > 1e-9
        return np.where(valid, tp / (den + EPS), 0).sum() / (valid.sum() + EPS)
    return ref


def ref_scce_ignore(ignore):
    """Keras 3: ignored entries give 0; with sample weights they also get weight 0, without they still count."""
    def ref(data):
        total = count = 0.0
        for yt, yp, sw in data:
            v = np.where(yt == ignore, 0.0, PER_SAMPLE["scce"](yt, yp.astype(np.float64)))
            w = np.ones(len(v)) if sw is None else sw * (yt != ignore)
            total, count = total + (v * w).sum(), count + w.sum()
        return total / count
    return ref


def ref_reduce(kind):
    def ref(data):
        total = count = 0.0
        for _, values, sw in data:
            v = values.astype(np.float64)
            w = np.ones(len(v)) if sw is None else sw
            per = v.sum(1) if kind == "sum" else v.mean(1)
            total, count = total + (per * w).sum(), count + w.sum()
        return total if kind == "sum" else total / count
    return ref


# ----------------------------------------------------------------------------------------------------------------
# The table: (id, data kind, factory taking the metrics module — kshim's or Keras's — and the numpy reference)

W = weighted_mean_of
AUC_TH = (0.0, 0.25, 0.5, 0.75, 1.0)
CASES = [
    ("mean", "regression", lambda m: m.Mean(), ref_reduce("mean")),
    ("sum", "regression", lambda m: m.Sum(), ref_reduce("sum")),
    ("accuracy", "exact", lambda m: m.Accuracy(), W(PER_SAMPLE["accuracy"])),
    ("binary_accuracy", "binary", lambda m: m.BinaryAccuracy(), W(PER_SAMPLE["binary_accuracy"])),
    ("binary_accuracy_t03", "multilabel", lambda m: m.BinaryAccuracy(threshold=0.3),
     W(PER_SAMPLE["binary_accuracy_t03"])),
    ("categorical_accuracy", "onehot", lambda m: m.CategoricalAccuracy(), W(PER_SAMPLE["categorical_accuracy"])),
    ("sparse_categorical_accuracy", "sparse", lambda m: m.SparseCategoricalAccuracy(),
     W(PER_SAMPLE["sparse_categorical_accuracy"])),
    ("sparse_categorical_accuracy_col", "sparse_col_float", lambda m: m.SparseCategoricalAccuracy(),
     W(PER_SAMPLE["sparse_categorical_accuracy"])),
    ("top_k", "onehot", lambda m: m.TopKCategoricalAccuracy(k=2), W(PER_SAMPLE["top_k_categorical_accuracy_2"])),
    ("sparse_top_k", "sparse", lambda m: m.SparseTopKCategoricalAccuracy(k=2),
     W(PER_SAMPLE["sparse_top_k_categorical_accuracy_2"])),
    ("sparse_top_k_col", "sparse_col_float", lambda m: m.SparseTopKCategoricalAccuracy(k=2),
     W(PER_SAMPLE["sparse_top_k_categorical_accuracy_2"])),
    ("mse", "regression", lambda m: m.MeanSquaredError(), W(PER_SAMPLE["mse"])),
    ("mae", "regression", lambda m: m.MeanAbsoluteError(), W(PER_SAMPLE["mae"])),
    ("rmse", "regression", lambda m: m.RootMeanSquaredError(), ref_rmse),
    ("mape", "positive", lambda m: m.MeanAbsolutePercentageError(), W(PER_SAMPLE["mape"])),
    ("msle", "positive", lambda m: m.MeanSquaredLogarithmicError(), W(PER_SAMPLE["msle"])),
    ("logcosh", "regression", lambda m: m.LogCoshError(), W(PER_SAMPLE["logcosh"])),
    ("cosine", "regression", lambda m: m.CosineSimilarity(), W(PER_SAMPLE["cosine"])),
    ("bce", "multilabel", lambda m: m.BinaryCrossentropy(), W(PER_SAMPLE["bce"])),
    ("bce_logits", "logits", lambda m: m.BinaryCrossentropy(from_logits=True), W(PER_SAMPLE["bce_logits"])),
    ("cce", "onehot", lambda m: m.CategoricalCrossentropy(), W(PER_SAMPLE["cce"])),
    ("cce_logits", "onehot_logits", lambda m: m.CategoricalCrossentropy(from_logits=True),
     W(PER_SAMPLE["cce_logits"])),
    ("scce", "sparse", lambda m: m.SparseCategoricalCrossentropy(), W(PER_SAMPLE["scce"])),
    ("kld", "onehot", lambda m: m.KLDivergence(), W(PER_SAMPLE["kld"])),
    ("poisson", "positive", lambda m: m.Poisson(), W(PER_SAMPLE["poisson"])),
    ("hinge", "hinge", lambda m: m.Hinge(), W(PER_SAMPLE["hinge"])),
    ("squared_hinge", "hinge", lambda m: m.SquaredHinge(), W(PER_SAMPLE["squared_hinge"])),
    ("categorical_hinge", "onehot", lambda m: m.CategoricalHinge(), W(PER_SAMPLE["categorical_hinge"])),
    ("precision", "binary", lambda m: m.Precision(), ref_precision_recall("precision")),
    ("recall", "multilabel", lambda m: m.Recall(), ref_precision_recall("recall")),
    ("precision_thresholds", "multilabel", lambda m: m.Precision(thresholds=[0.3, 0.6]),
     ref_precision_recall("precision", (0.3, 0.6))),
    ("recall_even_thresholds", "multilabel", lambda m: m.Recall(thresholds=list(AUC_TH)),
     ref_precision_recall("recall", AUC_TH)),
    ("precision_top_k", "multilabel", lambda m: m.Precision(top_k=2),
     ref_precision_recall("precision", (-1e10,), top_k=2)),
    ("recall_top_k", "multilabel", lambda m: m.Recall(top_k=2), ref_precision_recall("recall", (-1e10,), top_k=2)),
    ("precision_class_id", "multilabel", lambda m: m.Precision(class_id=1),
     ref_precision_recall("precision", class_id=1)),
    ("recall_class_id_thr", "multilabel", lambda m: m.Recall(thresholds=[0.2, 0.7], class_id=2),
     ref_precision_recall("recall", (0.2, 0.7), class_id=2)),
    ("true_positives", "multilabel", lambda m: m.TruePositives(thresholds=[0.2, 0.7]),
     lambda d: np_counts(d, (0.2, 0.7))[0]),
    ("false_positives", "multilabel", lambda m: m.FalsePositives(), lambda d: np_counts(d, (0.5,))[1][0]),
    ("true_negatives", "multilabel", lambda m: m.TrueNegatives(thresholds=[0.2, 0.7]),
     lambda d: np_counts(d, (0.2, 0.7))[2]),
    ("false_negatives", "multilabel", lambda m: m.FalseNegatives(thresholds=0.3),
     lambda d: np_counts(d, (0.3,))[3][0]),
    ("auc", "binary", lambda m: m.AUC(), lambda d: ref_auc(d)),
    ("auc_flat", "multilabel", lambda m: m.AUC(), lambda d: ref_auc(d)),
    ("auc_pr", "multilabel", lambda m: m.AUC(curve="PR"), lambda d: ref_auc(d, "PR")),
    ("auc_roc_minoring", "multilabel", lambda m: m.AUC(summation_method="minoring", num_thresholds=50),
     lambda d: ref_auc(d, "ROC", "minoring", 50)),
    ("auc_pr_majoring", "multilabel", lambda m: m.AUC(curve="PR", summation_method="majoring"),
     lambda d: ref_auc(d, "PR", "majoring")),
    ("auc_logits", "logits", lambda m: m.AUC(from_logits=True), lambda d: ref_auc(d, from_logits=True)),
    ("auc_multi_label", "multilabel", lambda m: m.AUC(multi_label=True, num_labels=4),
     lambda d: ref_auc(d, multi_label=True)),
    ("auc_multi_label_lazy", "multilabel", lambda m: m.AUC(multi_label=True, curve="PR"),
     lambda d: ref_auc(d, "PR", multi_label=True)),
    ("sens_at_spec", "multilabel", lambda m: m.SensitivityAtSpecificity(0.6, num_thresholds=50),
     ref_at("sens_at_spec", 0.6)),
    ("spec_at_sens", "multilabel", lambda m: m.SpecificityAtSensitivity(0.6, num_thresholds=50),
     ref_at("spec_at_sens", 0.6)),
    ("prec_at_rec", "multilabel", lambda m: m.PrecisionAtRecall(0.4, num_thresholds=50), ref_at("prec_at_rec", 0.4)),
    ("rec_at_prec", "multilabel", lambda m: m.RecallAtPrecision(0.5, num_thresholds=50), ref_at("rec_at_prec", 0.5)),
    ("f1_none", "multilabel", lambda m: m.F1Score(threshold=0.5), ref_fbeta(None, threshold=0.5)),
    ("f1_micro", "multilabel", lambda m: m.F1Score(average="micro", threshold=0.4),
     ref_fbeta("micro", threshold=0.4)),
    ("f1_macro_argmax", "onehot", lambda m: m.F1Score(average="macro"), ref_fbeta("macro")),
    ("f1_weighted", "multilabel", lambda m: m.F1Score(average="weighted", threshold=0.5),
     ref_fbeta("weighted", threshold=0.5)),
    ("fbeta", "multilabel", lambda m: m.FBetaScore(average="macro", beta=2.0, threshold=0.4),
     ref_fbeta("macro", beta=2.0, threshold=0.4)),
    ("mean_iou", "classes", lambda m: m.MeanIoU(4), ref_iou(4)),
    ("mean_iou_ignore", "classes", lambda m: m.MeanIoU(4, ignore_class=0), ref_iou(4, ignore_class=0)),
    ("iou_targets", "classes", lambda m: m.IoU(4, target_class_ids=[0, 2]), ref_iou(4, target=[0, 2])),
    ("binary_iou", "binary_classes", lambda m: m.BinaryIoU(target_class_ids=[1]),
     ref_iou(2, target=[1], transform=lambda t, p: (t, p >= 0.5))),
    ("one_hot_mean_iou", "onehot", lambda m: m.OneHotMeanIoU(4),
     ref_iou(4, transform=lambda t, p: (t.argmax(-1), p.argmax(-1)))),
    ("one_hot_iou", "onehot", lambda m: m.OneHotIoU(4, [1, 3]),
     ref_iou(4, target=[1, 3], transform=lambda t, p: (t.argmax(-1), p.argmax(-1)))),
    ("auc_prgain", "multilabel", lambda m: m.AUC(curve="PRGAIN"), lambda d: ref_auc(d, "PRGAIN")),
    ("auc_label_weights", "multilabel", lambda m: m.AUC(label_weights=[0.1, 0.2, 0.3, 0.4]),
     lambda d: ref_auc(d, label_weights=np.array([0.1, 0.2, 0.3, 0.4]))),
    ("auc_multi_label_weights", "multilabel",
     lambda m: m.AUC(multi_label=True, num_labels=4, label_weights=[0.1, 0.2, 0.3, 0.4]),
     lambda d: ref_auc(d, multi_label=True, label_weights=np.array([0.1, 0.2, 0.3, 0.4]))),
    ("auc_uneven_thresholds", "multilabel", lambda m: m.AUC(thresholds=[0.8, 0.1, 0.35]),
     lambda d: ref_auc(d, thresholds=[0.8, 0.1, 0.35])),
    ("precision_even3", "multilabel", lambda m: m.Precision(thresholds=[0.0, 0.5, 1.0]),
     ref_precision_recall("precision", (0.0, 0.5, 1.0))),
    ("fbeta_half_none", "multilabel", lambda m: m.FBetaScore(beta=0.5), ref_fbeta(None, beta=0.5)),
    ("hinge01", "multilabel", lambda m: m.Hinge(), W(PER_SAMPLE["hinge01"])),
    ("cce_smooth", "onehot", lambda m: m.CategoricalCrossentropy(label_smoothing=0.1), W(PER_SAMPLE["cce_smooth"])),
    ("bce_smooth", "multilabel", lambda m: m.BinaryCrossentropy(label_smoothing=0.1), W(PER_SAMPLE["bce_smooth"])),
    ("scce_logits", "sparse_logits", lambda m: m.SparseCategoricalCrossentropy(from_logits=True),
     W(PER_SAMPLE["scce_logits"])),
    ("scce_ignore", "sparse", lambda m: m.SparseCategoricalCrossentropy(ignore_class=1), ref_scce_ignore(1)),
]
VALUES_ONLY = {"mean", "sum"}
INT_WEIGHTS = {"classes", "binary_classes"}


def run_case(name, metric, data):
    if name in VALUES_ONLY:
        for _, values, sw in data:
            metric.update_state(values, sample_weight=sw)
        return np_(metric.result())
    return run(metric, data)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name,kind,make,ref", CASES, ids=[c[0] for c in CASES])
def test_metric_two_batches(name, kind, make, ref, weighted):
    data = batches(kind, weighted, seed=len(name), int_weights=kind in INT_WEIGHTS or "iou" in name)
    got = run_case(name, make(M), data)
    np.testing.assert_allclose(got, ref(data), rtol=RTOL, atol=ATOL)
    if KERAS is not None:
        want = run_case(name, make(KERAS.metrics), data)
        np.testing.assert_allclose(got, np.asarray(want, np.float64), rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------------------------------------------
# State: reset, the stateless API (eager and compiled), variables

STATELESS = ["mean", "sum", "sparse_categorical_accuracy", "rmse", "precision_thresholds", "recall_top_k", "auc",
             "auc_pr", "auc_multi_label", "sens_at_spec", "f1_weighted", "mean_iou", "scce", "true_positives"]
BY_NAME = {c[0]: c for c in CASES}


def _update_args(name, yt, yp, sw):
    return ((yp,) if name in VALUES_ONLY else (yt, yp)), sw


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("name", STATELESS)
def test_stateless_matches_stateful_and_leaves_state_alone(name, compiled):
    _, kind, make, _ = BY_NAME[name]
    data = batches(kind, True, seed=3, int_weights=kind == "classes")
    stateful = make(M)
    expected = run_case(name, stateful, data)

    metric = make(M)
    if not metric.built:  # shape-dependent state (F1Score) is created from the first batch's shapes
        metric.build(np.shape(data[0][0]), np.shape(data[0][1]))
    before = [np_(v) for v in metric.variables]

    def step(values, args, sw):
        return metric.stateless_update_state(values, *args, sample_weight=sw)

    if compiled:
        step = ops.compile_step(step)
    values = metric.stateless_reset_state()
    for yt, yp, sw in data:
        args, sw = _update_args(name, yt, yp, sw)
        values = step(values, tuple(ops.convert_to_tensor(a) for a in args),
                      None if sw is None else ops.convert_to_tensor(sw))
    result = metric.stateless_result(values)
    np.testing.assert_allclose(np_(result), expected, rtol=RTOL, atol=ATOL)
    for v, b in zip(metric.variables, before):
        np.testing.assert_array_equal(np_(v), b)
    assert all(not v.trainable for v in metric.variables)


def test_stateless_reset_does_not_touch_state_and_wrong_length_is_rejected():
    m = M.Mean()
    m.update_state([1.0, 3.0])
    zeros = m.stateless_reset_state()
    assert [float(np_(z)) for z in zeros] == [0.0, 0.0]
    assert float(np_(m.result())) == 2.0
    with pytest.raises(ValueError, match="Mean: `metric_variables` must hold one value per entry of `variables` "
                                         r"\(2\). Received: a list of length 1"):
        m.stateless_update_state(zeros[:1], [1.0])
    f1 = M.F1Score()
    with pytest.raises(ValueError, match="not built yet"):
        f1.stateless_update_state([], np.ones((2, 3)), np.ones((2, 3)))


@pytest.mark.parametrize("name", ["mean", "binary_accuracy", "precision_thresholds", "auc", "f1_macro_argmax",
                                  "mean_iou", "sens_at_spec", "auc_multi_label_lazy"])
def test_reset_state(name):
    _, kind, make, ref = BY_NAME[name]
    data = batches(kind, True, seed=5, int_weights=kind == "classes")
    metric = make(M)
    run_case(name, metric, data)
    metric.reset_state()
    for v in metric.variables:
        np.testing.assert_array_equal(np_(v), np.zeros(v.shape))
    np.testing.assert_allclose(run_case(name, metric, data), ref(data), rtol=RTOL, atol=ATOL)


def test_variables_names_paths_and_order():
    m = M.AUC(name="my_auc")
    assert [v.name for v in m.variables] == ["true_positives", "false_positives", "true_negatives",
                                             "false_negatives"]
    assert [v.path for v in m.variables][0] == "my_auc/true_positives"
    assert m.variables[0].shape == (200,) and m.variables[0].dtype == "float32"
    assert [v.name for v in M.Mean().variables] == ["total", "count"]
    iou = M.MeanIoU(3)
    assert iou.variables[0].dtype == "int32" and iou.variables[0].shape == (3, 3)
    assert [v.name for v in M.Precision().variables] == ["true_positives", "false_positives"]


def test_call_updates_then_returns_result_and_default_names():
    m = M.BinaryAccuracy()
    assert m.name == "binary_accuracy"
    r = m([[1], [0]], [[0.9], [0.8]])
    np.testing.assert_allclose(np_(r), 0.5)
    np.testing.assert_allclose(np_(m([[1]], [[0.7]])), 2 / 3, rtol=RTOL)
    assert M.Precision().name.startswith("precision")
    assert M.MeanMetricWrapper(M.mean_squared_error).name.startswith("mean_metric_wrapper")


class BinaryTruePositives(M.Metric):
    """The custom-metric example from Keras's Metric docstring, written on kshim.ops."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = ops.cast(ops.logical_and(ops.cast(y_true, "bool"), ops.cast(y_pred, "bool")), self.dtype)
        if sample_weight is not None:
            values = ops.multiply(values, ops.cast(sample_weight, self.dtype))
        self.true_positives.assign(ops.add(self.true_positives, ops.sum(values)))

    def result(self):
        return self.true_positives.value


def test_custom_metric_subclass_stateful_and_stateless():
    m = BinaryTruePositives()
    yt, yp = np.array([1, 1, 0, 1]), np.array([1, 0, 1, 1])
    m.update_state(yt, yp, sample_weight=np.array([0.5, 1, 1, 2], np.float32))
    assert float(np_(m.result())) == 2.5
    values = m.stateless_update_state(m.stateless_reset_state(), yt, yp)
    assert float(np_(m.stateless_result(values))) == 2.0
    assert float(np_(m.result())) == 2.5


# ----------------------------------------------------------------------------------------------------------------
# Function forms and label layouts


@pytest.mark.parametrize("layout", ["int_n", "int_n1", "float_n", "float_n1"])
def test_sparse_label_layouts(layout):
    rng = np.random.default_rng(7)
    yp = rng.dirichlet(np.ones(5), size=9).astype(np.float32)
    labels = rng.integers(0, 5, size=9)
    labels[:4] = yp[:4].argmax(-1)
    yt = labels.astype(np.int32 if layout.startswith("int") else np.float32)
    if layout.endswith("n1"):
        yt = yt[:, None]
    rank = _rank_of_label(yp.astype(np.float64), labels)
    for fn, want in [(M.sparse_categorical_accuracy, (labels == yp.argmax(-1)).astype(float)),
                     (lambda t, p: M.sparse_top_k_categorical_accuracy(t, p, k=2), (rank <= 2).astype(float))]:
        got = np_(fn(yt, yp))
        if layout.endswith("n1") and fn is not M.sparse_categorical_accuracy:
            got = got.reshape(-1)
        np.testing.assert_array_equal(got, want)
    m = M.SparseCategoricalAccuracy()
    m.update_state(yt, yp)
    np.testing.assert_allclose(np_(m.result()), (labels == yp.argmax(-1)).mean(), rtol=RTOL)


FUNCTION_FORMS = [
    ("accuracy", "exact", {}), ("binary_accuracy", "multilabel", {"threshold": 0.3}),
    ("categorical_accuracy", "onehot", {}), ("sparse_categorical_accuracy", "sparse", {}),
    ("sparse_categorical_accuracy", "sparse_col_float", {}), ("top_k_categorical_accuracy", "onehot", {"k": 2}),
    ("sparse_top_k_categorical_accuracy", "sparse", {"k": 2}),
    ("sparse_top_k_categorical_accuracy", "sparse_col_float", {"k": 3}),
]


@pytest.mark.parametrize("fname,kind,kwargs", FUNCTION_FORMS, ids=[f"{f[0]}-{f[1]}" for f in FUNCTION_FORMS])
def test_function_forms_match_keras(fname, kind, kwargs):
    if KERAS is None:
        pytest.skip("keras is not installed")
    (yt, yp, _), _ = batches(kind, False, seed=11)
    got = np_(getattr(M, fname)(yt, yp, **kwargs))
    from keras.src.metrics import accuracy_metrics  # keras.metrics does not export `accuracy`

    want = np.asarray(getattr(accuracy_metrics, fname)(yt, yp, **kwargs), np.float64)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_sparse_top_k_from_sorted_ids():
    m = M.SparseTopKCategoricalAccuracy(k=1, from_sorted_ids=True)
    m.update_state([2, 1], [[1, 0, 3], [1, 2, 3]])
    np.testing.assert_allclose(np_(m.result()), 0.5)
    assert m.get_config()["from_sorted_ids"] is True


# ----------------------------------------------------------------------------------------------------------------
# Registry, serialization, errors


@pytest.mark.parametrize("name,cls", [
    ("accuracy", "Accuracy"), ("acc", "Accuracy"), ("mse", "MeanSquaredError"), ("MSE", "MeanSquaredError"),
    ("mae", "MeanAbsoluteError"), ("AUC", "AUC"), ("auc", "AUC"), ("precision", "Precision"),
    ("Recall", "Recall"), ("binary_accuracy", "BinaryAccuracy"), ("f1_score", "F1Score"),
    ("true_positives", "TruePositives"), ("root_mean_squared_error", "RootMeanSquaredError"),
    ("bce", "BinaryCrossentropy"),
    ("sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"),
])
def test_get_names(name, cls):
    m = M.get(name)
    assert type(m).__name__ == cls
    if KERAS is not None and name != "acc":  # "acc" is a kshim extra
        assert type(KERAS.metrics.get(name)).__name__ == cls


def test_get_passthrough_dict_and_errors():
    inst = M.Recall()
    assert M.get(inst) is inst
    assert M.get(M.binary_accuracy) is M.binary_accuracy
    assert M.get(None) is None
    assert isinstance(M.get(M.AUC), M.AUC)
    p = M.get({"class_name": "Precision", "config": {"thresholds": [0.25, 0.75], "name": "p"}})
    assert isinstance(p, M.Precision) and p.thresholds == [0.25, 0.75] and p.name == "p"
    with pytest.raises(ValueError) as err:
        M.get("accuracyy")
    assert str(err.value).startswith(
        "Unknown metric: metrics='accuracyy'. Did you mean 'accuracy' or 'binary_accuracy'? Known names: acc, ")
    with pytest.raises(ValueError, match=r"Unknown metric: metrics='Precison'\. Did you mean 'Precision'"):
        M.get("Precison")
    with pytest.raises(ValueError, match="could not interpret"):
        M.get(42)


@pytest.mark.parametrize("make", [
    lambda m: m.Precision(thresholds=[0.3, 0.6], name="prec"), lambda m: m.Recall(top_k=2, class_id=1),
    lambda m: m.AUC(num_thresholds=50, curve="PR", summation_method="minoring"),
    lambda m: m.AUC(thresholds=[0.2, 0.5, 0.9]), lambda m: m.F1Score(average="macro", threshold=0.4),
    lambda m: m.FBetaScore(beta=2.0), lambda m: m.MeanIoU(3, ignore_class=0), lambda m: m.IoU(3, [0, 2]),
    lambda m: m.BinaryAccuracy(threshold=0.3), lambda m: m.SparseTopKCategoricalAccuracy(k=3),
    lambda m: m.MeanMetricWrapper(m.binary_accuracy, name="ba", threshold=0.3), lambda m: m.Mean(name="avg"),
    lambda m: m.SensitivityAtSpecificity(0.4, num_thresholds=20), lambda m: m.CategoricalCrossentropy(axis=-1),
], ids=range(14))
def test_serialize_round_trip_and_keras_config(make):
    metric = make(M)
    config = M.serialize(metric)
    assert config["module"] == "keras.metrics" and config["class_name"] == type(metric).__name__
    again = M.deserialize(config)
    assert type(again) is type(metric) and M.serialize(again)["config"] == config["config"]
    if KERAS is not None:
        k_config = KERAS.metrics.serialize(make(KERAS.metrics))
        assert config["class_name"] == k_config["class_name"]
        ours = {k: v for k, v in config["config"].items() if k != "name"}
        theirs = {k: v for k, v in k_config["config"].items() if k != "name"}
        assert set(ours) >= set(theirs) and all(ours[k] == theirs[k] for k in theirs)
        assert type(KERAS.metrics.deserialize(config)).__name__ == type(metric).__name__


@pytest.mark.parametrize("make,message", [
    (lambda: M.F1Score(average="mean"), "F1Score: `average` must be one of None, 'micro', 'macro', 'weighted'. "
                                        "Received: average='mean'"),
    (lambda: M.FBetaScore(beta=2), "FBetaScore: `beta` must be a Python float > 0. Received: beta=2"),
    (lambda: M.AUC(curve="ROCK"), "AUC: `curve` must be one of 'ROC', 'PR', 'PRGAIN'. Received: curve='ROCK'"),
    (lambda: M.AUC(num_thresholds=1), "AUC: `num_thresholds` must be an integer > 1. Received: num_thresholds=1"),
    (lambda: M.Precision(thresholds=[0.5, 1.5]), "Precision: `thresholds` must lie in [0, 1]."),
    (lambda: M.IoU(3, [0, 3]), "IoU: `target_class_ids` must be non-empty and lie in [0, 3)."),
    (lambda: M.SpecificityAtSensitivity(1.5), "SpecificityAtSensitivity: `sensitivity` must lie in [0, 1]."),
])
def test_constructor_errors(make, message):
    with pytest.raises(ValueError) as err:
        make()
    assert str(err.value).startswith(message)


def test_class_id_needs_rank_two():
    with pytest.raises(ValueError, match="Precision: when `class_id` is given"):
        M.Precision(class_id=0).update_state([1, 0], [0.4, 0.7])


# ----------------------------------------------------------------------------------------------------------------
# The compile-time "accuracy" choice


@pytest.mark.parametrize("name,y_true,y_pred,cls", [
    ("accuracy", (8, 1), (8, 1), "BinaryAccuracy"),
    ("acc", (8,), (8, 1), "BinaryAccuracy"),
    ("accuracy", (8,), (8, 10), "SparseCategoricalAccuracy"),
    ("Accuracy", (8, 1), (8, 10), "SparseCategoricalAccuracy"),
    ("accuracy", (8, 10), (8, 10), "CategoricalAccuracy"),
    ("ACC", (8, 3), (8, 3), "CategoricalAccuracy"),
    ("accuracy", (8, 5, 1), (8, 5, 7), "SparseCategoricalAccuracy"),
])
def test_resolve_accuracy(name, y_true, y_pred, cls):
    m = M.resolve_accuracy(name, "binary_crossentropy", y_true, y_pred)
    assert type(m).__name__ == cls and m.name == name
    compiled = M.compile_metric(name, y_true, y_pred)
    assert type(compiled).__name__ == cls and compiled.name == name
    if KERAS is not None:
        from keras.src.trainers import compile_utils

        k = compile_utils.get_metric(name, np.zeros(y_true, np.float32), np.zeros(y_pred, np.float32))
        assert type(k).__name__ == cls and k.name == name


def test_resolve_accuracy_other_names_and_compile_metric():
    assert M.resolve_accuracy("mse", None, (4, 1), (4, 1)) is None
    assert M.resolve_accuracy(M.Accuracy(), None, (4, 1), (4, 1)) is None
    m = M.compile_metric("mse", (4, 1), (4, 1))
    assert isinstance(m, M.MeanSquaredError) and m.name == "mse"
    w = M.compile_metric(M.mean_absolute_error, (4, 1), (4, 1))
    assert isinstance(w, M.MeanMetricWrapper) and w.name == "mean_absolute_error"
    w.update_state(np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]]))
    np.testing.assert_allclose(np_(w.result()), 1.5)
    p = M.Precision(name="p")
    assert M.compile_metric(p, (4, 1), (4, 1)) is p and p.name == "p"
