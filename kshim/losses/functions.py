"""Per-sample loss functions, with Keras 3's formulas: each reduces over the last (features) axis only.

Every function casts ``y_true`` to ``y_pred``'s dtype (a non-float ``y_pred`` becomes floatx), and matches their
ranks as Keras's loss wrapper does (a trailing axis of length 1 is squeezed or added when the ranks differ by one).
Probabilities are clipped to ``[epsilon, 1 - epsilon]`` (``kshim.config.epsilon()``) on the non-logits paths,
where Keras clips them. Everything is traceable: no Python branching on tensor values.
"""

import numbers
import warnings

import numpy as np

from kshim import config, ops
from kshim.common import step_checks
from kshim.losses.loss import squeeze_or_expand_to_same_rank

_LOG2 = 0.6931471805599453


# ------------------------------------------------------------------------------------------------------------------
# Helpers


def _as_pred(y_pred):
    y_pred = y_pred if ops.is_tensor(y_pred) else ops.convert_to_tensor(y_pred)
    if not ops.is_float_dtype(ops.dtype(y_pred)):
        y_pred = ops.cast(y_pred, config.floatx())
    return y_pred


def _as_true(y_true, dtype):
    return ops.cast(y_true, dtype) if ops.is_tensor(y_true) else ops.convert_to_tensor(y_true, dtype=dtype)


def _prepare(y_true, y_pred, fn_name="loss"):
    """(y_true, y_pred) as tensors of y_pred's float dtype, with ranks matched and shapes that broadcast."""
    y_pred = _as_pred(y_pred)
    y_true = _as_true(y_true, ops.dtype(y_pred))
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    a, b = tuple(ops.shape(y_true)), tuple(ops.shape(y_pred))
    if not all(i == j or i == 1 or j == 1 for i, j in zip(a[::-1], b[::-1])):
        raise ValueError(f"{fn_name}: `y_true` and `y_pred` must have the same shape (or shapes that broadcast). "
                         f"Received: y_true.shape={a}, y_pred.shape={b}")
    return y_true, y_pred


def _check_same_shape(fn_name, y_true, y_pred):
    if tuple(ops.shape(y_true)) != tuple(ops.shape(y_pred)):
        raise ValueError(
            f"{fn_name}: `y_true` and `y_pred` must have the same shape. "
            f"Received: y_true.shape={tuple(ops.shape(y_true))}, y_pred.shape={tuple(ops.shape(y_pred))}"
        )


def _is_number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_label_smoothing(owner, label_smoothing):
    if not _is_number(label_smoothing) or not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(
            f"{owner}: `label_smoothing` must be a float in [0, 1]. Received: label_smoothing={label_smoothing!r}"
        )
    return float(label_smoothing)


def check_axis(owner, axis):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"{owner}: `axis` must be an integer. Received: axis={axis!r}")
    return int(axis)


def check_gamma(owner, gamma):
    if not _is_number(gamma) or gamma < 0:
        raise ValueError(f"{owner}: `gamma` must be a non-negative float. Received: gamma={gamma!r}")
    return gamma


def _clip_probs(p):
    eps = config.epsilon()
    return ops.clip(p, eps, 1.0 - eps)


def _binary_crossentropy_elementwise(y_true, y_pred, from_logits):
    """Elementwise binary crossentropy (Keras's ``ops.binary_crossentropy``)."""
    if from_logits:
        return ops.subtract(ops.negative(ops.multiply(y_true, ops.log_sigmoid(y_pred))),
                            ops.multiply(ops.subtract(1.0, y_true), ops.log_sigmoid(ops.negative(y_pred))))
    p = _clip_probs(y_pred)
    bce = ops.add(ops.multiply(y_true, ops.log(p)),
                  ops.multiply(ops.subtract(1.0, y_true), ops.log(ops.subtract(1.0, p))))
    return ops.negative(bce)


def _log_probs(y_pred, from_logits, axis):
    """log of the class probabilities along ``axis``: log_softmax of logits, or of the renormalised and
    clipped probabilities (Keras's ``ops.categorical_crossentropy``)."""
    if from_logits:
        return ops.log_softmax(y_pred, axis=axis)
    p = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    return ops.log(_clip_probs(p))


def _warn_single_class(fn_name, y_pred):
    if ops.shape(y_pred) and ops.shape(y_pred)[-1] == 1:
        warnings.warn(
            f"{fn_name}: expected y_pred.shape to be (batch_size, num_classes) with num_classes > 1. "
            f"Received: y_pred.shape={tuple(ops.shape(y_pred))}. "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            UserWarning, stacklevel=3,
        )


def _smooth_categorical(y_true, label_smoothing, axis):
    num_classes = ops.shape(y_true)[axis]
    return ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / num_classes)


def _smooth_binary(y_true, label_smoothing):
    return ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)


# ------------------------------------------------------------------------------------------------------------------
# Probabilistic losses


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over ``axis`` of -(t log p + (1 - t) log(1 - p)); labels squeezed towards 0.5 by ``label_smoothing``."""
    label_smoothing = check_label_smoothing("binary_crossentropy", label_smoothing)
    y_true, y_pred = _prepare(y_true, y_pred, "binary_crossentropy")
    _check_same_shape("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = _smooth_binary(y_true, label_smoothing)
    return ops.mean(_binary_crossentropy_elementwise(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy scaled by ``(1 - p_t) ** gamma`` (and by ``alpha`` / ``1 - alpha`` for classes 1 / 0
    when ``apply_class_balancing``), averaged over ``axis``."""
    label_smoothing = check_label_smoothing("binary_focal_crossentropy", label_smoothing)
    check_gamma("binary_focal_crossentropy", gamma)
    y_true, y_pred = _prepare(y_true, y_pred, "binary_focal_crossentropy")
    _check_same_shape("binary_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = _smooth_binary(y_true, label_smoothing)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = _binary_crossentropy_elementwise(y_true, y_pred, from_logits=False)
    one_minus_true = ops.subtract(1.0, y_true)
    p_t = ops.add(ops.multiply(y_true, y_pred), ops.multiply(one_minus_true, ops.subtract(1.0, y_pred)))
    focal_bce = ops.multiply(ops.power(ops.subtract(1.0, p_t), gamma), bce)
    if apply_class_balancing:
        weight = ops.add(ops.multiply(y_true, alpha), ops.multiply(one_minus_true, 1.0 - alpha))
        focal_bce = ops.multiply(weight, focal_bce)
    return ops.mean(focal_bce, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum over ``axis`` of t log p, for one-hot (or soft) labels ``t``. ``label_smoothing`` ls turns the labels
    into ``t * (1 - ls) + ls / num_classes``."""
    axis = check_axis("categorical_crossentropy", axis)
    label_smoothing = check_label_smoothing("categorical_crossentropy", label_smoothing)
    y_true, y_pred = _prepare(y_true, y_pred, "categorical_crossentropy")
    _check_same_shape("categorical_crossentropy", y_true, y_pred)
    _warn_single_class("categorical_crossentropy", y_pred)
    if label_smoothing:
        y_true = _smooth_categorical(y_true, label_smoothing, axis)
    return ops.negative(ops.sum(ops.multiply(y_true, _log_probs(y_pred, from_logits, axis)), axis=axis))


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """sum over ``axis`` of alpha * (1 - p) ** gamma * (-t log p), with p the renormalised, clipped
    probabilities. ``alpha`` is a float or a list with one weight per class."""
    axis = check_axis("categorical_focal_crossentropy", axis)
    label_smoothing = check_label_smoothing("categorical_focal_crossentropy", label_smoothing)
    check_gamma("categorical_focal_crossentropy", gamma)
    y_true, y_pred = _prepare(y_true, y_pred, "categorical_focal_crossentropy")
    _check_same_shape("categorical_focal_crossentropy", y_true, y_pred)
    _warn_single_class("categorical_focal_crossentropy", y_pred)
    if label_smoothing:
        y_true = _smooth_categorical(y_true, label_smoothing, axis)
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    p = _clip_probs(ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True)))
    cce = ops.negative(ops.multiply(y_true, ops.log(p)))
    if not _is_number(alpha):
        alpha = _as_true(alpha, ops.dtype(y_pred))
    weighting = ops.multiply(ops.power(ops.subtract(1.0, p), gamma), alpha)
    return ops.sum(ops.multiply(weighting, cce), axis=axis)


def check_sparse_labels(labels, num_classes, ignore_class=None, where="sparse_categorical_crossentropy"):
    """Raise a ValueError when host labels (a numpy array or list) fall outside ``[0, num_classes)``; labels equal
    to ``ignore_class`` are allowed. Tensors are not read: inside a compiled step that would cost a host sync (and
    freeze a torch replay), so a compiled step trusts its labels (a label out of range gives a zero one-hot row, so
    a loss of 0). Fit and evaluate check numpy targets on the host before each step."""
    if not isinstance(labels, (np.ndarray, list, tuple)):
        return
    arr = np.asarray(labels)
    if arr.size == 0 or arr.dtype.kind not in "biuf":
        return
    if ignore_class is not None:
        arr = arr[arr != ignore_class]
        if arr.size == 0:
            return
    lo, hi = arr.min(), arr.max()
    if lo < 0 or hi >= num_classes or (arr.dtype.kind == "f" and not np.array_equal(arr, np.floor(arr))):
        bad = lo if lo < 0 else hi
        raise ValueError(f"{where}: labels must be integers in [0, {num_classes}) (the number of classes of "
                         f"`y_pred`). Received: a label {bad.item()!r} in y_true")


class LabelRangeCheck:
    """The host half of the in-step label guard (`kshim.config.enable_label_checks`): given the smallest and
    largest label a compiled step's sparse loss saw, raise when either is outside ``[0, num_classes)``."""

    def __init__(self, num_classes, where="sparse_categorical_crossentropy"):
        self.num_classes = int(num_classes)
        self.where = where

    def __call__(self, values):
        lo, hi = (int(v) for v in np.asarray(values).reshape(-1)[:2])
        if lo < 0 or hi >= self.num_classes:
            raise ValueError(
                f"{self.where}: labels must be integers in [0, {self.num_classes}) (the number of classes of "
                f"`y_pred`). Received: a label {lo if lo < 0 else hi} in y_true, inside a compiled step (found by "
                "the label guard, `kshim.config.enable_label_checks()`)")


def sparse_categorical_crossentropy_with_mask(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """(per-sample losses, boolean mask of the labels that are not ``ignore_class``, or None)."""
    axis = check_axis("sparse_categorical_crossentropy", axis)
    if ignore_class is not None and (isinstance(ignore_class, bool) or not isinstance(ignore_class, numbers.Integral)):
        raise ValueError(
            "sparse_categorical_crossentropy: `ignore_class` must be an integer or None. "
            f"Received: ignore_class={ignore_class!r}"
        )
    y_pred = _as_pred(y_pred)
    host_labels = y_true
    y_true = y_true if ops.is_tensor(y_true) else ops.convert_to_tensor(y_true)
    pred_shape = tuple(ops.shape(y_pred))
    if not pred_shape:
        raise ValueError("sparse_categorical_crossentropy: `y_pred` must be at least rank 1. Received: y_pred.shape=()")
    class_axis = axis % len(pred_shape)
    if len(ops.shape(y_true)) == len(pred_shape) and ops.shape(y_true)[class_axis] == 1:
        y_true = ops.squeeze(y_true, axis=class_axis)
    expected = pred_shape[:class_axis] + pred_shape[class_axis + 1:]
    if tuple(ops.shape(y_true)) != expected:
        raise ValueError(
            "sparse_categorical_crossentropy: `y_true` must hold one integer label per sample, shaped like `y_pred` "
            f"without its class axis. Received: y_true.shape={tuple(ops.shape(y_true))}, y_pred.shape={pred_shape}"
        )
    check_sparse_labels(host_labels, pred_shape[class_axis], ignore_class)
    labels = ops.cast(y_true, "int32")
    valid = None
    if ignore_class is not None:
        valid = ops.not_equal(labels, int(ignore_class))
        labels = ops.where(valid, labels, ops.zeros_like(labels))
    if config.label_checks_enabled() and step_checks.collecting() and ops.size(labels) > 0:
        step_checks.report(LabelRangeCheck(pred_shape[class_axis]), ops.stack([ops.min(labels), ops.max(labels)]))
    target = ops.one_hot(labels, pred_shape[class_axis], axis=class_axis, dtype=ops.dtype(y_pred))
    losses = ops.negative(ops.sum(ops.multiply(target, _log_probs(y_pred, from_logits, class_axis)), axis=class_axis))
    if valid is not None:
        losses = ops.where(valid, losses, ops.zeros_like(losses))
    return losses, valid


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Categorical crossentropy with integer labels (int or float, shaped (N,) or (N, 1)). Labels equal to
    ``ignore_class`` give a loss of 0 (and, through a loss object, are left out of the mean)."""
    return sparse_categorical_crossentropy_with_mask(y_true, y_pred, from_logits, ignore_class, axis)[0]


sparse_categorical_crossentropy._kshim_with_mask = sparse_categorical_crossentropy_with_mask
sparse_categorical_crossentropy._kshim_integer_targets = True  # `Loss` leaves integer labels as they are


def _check_sparse_call(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    shape = tuple(y_pred.shape)
    if shape:
        check_sparse_labels(y_true, shape[axis], ignore_class)


sparse_categorical_crossentropy._kshim_check_labels = _check_sparse_call  # host labels, before conversion


def kl_divergence(y_true, y_pred):
    """sum over the last axis of t log(t / p), both clipped to [epsilon, 1]."""
    y_true, y_pred = _prepare(y_true, y_pred, "kl_divergence")
    eps = config.epsilon()
    y_true = ops.clip(y_true, eps, 1.0)
    y_pred = ops.clip(y_pred, eps, 1.0)
    return ops.sum(ops.multiply(y_true, ops.log(ops.divide(y_true, y_pred))), axis=-1)


def poisson(y_true, y_pred):
    """mean over the last axis of p - t log(p + epsilon)."""
    y_true, y_pred = _prepare(y_true, y_pred, "poisson")
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, ops.log(ops.add(y_pred, config.epsilon())))), axis=-1)


# ------------------------------------------------------------------------------------------------------------------
# Regression losses


def mean_squared_error(y_true, y_pred):
    """mean over the last axis of (t - p) ** 2."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_squared_error")
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean over the last axis of |t - p|."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_absolute_error")
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean over the last axis of |(t - p) / max(|t|, epsilon)|."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_absolute_percentage_error")
    diff = ops.abs(ops.divide(ops.subtract(y_true, y_pred), ops.maximum(ops.abs(y_true), config.epsilon())))
    return ops.multiply(100.0, ops.mean(diff, axis=-1))


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean over the last axis of (log(max(p, epsilon) + 1) - log(max(t, epsilon) + 1)) ** 2."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_squared_logarithmic_error")
    eps = config.epsilon()
    first = ops.log(ops.add(ops.maximum(y_pred, eps), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, eps), 1.0))
    return ops.mean(ops.square(ops.subtract(first, second)), axis=-1)


def _l2_normalize(x, axis):
    """x * min(1 / ||x||, 1 / epsilon) along ``axis`` (Keras's ``normalize``), written as
    x / sqrt(max(||x||^2, epsilon^2)) so that a zero vector has a finite gradient."""
    eps = config.epsilon()
    square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.multiply(x, ops.divide(1.0, ops.sqrt(ops.maximum(square_sum, eps * eps))))


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum over ``axis`` of l2_normalize(t) * l2_normalize(p): -1 for aligned vectors, 0 if either is zero."""
    axis = check_axis("cosine_similarity", axis)
    y_true, y_pred = _prepare(y_true, y_pred, "cosine_similarity")
    return ops.negative(ops.sum(ops.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)), axis=axis))


def huber(y_true, y_pred, delta=1.0):
    """mean over the last axis of 0.5 e**2 where |e| <= delta, else delta |e| - 0.5 delta**2 (e = p - t)."""
    if not _is_number(delta) or delta < 0:
        raise ValueError(f"huber: `delta` must be a non-negative float. Received: delta={delta!r}")
    y_true, y_pred = _prepare(y_true, y_pred, "huber")
    error = ops.subtract(y_pred, y_true)
    abs_error = ops.abs(error)
    quadratic = ops.multiply(0.5, ops.square(error))
    linear = ops.subtract(ops.multiply(abs_error, float(delta)), 0.5 * float(delta) * float(delta))
    return ops.mean(ops.where(ops.less_equal(abs_error, float(delta)), quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    """mean over the last axis of log(cosh(p - t)), computed stably as x + softplus(-2x) - log(2)."""
    y_true, y_pred = _prepare(y_true, y_pred, "log_cosh")
    x = ops.subtract(y_pred, y_true)
    return ops.mean(ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, -2.0))), _LOG2), axis=-1)


# ------------------------------------------------------------------------------------------------------------------
# Hinge losses


def _binary_labels_to_signs(y_true):
    """2t - 1 when every label is 0 or 1 (decided on the values, traceably), else the labels unchanged."""
    is_binary = ops.all(ops.logical_or(ops.equal(y_true, 0.0), ops.equal(y_true, 1.0)))
    return ops.where(is_binary, ops.subtract(ops.multiply(y_true, 2.0), 1.0), y_true)


def hinge(y_true, y_pred):
    """mean over the last axis of max(1 - t p, 0), with labels in {-1, 1} (0/1 labels are converted)."""
    y_true, y_pred = _prepare(y_true, y_pred, "hinge")
    y_true = _binary_labels_to_signs(y_true)
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean over the last axis of max(1 - t p, 0) ** 2, with labels in {-1, 1} (0/1 labels are converted)."""
    y_true, y_pred = _prepare(y_true, y_pred, "squared_hinge")
    y_true = _binary_labels_to_signs(y_true)
    return ops.mean(ops.square(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - t) p) - sum(t p) + 1, 0) over the last axis, for one-hot labels t."""
    y_true, y_pred = _prepare(y_true, y_pred, "categorical_hinge")
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


# Keras 2 spellings.
logcosh = log_cosh
kld = kl_divergence
kullback_leibler_divergence = kl_divergence
mse = mean_squared_error
mae = mean_absolute_error
mape = mean_absolute_percentage_error
msle = mean_squared_logarithmic_error

FUNCTIONS = (
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy,
    sparse_categorical_crossentropy, kl_divergence, poisson, mean_squared_error, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh, hinge,
    squared_hinge, categorical_hinge,
)
