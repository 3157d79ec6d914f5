"""Cases for kshim.losses: every loss function and class, against Keras 3's formulas written in numpy.

Each case feeds fixed labels and predictions and returns

- ``fn``: the per-sample values of the function form (``kshim.losses.<function>(y_true, y_pred, **kwargs)``);
- ``cls``: the reduced value of the class form (default reduction "sum_over_batch_size");
- ``cls_sw``: the same with a fixed ``sample_weight``;
- ``loss``/``grad``: ``cls`` again and its gradient with respect to ``y_pred`` (``kshim.ops.value_and_grad``).

The numpy reference (float64, epsilon 1e-7 as `kshim.config.epsilon()`) gives all four; the gradient is a
central difference of the reduced numpy loss. Inputs stay away from kinks (hinge margins, Huber's delta, |t - p|
near 0) and from the probability clipping bounds, so the float32 results match the float64 formulas closely.
"""

import numpy as np

from conformance.case import away_from, case, kshim, numeric_grad, ops, rng

EPS = 1e-7
N, C = 6, 4  # batch size, features/classes
SW = np.array([1.0, 0.5, 2.0, 0.0, 1.5, 0.25], np.float32)

# ----------------------------------------------------------------------------------------------------------------
# Fixed inputs


def _uniform(seed, shape, lo, hi):
    return rng(seed).uniform(lo, hi, size=shape).astype(np.float32)


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


BIN_TRUE = (rng(600).uniform(size=(N, C)) > 0.5).astype(np.float32)
BIN_PROB = _uniform(601, (N, C), 0.05, 0.95)
LOGITS = _uniform(602, (N, C), -3.0, 3.0)
LABELS = rng(603).integers(0, C, size=(N,)).astype(np.int32)
ONE_HOT = np.eye(C, dtype=np.float32)[LABELS]
CAT_PROB = _softmax(_uniform(604, (N, C), -2.0, 2.0).astype(np.float64)).astype(np.float32)
SOFT_TRUE = _softmax(_uniform(605, (N, C), -1.0, 1.0).astype(np.float64)).astype(np.float32)
REG_TRUE = _uniform(606, (N, C), -2.0, 2.0)
# y_pred = y_true + an error with |e| in [0.2, 1.8], away from 0 and from Huber's deltas (1.0 and 0.5).
_ERR = (away_from(rng(607).uniform(0.2, 1.8, size=(N, C)), (0.5, 1.0), 0.08)
        * np.where(rng(608).uniform(size=(N, C)) > 0.5, 1.0, -1.0)).astype(np.float32)
REG_PRED = (REG_TRUE + _ERR).astype(np.float32)
POS_TRUE = _uniform(609, (N, C), 0.3, 3.0)  # MAPE/MSLE/Poisson: positive values
POS_PRED = _uniform(610, (N, C), 0.3, 3.0)
COUNTS = rng(611).integers(0, 5, size=(N, C)).astype(np.float32)
SIGN_TRUE = np.where(BIN_TRUE > 0, 1.0, -1.0).astype(np.float32)
# hinge scores: |p| in [0.1, 0.8] or [1.2, 2.5], so 1 - t*p stays away from 0 for t = +-1.
HINGE_PRED = (np.where(rng(612).uniform(size=(N, C)) > 0.5, _uniform(613, (N, C), 0.1, 0.8),
                       _uniform(614, (N, C), 1.2, 2.5))
              * np.where(rng(615).uniform(size=(N, C)) > 0.5, 1.0, -1.0)).astype(np.float32)
# categorical hinge: distinct scores (no tie in the max), margins away from 0.
CAT_SCORES = (np.argsort(rng(616).uniform(size=(N, C)), axis=-1) * 0.7 - 1.0
              + _uniform(617, (N, C), 0.0, 0.2)).astype(np.float32)

# ----------------------------------------------------------------------------------------------------------------
# Keras 3's per-sample formulas in numpy (float64). Shared with cases_metrics.


def _clip(p):
    return np.clip(p, EPS, 1.0 - EPS)


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _log_softmax(z, axis=-1):
    return z - z.max(axis=axis, keepdims=True) - np.log(np.sum(np.exp(z - z.max(axis=axis, keepdims=True)),
                                                               axis=axis, keepdims=True))


def np_binary_crossentropy(t, p, from_logits=False, label_smoothing=0.0):
    t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return np.mean(-t * _log_sigmoid(p) - (1.0 - t) * _log_sigmoid(-p), axis=-1)
    p = _clip(p)
    return np.mean(-(t * np.log(p) + (1.0 - t) * np.log(1.0 - p)), axis=-1)


def np_binary_focal_crossentropy(t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                                 label_smoothing=0.0):
    t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        p = _sigmoid(p)
    pc = _clip(p)
    bce = -(t * np.log(pc) + (1.0 - t) * np.log(1.0 - pc))
    p_t = t * p + (1.0 - t) * (1.0 - p)
    focal = (1.0 - p_t) ** gamma * bce
    if apply_class_balancing:
        focal = (t * alpha + (1.0 - t) * (1.0 - alpha)) * focal
    return np.mean(focal, axis=-1)


def _smooth_cat(t, label_smoothing):
    return t * (1.0 - label_smoothing) + label_smoothing / t.shape[-1]


def np_categorical_crossentropy(t, p, from_logits=False, label_smoothing=0.0):
    t = _smooth_cat(t, label_smoothing)
    logp = _log_softmax(p) if from_logits else np.log(_clip(p / p.sum(axis=-1, keepdims=True)))
    return -np.sum(t * logp, axis=-1)


def np_categorical_focal_crossentropy(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    t = _smooth_cat(t, label_smoothing)
    if from_logits:
        p = _softmax(p)
    out = _clip(p / p.sum(axis=-1, keepdims=True))
    return np.sum(alpha * (1.0 - out) ** gamma * (-t * np.log(out)), axis=-1)


def np_sparse_categorical_crossentropy(labels, p, from_logits=False, ignore_class=None):
    labels = np.asarray(labels).astype(np.int64)
    valid = np.ones(labels.shape, bool) if ignore_class is None else labels != ignore_class
    safe = np.where(valid, labels, 0)
    logp = _log_softmax(p) if from_logits else np.log(_clip(p / p.sum(axis=-1, keepdims=True)))
    out = -np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    return np.where(valid, out, 0.0)


def np_kl_divergence(t, p):
    t, p = np.clip(t, EPS, 1.0), np.clip(p, EPS, 1.0)
    return np.sum(t * np.log(t / p), axis=-1)


def np_poisson(t, p):
    return np.mean(p - t * np.log(p + EPS), axis=-1)


def np_mean_squared_error(t, p):
    return np.mean((t - p) ** 2, axis=-1)


def np_mean_absolute_error(t, p):
    return np.mean(np.abs(t - p), axis=-1)


def np_mean_absolute_percentage_error(t, p):
    return 100.0 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)), axis=-1)


def np_mean_squared_logarithmic_error(t, p):
    return np.mean((np.log(np.maximum(p, EPS) + 1.0) - np.log(np.maximum(t, EPS) + 1.0)) ** 2, axis=-1)


def _l2n(x):
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=-1, keepdims=True), EPS * EPS))


def np_cosine_similarity(t, p):
    return -np.sum(_l2n(t) * _l2n(p), axis=-1)


def np_huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.mean(np.where(e <= delta, 0.5 * e * e, delta * e - 0.5 * delta * delta), axis=-1)


def np_log_cosh(t, p):
    return np.mean(np.log(np.cosh(p - t)), axis=-1)


def _signs(t):
    return 2.0 * t - 1.0 if np.all((t == 0) | (t == 1)) else t


def np_hinge(t, p):
    return np.mean(np.maximum(1.0 - _signs(t) * p, 0.0), axis=-1)


def np_squared_hinge(t, p):
    return np.mean(np.maximum(1.0 - _signs(t) * p, 0.0) ** 2, axis=-1)


def np_categorical_hinge(t, p):
    pos = np.sum(t * p, axis=-1)
    neg = np.max((1.0 - t) * p, axis=-1)
    return np.maximum(neg - pos + 1.0, 0.0)


# ----------------------------------------------------------------------------------------------------------------
# The case factory


def _reduce_np(values, sw=None, mask=None):
    """Keras 3's "sum_over_batch_size": sum(values * weight) / number of values, masked entries left out of both."""
    w = np.ones_like(values) if sw is None else np.asarray(sw, np.float64)
    if mask is not None:
        n_valid = max(int(mask.sum()), 1)
        return np.sum(values * w * mask) / n_valid
    return np.sum(values * w) / values.size


def loss_case(name, fn_name, cls_name, np_fn, y_true, y_pred, kwargs=None, *, rtol=1e-5, atol=1e-6, ref_rtol=2e-5,
              ref_atol=2e-6, mask_fn=None, grad=True):
    """Register ``losses.<name>``: function, class (with and without sample_weight) and the gradient wrt y_pred.

    ``mask_fn(y_true)`` gives the entries a loss object leaves out of the mean (SparseCategoricalCrossentropy's
    ``ignore_class``)."""
    kwargs = dict(kwargs or {})
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred, np.float32)

    def run():
        t, p = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
        loss_obj = getattr(kshim.losses, cls_name)(**kwargs)
        out = {"fn": getattr(kshim.losses, fn_name)(t, p, **kwargs), "cls": loss_obj(t, p),
               "cls_sw": loss_obj(t, p, sample_weight=SW)}
        if grad:
            value, grads = ops.value_and_grad(lambda params: loss_obj(t, params[0]))([p])
            out["loss"], out["grad"] = value, grads[0]
        return out

    def reference():
        t = y_true.astype(np.float64) if y_true.dtype.kind == "f" else y_true
        p = y_pred.astype(np.float64)
        mask = mask_fn(y_true) if mask_fn else None
        per = np_fn(t, p, **kwargs)
        res = {"fn": per, "cls": _reduce_np(per, mask=mask), "cls_sw": _reduce_np(per, SW, mask)}
        if grad:
            res["loss"] = res["cls"]
            res["grad"] = numeric_grad(lambda pp: _reduce_np(np_fn(t, pp, **kwargs), mask=mask), [p], 0)
        return res

    run.__doc__ = f"{fn_name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) and {cls_name}"
    run.__module__ = __name__
    return case(f"losses.{name}", family="losses", rtol=rtol, atol=atol, reference=reference, ref_rtol=ref_rtol,
                ref_atol=ref_atol, covers=(f"losses.{fn_name}", f"losses.{cls_name}"))(run)


# Probabilistic losses
loss_case("binary_crossentropy", "binary_crossentropy", "BinaryCrossentropy", np_binary_crossentropy,
          BIN_TRUE, BIN_PROB)
loss_case("binary_crossentropy.from_logits", "binary_crossentropy", "BinaryCrossentropy", np_binary_crossentropy,
          BIN_TRUE, LOGITS, {"from_logits": True})
loss_case("binary_crossentropy.label_smoothing", "binary_crossentropy", "BinaryCrossentropy",
          np_binary_crossentropy, BIN_TRUE, BIN_PROB, {"label_smoothing": 0.2})
loss_case("binary_crossentropy.logits_smoothing", "binary_crossentropy", "BinaryCrossentropy",
          np_binary_crossentropy, BIN_TRUE, LOGITS, {"from_logits": True, "label_smoothing": 0.1})
loss_case("binary_focal_crossentropy", "binary_focal_crossentropy", "BinaryFocalCrossentropy",
          np_binary_focal_crossentropy, BIN_TRUE, BIN_PROB)
loss_case("binary_focal_crossentropy.balanced_logits", "binary_focal_crossentropy", "BinaryFocalCrossentropy",
          np_binary_focal_crossentropy, BIN_TRUE, LOGITS,
          {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5, "from_logits": True})
loss_case("binary_focal_crossentropy.label_smoothing", "binary_focal_crossentropy", "BinaryFocalCrossentropy",
          np_binary_focal_crossentropy, BIN_TRUE, BIN_PROB, {"label_smoothing": 0.2, "gamma": 3.0})
loss_case("categorical_crossentropy", "categorical_crossentropy", "CategoricalCrossentropy",
          np_categorical_crossentropy, ONE_HOT, CAT_PROB)
loss_case("categorical_crossentropy.soft_labels", "categorical_crossentropy", "CategoricalCrossentropy",
          np_categorical_crossentropy, SOFT_TRUE, CAT_PROB * 1.7)  # unnormalised: renormalised as Keras does
loss_case("categorical_crossentropy.from_logits", "categorical_crossentropy", "CategoricalCrossentropy",
          np_categorical_crossentropy, ONE_HOT, LOGITS, {"from_logits": True})
loss_case("categorical_crossentropy.label_smoothing", "categorical_crossentropy", "CategoricalCrossentropy",
          np_categorical_crossentropy, ONE_HOT, CAT_PROB, {"label_smoothing": 0.1})
loss_case("categorical_crossentropy.logits_smoothing", "categorical_crossentropy", "CategoricalCrossentropy",
          np_categorical_crossentropy, ONE_HOT, LOGITS, {"from_logits": True, "label_smoothing": 0.2})
loss_case("categorical_focal_crossentropy", "categorical_focal_crossentropy", "CategoricalFocalCrossentropy",
          np_categorical_focal_crossentropy, ONE_HOT, CAT_PROB)
loss_case("categorical_focal_crossentropy.logits_smoothing", "categorical_focal_crossentropy",
          "CategoricalFocalCrossentropy", np_categorical_focal_crossentropy, ONE_HOT, LOGITS,
          {"alpha": 0.5, "gamma": 1.0, "from_logits": True, "label_smoothing": 0.1})
loss_case("sparse_categorical_crossentropy", "sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
          np_sparse_categorical_crossentropy, LABELS, CAT_PROB)
loss_case("sparse_categorical_crossentropy.from_logits", "sparse_categorical_crossentropy",
          "SparseCategoricalCrossentropy", np_sparse_categorical_crossentropy, LABELS, LOGITS, {"from_logits": True})
loss_case("sparse_categorical_crossentropy.ignore_class", "sparse_categorical_crossentropy",
          "SparseCategoricalCrossentropy", np_sparse_categorical_crossentropy, LABELS, LOGITS,
          {"from_logits": True, "ignore_class": int(LABELS[1])}, mask_fn=lambda t: t != LABELS[1])
loss_case("kl_divergence", "kl_divergence", "KLDivergence", np_kl_divergence, SOFT_TRUE, CAT_PROB)
loss_case("poisson", "poisson", "Poisson", np_poisson, COUNTS, POS_PRED)

# Regression losses
loss_case("mean_squared_error", "mean_squared_error", "MeanSquaredError", np_mean_squared_error, REG_TRUE, REG_PRED)
loss_case("mean_absolute_error", "mean_absolute_error", "MeanAbsoluteError", np_mean_absolute_error,
          REG_TRUE, REG_PRED)
loss_case("mean_absolute_percentage_error", "mean_absolute_percentage_error", "MeanAbsolutePercentageError",
          np_mean_absolute_percentage_error, POS_TRUE, POS_PRED)
loss_case("mean_squared_logarithmic_error", "mean_squared_logarithmic_error", "MeanSquaredLogarithmicError",
          np_mean_squared_logarithmic_error, POS_TRUE, POS_PRED)
loss_case("cosine_similarity", "cosine_similarity", "CosineSimilarity", np_cosine_similarity, REG_TRUE, REG_PRED)
loss_case("huber", "huber", "Huber", np_huber, REG_TRUE, REG_PRED)
loss_case("huber.delta", "huber", "Huber", np_huber, REG_TRUE, REG_PRED, {"delta": 0.5})
loss_case("log_cosh", "log_cosh", "LogCosh", np_log_cosh, REG_TRUE, REG_PRED)

# Hinge losses
loss_case("hinge", "hinge", "Hinge", np_hinge, SIGN_TRUE, HINGE_PRED)
loss_case("hinge.binary_labels", "hinge", "Hinge", np_hinge, BIN_TRUE, HINGE_PRED)
loss_case("squared_hinge", "squared_hinge", "SquaredHinge", np_squared_hinge, SIGN_TRUE, HINGE_PRED)
loss_case("squared_hinge.binary_labels", "squared_hinge", "SquaredHinge", np_squared_hinge, BIN_TRUE, HINGE_PRED)
loss_case("categorical_hinge", "categorical_hinge", "CategoricalHinge", np_categorical_hinge, ONE_HOT, CAT_SCORES)


# ----------------------------------------------------------------------------------------------------------------
# The reductions, LossFunctionWrapper and the aliases


def _reductions_reference():
    per = np_mean_squared_error(REG_TRUE.astype(np.float64), REG_PRED.astype(np.float64))
    sw = SW.astype(np.float64)
    return {"sum": np.sum(per * sw), "sum_over_batch_size": np.sum(per * sw) / N, "mean": np.sum(per * sw) / N,
            "mean_with_sample_weight": np.sum(per * sw) / np.sum(sw), "none": per * sw,
            "sw_2d": np.sum(per * sw) / N}


@case("losses.reductions", family="losses", rtol=1e-5, atol=1e-6, reference=_reductions_reference,
      covers=("losses.Loss",))
def _reductions():
    """MeanSquaredError with each reduction and a sample weight; a (N, 1) weight broadcasts like a (N,) one."""
    t, p = ops.convert_to_tensor(REG_TRUE), ops.convert_to_tensor(REG_PRED)
    out = {r: kshim.losses.MeanSquaredError(reduction=r)(t, p, sample_weight=SW)
           for r in ("sum", "sum_over_batch_size", "mean", "mean_with_sample_weight", "none")}
    out["sw_2d"] = kshim.losses.MeanSquaredError()(t, p, sample_weight=SW[:, None])
    return out


def _wrapper_reference():
    t, p = REG_TRUE.astype(np.float64), REG_PRED.astype(np.float64)

    def scaled(pp):
        return np.sum(np.mean(np.abs(t - pp) ** 3, axis=-1) * 0.5)

    return {"sum": scaled(p), "grad": numeric_grad(scaled, [p], 0)}


@case("losses.loss_function_wrapper", family="losses", rtol=1e-5, atol=1e-6, reference=_wrapper_reference,
      covers=("losses.LossFunctionWrapper",))
def _wrapper():
    """LossFunctionWrapper around a user function with a keyword argument, reduction="sum", and its gradient."""

    def cubic(y_true, y_pred, scale=1.0):
        return ops.multiply(ops.mean(ops.power(ops.abs(ops.subtract(y_true, y_pred)), 3), axis=-1), scale)

    loss_obj = kshim.losses.LossFunctionWrapper(cubic, reduction="sum", scale=0.5)
    t = ops.convert_to_tensor(REG_TRUE)
    value, grads = ops.value_and_grad(lambda params: loss_obj(t, params[0]))([ops.convert_to_tensor(REG_PRED)])
    return {"sum": value, "grad": grads[0]}


@case("losses.aliases", family="losses", exact=True, reference=lambda: {"same": np.ones(8, bool)})
def _aliases():
    """The short names resolve to the same functions (mse, mae, mape, msle, kld, logcosh, get("bce"), ...)."""
    L = kshim.losses
    pairs = [(L.mse, L.mean_squared_error), (L.mae, L.mean_absolute_error),
             (L.mape, L.mean_absolute_percentage_error), (L.msle, L.mean_squared_logarithmic_error),
             (L.kld, L.kl_divergence), (L.logcosh, L.log_cosh), (L.kullback_leibler_divergence, L.kl_divergence),
             (L.get("bce"), L.binary_crossentropy)]
    return {"same": np.array([a is b for a, b in pairs])}
