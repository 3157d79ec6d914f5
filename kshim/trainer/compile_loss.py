"""The loss ``compile`` resolves: one loss for a single-output model, or one per output for a model with several.

For several outputs ``loss`` is a single loss (applied to every output), a list with one loss per output, or a dict
keyed by output name (an output that is missing, or given None, has no loss); ``loss_weights`` is a list or a dict
(a missing output weighs 1). The total is the sum of the weighted per-output losses, as in Keras 3; when more than
one output has a loss, the metrics also track each output's *unweighted* loss as ``<output name>_loss``.

Names are checked at compile time (with "did you mean" suggestions). The structure is checked against the model's
outputs on the first batch, when the model is known, and "crossentropy"/"ce" are resolved there from the target
and prediction shapes of each output, as Keras 3 does.
"""

import numbers

import numpy as np

from kshim import losses as klosses
from kshim import ops

_CROSSENTROPY = ("crossentropy", "ce")


def _name_of(fn):
    return getattr(fn, "name", None) or getattr(fn, "__name__", None) or type(fn).__name__


def _loss_name(identifier):
    if isinstance(identifier, str):
        return identifier
    return getattr(identifier, "name", None) or getattr(identifier, "__name__", "")


def resolve_crossentropy(y_true_shape, y_pred_shape):
    """The crossentropy Keras picks for "crossentropy"/"ce" from the target and prediction shapes."""
    if y_pred_shape[-1] == 1:
        return klosses.BinaryCrossentropy()
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] != 1):
        return klosses.SparseCategoricalCrossentropy()
    return klosses.CategoricalCrossentropy()


def _dims_agree(a, b, broadcast=False):
    """Two dims agree when either is unknown (None) or they are equal (or, with `broadcast`, either is 1)."""
    return a is None or b is None or a == b or (broadcast and (a == 1 or b == 1))


def _shapes_agree(a, b, broadcast=False):
    return len(a) == len(b) and all(_dims_agree(x, y, broadcast) for x, y in zip(a, b))


def check_targets(loss_name, y_true_shape, y_pred_shape, output=""):
    """A clear error for targets whose shape cannot work with the loss (before anything is traced). An unknown
    (None) dim of either side agrees with anything, as in Keras 3 (a `(None, None, 26)` sequence output)."""
    yt, yp = tuple(y_true_shape), tuple(y_pred_shape)
    where = f" (output '{output}')" if output else ""
    if "sparse" in loss_name:
        if not (len(yt) == len(yp) - 1 or (len(yt) == len(yp) and _dims_agree(yt[-1], 1))):
            raise ValueError(
                f"Loss '{loss_name}'{where} expects integer class labels of shape {yp[:-1]} or {yp[:-1] + (1,)} "
                f"for predictions of shape {yp}. Received targets of shape {yt}."
            )
        return
    if loss_name in ("categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge",
                     "kl_divergence", "CategoricalCrossentropy", "CategoricalFocalCrossentropy"):
        if not _shapes_agree(yt, yp):
            hint = ""
            if len(yt) == len(yp) - 1 or (len(yt) == len(yp) and yt[-1] == 1):
                hint = (" The targets look like integer class labels: use "
                        "loss='sparse_categorical_crossentropy', or one-hot encode them with "
                        "kshim.utils.to_categorical.")
            raise ValueError(f"Loss '{loss_name}'{where} expects targets with the same shape as the predictions "
                             f"{yp}. Received targets of shape {yt}.{hint}")
        return
    if _shapes_agree(yt, yp, broadcast=True):
        return
    if len(yt) == len(yp) - 1 and _dims_agree(yp[-1], 1) and _shapes_agree(yt, yp[:-1]):
        return
    raise ValueError(f"Loss '{loss_name}'{where}: targets of shape {yt} do not match predictions of shape {yp}.")


def _as_loss(obj):
    if isinstance(obj, klosses.Loss):
        return obj
    if callable(obj):
        return klosses.LossFunctionWrapper(obj, name=_name_of(obj))
    raise ValueError(f"compile: could not interpret `loss`. Received: loss={obj!r}")


def is_config(value):
    """A ``{"class_name": ..., "config": ...}`` dict names one object, not one per output."""
    return isinstance(value, dict) and "class_name" in value


def _leaves(value):
    if is_config(value):
        return [value]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _leaves(item)]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _leaves(item)]
    return [value]


def _check_weight(value, arg="loss_weights"):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"compile: each entry of `{arg}` must be a number. Received: {arg}={value!r}")
    return float(value)


class CompileLoss:
    """The compiled loss: ``loss(y_true, y_pred, sample_weight)`` is the weighted total over the outputs."""

    def __init__(self, loss, loss_weights=None):
        if loss is None:
            raise ValueError("compile: `loss` is required for training. Received: loss=None")
        for leaf in _leaves(loss):  # unknown names raise "did you mean" now, not at the first batch
            if leaf is not None and not (isinstance(leaf, str) and leaf in _CROSSENTROPY):
                _as_loss(klosses.get(leaf))
        for w in _leaves(loss_weights) if isinstance(loss_weights, (list, tuple, dict)) else [loss_weights]:
            _check_weight(w)
        self.identifier = loss
        self.loss_weights = loss_weights
        self.outputs = None
        self.entries = []  # (output index, identifier, loss, weight) for each output with a loss
        self.tracked = []  # (output index, output name) of the losses the metrics track one by one
        self.fn = None
        self.weight = None
        self.built = False

    # -- structure -----------------------------------------------------------------------------------------------
    def configure(self, outputs):
        """Line the losses and weights up with the model's outputs; returns the indices of outputs with a loss."""
        self.outputs = outputs
        if len(outputs) == 1:
            loss, weight = self._single(self.identifier, self.loss_weights, outputs)
            self.entries = [(0, loss, None, weight)]
            return [0]
        per_output = self._per_output_losses(outputs)
        weights = self._per_output_weights(outputs)
        order = range(len(outputs))
        if outputs.keyed and isinstance(self.identifier, dict):  # Keras 3 walks a loss dict in its own order
            order = [outputs.names.index(k) for k in self.identifier]
        self.entries = [(i, per_output[i], None, weights[i]) for i in order if per_output[i] is not None]
        if not self.entries:
            raise ValueError(f"compile: `loss` gives none of the outputs a loss ({outputs.describe()}). Received: "
                             f"loss={self.identifier!r}")
        if len(self.entries) > 1:
            self.tracked = [(i, outputs.names[i]) for i, _, _, _ in self.entries]
        return [i for i, _, _, _ in self.entries]

    @staticmethod
    def _single(loss, loss_weights, outputs):
        if isinstance(loss, (list, tuple, dict)) and not is_config(loss):
            if len(loss) != 1:
                raise ValueError("compile: this model has a single output, so `loss` must be a single loss. "
                                 f"Received {len(loss)} losses.")
            if isinstance(loss, dict):  # the key must name the output, as in Keras 3 (never silently ignored)
                outputs.check_name(next(iter(loss)), "loss")
            loss = list(loss.values())[0] if isinstance(loss, dict) else loss[0]
        if isinstance(loss_weights, (list, tuple, dict)):
            if len(loss_weights) != 1:
                raise ValueError(f"compile: {outputs.describe()}, so `loss_weights` must hold one weight. "
                                 f"Received: loss_weights={loss_weights!r}")
            if isinstance(loss_weights, dict):
                outputs.check_name(next(iter(loss_weights)), "loss_weights")
            loss_weights = list(loss_weights.values())[0] if isinstance(loss_weights, dict) else loss_weights[0]
        if loss is None:
            raise ValueError("compile: `loss` is required for training. Received: loss=None")
        return loss, None if loss_weights is None else float(loss_weights)

    def _per_output_losses(self, outputs):
        loss = self.identifier
        if isinstance(loss, dict) and not is_config(loss):
            for k in loss:
                outputs.check_name(k, "loss")
            return [loss.get(name) for name in outputs.names]
        if isinstance(loss, (list, tuple)):
            if len(loss) != len(outputs):
                raise ValueError(f"compile: {outputs.describe()}, but `loss` is a list of {len(loss)} losses. Pass "
                                 "one loss per output (None for an output without a loss), a dict keyed by output "
                                 f"name, or a single loss for every output. Received: loss={loss!r}")
            return list(loss)
        return [loss] * len(outputs)

    def _per_output_weights(self, outputs):
        lw = self.loss_weights
        if lw is None:
            return [None] * len(outputs)
        if isinstance(lw, dict):
            for k in lw:
                outputs.check_name(k, "loss_weights")
            return [_check_weight(lw.get(name)) for name in outputs.names]
        if isinstance(lw, (list, tuple)):
            if len(lw) != len(outputs):
                raise ValueError(f"compile: {outputs.describe()}, but `loss_weights` is a list of {len(lw)} weights. "
                                 f"Pass one weight per output or a dict keyed by output name. Received: "
                                 f"loss_weights={lw!r}")
            return [_check_weight(w) for w in lw]
        raise ValueError(f"compile: {outputs.describe()}, so `loss_weights` must be a list with one weight per "
                         f"output or a dict keyed by output name. Received: loss_weights={lw!r}")

    # -- resolving from the first batch --------------------------------------------------------------------------
    def build(self, y_true_shapes):
        """Resolve each loss from its output's target shape (``y_true_shapes``: one per output, None if none)."""
        resolved = []
        for i, identifier, _, weight in self.entries:
            y_shape = tuple(y_true_shapes[i])
            pred_shape = (y_shape[0],) + tuple(self.outputs.shapes[i][1:])
            if isinstance(identifier, str) and identifier in _CROSSENTROPY:
                fn = resolve_crossentropy(y_shape, pred_shape)
            else:
                fn = _as_loss(klosses.get(identifier))
            name = _loss_name(identifier) if isinstance(identifier, str) else getattr(fn, "name", "")
            fn_name = getattr(getattr(fn, "fn", None), "__name__", "")
            check_targets(fn_name or name, y_shape, pred_shape, self.outputs.names[i] if len(self.outputs) > 1
                          else "")
            resolved.append((i, identifier, fn, weight))
        self.entries = resolved
        if len(self.outputs) == 1:
            self.fn, self.weight = resolved[0][2], resolved[0][3]
        self.built = True

    def check_host_targets(self, y):
        """Check targets still on the host (numpy) before a step: a sparse loss's labels must lie in
        ``[0, num_classes)``. A compiled step cannot raise on a value without a host sync, so this is where a
        label out of range becomes a ValueError instead of a silent loss of 0."""
        if not self.built or y is None:
            return
        targets = self.outputs.align(y, "y")
        for i, _, fn, _ in self.entries:
            check = getattr(fn, "_check_host_labels", None)
            per_sample = tuple(self.outputs.shapes[i][1:])
            if check is not None and isinstance(targets[i], np.ndarray) and per_sample and per_sample[-1]:
                # an empty stand-in for the predictions: only its class axis is read (unknown dims are 0)
                check(targets[i], np.empty((0,) + tuple(d or 0 for d in per_sample), "float32"))

    # -- the loss ------------------------------------------------------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight=None):
        if len(self.outputs) == 1:
            o = self.outputs
            value = self.fn(o.align(y_true, "y")[0], o.pick(y_pred)[0],
                            sample_weight=o.align(sample_weight, "sample_weight")[0])
            return ops.multiply(value, self.weight) if self.weight is not None else value
        total = None
        for (_, _, _, weight), value in zip(self.entries, self.output_losses(y_true, y_pred, sample_weight)):
            if weight is not None:
                value = ops.multiply(value, weight)
            total = value if total is None else ops.add(total, value)
        return total

    def output_losses(self, y_true, y_pred, sample_weight=None):
        """The unweighted loss of each output that has one, in the order the total sums them (Keras 3's: the
        outputs' order, or a loss dict's own order for a model with dict outputs)."""
        o = self.outputs
        targets, preds = o.align(y_true, "y"), o.pick(y_pred)
        weights = o.align(sample_weight, "sample_weight")
        return [fn(targets[i], preds[i], sample_weight=weights[i]) for i, _, fn, _ in self.entries]
