"""What ``compile`` resolves: the loss, the metrics (with Keras's shape-based "accuracy"), and their state.

Names are checked at compile time (with "did you mean" suggestions); the ones that depend on the data's shapes
("accuracy", "acc", "crossentropy", "ce") are resolved on the first batch, exactly as Keras 3 does.
"""

import numpy as np

from kshim import losses as klosses
from kshim import metrics as kmetrics
from kshim import ops

_SHAPE_DEPENDENT = ("accuracy", "acc", "crossentropy", "ce")


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


def _check_targets(loss_name, y_true_shape, y_pred_shape):
    """A clear error for targets whose shape cannot work with the loss (before anything is traced)."""
    yt, yp = tuple(y_true_shape), tuple(y_pred_shape)
    if "sparse" in loss_name:
        if not (len(yt) == len(yp) - 1 or (len(yt) == len(yp) and yt[-1] == 1)):
            raise ValueError(
                f"Loss '{loss_name}' expects integer class labels of shape {yp[:-1]} or {yp[:-1] + (1,)} for "
                f"predictions of shape {yp}. Received targets of shape {yt}."
            )
        return
    if loss_name in ("categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge",
                     "kl_divergence", "CategoricalCrossentropy", "CategoricalFocalCrossentropy"):
        if yt != yp:
            hint = ""
            if len(yt) == len(yp) - 1 or (len(yt) == len(yp) and yt[-1] == 1):
                hint = (" The targets look like integer class labels: use "
                        "loss='sparse_categorical_crossentropy', or one-hot encode them with "
                        "kshim.utils.to_categorical.")
            raise ValueError(f"Loss '{loss_name}' expects targets with the same shape as the predictions {yp}. "
                             f"Received targets of shape {yt}.{hint}")
        return
    if len(yt) == len(yp) and all(a == b or a == 1 or b == 1 for a, b in zip(yt, yp)):
        return
    if len(yt) == len(yp) - 1 and yp[-1] == 1 and yt == yp[:-1]:
        return
    raise ValueError(f"Loss '{loss_name}': targets of shape {yt} do not match predictions of shape {yp}.")


class CompileLoss:
    """The compiled loss for a single-output model (``loss_weights`` scales it)."""

    def __init__(self, loss, loss_weights=None):
        if loss is None:
            raise ValueError("compile: `loss` is required for training. Received: loss=None")
        if isinstance(loss, (list, tuple, dict)):
            if len(loss) != 1:
                raise ValueError("compile: this model has a single output, so `loss` must be a single loss. "
                                 f"Received {len(loss)} losses.")
            loss = list(loss.values())[0] if isinstance(loss, dict) else loss[0]
        if isinstance(loss_weights, (list, tuple)):
            loss_weights = loss_weights[0]
        elif isinstance(loss_weights, dict):
            loss_weights = list(loss_weights.values())[0]
        self.identifier = loss
        self.weight = None if loss_weights is None else float(loss_weights)
        self.fn = None
        if not (isinstance(loss, str) and loss in ("crossentropy", "ce")):
            self.fn = self._as_loss(klosses.get(loss))
        self.built = False

    @staticmethod
    def _as_loss(obj):
        if isinstance(obj, klosses.Loss):
            return obj
        if callable(obj):
            return klosses.LossFunctionWrapper(obj, name=_name_of(obj))
        raise ValueError(f"compile: could not interpret `loss`. Received: loss={obj!r}")

    def build(self, y_true_shape, y_pred_shape):
        if self.fn is None:
            self.fn = resolve_crossentropy(y_true_shape, y_pred_shape)
        name = _loss_name(self.identifier) if isinstance(self.identifier, str) else getattr(self.fn, "name", "")
        fn_name = getattr(getattr(self.fn, "fn", None), "__name__", "")
        _check_targets(fn_name or name, y_true_shape, y_pred_shape)
        self.built = True

    def __call__(self, y_true, y_pred, sample_weight=None):
        value = self.fn(y_true, y_pred, sample_weight=sample_weight)
        return ops.multiply(value, self.weight) if self.weight is not None else value


class CompileMetrics:
    """The loss tracker plus the compiled metrics, updated statelessly inside the step."""

    def __init__(self, metrics=None, weighted_metrics=None, loss_identifier=None):
        self.loss_tracker = kmetrics.Mean(name="loss")
        self.loss_identifier = loss_identifier
        self._pending = [(m, False) for m in _as_list("metrics", metrics)]  # Keras logs these first
        self._pending += [(m, True) for m in _as_list("weighted_metrics", weighted_metrics)]
        for identifier, _ in self._pending:
            if isinstance(identifier, str) and identifier not in _SHAPE_DEPENDENT:
                kmetrics.get(identifier)  # raises "did you mean" now, not at the first batch
        self.metrics = []
        self.weighted = []
        self.built = False

    def build(self, y_true_shape, y_pred_shape):
        for identifier, weighted in self._pending:
            self.metrics.append(self._resolve(identifier, y_true_shape, y_pred_shape))
            self.weighted.append(weighted)
        self._names = ["loss"] + self._log_names()
        self.built = True

    def _log_names(self):
        """Keras's log keys: a repeated name gets ``_1``, ``_2``; a weighted repeat becomes ``weighted_<name>``."""
        counts, names = {}, []
        for m, weighted in zip(self.metrics, self.weighted):
            name = m.name
            if name in counts:
                if weighted:
                    name = f"weighted_{m.name}"
                if name in counts:
                    counts[name] += 1
                    name = f"{name}_{counts[name] - 1}"
            counts.setdefault(name, 1)
            names.append(name)
        return names

    def _resolve(self, identifier, y_true_shape, y_pred_shape):
        if isinstance(identifier, str) and identifier in ("crossentropy", "ce"):
            metric = kmetrics.MeanMetricWrapper(resolve_crossentropy(y_true_shape, y_pred_shape).fn,
                                                name=identifier)
        else:
            metric = kmetrics.compile_metric(identifier, y_true_shape, y_pred_shape)
        metric.build(y_true_shape, y_pred_shape)  # metrics sized by the data (F1Score, multi-label AUC)
        return metric

    @property
    def all_metrics(self):
        return [self.loss_tracker] + self.metrics

    def variables(self):
        return [v for m in self.all_metrics for v in m.variables]

    def _slices(self):
        out, i = [], 0
        for m in self.all_metrics:
            n = len(m.variables)
            out.append((m, i, i + n))
            i += n
        return out

    def stateless_update(self, values, loss, batch_size, y_true, y_pred, sample_weight):
        """New metric values after one batch (pure: the metrics' own variables are untouched)."""
        new = []
        for k, (m, a, b) in enumerate(self._slices()):
            if k == 0:
                new.extend(m.stateless_update_state(values[a:b], loss, sample_weight=batch_size))
            else:
                sw = sample_weight if self.weighted[k - 1] else None
                new.extend(m.stateless_update_state(values[a:b], y_true, y_pred, sample_weight=sw))
        return new

    def stateless_results(self, values):
        """The results for the given metric values, as a list aligned with `names()` (a list, not a dict, so a
        compiled function keeps the order)."""
        return [m.stateless_result(values[a:b]) for m, a, b in self._slices()]

    def reset_values(self):
        return [v for m in self.all_metrics for v in m.stateless_reset_state()]

    def names(self):
        return self._names if self.built else [m.name for m in self.all_metrics]


def _as_list(arg, value):
    if value is None:
        return []
    if isinstance(value, dict):
        value = list(value.values())
        value = [v for item in value for v in (item if isinstance(item, (list, tuple)) else [item])]
    if isinstance(value, (str,)) or not isinstance(value, (list, tuple)):
        return [value]
    return list(value)


def shape_of_batch(x):
    if isinstance(x, (list, tuple)):
        return tuple(np.shape(x[0]))
    if isinstance(x, dict):
        return tuple(np.shape(next(iter(x.values()))))
    return tuple(ops.shape(x)) if ops.is_tensor(x) else tuple(np.shape(x))
