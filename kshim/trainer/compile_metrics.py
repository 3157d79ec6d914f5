"""The metrics ``compile`` resolves (with Keras's shape-based "accuracy"), the loss trackers, and their state.

Single output: every metric applies to it, logged under its own name (a repeat gets ``_1``, ``_2``; a weighted
repeat becomes ``weighted_<name>``). Several outputs, as Keras 3: ``metrics``/``weighted_metrics`` are a list with
one entry per output (a metric, a list of metrics, or None) or a dict keyed by output name; each is logged as
``<output name>_<metric name>``. The logs then run ``loss``, the per-output losses, then the metrics sorted by name:
the order Keras 3's ``evaluate`` returns its list in.

Names are checked at compile time (with "did you mean" suggestions); the ones that depend on the data's shapes
("accuracy", "acc", "crossentropy", "ce") are resolved on the first batch, per output, exactly as Keras 3 does.
"""

from kshim import metrics as kmetrics
from kshim.trainer.compile_loss import is_config, resolve_crossentropy

_SHAPE_DEPENDENT = ("accuracy", "acc", "crossentropy", "ce")


def _flatten(value):
    """Every metric in ``value`` (a metric, or lists/dicts of them), in order."""
    if value is None:
        return []
    if isinstance(value, dict) and not is_config(value):
        return [m for item in value.values() for m in (_flatten(item) if item is not None else [])]
    if isinstance(value, (list, tuple)):
        return [m for item in value for m in (_flatten(item) if isinstance(item, (list, tuple, dict)) else [item])]
    return [value]


def _entry(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [m for m in value if m is not None]
    return [value]


class CompileMetrics:
    """The loss tracker, the per-output loss trackers and the compiled metrics, updated statelessly in the step."""

    def __init__(self, metrics=None, weighted_metrics=None, loss_identifier=None):
        self.loss_tracker = kmetrics.Mean(name="loss")
        self.loss_identifier = loss_identifier
        self._user = (metrics, weighted_metrics)
        for identifier in _flatten(metrics) + _flatten(weighted_metrics):
            if isinstance(identifier, str) and identifier not in _SHAPE_DEPENDENT:
                kmetrics.get(identifier)  # raises "did you mean" now, not at the first batch
        self._pending = []  # (identifier, weighted, output index), in Keras's naming order
        self.output_loss_trackers = []
        self.metrics = []
        self.weighted = []
        self.output_index = []
        self.outputs = None
        self._compile_loss = None
        self.built = False

    # -- structure -----------------------------------------------------------------------------------------------
    def configure(self, outputs):
        """Line the metrics up with the model's outputs; returns the indices of outputs with metrics."""
        self.outputs = outputs
        metrics, weighted_metrics = self._user
        if len(outputs) == 1:
            self._pending = [(m, False, 0) for m in _flatten(metrics)]  # Keras logs these first
            self._pending += [(m, True, 0) for m in _flatten(weighted_metrics)]
        else:
            self._pending = []
            for arg, value, weighted in (("metrics", metrics, False), ("weighted_metrics", weighted_metrics, True)):
                for i, entry in enumerate(self._per_output(arg, value, outputs)):
                    self._pending += [(m, weighted, i) for m in _entry(entry)]
        return sorted({i for _, _, i in self._pending})

    @staticmethod
    def _per_output(arg, value, outputs):
        n = len(outputs)
        if not value:
            return [None] * n
        if isinstance(value, dict) and not is_config(value):
            for k in value:
                outputs.check_name(k, arg)
            return [value.get(name) for name in outputs.names]
        if isinstance(value, (list, tuple)) and len(value) == n:
            return list(value)
        raise ValueError(f"compile: {outputs.describe()}, so `{arg}` must be a list with one entry per output (a "
                         f"metric, a list of metrics, or None) or a dict keyed by output name. Received: "
                         f"{arg}={value!r}")

    # -- resolving from the first batch --------------------------------------------------------------------------
    def build(self, y_true_shapes, compile_loss=None):
        """Resolve the metrics from each output's target shape (``y_true_shapes``: one per output)."""
        self._compile_loss = compile_loss
        seen = set()
        resolved = []
        for identifier, weighted, i in self._pending:
            y_shape = tuple(y_true_shapes[i])
            pred_shape = (y_shape[0],) + tuple(self.outputs.shapes[i][1:])
            metric = self._resolve(identifier, y_shape, pred_shape)
            if id(metric) in seen and len(self.outputs) > 1:  # one object for two outputs: each gets its own state
                try:
                    metric = type(metric).from_config(metric.get_config())
                except (TypeError, ValueError, NotImplementedError, KeyError) as e:
                    raise ValueError(f"compile: the metric object '{metric.name}' is given for more than one output "
                                     "and cannot be copied from its config; pass a separate instance for each "
                                     "output.") from e
                metric.build(y_shape, pred_shape)
            seen.add(id(metric))
            resolved.append((metric, weighted, i))
        if len(self.outputs) == 1:
            for metric, weighted, _ in resolved:
                self.metrics.append(metric)
                self.weighted.append(weighted)
                self.output_index.append(0)
            self._names = ["loss"] + self._log_names()
        else:
            tracked = compile_loss.tracked if compile_loss is not None else []
            self.output_loss_trackers = [kmetrics.Mean(name=f"{name}_loss") for _, name in tracked]
            named = sorted(zip(self._multi_output_log_names(resolved), range(len(resolved))))
            for _, k in named:
                metric, weighted, i = resolved[k]
                self.metrics.append(metric)
                self.weighted.append(weighted)
                self.output_index.append(i)
            self._names = (["loss"] + [t.name for t in self.output_loss_trackers] + [name for name, _ in named])
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

    def _multi_output_log_names(self, resolved):
        """Keras 3's keys for several outputs: ``<output>_<metric>``; a repeat gets ``_1``, ``_2``; a weighted
        repeat becomes ``<output>_weighted_<metric>`` (then ``_1``, ...)."""
        counts, names = {}, []
        for metric, weighted, i in resolved:
            prefix = self.outputs.names[i]
            name = f"{prefix}_{metric.name}"
            if name not in counts:
                counts[name] = 1
            elif not weighted:
                counts[name] += 1
                name = f"{name}_{counts[name] - 1}"
            else:
                name = f"{prefix}_weighted_{metric.name}"
                if name not in counts:
                    counts[name] = 1
                else:
                    counts[name] += 1
                    name = f"{name}_{counts[name] - 1}"
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

    # -- state ---------------------------------------------------------------------------------------------------
    @property
    def all_metrics(self):
        return [self.loss_tracker] + self.output_loss_trackers + self.metrics

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
        o = self.outputs
        if o is None:  # never lined up with targets (a model trained on its layers' losses): the loss alone
            m, a, b = self._slices()[0]
            return list(m.stateless_update_state(values[a:b], loss, sample_weight=batch_size)) + list(values[b:])
        targets, preds = o.align(y_true, "y"), o.pick(y_pred)
        weights = o.align(sample_weight, "sample_weight")
        n_trackers = len(self.output_loss_trackers)
        per_output = []
        if n_trackers:
            per_output = self._compile_loss.output_losses(y_true, y_pred, sample_weight)
        new = []
        for k, (m, a, b) in enumerate(self._slices()):
            if k == 0:
                new.extend(m.stateless_update_state(values[a:b], loss, sample_weight=batch_size))
            elif k <= n_trackers:
                new.extend(m.stateless_update_state(values[a:b], per_output[k - 1], sample_weight=batch_size))
            else:
                j = k - 1 - n_trackers
                i = self.output_index[j]
                sw = weights[i] if self.weighted[j] else None
                new.extend(m.stateless_update_state(values[a:b], targets[i], preds[i], sample_weight=sw))
        return new

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Update the compiled metrics (not the loss trackers) from one batch, in place: Keras's default
        ``compute_metrics``."""
        o = self.outputs
        if o is None:  # never lined up with targets (a model trained on its layers' losses): the loss alone
            m, a, b = self._slices()[0]
            return list(m.stateless_update_state(values[a:b], loss, sample_weight=batch_size)) + list(values[b:])
        targets, preds = o.align(y_true, "y"), o.pick(y_pred)
        weights = o.align(sample_weight, "sample_weight")
        for j, m in enumerate(self.metrics):
            i = self.output_index[j]
            m.update_state(targets[i], preds[i], sample_weight=weights[i] if self.weighted[j] else None)

    def stateless_results(self, values):
        """The results for the given metric values, as a list aligned with `names()` (a list, not a dict, so a
        compiled function keeps the order)."""
        return [m.stateless_result(values[a:b]) for m, a, b in self._slices()]

    def reset_values(self):
        return [v for m in self.all_metrics for v in m.stateless_reset_state()]

    def names(self):
        return self._names if self.built else [m.name for m in self.all_metrics]
