"""The `Loss` base class and the reduction of per-sample losses, with Keras 3's semantics.

A loss object maps ``(y_true, y_pred)`` to per-sample values with `Loss.call`, then `reduce_weighted_values`
weights them by ``sample_weight`` (and an optional mask) and reduces them:

- ``"sum_over_batch_size"`` (the default) and ``"mean"``: the weighted sum divided by the number of loss values
  (not by the sum of the weights);
- ``"sum"``: the weighted sum;
- ``"mean_with_sample_weight"``: the weighted sum divided by the sum of the sample weights;
- ``"none"`` or None: the weighted per-sample values.
"""

from kshim import config, ops
from kshim.registry import Configurable
from kshim.common.naming import to_snake_case, uniquify

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction, owner="Loss"):
    """``reduction`` if it is one of `REDUCTIONS`, else a ValueError naming it."""
    if not (reduction is None or isinstance(reduction, str)) or reduction not in REDUCTIONS:
        raise ValueError(
            f"{owner}: `reduction` must be one of {list(REDUCTIONS)}. Received: reduction={reduction!r}"
        )
    return reduction


def to_tensor(x, dtype):
    """``x`` as a backend tensor of ``dtype`` (a cast when it already is a tensor)."""
    if ops.is_tensor(x):
        return ops.cast(x, dtype)
    return ops.convert_to_tensor(x, dtype=dtype)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Make the ranks of ``x1`` and ``x2`` equal when they differ by one and the longer ends in a 1-axis.

    As Keras: a rank-1 tensor gains a trailing axis (``expand_rank_1``), any other drops the extra one.
    """
    r1, r2 = len(ops.shape(x1)), len(ops.shape(x2))
    if r1 == r2 + 1 and ops.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, axis=-1)
    elif r2 == r1 + 1 and ops.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, axis=-1)
    return x1, x2


def _divide_no_nan(x, y):
    """x / y, or 0 where y == 0 (y a tensor)."""
    zero = ops.equal(y, 0)
    return ops.where(zero, ops.zeros_like(x), ops.divide(x, ops.where(zero, ops.ones_like(y), y)))


def _num_elements(x):
    n = 1
    for d in ops.shape(x):
        n *= int(d)
    return n


def apply_mask(sample_weight, mask, dtype, reduction):
    """Merge a boolean ``mask`` of the loss values into ``sample_weight``, as Keras 3.

    For "sum_over_batch_size" and "mean", the valid entries get weight ``total / valid`` so that the reduction
    divides by the number of valid entries instead of all of them.
    """
    if mask is None:
        return sample_weight
    if reduction in ("sum_over_batch_size", "mean"):
        bool_mask = ops.cast(mask, "bool")
        valid = ops.sum(ops.cast(bool_mask, dtype))
        total = ops.full_like(valid, float(_num_elements(mask)))
        mask_weight = _divide_no_nan(total, valid)
        float_mask = ops.where(bool_mask, mask_weight, ops.zeros_like(mask_weight))
    else:
        float_mask = ops.cast(mask, dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, ops.cast(sample_weight, dtype))
    return ops.multiply(sample_weight, float_mask)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduce (already weighted) ``values``; ``sample_weight`` is only read by "mean_with_sample_weight".

    As Keras, scalars and empty 1-D values are returned unreduced.
    """
    shape = tuple(ops.shape(values))
    if reduction is None or reduction == "none" or shape == () or shape == (0,):
        return values
    loss = ops.sum(values)
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            loss = _divide_no_nan(loss, ops.cast(ops.sum(sample_weight), ops.dtype(loss)))
        else:
            n = _num_elements(values)
            loss = ops.divide(loss, float(n)) if n else ops.multiply(loss, 0.0)
    return loss


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size", dtype=None):
    """Weight per-sample ``values`` by ``sample_weight`` and ``mask`` and reduce them (see the module doc).

    ``sample_weight`` broadcasts against the values after their ranks are matched as Keras does: a trailing
    axis of length 1 is squeezed or added when the ranks differ by one.
    """
    reduction = standardize_reduction(reduction)
    dtype = dtype or config.floatx()
    values = to_tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, dtype)
    sample_weight = apply_mask(sample_weight, mask, dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = ops.multiply(values, sample_weight)
    return reduce_values(values, sample_weight, reduction)


def _standardize_dtype(dtype, owner):
    if dtype is None:
        return config.floatx()
    name = getattr(dtype, "compute_dtype", None) or getattr(dtype, "name", None) or dtype
    if not isinstance(name, str) or not ops.is_float_dtype(name):
        raise ValueError(f"{owner}: `dtype` must be a float dtype name such as 'float32'. Received: dtype={dtype!r}")
    return name


class Loss(Configurable):
    """Base class of losses: subclass it and implement ``call(y_true, y_pred)`` returning per-sample losses.

    Args:
        name: the loss's name; defaults to the snake-case class name.
        reduction: one of "sum_over_batch_size" (default), "sum", "mean", "mean_with_sample_weight",
            "none" or None (see `reduce_weighted_values`).
        dtype: the dtype of the computation; defaults to `kshim.config.floatx()`.

    ``loss(y_true, y_pred, sample_weight=None)`` converts both inputs to ``dtype``, calls `call` and reduces.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        owner = type(self).__name__
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{owner}: `name` must be a string or None. Received: name={name!r}")
        self.name = name or uniquify(to_snake_case(owner))
        self.reduction = standardize_reduction(reduction, owner)
        self._dtype = _standardize_dtype(dtype, owner)

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None):
        """The reduced loss. ``mask`` (optional, boolean, shaped like the per-sample losses) marks the valid
        entries, as Keras's mask on ``y_pred``: masked-out entries count neither in the sum nor the divisor."""
        y_pred = to_tensor(y_pred, self._dtype)
        if self._integer_targets:
            self._check_host_labels(y_true, y_pred)
        if not (self._integer_targets and ops.is_tensor(y_true) and ops.is_int_dtype(ops.dtype(y_true))):
            y_true = to_tensor(y_true, self._dtype)  # integer labels of sparse losses skip a float round trip
        values, out_mask = self._call_with_mask(y_true, y_pred)
        if mask is not None and out_mask is not None:
            mask = ops.logical_and(ops.cast(mask, "bool"), out_mask)
        elif mask is None:
            mask = out_mask
        return reduce_weighted_values(values, sample_weight=sample_weight, mask=mask, reduction=self.reduction,
                                      dtype=self._dtype)

    _integer_targets = False  # True: y_true holds integer labels, not cast to the loss dtype when integers

    def _check_host_labels(self, y_true, y_pred):
        """Integer labels given on the host (numpy) are checked against the number of classes (overridden)."""

    def _call_with_mask(self, y_true, y_pred):
        """(per-sample losses, boolean mask of the valid ones or None). Overridden by losses that mask."""
        return self.call(y_true, y_pred), None

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Loss must implement `call`.")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"
