"""Weighted confusion-matrix counts (true/false positives/negatives) at a list of thresholds, as Keras 3.

A prediction counts as positive at threshold ``t`` when ``y_pred > t``. Thresholds spread evenly over [0, 1] (at
least three of them, as AUC's) use Keras 3's bucketed algorithm: each prediction falls in bucket
``ceil(p * (T - 1)) - 1`` and is positive at every threshold up to its bucket, so the counts are reversed
cumulative sums of per-bucket sums. Keras takes this path for speed; kshim takes it too because its edge cases
(predictions exactly on a threshold, outside [0, 1]) are what Keras users see.
"""

import numpy as np

from kshim import config, ops
from kshim.metrics.metrics_utils import squeeze_or_expand_to_same_rank, to_tensor

NEG_INF = -1e10
CONDITIONS = ("tp", "fp", "tn", "fn")


def to_list(x):
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return [x]


def parse_init_thresholds(owner, thresholds, default_threshold=0.5):
    """The thresholds as a list of floats, checking that given ones lie in [0, 1]."""
    if thresholds is not None:
        bad = [t for t in to_list(thresholds) if t is None or t < 0 or t > 1]
        if bad:
            raise ValueError(
                f"{owner}: `thresholds` must lie in [0, 1]. Received: thresholds={thresholds!r} (invalid: {bad})"
            )
    return [float(t) for t in to_list(default_threshold if thresholds is None else thresholds)]


def is_evenly_distributed_thresholds(thresholds):
    """True when there are at least 3 thresholds and they are ``arange(T) / (T - 1)`` (within epsilon)."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(np.asarray(thresholds, dtype=np.float64), even, atol=config.epsilon()))


def filter_top_k(x, k):
    """``x`` with everything but the top ``k`` entries of the last axis replaced by NEG_INF."""
    _, idx = ops.top_k(x, k)
    mask = ops.sum(ops.one_hot(idx, ops.shape(x)[-1], dtype=ops.dtype(x)), axis=-2)
    return ops.add(ops.multiply(x, mask), ops.multiply(NEG_INF, ops.subtract(1.0, mask)))


def _reverse_cumsum(x, axis=0):
    return ops.flip(ops.cumsum(ops.flip(x, axis=axis), axis=axis), axis=axis)


def _counts_evenly(y_true, y_pred, weights, thresholds, multi_label, want):
    num_t = len(thresholds)
    with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
    y_pred = ops.clip(y_pred, 0.0, 1.0)
    y_true = ops.cast(ops.cast(y_true, "bool"), ops.dtype(y_pred))
    true_labels = y_true if weights is None else ops.multiply(y_true, weights)
    false_labels = ops.subtract(1.0, y_true)
    false_labels = false_labels if weights is None else ops.multiply(false_labels, weights)
    buckets = ops.subtract(ops.ceil(ops.multiply(y_pred, float(num_t - 1))), 1.0)
    if with_epsilon:
        buckets = ops.relu(buckets)
    # One-hot of the bucket (out-of-range bucket -1 gives zeros), weighted by the label and summed over samples:
    # the per-bucket sums, shape (T,) or, per label, (T, L).
    one_hot = ops.one_hot(ops.cast(buckets, "int32"), num_t, dtype=ops.dtype(y_pred))

    def per_threshold(labels):
        per_bucket = ops.sum(ops.multiply(one_hot, ops.expand_dims(labels, -1)), axis=0)
        if multi_label:
            per_bucket = ops.transpose(per_bucket)
        return _reverse_cumsum(per_bucket, axis=0)

    out = {}
    if "tp" in want or "fn" in want:
        tp = per_threshold(true_labels)
        out["tp"] = tp
        if "fn" in want:
            out["fn"] = ops.subtract(ops.sum(true_labels, axis=0), tp)
    if "fp" in want or "tn" in want:
        fp = per_threshold(false_labels)
        out["fp"] = fp
        if "tn" in want:
            out["tn"] = ops.subtract(ops.sum(false_labels, axis=0), fp)
    return out


def _counts_tiled(y_true, y_pred, weights, thresholds, multi_label, want):
    dtype = ops.dtype(y_pred)
    t = ops.convert_to_tensor(np.asarray(thresholds, dtype=np.float64), dtype=dtype)
    t = ops.reshape(t, (len(thresholds),) + (1,) * ops.ndim(y_pred))
    pred_pos = ops.greater(ops.expand_dims(y_pred, 0), t)
    label_pos = ops.expand_dims(ops.cast(y_true, "bool"), 0)
    w = None if weights is None else ops.expand_dims(weights, 0)

    def count(label, pred):
        hit = ops.logical_and(label, pred)
        values = ops.cast(hit, dtype) if w is None else ops.where(hit, w, 0.0)
        return ops.sum(values, axis=1)

    pred_neg, label_neg = ops.logical_not(pred_pos), ops.logical_not(label_pos)
    pairs = {"tp": (label_pos, pred_pos), "fp": (label_neg, pred_pos),
             "tn": (label_neg, pred_neg), "fn": (label_pos, pred_neg)}
    return {name: count(*pairs[name]) for name in want}


def confusion_counts(y_true, y_pred, thresholds, dtype, want=CONDITIONS, evenly=False, top_k=None,
                     class_id=None, sample_weight=None, multi_label=False, label_weights=None, owner="metric"):
    """The weighted counts named in ``want`` ("tp", "fp", "tn", "fn") at each threshold.

    Returns a dict of tensors of shape (T,) or, when ``multi_label``, (T, L) for rank-2 inputs of L labels.
    ``thresholds`` is a Python list. ``evenly`` selects the bucketed algorithm (see the module docstring).
    """
    y_true = to_tensor(y_true, dtype)
    y_pred = to_tensor(y_pred, dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = ops.expand_dims(to_tensor(sample_weight, dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if ops.ndim(y_pred) == 1:
            raise ValueError(
                f"{owner}: when `class_id` is given, `y_pred` must have shape (num_samples, num_classes). "
                f"Received: y_pred.shape={ops.shape(y_pred)}"
            )
        last = ops.ndim(y_pred) - 1
        cid = class_id % ops.shape(y_pred)[-1]
        y_true = ops.slice_along_axis(y_true, cid, cid + 1, last)
        y_pred = ops.slice_along_axis(y_pred, cid, cid + 1, last)

    weights = None
    if sample_weight is not None:
        weights = ops.broadcast_to(sample_weight, ops.shape(y_pred))
    if label_weights is not None and not multi_label:
        lw = ops.broadcast_to(ops.expand_dims(to_tensor(label_weights, dtype), 0), ops.shape(y_pred))
        weights = lw if weights is None else ops.multiply(weights, lw)
    if not multi_label:
        y_true, y_pred = ops.reshape(y_true, (-1,)), ops.reshape(y_pred, (-1,))
        weights = None if weights is None else ops.reshape(weights, (-1,))
    fn = _counts_evenly if evenly else _counts_tiled
    return fn(y_true, y_pred, weights, list(thresholds), multi_label, tuple(want))


def update_confusion_variables(variables, y_true, y_pred, thresholds, **kwargs):
    """Add the counts for this batch to ``variables``, a dict from "tp"/"fp"/"tn"/"fn" to `Variable`s."""
    dtype = next(iter(variables.values())).dtype
    counts = confusion_counts(y_true, y_pred, thresholds, dtype, want=tuple(variables), **kwargs)
    for name, var in variables.items():
        var.assign_add(counts[name])
