"""kshim.losses: per-sample values and reductions against numpy references and real Keras 3, the registry,
configs, errors, gradients and compiled steps. Runs on whichever backend KSHIM_BACKEND selects."""

import os
import warnings

import numpy as np
import pytest

from kshim import config, ops
from kshim import losses as L

EPS = 1e-7
# Where Keras clips probabilities: [epsilon, 1 - epsilon] as float32 numbers.
LO, HI = float(np.float32(EPS)), float(np.float32(1.0 - EPS))
RTOL, ATOL = 1e-5, 1e-6
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def np_(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


# ----------------------------------------------------------------------------------------------------------------
# Data


def _data():
    rng = np.random.default_rng(1234)
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    logits = f32(rng.normal(size=(4, 5)) * 2)
    probs = f32(np.exp(logits) / np.exp(logits).sum(-1, keepdims=True))
    onehot = f32(np.eye(5)[rng.integers(0, 5, size=4)])
    return {
        "bin": (f32(rng.integers(0, 2, size=(4, 3))), f32(rng.uniform(0.02, 0.98, size=(4, 3)))),
        "bin_edge": (f32([[0, 1, 1], [1, 0, 0]]), f32([[0.0, 1.0, 0.5], [0.0, 1.0, 1e-9]])),
        "bin_logits": (f32(rng.integers(0, 2, size=(4, 3))), f32(rng.normal(size=(4, 3)) * 3)),
        "cat": (onehot, probs),
        "cat_unnorm": (onehot, f32(rng.uniform(0.0, 2.0, size=(4, 5)))),
        "cat_logits": (onehot, logits),
        "sparse": (np.argmax(onehot, -1).astype(np.int32), probs),
        "sparse_logits": (np.argmax(onehot, -1).astype(np.int32), logits),
        "reg": (f32(rng.normal(size=(4, 3))), f32(rng.normal(size=(4, 3)) * 2)),
        "reg3d": (f32(rng.normal(size=(2, 3, 4))), f32(rng.normal(size=(2, 3, 4)))),
        "mape": (f32(np.r_[rng.uniform(0.5, 3, size=11), 0.0].reshape(4, 3)), f32(rng.normal(size=(4, 3)))),
        "pos": (f32(rng.uniform(0, 3, size=(4, 3))), f32(rng.uniform(0.1, 3, size=(4, 3)))),
        "msle": (f32(rng.uniform(-0.5, 3, size=(4, 3))), f32(rng.uniform(-0.5, 3, size=(4, 3)))),
        "dist": (probs[:, ::-1].copy(), probs),
        "hinge01": (f32(rng.integers(0, 2, size=(4, 3))), f32(rng.normal(size=(4, 3)))),
        "hinge_pm": (f32(rng.integers(0, 2, size=(4, 3)) * 2 - 1), f32(rng.normal(size=(4, 3)))),
        "cos": (f32(np.r_[rng.normal(size=9), 0, 0, 0].reshape(4, 3)), f32(rng.normal(size=(4, 3)))),
    }


DATA = _data()


# ----------------------------------------------------------------------------------------------------------------
# Independent numpy references (float64), written from the formulas


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def ref_bce(t, p, from_logits=False, label_smoothing=0.0, elementwise=False):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        e = -t * _log_sigmoid(p) - (1 - t) * _log_sigmoid(-p)
    else:
        q = np.clip(p, LO, HI)
        e = -(t * np.log(q) + (1 - t) * np.log(1 - q))
    return e if elementwise else e.mean(-1)


def ref_bfce(t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:  # Keras takes the sigmoid in float32, then works on probabilities: model that rounding
        p = (1 / (1 + np.exp(-p))).astype(np.float32).astype(np.float64)
    bce = ref_bce(t, p, elementwise=True)
    p_t = t * p + (1 - t) * (1 - p)
    out = (1 - p_t) ** gamma * bce
    if apply_class_balancing:
        out = (t * alpha + (1 - t) * (1 - alpha)) * out
    return out.mean(-1)


def _log_probs(p, from_logits):
    if from_logits:
        return _log_softmax(p)
    return np.log(np.clip(p / p.sum(-1, keepdims=True), LO, HI))


def ref_cce(t, p, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    return -(t * _log_probs(p, from_logits)).sum(-1)


def ref_cfce(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    if from_logits:  # softmax rounded to float32, as Keras computes it
        p = np.exp(_log_softmax(p)).astype(np.float32).astype(np.float64)
    q = np.clip(p / p.sum(-1, keepdims=True), LO, HI)
    return (np.asarray(alpha) * (1 - q) ** gamma * -t * np.log(q)).sum(-1)


def ref_scce(t, p, from_logits=False, ignore_class=None):
    t = np.asarray(t).reshape(p.shape[:-1]).astype(np.int64)
    lp = _log_probs(p, from_logits)
    out = np.zeros(t.shape)
    for i in np.ndindex(t.shape):
        if ignore_class is None or t[i] != ignore_class:
            out[i] = -lp[i + (t[i],)]
    return out


def ref_kld(t, p):
    t, p = np.clip(t, LO, 1), np.clip(p, LO, 1)
    return (t * np.log(t / p)).sum(-1)


def ref_cos(t, p, axis=-1):
    n = lambda x: x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), EPS)  # noqa: E731
    return -(n(t) * n(p)).sum(axis)


def ref_huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2).mean(-1)


def _signs(t):
    return 2 * t - 1 if np.isin(t, (0, 1)).all() else t


REFS = {
    "binary_crossentropy": ref_bce,
    "binary_focal_crossentropy": ref_bfce,
    "categorical_crossentropy": ref_cce,
    "categorical_focal_crossentropy": ref_cfce,
    "sparse_categorical_crossentropy": ref_scce,
    "kl_divergence": ref_kld,
    "poisson": lambda t, p: (p - t * np.log(p + EPS)).mean(-1),
    "mean_squared_error": lambda t, p: ((t - p) ** 2).mean(-1),
    "mean_absolute_error": lambda t, p: np.abs(t - p).mean(-1),
    "mean_absolute_percentage_error": lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1),
    "mean_squared_logarithmic_error": lambda t, p: (
        (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1),
    "cosine_similarity": ref_cos,
    "huber": ref_huber,
    "log_cosh": lambda t, p: np.log(np.cosh(p - t)).mean(-1),
    "hinge": lambda t, p: np.maximum(1 - _signs(t) * p, 0).mean(-1),
    "squared_hinge": lambda t, p: (np.maximum(1 - _signs(t) * p, 0) ** 2).mean(-1),
    "categorical_hinge": lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
}

# (function name, class name, kwargs shared by the function and the class, data key)
CASES = [
    ("binary_crossentropy", "BinaryCrossentropy", {}, "bin"),
    ("binary_crossentropy", "BinaryCrossentropy", {}, "bin_edge"),
    ("binary_crossentropy", "BinaryCrossentropy", {"label_smoothing": 0.2}, "bin"),
    ("binary_crossentropy", "BinaryCrossentropy", {"from_logits": True}, "bin_logits"),
    ("binary_crossentropy", "BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "bin_logits"),
    ("binary_focal_crossentropy", "BinaryFocalCrossentropy", {}, "bin"),
    ("binary_focal_crossentropy", "BinaryFocalCrossentropy",
     {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0, "label_smoothing": 0.1}, "bin"),
    ("binary_focal_crossentropy", "BinaryFocalCrossentropy",
     {"from_logits": True, "apply_class_balancing": True}, "bin_logits"),
    ("categorical_crossentropy", "CategoricalCrossentropy", {}, "cat"),
    ("categorical_crossentropy", "CategoricalCrossentropy", {}, "cat_unnorm"),
    ("categorical_crossentropy", "CategoricalCrossentropy", {"label_smoothing": 0.3}, "cat"),
    ("categorical_crossentropy", "CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1},
     "cat_logits"),
    ("categorical_focal_crossentropy", "CategoricalFocalCrossentropy", {}, "cat"),
    ("categorical_focal_crossentropy", "CategoricalFocalCrossentropy",
     {"alpha": [0.1, 0.2, 0.3, 0.2, 0.2], "gamma": 1.5, "from_logits": True, "label_smoothing": 0.2}, "cat_logits"),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {}, "sparse"),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_logits"),
    ("kl_divergence", "KLDivergence", {}, "dist"),
    ("poisson", "Poisson", {}, "pos"),
    ("mean_squared_error", "MeanSquaredError", {}, "reg"),
    ("mean_squared_error", "MeanSquaredError", {}, "reg3d"),
    ("mean_absolute_error", "MeanAbsoluteError", {}, "reg"),
    ("mean_absolute_percentage_error", "MeanAbsolutePercentageError", {}, "mape"),
    ("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", {}, "msle"),
    ("cosine_similarity", "CosineSimilarity", {}, "cos"),
    ("cosine_similarity", "CosineSimilarity", {"axis": 1}, "reg3d"),
    ("huber", "Huber", {}, "reg"),
    ("huber", "Huber", {"delta": 0.5}, "reg3d"),
    ("log_cosh", "LogCosh", {}, "reg"),
    ("hinge", "Hinge", {}, "hinge01"),
    ("hinge", "Hinge", {}, "hinge_pm"),
    ("squared_hinge", "SquaredHinge", {}, "hinge01"),
    ("squared_hinge", "SquaredHinge", {}, "hinge_pm"),
    ("categorical_hinge", "CategoricalHinge", {}, "cat"),
]
# The numpy references run in float64. Focal loss from logits computes 1 - sigmoid(x) in float32, which loses
# relative precision for large logits (Keras and kshim agree to 1e-5 there; see the Keras section).
NUMPY_RTOL = {("binary_focal_crossentropy", "bin_logits"): 1e-4}
CASE_IDS = [f"{c[0]}-{c[3]}-" + "-".join(f"{k}={v}" for k, v in c[2].items()) for c in CASES]


def _match_ranks(x1, x2):
    """Keras's rule: when ranks differ by one and the longer ends in 1, a rank-1 side gains an axis, else the
    longer side loses its last one."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        return (x1, x2[..., None]) if x2.ndim == 1 else (x1[..., 0], x2)
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        return (x1[..., None], x2) if x1.ndim == 1 else (x1, x2[..., 0])
    return x1, x2


def np_reduce(values, sample_weight, reduction):
    """Keras 3's reduction, written over numpy."""
    values = np.asarray(values, np.float64)
    sw = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    if sw is not None:
        values, sw = _match_ranks(values, sw)
        values = values * sw
    if reduction in (None, "none"):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sw is not None:
        return total / sw.sum() if sw.sum() != 0 else 0.0
    return total / values.size


def _weights_for(values_shape):
    """Sample weights of Keras's accepted shapes for per-sample losses of ``values_shape``."""
    n = values_shape[0]
    out = [None, np.linspace(0.0, 1.5, n).astype(np.float32)]
    if len(values_shape) == 1:
        out.append(out[1][:, None])
    else:
        out[1] = np.arange(1, np.prod(values_shape) + 1, dtype=np.float32).reshape(values_shape) / 10
        out.append(np.array([[0.5]] * n, np.float32).reshape((n,) + (1,) * (len(values_shape) - 1)))
    return out


# ----------------------------------------------------------------------------------------------------------------
# Values against numpy


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_function_matches_numpy(case):
    fn_name, _, kwargs, key = case
    y_true, y_pred = DATA[key]
    got = getattr(L, fn_name)(y_true, y_pred, **kwargs)
    expected = REFS[fn_name](y_true.astype(np.float64), y_pred.astype(np.float64), **kwargs)
    assert ops.dtype(got) == "float32"
    np.testing.assert_allclose(np_(got), expected, rtol=NUMPY_RTOL.get((fn_name, key), RTOL), atol=ATOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_class_reductions_match_numpy(case, reduction):
    fn_name, cls_name, kwargs, key = case
    y_true, y_pred = DATA[key]
    per_sample = REFS[fn_name](y_true.astype(np.float64), y_pred.astype(np.float64), **kwargs)
    loss = getattr(L, cls_name)(reduction=reduction, **kwargs)
    for sw in _weights_for(per_sample.shape):
        got = loss(y_true, y_pred, sample_weight=sw)
        np.testing.assert_allclose(np_(got), np_reduce(per_sample, sw, reduction),
                                   rtol=NUMPY_RTOL.get((fn_name, key), RTOL), atol=ATOL)


def test_default_reduction_is_weighted_sum_over_element_count():
    y_true, y_pred = DATA["reg3d"]  # per-sample losses of shape (2, 3)
    per_sample = ((y_true.astype(np.float64) - y_pred) ** 2).mean(-1)
    sw = np.array([[1.0], [3.0]], np.float32)  # (2, 1) broadcasts over the 3 timesteps
    got = L.MeanSquaredError()(y_true, y_pred, sample_weight=sw)
    np.testing.assert_allclose(np_(got), (per_sample * sw).sum() / 6, rtol=RTOL)
    got = L.MeanSquaredError(reduction="mean_with_sample_weight")(y_true, y_pred, sample_weight=sw)
    np.testing.assert_allclose(np_(got), (per_sample * sw).sum() / 4.0, rtol=RTOL)
    zero = L.MeanSquaredError(reduction="mean_with_sample_weight")(y_true, y_pred, sample_weight=np.zeros((2, 1)))
    assert np_(zero) == 0.0


def test_known_keras_doc_values():
    y_true = np.array([[0, 1, 0], [0, 0, 1]], np.float32)
    y_pred = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], np.float32)
    assert np_(L.CategoricalCrossentropy()(y_true, y_pred)) == pytest.approx(1.177, abs=1e-3)
    assert np_(L.CategoricalCrossentropy()(y_true, y_pred, sample_weight=[0.3, 0.7])) == pytest.approx(0.814, abs=1e-3)
    assert np_(L.MeanAbsolutePercentageError()([100.0, 200.0, 300.0], [90.0, 210.0, 310.0])) == pytest.approx(6.111111)
    bfce = L.BinaryFocalCrossentropy(gamma=2, from_logits=True)
    assert np_(bfce([0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8])) == pytest.approx(0.691, abs=1e-3)


@pytest.mark.parametrize("labels", [
    np.array([1, 4, 0, 2], np.int32), np.array([1, 4, 0, 2], np.float32), np.array([[1], [4], [0], [2]], np.int64),
], ids=["int", "float", "column"])
def test_sparse_label_forms(labels):
    probs = DATA["sparse"][1]
    expected = ref_scce(labels, probs.astype(np.float64))
    np.testing.assert_allclose(np_(L.sparse_categorical_crossentropy(labels, probs)), expected, rtol=RTOL)
    np.testing.assert_allclose(np_(L.SparseCategoricalCrossentropy()(labels, probs)), expected.mean(), rtol=RTOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sparse_ignore_class_masks_the_reduction(reduction):
    labels = np.array([1, -1, 0, 3], np.int32)
    logits = DATA["sparse_logits"][1]
    per_sample = ref_scce(labels, logits.astype(np.float64), from_logits=True, ignore_class=-1)
    np.testing.assert_allclose(
        np_(L.sparse_categorical_crossentropy(labels, logits, from_logits=True, ignore_class=-1)), per_sample,
        rtol=RTOL)
    loss = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=reduction)
    valid = labels != -1
    expected = {"sum_over_batch_size": per_sample.sum() / valid.sum(), "mean": per_sample.sum() / valid.sum(),
                "sum": per_sample.sum(), "mean_with_sample_weight": per_sample.sum() / valid.sum()}
    np.testing.assert_allclose(np_(loss(labels, logits)), expected.get(reduction, per_sample), rtol=RTOL)


def test_explicit_mask_argument():
    y_true, y_pred = DATA["reg"]
    per_sample = ((y_true.astype(np.float64) - y_pred) ** 2).mean(-1)
    mask = np.array([True, False, True, True])
    got = L.MeanSquaredError()(y_true, y_pred, mask=mask)
    np.testing.assert_allclose(np_(got), per_sample[mask].sum() / 3, rtol=RTOL)
    got = L.MeanSquaredError(reduction="sum")(y_true, y_pred, sample_weight=[1, 2, 3, 4], mask=mask)
    np.testing.assert_allclose(np_(got), (per_sample * [1, 0, 3, 4]).sum(), rtol=RTOL)


def test_rank_matching_of_labels_and_predictions():
    y_true, y_pred = DATA["bin"][0][:, 0], DATA["bin"][1][:, :1]  # (4,) against (4, 1)
    expected = ref_bce(y_true[:, None].astype(np.float64), y_pred.astype(np.float64))
    np.testing.assert_allclose(np_(L.BinaryCrossentropy(reduction=None)(y_true, y_pred)), expected, rtol=RTOL)
    np.testing.assert_allclose(np_(L.binary_crossentropy(y_true, y_pred)), expected, rtol=RTOL)
    np.testing.assert_allclose(np_(L.mean_squared_error(y_pred, y_true)), ((y_true - y_pred[:, 0]) ** 2), rtol=RTOL)


def test_scalar_values_are_not_reduced_and_reduce_weighted_values():
    assert np_(L.reduce_weighted_values(ops.convert_to_tensor(2.5), reduction="sum")) == 2.5
    got = L.reduce_weighted_values(np.array([1.0, 2.0, 3.0]), sample_weight=[0.0, 1.0, 2.0])
    np.testing.assert_allclose(np_(got), 8.0 / 3.0, rtol=RTOL)


def test_categorical_single_class_warns():
    with pytest.warns(UserWarning, match="num_classes > 1"):
        L.categorical_crossentropy(np.ones((2, 1), np.float32), np.ones((2, 1), np.float32))


# ----------------------------------------------------------------------------------------------------------------
# Registry, aliases, configs, errors


def test_get_names_and_aliases():
    assert L.get(None) is None
    assert L.get("mean_squared_error") is L.mean_squared_error
    for alias, fn in [("mse", "mean_squared_error"), ("MSE", "mean_squared_error"), ("mae", "mean_absolute_error"),
                      ("mape", "mean_absolute_percentage_error"), ("msle", "mean_squared_logarithmic_error"),
                      ("kld", "kl_divergence"), ("KLD", "kl_divergence"), ("bce", "binary_crossentropy"),
                      ("logcosh", "log_cosh"), ("kullback_leibler_divergence", "kl_divergence")]:
        assert L.get(alias) is getattr(L, fn), alias
    assert isinstance(L.get("MeanSquaredError"), L.MeanSquaredError)
    assert isinstance(L.get(L.Huber), L.Huber)
    inst = L.CategoricalCrossentropy(from_logits=True)
    assert L.get(inst) is inst
    custom = lambda t, p: ops.mean(ops.abs(ops.subtract(t, p)))  # noqa: E731
    assert L.get(custom) is custom
    got = L.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert isinstance(got, L.CategoricalCrossentropy) and got.from_logits is True


def test_unknown_name_suggests():
    with pytest.raises(ValueError, match=r"Unknown loss: loss='mean_sqared_error'\. Did you mean 'mean_squared_error'"):
        L.get("mean_sqared_error")
    with pytest.raises(ValueError, match="Did you mean 'CategoricalCrossentropy'"):
        L.get("CategoricalCrossEntropy")
    with pytest.raises(ValueError, match="Known names: .*binary_crossentropy"):
        L.get("no_such_loss_anywhere")
    with pytest.raises(ValueError, match="loss=42"):
        L.get(42)


@pytest.mark.parametrize("make, match", [
    (lambda: L.MeanSquaredError(reduction="avg"), r"MeanSquaredError: `reduction` must be one of .*reduction='avg'"),
    (lambda: L.BinaryCrossentropy(label_smoothing=2), r"`label_smoothing` must be a float in \[0, 1\]\. "
                                                       r"Received: label_smoothing=2"),
    (lambda: L.CategoricalCrossentropy(label_smoothing=-0.1), "label_smoothing=-0.1"),
    (lambda: L.CategoricalCrossentropy(axis=True), "`axis` must be an integer. Received: axis=True"),
    (lambda: L.BinaryFocalCrossentropy(gamma=-1.0), "`gamma` must be a non-negative float. Received: gamma=-1.0"),
    (lambda: L.Huber(delta=-1.0), r"Huber: `delta` must be a non-negative float\. Received: delta=-1\.0"),
    (lambda: L.SparseCategoricalCrossentropy(ignore_class=1.5), "ignore_class=1.5"),
    (lambda: L.BinaryCrossentropy(from_logits="yes"), "from_logits='yes'"),
    (lambda: L.binary_crossentropy([0.0, 1.0], [0.5, 0.5], label_smoothing=1.5), "label_smoothing=1.5"),
    (lambda: L.categorical_crossentropy(np.ones((2, 3)), np.ones((2, 4))), r"same shape.*\(2, 3\).*\(2, 4\)"),
    (lambda: L.sparse_categorical_crossentropy(np.ones((2, 2)), np.ones((2, 4))), r"y_true.shape=\(2, 2\)"),
])
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


NON_DEFAULT = {
    "BinaryCrossentropy": {"from_logits": True, "label_smoothing": 0.1, "axis": -1},
    "BinaryFocalCrossentropy": {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.0, "from_logits": True},
    "CategoricalCrossentropy": {"from_logits": True, "label_smoothing": 0.2},
    "CategoricalFocalCrossentropy": {"alpha": [0.5, 0.5, 1.0, 1.0, 1.0], "gamma": 3.0},
    "SparseCategoricalCrossentropy": {"from_logits": True, "ignore_class": 2},
    "CosineSimilarity": {"axis": 1},
    "Huber": {"delta": 0.3},
}


@pytest.mark.parametrize("cls_name", [c.__name__ for c in L.CLASSES])
def test_config_round_trip(cls_name):
    cls = getattr(L, cls_name)
    loss = cls(name="my_loss", reduction="sum", **NON_DEFAULT.get(cls_name, {}))
    cfg = loss.get_config()
    assert cfg["name"] == "my_loss" and cfg["reduction"] == "sum"
    for key, value in NON_DEFAULT.get(cls_name, {}).items():
        assert cfg[key] == value
    again = cls.from_config(cfg)
    assert type(again) is cls and again.get_config() == cfg
    restored = L.deserialize(L.serialize(loss))
    assert type(restored) is cls and restored.get_config() == cfg
    assert L.serialize(loss)["class_name"] == cls_name


def test_default_names_and_wrapper_round_trip():
    assert L.BinaryCrossentropy().name == "binary_crossentropy"
    assert L.Huber().name == "huber_loss"
    assert L.LogCosh().name == "log_cosh"
    assert L.KLDivergence().name == "kl_divergence"
    assert L.MeanSquaredError().get_config() == {"name": "mean_squared_error", "reduction": "sum_over_batch_size"}
    wrapper = L.LossFunctionWrapper(L.huber, delta=2.0, name="w")
    cfg = wrapper.get_config()
    assert cfg["fn"] == {"module": "builtins", "class_name": "function", "config": "huber",
                         "registered_name": "function"} and cfg["delta"] == 2.0
    again = L.deserialize(L.serialize(wrapper))
    assert again.fn is L.huber and again.get_config() == cfg
    y_true, y_pred = DATA["reg"]
    np.testing.assert_allclose(np_(again(y_true, y_pred)), ref_huber(y_true, y_pred.astype(np.float64), 2.0).mean(),
                               rtol=RTOL)
    assert L.deserialize(L.serialize(L.mse)) is L.mean_squared_error
    assert L.deserialize("mse") is L.mean_squared_error


def test_custom_loss_subclass():
    class Scaled(L.Loss):
        def call(self, y_true, y_pred):
            return ops.multiply(ops.sum(ops.square(ops.subtract(y_true, y_pred)), axis=-1), 2.0)

    y_true, y_pred = DATA["reg"]
    got = Scaled(reduction="sum")(y_true, y_pred)
    np.testing.assert_allclose(np_(got), 2 * ((y_true.astype(np.float64) - y_pred) ** 2).sum(), rtol=RTOL)
    assert Scaled().name.startswith("scaled")
    with pytest.raises(NotImplementedError):
        L.Loss()(y_true, y_pred)
    cfg = L.serialize(Scaled(name="s"))
    assert cfg["class_name"] == "Scaled" and cfg["registered_name"] == "Scaled"
    assert isinstance(L.deserialize(cfg, custom_objects={"Scaled": Scaled}), Scaled)


# ----------------------------------------------------------------------------------------------------------------
# Gradients and compiled steps


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gradients_are_finite(case):
    fn_name, cls_name, kwargs, key = case
    y_true, y_pred = DATA[key]
    loss = getattr(L, cls_name)(**kwargs)
    # Differentiated inside a compiled step, as the trainer does (jax.jit; torch eager under no_grad).
    step = ops.compile_step(ops.value_and_grad(lambda params, t: loss(t, params[0])))
    value, grads = step([ops.convert_to_tensor(y_pred)], ops.convert_to_tensor(y_true))
    assert np.isfinite(np_(value)) and np.all(np.isfinite(np_(grads[0])))
    np.testing.assert_allclose(np_(value), np_(loss(y_true, y_pred)), rtol=1e-5)
    assert tuple(ops.shape(grads[0])) == y_pred.shape


def test_gradients_match_closed_forms():
    y_true, y_pred = DATA["reg"]
    _, (g,) = ops.value_and_grad(lambda p: L.MeanSquaredError()(y_true, p[0]))([ops.convert_to_tensor(y_pred)])
    np.testing.assert_allclose(np_(g), 2 * (y_pred - y_true) / y_true.size, rtol=1e-5, atol=1e-7)
    onehot, logits = DATA["cat_logits"]
    cce = L.CategoricalCrossentropy(from_logits=True)
    _, (g,) = ops.value_and_grad(lambda p: cce(onehot, p[0]))([ops.convert_to_tensor(logits)])
    softmax = np.exp(_log_softmax(logits.astype(np.float64)))
    np.testing.assert_allclose(np_(g), (softmax - onehot) / len(onehot), rtol=1e-5, atol=1e-7)
    scce = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    labels = np.array([1, 0, 3, 0], np.int32)
    _, (g,) = ops.value_and_grad(lambda p: scce(labels, p[0]))([ops.convert_to_tensor(logits)])
    expected = (softmax - np.eye(5)[labels]) / 2 * (labels != 0)[:, None]
    np.testing.assert_allclose(np_(g), expected, rtol=1e-5, atol=1e-7)
    zero = np.zeros((2, 3), np.float32)  # a zero vector has a finite cosine-similarity gradient
    _, (g,) = ops.value_and_grad(lambda p: L.CosineSimilarity()(zero + 1, p[0]))([ops.convert_to_tensor(zero)])
    assert np.all(np.isfinite(np_(g)))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_compiled_step_matches_eager(case):
    fn_name, cls_name, kwargs, key = case
    y_true, y_pred = DATA[key]
    loss = getattr(L, cls_name)(**kwargs)
    step = ops.compile_step(lambda t, p, w: loss(t, p, sample_weight=w))
    t, p = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
    w = ops.convert_to_tensor(np.linspace(0.5, 1.0, y_pred.shape[0]).astype(np.float32))
    if len(y_pred.shape) == 3:
        w = ops.reshape(w, (-1, 1))
    np.testing.assert_allclose(np_(step(t, p, w)), np_(loss(t, p, sample_weight=w)), rtol=1e-5)


# ----------------------------------------------------------------------------------------------------------------
# Against real Keras 3 (skipped when keras is not importable)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("keras")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_function_matches_keras(keras, case):
    fn_name, _, kwargs, key = case
    y_true, y_pred = DATA[key]
    expected = np.asarray(getattr(keras.losses, fn_name)(y_true, y_pred, **kwargs), np.float64)
    np.testing.assert_allclose(np_(getattr(L, fn_name)(y_true, y_pred, **kwargs)), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_class_matches_keras(keras, case, reduction):
    _, cls_name, kwargs, key = case
    y_true, y_pred = DATA[key]
    ours = getattr(L, cls_name)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, cls_name)(reduction=reduction, **kwargs)
    for sw in _weights_for(REFS[case[0]](y_true.astype(np.float64), y_pred.astype(np.float64), **kwargs).shape):
        expected = np.asarray(theirs(y_true, y_pred, sample_weight=sw), np.float64)
        np.testing.assert_allclose(np_(ours(y_true, y_pred, sample_weight=sw)), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sparse_ignore_class_matches_keras(keras, reduction):
    labels = np.array([[1], [-1], [0], [3]], np.int32)
    logits = DATA["sparse_logits"][1]
    sw = np.array([0.5, 1.0, 2.0, 0.0], np.float32)
    for weights in (None, sw):
        ours = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=reduction)
        theirs = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=reduction)
        np.testing.assert_allclose(np_(ours(labels, logits, sample_weight=weights)),
                                   np.asarray(theirs(labels, logits, sample_weight=weights)), rtol=RTOL, atol=ATOL)


def test_configs_interoperate_with_keras(keras):
    for cls in L.CLASSES:
        kwargs = NON_DEFAULT.get(cls.__name__, {})
        ours = cls(reduction="sum", name="x", **kwargs)
        theirs = keras.losses.deserialize(L.serialize(ours))
        assert type(theirs).__name__ == cls.__name__
        theirs_cfg = theirs.get_config()
        assert {k: v for k, v in ours.get_config().items() if k in theirs_cfg} == theirs_cfg
        back = L.deserialize(keras.losses.serialize(keras.losses.get(cls.__name__)))
        assert type(back) is cls
    assert set(n for n in dir(keras.losses) if n[0] != "_" and callable(getattr(keras.losses, n))) >= {
        c.__name__ for c in L.CLASSES} | {f.__name__ for f in L.FUNCTIONS}
    for name in ("mse", "MAE", "kld", "bce", "msle", "MAPE"):
        assert L.get(name).__name__ == keras.losses.get(name).__name__
