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
    "squared_hinge": lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1),
    "categorical_hinge": lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
}


def ref_rmse(data):
    return np.sqrt(weighted_mean_of(PER_SAMPLE["mse"])(data))


def np_counts(data, thresholds, top_k=None, class_id=None, from_logits=False, per_label=False):
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
        pos = yp[None] > th.reshape(-1, 1, 1)
        lab = (yt != 0)[None]
        axes = 1 if per_label else (1, 2)
        acc = acc + np.stack([(w * (lab & pos)).sum(axes), (w * (~lab & pos)).sum(axes),
                              (w * (~lab & ~pos)).sum(axes), (w * (lab & ~pos)).sum(axes)])
    return acc


def div(a, b):
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def ref_auc(data, curve="ROC", method="interpolation", num_thresholds=200, from_logits=False, multi_label=False):
    th = [-EPS] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1 + EPS]
    tp, fp, tn, fn = np_counts(data, th, from_logits=from_logits, per_label=multi_label)
    if curve == "PR" and method == "interpolation":
        dtp, p = tp[:-1] - tp[1:], tp + fp
        slope = div(dtp, np.maximum(p[:-1] - p[1:], 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        terms = div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
    else:
        recall = div(tp, tp + fn)
        x, y = (div(fp, fp + tn), recall) if curve == "ROC" else (recall, div(tp, tp + fp))
        h = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
             "majoring": np.maximum(y[:-1], y[1:])}[method]
        terms = (x[:-1] - x[1:]) * h
    return terms.sum(0).mean() if multi_label else terms.sum()


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


def ref_iou(num_classes, target=None, ignore_class=None):
    def ref(data):
        cm = np.zeros((num_classes, num_classes))
        for yt, yp, sw in data:
            w = np.ones(len(yt)) if sw is None else np.trunc(sw)
            keep = np.ones(len(yt), bool) if ignore_class is None else yt != ignore_class
            np.add.at(cm, (yt[keep], yp[keep]), w[keep])
        tp = np.diag(cm)
        den = cm.sum(0) + cm.sum(1) - tp
        ids = list(range(num_classes)) if target is None else target
        tp, den = tp[ids], den[ids]
        valid = den > 1e-9
        return np.where(valid, tp / (den + EPS), 0).sum() / (valid.sum() + EPS)
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
