"""The overridable steps of `Model` (``train_step``, ``test_step``, ``compute_loss``, ``compute_metrics``,
``metrics``), with Keras 3's contract for the backend, and the train/test functions the one fit loop calls.

The backend answers one question, ``ops.stateless_steps()``:
- stateless (jax): ``train_step(self, state, data) -> (logs, state)`` with ``state = (trainable values,
  non-trainable values, optimizer values, metric values)``; ``test_step(self, state, data)`` with ``state =
  (trainable, non-trainable, metric values)``. The loop compiles the user's step like the built-in one
  (``jit_compile=False``/``run_eagerly=True``: eagerly).
- stateful (torch): ``train_step(self, data) -> logs``, which reads and assigns the variables itself and
  differentiates with ``loss.backward()``: before each step the trainable values become fresh leaves of autograd
  (`ops.trainable_leaf`), so ``variable.value.grad`` holds the gradient; after it every value is detached.
  Where the loop would compile the built-in step with the backend's default (``jit_compile="auto"``), the user's
  step is turned into a pure function of the variables' values and the batch (run on swapped-in values, the
  values it leaves read back) and given to `ops.compile_stateful_step`: torch records it, backward included,
  and replays it where its check finds that bit-identical to running it eagerly. A step that changes a variable
  the model does not hold, or asks torch for its parameters (``self.parameters()``), runs eagerly instead (the
  reason is in ``model.train_function.eager_reason``), as do steps the replay itself refuses (Python attributes
  the step changes, host reads: see `kshim.backends.torch.replay`).

A model that overrides none of the step methods runs the built-in compiled step over the compiled metrics' values
(`kshim.trainer.step.StepFunctions`): the same math as the default ``train_step`` here, with lazy logs, and the
bits and speed it always had.
"""

import functools
import inspect

from kshim import config, ops
from kshim.metrics.metric import Metric
from kshim.optimizers.optimizer import Optimizer
from kshim.trainer.batches import _batch_size, _to_backend
from kshim.trainer.checked_step import compile_checked_step, run_checked
from kshim.common.data_tuples import pack_x_y_sample_weight, unpack_x_y_sample_weight
from kshim.variables import assignments, read_values, swap_values


class StepMethods:
    """The step methods of `Trainer`, each a default a subclass may override."""

    def __setattr__(self, name, value):
        if isinstance(value, Metric):  # Keras tracks the metrics a model holds as attributes (loss trackers)
            tracked = self.__dict__.setdefault("_tracked_metrics", [])
            if not any(m is value for m in tracked):
                tracked.append(value)
        super().__setattr__(name, value)

    # -- metrics -------------------------------------------------------------------------------------------------
    @property
    def metrics(self):
        """The loss tracker and compiled metrics, then the metrics the model holds as attributes (Keras 3's
        order); ``fit`` resets them at the start of every epoch."""
        out = list(self._compile_metrics.all_metrics) if self._compile_metrics is not None else []
        for m in self._layer_metrics():  # those the model holds as attributes, then its layers'
            if not any(m is o for o in out):
                out.append(m)
        return out

    @property
    def metrics_variables(self):
        return [v for m in self.metrics for v in m.variables]

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics from one batch and return the logs of every metric in `metrics`."""
        compiled = self._compile_metrics
        if compiled is not None and compiled.built and y is not None:
            compiled.update_state(y, y_pred, sample_weight)
        return self._current_metric_results()

    def _current_metric_results(self):
        """``{name: result tensor}`` for every metric in `metrics` (a dict result is merged in)."""
        logs = {}
        compiled = self._compile_metrics
        names = {}
        if compiled is not None and compiled.built:
            names = {id(m): n for m, n in zip(compiled.all_metrics, compiled.names())}
        for m in self.metrics:
            result = m.result()
            if isinstance(result, dict):
                logs.update(result)
            else:
                logs[names.get(id(m), m.name)] = result
        return logs

    # -- losses --------------------------------------------------------------------------------------------------
    @property
    def losses(self):
        """The losses of the last call (``add_loss``, activity and weight regularizers), as in Keras 3; inside a
        stateless step, the losses that step's call returned."""
        override = self.__dict__.get("_losses_override")
        if override is not None:
            return list(override)
        return super().losses

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss of one batch: the compiled loss plus every loss in `losses` (``add_loss``,
        regularizers). Override it to train on another loss (distillation) with the built-in steps."""
        del x, training
        loss = None
        if self._compile_loss is not None:
            loss = self._compile_loss(y, y_pred, sample_weight)
        for extra in self.losses:
            if not ops.is_float_dtype(ops.dtype(extra)):
                extra = ops.cast(extra, config.floatx())
            loss = extra if loss is None else ops.add(loss, extra)
        return ops.zeros(()) if loss is None else loss

    def _call_compute_loss(self, x, y, y_pred, sample_weight, training):
        """``compute_loss``, also for an override written before Keras 3.3 added ``training``."""
        cls = type(self)
        takes = cls.__dict__.get("_kshim_compute_loss_training")
        if takes is None:
            params = inspect.signature(self.compute_loss).parameters
            takes = "training" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
            setattr(cls, "_kshim_compute_loss_training", takes)
        if takes:
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def stateless_compute_loss(self, trainable_variables, non_trainable_variables, metrics_variables, x=None,
                               y=None, y_pred=None, sample_weight=None, training=True):
        """``compute_loss`` run on the given values: ``(loss, (trainable, non_trainable, metrics values))``."""
        groups = (self.trainable_variables, self.non_trainable_variables, self.metrics_variables)
        values = (trainable_variables, non_trainable_variables, metrics_variables)
        olds = [swap_values(g, v) for g, v in zip(groups, values)]
        try:
            loss = self._call_compute_loss(x, y, y_pred, sample_weight, training)
            new_non_trainable = read_values(groups[1])
            new_metrics = read_values(groups[2])
        finally:
            for g, old in zip(groups, olds):
                swap_values(g, old)
        return loss, (trainable_variables, new_non_trainable, new_metrics)

    def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, metrics_variables, x, y,
                                 sample_weight, training=False, optimizer_variables=None):
        """The stateless forward pass and loss: ``(loss, (unscaled loss, y_pred, non_trainable values, metrics
        values))``, differentiable in ``trainable_variables`` (Keras 3's jax trainer). In training the first loss
        is scaled by the optimizer (`LossScaleOptimizer`'s dynamic scale, read from ``optimizer_variables`` when
        given; ``loss_scale_factor``), which divides the gradients by the same scale."""
        y_pred, non_trainable_variables, losses = self.stateless_call(
            trainable_variables, non_trainable_variables, x, training=training, return_losses=True)
        self._losses_override = losses
        try:
            loss, (_, non_trainable_variables, metrics_variables) = self.stateless_compute_loss(
                trainable_variables, non_trainable_variables, metrics_variables, x=x, y=y, y_pred=y_pred,
                sample_weight=sample_weight, training=training)
        finally:
            self._losses_override = None
        unscaled = loss
        if training and self.optimizer is not None:
            if optimizer_variables is not None and self.optimizer.built:
                scale = self.optimizer._loss_scale(list(optimizer_variables))
                loss = loss if scale is None else ops.multiply(loss, ops.cast(scale, ops.dtype(loss)))
            else:
                loss = self.optimizer.scale_loss(loss)
        return loss, (unscaled, y_pred, non_trainable_variables, metrics_variables)

    # -- the default steps ---------------------------------------------------------------------------------------
    def train_step(self, *args):
        """One training step. Stateless backends: ``train_step(state, data) -> (logs, state)``; stateful ones:
        ``train_step(data) -> logs`` (see the module docstring)."""
        if ops.stateless_steps():
            return self._pure_train_step(*args)
        groups = self._train_state_variables()
        logs, state = self._pure_train_step(tuple(read_values(g) for g in groups), *args)
        for g, values in zip(groups, state):
            swap_values(g, values)
        return logs

    def test_step(self, *args):
        """One evaluation step: ``test_step(state, data) -> (logs, state)`` with ``state = (trainable,
        non-trainable, metrics values)`` where steps are stateless, ``test_step(data) -> logs`` otherwise."""
        if ops.stateless_steps():
            return self._pure_test_step(*args)
        groups = self._test_state_variables()
        logs, state = self._pure_test_step(tuple(read_values(g) for g in groups), *args)
        for g, values in zip(groups[1:], state[1:]):
            swap_values(g, values)
        return logs

    def predict_step(self, *args):
        """The outputs for one batch: ``predict_step(state, data) -> (outputs, non-trainable values)`` with
        ``state = (trainable, non-trainable values)`` where steps are stateless, ``predict_step(data) -> outputs``
        otherwise."""
        if ops.stateless_steps():
            (trainable, non_trainable), data = args
            x, _, _ = unpack_x_y_sample_weight(data)
            return self.stateless_call(trainable, non_trainable, x, training=False)
        x, _, _ = unpack_x_y_sample_weight(args[0])
        return self(x, training=False)

    def _method_predict_fn(self):
        """``fn(trainable values, non-trainable values, x) -> (outputs, new non-trainable values or Nones)``
        calling an overridden ``predict_step`` (compiled like the built-in one where steps are stateless)."""
        cached = self.__dict__.get("_kshim_predict_method")
        if cached is not None and cached[0] is self._steps:
            return cached[1]
        if ops.stateless_steps():
            fn = ops.compile_step(lambda t, n, x: self.predict_step((t, n), (x,)),
                                  jit_compile=getattr(self, "jit_compile", None) if self.compiled
                                  else ops.auto_jit_compile())
        else:
            def fn(trainable, non_trainable, x):
                return self.predict_step((x,)), [None] * len(non_trainable)
        self.__dict__["_kshim_predict_method"] = (self._steps, fn)
        return fn

    def _train_state_variables(self):
        return (self.trainable_variables, self.non_trainable_variables, self.optimizer.variables,
                self.metrics_variables)

    def _test_state_variables(self):
        return self.trainable_variables, self.non_trainable_variables, self.metrics_variables

    def _loss_for_grad(self, trainable, non_trainable, metrics_values, x, y, sample_weight, optimizer_values):
        scaled, (loss, y_pred, non_trainable, metrics_values) = self.compute_loss_and_updates(
            trainable, non_trainable, metrics_values, x, y, sample_weight, training=True,
            optimizer_variables=optimizer_values)
        return scaled, (loss, y_pred, non_trainable, metrics_values)

    def _pure_train_step(self, state, data):
        trainable, non_trainable, optimizer_values, metrics_values = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        grad_fn = ops.value_and_grad(self._loss_for_grad, has_aux=True)
        (_, (loss, y_pred, non_trainable, metrics_values)), grads = grad_fn(
            list(trainable), list(non_trainable), list(metrics_values), x, y, sample_weight, list(optimizer_values))
        trainable, optimizer_values = self.optimizer.stateless_apply(optimizer_values, grads, trainable)
        metrics_values, logs = self._stateless_update_metrics(metrics_values, loss, x, y, y_pred, sample_weight)
        return logs, (trainable, non_trainable, optimizer_values, metrics_values)

    def _pure_test_step(self, state, data):
        trainable, non_trainable, metrics_values = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        loss, (_, y_pred, non_trainable, metrics_values) = self.compute_loss_and_updates(
            trainable, non_trainable, metrics_values, x, y, sample_weight, False)
        metrics_values, logs = self._stateless_update_metrics(metrics_values, loss, x, y, y_pred, sample_weight)
        return logs, (trainable, non_trainable, metrics_values)

    def _stateless_update_metrics(self, metrics_values, loss, x, y, y_pred, sample_weight):
        """The loss tracker and `compute_metrics` run on ``metrics_values``: ``(new values, logs)``."""
        variables = self.metrics_variables
        old = swap_values(variables, metrics_values)
        try:
            tracker = self._compile_metrics.loss_tracker if self._compile_metrics is not None else None
            if tracker is not None and any(tracker is m for m in self.metrics):
                tracker.update_state(loss, sample_weight=_batch_size(x))
            logs = self.compute_metrics(x, y, y_pred, sample_weight)
            return read_values(variables), logs
        finally:
            swap_values(variables, old)

    # -- which path the loop takes ---------------------------------------------------------------------------------
    def _overrides(self, name):
        return getattr(type(self), name) is not getattr(StepMethods, name)

    def _runs_step_method(self, kind):
        """Whether ``fit`` (kind "train") or ``evaluate`` ("test") must call the step method, because a subclass
        changed it or what it depends on (``compute_loss``, ``compute_metrics``, ``metrics``)."""
        return any(self._overrides(name) for name in (f"{kind}_step", "compute_loss", "compute_metrics", "metrics"))

    def _step_provides_loss(self, kind):
        return self._overrides(f"{kind}_step") or self._overrides("compute_loss")


def _stateless_user_step(model, t, n, o, m, data):
    """``model.train_step((t, n, o, m), data)`` with the optimizer's variables reading ``o`` meanwhile, so that
    what the step reads from the optimizer (``optimizer.scale_loss(loss)``: the dynamic scale) is this step's
    state, not a value frozen when the step was traced. (Keras 3's variables read nothing there: its users wrap
    such reads in a `StatelessScope` over the optimizer values, which works here too.)"""
    variables = model.optimizer.variables
    old = swap_values(variables, list(o))
    try:
        return model.train_step((t, n, o, m), data)
    finally:
        swap_values(variables, old)


class MethodTrainFunction:
    """What the loop calls for one execution (a group of batches) when the model's ``train_step`` must run.
    The token it threads from call to call is the last logs."""

    def __init__(self, model, groups=None):
        self.model = model
        self.steps_ref = model._steps
        self.stateless = ops.stateless_steps()
        self.groups = model._train_state_variables() if groups is None else groups
        if self.stateless and groups is None:
            # As the built-in step: the trainable, non-trainable and optimizer values are donated (the variables
            # get the new ones), the metric values not (batch logs handed to callbacks may still refer to them).
            self.fn = compile_checked_step(functools.partial(_stateless_user_step, model),
                                           donate_argnums=(0, 1, 2), jit_compile=model.jit_compile)
        elif not self.stateless and groups is None and model.jit_compile is None:
            # The stateful step as a pure function of the four groups' values and the batch, so that the backend
            # can record and replay it (backward included) where that is bit-identical to running it eagerly.
            self.fn = ops.compile_stateful_step(self._pure_stateful_step, jit_compile=model.jit_compile)
            self.extra = _extra_variables(model, self.groups)
        else:
            self.fn = None
        self.eager_reason = None  # why the stateful step runs eagerly although it could be replayed

    def reset(self):
        for m in self.model.metrics:
            m.reset_state()
        return {}

    def __call__(self, group, logs):
        for xb, yb, swb in group:
            data = pack_x_y_sample_weight(_to_backend(xb), _to_backend(yb), _to_backend(swb))
            if self.stateless:
                logs, state = self.fn(*[read_values(g) for g in self.groups], data)
                for g, values in zip(self.groups, state):
                    swap_values(g, values)
            elif self.fn is not None and not config.label_checks_enabled() and self._compiled_stateful(data):
                logs = self._logs
            else:
                for v in self.groups[0]:
                    v._value = ops.trainable_leaf(v._value)
                self.model._clear_losses()  # add_loss of the calls this step makes, not of earlier ones
                logs = run_checked(self.model.train_step, data)
                _detach_all(self.groups)
        return logs

    def _compiled_stateful(self, data):
        """Run the compiled stateful step on ``data``; False, with nothing changed, when it found that it cannot
        run compiled (the step asked the backend for something a compiled step cannot give, such as torch's
        ``self.parameters()``): then it runs eagerly, now and from then on."""
        fn, groups = self.fn, self.groups + (self.extra,)  # the step may find more extra variables
        out = fn(*[read_values(g) for g in groups], data)
        if fn.fallback is not None:
            self.eager_reason, self.fn = fn.fallback, None
            return False
        self._logs, state = out
        for g, values in zip(groups, state):
            swap_values(g, values)
        return True

    def _pure_stateful_step(self, trainable, non_trainable, optimizer_values, metric_values, extra_values, data):
        """The stateful ``train_step`` run on the given values: ``(logs, new values of the four groups and of
        the extra variables)`` (those of the optimizers and metrics the model holds besides its own: a GAN's two
        optimizers). A step that changes a variable the model does not hold (a metric in a global) has a side
        effect no replay would repeat: it turns the compiled step off, and every step runs eagerly from then on.
        One that creates variables (an optimizer built on its first ``apply``) makes the extra variables be
        looked for again."""
        groups = tuple(self.groups) + (self.extra,)
        olds = [swap_values(g, v) for g, v in zip(groups, (trainable, non_trainable, optimizer_values,
                                                            metric_values, extra_values))]
        try:
            for v in groups[0]:
                v._value = ops.trainable_leaf(v._value)
            self.model._clear_losses()
            with assignments() as assigned:
                logs = self.model.train_step(data)
            state = tuple([ops.stop_gradient(x) for x in read_values(g)] for g in groups)
        finally:
            for g, old in zip(groups, olds):
                swap_values(g, old)
        known = {id(v) for g in groups for v in g}
        outside = [v for v in assigned if id(v) not in known]
        if outside:
            self.extra = _extra_variables(self.model, self.groups)
            known.update(id(v) for v in self.extra)
            outside = [v for v in outside if id(v) not in known]
        if outside:
            self.fn = None
            self.eager_reason = (f"train_step assigns the variable '{outside[0].path}', which is not among the "
                                 "model's trainable, non-trainable, optimizer or metric variables")
            for v in outside:  # as the eager step leaves it: no autograd history
                v._value = ops.stop_gradient(v._value)
        return _detached(logs), state

    def logs(self, logs):
        return flatten_logs(logs)

    def store(self, logs):
        """The metric variables already hold their values."""


class MethodTestFunction:
    """`MethodTrainFunction` for ``test_step``."""

    def __init__(self, model):
        MethodTrainFunction.__init__(self, model, model._test_state_variables())
        if self.stateless:
            self.fn = compile_checked_step(lambda state, data: model.test_step(state, data),
                                           jit_compile=model.jit_compile)

    reset = MethodTrainFunction.reset
    logs = MethodTrainFunction.logs
    store = MethodTrainFunction.store

    def __call__(self, group, logs):
        for xb, yb, swb in group:
            data = pack_x_y_sample_weight(_to_backend(xb), _to_backend(yb), _to_backend(swb))
            if self.stateless:
                logs, state = self.fn(tuple(read_values(g) for g in self.groups), data)
                for g, values in zip(self.groups[1:], state[1:]):
                    swap_values(g, values)
            else:
                self.model._clear_losses()
                logs = run_checked(self.model.test_step, data)
                _detach_all(self.groups)
        return logs


def flatten_logs(logs):
    """A step's logs with nested dicts merged into the top level (Keras 3 does the same)."""
    out = {}
    for key, value in (logs or {}).items():
        if isinstance(value, dict):
            out.update(flatten_logs(value))
        else:
            out[key] = value
    return out


def _extra_variables(model, groups, limit=10000):
    """The variables of the optimizers and metrics that ``model`` holds in its attributes (directly, or in lists,
    tuples and dicts) besides those in ``groups``: a stateful step may update them (a GAN's own optimizers)."""
    known = {id(v) for g in groups for v in g}
    found, stack, seen = [], list(vars(model).values()), set()
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (Optimizer, Metric)):
            for v in obj.variables:
                if id(v) not in known:
                    known.add(id(v))
                    found.append(v)
    return found


def _detached(tree):
    """``tree`` (a step's logs) with every tensor in it detached from autograd."""
    if isinstance(tree, dict):
        return {k: _detached(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_detached(v) for v in tree)
    return ops.stop_gradient(tree) if ops.is_tensor(tree) else tree


def _detach_all(groups):
    """After a stateful step: no value keeps the autograd graph of the step that made it."""
    for g in groups:
        for v in g:
            v._value = ops.stop_gradient(v._value)

