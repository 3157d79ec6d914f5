"""Losses Keras 3 added for segmentation, metric learning, noisy labels and sequences: Dice, Tversky, Circle, the
categorical generalized cross entropy and CTC, as functions and classes, with Keras 3's formulas and configs."""

import numbers

from kshim import config, ops
from kshim.losses.classes import LossFunctionWrapper
from kshim.losses.loss import Loss

_SUM = "sum_over_batch_size"


def _pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    return ops.cast(y_true, ops.dtype(y_pred)), y_pred


def dice(y_true, y_pred, axis=None):
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon)`` over ``axis`` (all axes when
    None, as in Keras 3)."""
    y_true, y_pred = _pair(y_true, y_pred)
    overlap = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    total = ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)), config.epsilon())
    return ops.subtract(1.0, ops.divide(ops.multiply(2.0, overlap), total))


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """``1 - TP / (TP + alpha * FP + beta * FN + epsilon)``, with Keras 3's soft counts: ``TP = sum(t * p)``,
    ``FP = sum((1 - p) * t)`` and ``FN = sum(p * (1 - t))`` (Keras's naming, kept for equal numbers)."""
    y_true, y_pred = _pair(y_true, y_pred)
    tp = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    fp = ops.sum(ops.multiply(ops.subtract(1.0, y_pred), y_true), axis=axis)
    fn = ops.sum(ops.multiply(y_pred, ops.subtract(1.0, y_true)), axis=axis)
    denominator = ops.add(ops.add(ops.add(tp, ops.multiply(fp, alpha)), ops.multiply(fn, beta)), config.epsilon())
    return ops.subtract(1.0, ops.divide(tp, denominator))


def _pos_neg_masks(labels, ref_labels, remove_diagonal):
    labels = ops.reshape(labels, (-1, 1))
    ref_labels = ops.reshape(ref_labels, (1, -1))
    positive = ops.equal(labels, ref_labels)
    negative = ops.logical_not(positive)
    if remove_diagonal:
        n, m = ops.shape(labels)[0], ops.shape(ref_labels)[1]
        positive = ops.logical_and(positive, ops.logical_not(ops.cast(ops.eye(n, m), "bool")))
    return positive, negative


def circle_with_mask(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80,
                     margin=0.4):
    """(per-sample circle losses, mask of the positive ones): a loss object averages over the positive ones only,
    as Keras 3 does through the mask it attaches."""
    y_pred = ops.convert_to_tensor(y_pred)
    labels = ops.cast(y_true, "int32")
    refs = y_pred if ref_embeddings is None else ops.convert_to_tensor(ref_embeddings)
    ref_labels = labels if ref_labels is None else ops.cast(ref_labels, "int32")
    distances = ops.relu(ops.subtract(1.0, ops.matmul(y_pred, ops.transpose(refs))))
    positive, negative = _pos_neg_masks(labels, ref_labels, remove_diagonal)
    dtype = ops.dtype(distances)
    pos_weights = ops.relu(ops.multiply(ops.add(margin, distances), ops.cast(positive, dtype)))
    neg_weights = ops.relu(ops.multiply(ops.subtract(1.0 + margin, distances), ops.cast(negative, dtype)))
    pos_terms = ops.multiply(-gamma, ops.multiply(pos_weights, ops.subtract(margin, distances)))
    neg_terms = ops.multiply(gamma, ops.multiply(neg_weights, ops.subtract(1.0 - margin, distances)))
    p_loss = ops.logsumexp(ops.where(positive, pos_terms, float("-inf")), axis=1)
    n_loss = ops.logsumexp(ops.where(negative, neg_terms, float("-inf")), axis=1)
    losses = ops.softplus(ops.add(p_loss, n_loss))
    return losses, ops.greater(losses, 0.0)


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    """Circle loss (Sun et al., 2020) of L2-normalized embeddings ``y_pred`` with integer labels ``y_true``,
    against ``ref_embeddings``/``ref_labels`` (the batch itself by default)."""
    return circle_with_mask(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, gamma, margin)[0]


circle._kshim_with_mask = circle_with_mask
circle._kshim_integer_targets = True


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """``(1 - p ** q) / q`` with ``p`` the predicted probability of the integer label ``y_true`` (Zhang & Sabuncu,
    2018): between categorical crossentropy (q -> 0) and mean absolute error (q = 1)."""
    y_pred = ops.convert_to_tensor(y_pred)
    labels = ops.cast(y_true, "int32")
    p = ops.sum(ops.multiply(y_pred, ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=ops.dtype(y_pred))), axis=-1)
    return ops.divide(ops.subtract(1.0, ops.power(p, q)), q)


categorical_generalized_cross_entropy._kshim_integer_targets = True


class _Configured(LossFunctionWrapper):
    """A wrapper whose config is name, reduction, dtype and ``_args`` (attributes of the same names)."""

    _args = ()

    def get_config(self):
        return {**Loss.get_config(self), **{k: getattr(self, k) for k in self._args}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _axis_arg(owner, axis):
    if axis is not None and not isinstance(axis, (int, tuple, list)):
        raise ValueError(f"{owner}: `axis` must be an int, a tuple of ints or None. Received: axis={axis!r}")
    return tuple(axis) if isinstance(axis, list) else axis


class Dice(_Configured):
    """The Dice loss (`dice`)."""

    _args = ("axis",)

    def __init__(self, reduction=_SUM, name="dice", axis=None, dtype=None):
        self.axis = _axis_arg("Dice", axis)
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=self.axis)


class Tversky(_Configured):
    """The Tversky loss (`tversky`): ``alpha`` weighs false positives, ``beta`` false negatives."""

    _args = ("alpha", "beta", "axis")

    def __init__(self, alpha=0.5, beta=0.5, reduction=_SUM, name="tversky", axis=None, dtype=None):
        for arg, value in (("alpha", alpha), ("beta", beta)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(f"Tversky: `{arg}` must be a float. Received: {arg}={value!r}")
        self.alpha, self.beta, self.axis = alpha, beta, _axis_arg("Tversky", axis)
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta,
                         axis=self.axis)


class Circle(_Configured):
    """The circle loss (`circle`) over the batch's own embeddings."""

    _args = ("gamma", "margin", "remove_diagonal")

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction=_SUM, name="circle", dtype=None):
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)


class CategoricalGeneralizedCrossEntropy(_Configured):
    """The generalized cross entropy (`categorical_generalized_cross_entropy`) with ``q`` in (0, 1)."""

    _args = ("q",)

    def __init__(self, q=0.5, reduction=_SUM, name="categorical_generalized_cross_entropy", dtype=None):
        if not isinstance(q, numbers.Real) or isinstance(q, bool) or not 0 < q < 1:
            raise ValueError("CategoricalGeneralizedCrossEntropy: `q` must be in the open interval (0, 1). "
                             f"Received: q={q!r}")
        self.q = q
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)


def ctc(y_true, y_pred):
    """`ops.ctc_loss` per sequence for labels ``y_true`` (batch, max_length), 0 (the blank) as padding, and
    logits ``y_pred`` (batch, steps, classes), every step used (as Keras 3)."""
    if len(ops.shape(y_true)) != 2:
        raise ValueError("ctc: `y_true` must be (batch_size, max_length) integer labels. "
                         f"Received: y_true.shape={ops.shape(y_true)}")
    if len(ops.shape(y_pred)) != 3:
        raise ValueError("ctc: `y_pred` must be (batch_size, max_length, num_classes) logits. "
                         f"Received: y_pred.shape={ops.shape(y_pred)}")
    batch, steps = ops.shape(y_pred)[0], ops.shape(y_pred)[1]
    output_length = ops.multiply(ops.ones((batch,), dtype="int32"), steps)
    target_length = ops.cast(ops.sum(ops.cast(ops.not_equal(y_true, 0), "int32"), axis=-1), "int32")
    return ops.ctc_loss(y_true, y_pred, target_length, output_length, mask_index=0)


class CTC(LossFunctionWrapper):
    """The CTC loss (`ctc`)."""

    def __init__(self, reduction=_SUM, name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


SET_FUNCTIONS = (dice, tversky, circle, categorical_generalized_cross_entropy, ctc)
SET_CLASSES = (Dice, Tversky, Circle, CategoricalGeneralizedCrossEntropy, CTC)
