"""`Trainer`: compile, fit, evaluate, predict and the ``*_on_batch`` methods. One loop for both backends.

The loop is plain Python over host batches. Each step reads the variables' current values, runs the compiled
pure step, and binds the new values back (a reference swap, no copy), so the model is always up to date for
callbacks. Running metrics stay on the device; they are only read when something looks at them (the progress bar
at most every 50 ms, a callback that reads its ``logs``, and the end of each epoch). With
``steps_per_execution=N`` one execution runs N steps in one compiled call over the N batches stacked (a
``lax.scan`` on jax) and the batch hooks run once per execution; ``predict`` on one small array skips the data
adapter and the callbacks.
"""

import warnings
from collections.abc import Mapping

import numpy as np

from kshim import config, ops
from kshim import optimizers as koptimizers
from kshim.callbacks.callback_list import CallbackList
from kshim.distribution import hooks as distribution_hooks
from kshim.layers.input_layer import input_shape_fits
from kshim.layers.layer import Layer
from kshim.trainer import data_adapter, interrupts
from kshim.trainer.batches import _execution_groups, _to_backend
from kshim.trainer.compile_utils import CompileLoss, CompileMetrics, shape_of_batch
from kshim.trainer.model_outputs import check_inputs, describe_outputs, is_structure
from kshim.trainer.step import BuiltinTestFunction, BuiltinTrainFunction, StepFunctions
from kshim.trainer.step_methods import MethodTestFunction, MethodTrainFunction, StepMethods
from kshim.common.suggest import unknown_name_error
from kshim.variables import read_values, swap_values, values_lock

_DIST = distribution_hooks.ACTIVE


class LazyLogs(Mapping):
    """Batch logs computed (and moved to the host as Python floats) only when first read."""

    def __init__(self, compute):
        self._compute = compute
        self._logs = None

    def _get(self):
        if self._logs is None:
            self._logs = {k: log_value(v) for k, v in self._compute().items()}
        return self._logs

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())

    def __repr__(self):
        return repr(self._get())


def log_value(v):
    """A metric result for the logs: a Python float, or a numpy array for vector results (e.g. per-class F1)."""
    arr = ops.convert_to_numpy(v)
    return float(arr) if arr.ndim == 0 else arr




def _check_positive_int(where, name, value, allow_none=True):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{where}: `{name}` must be a positive integer. Received: {name}={value!r}")


class Trainer(StepMethods):
    """The training half of `Model`."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._compile_loss = None
        self._compile_metrics = None
        self._steps = None
        self.train_function = None
        self.test_function = None
        self._initial_epoch = None  # set by BackupAndRestore in on_train_begin to resume an interrupted fit

    # -- compile -------------------------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True, **kwargs):
        """Configure training. Every name is checked now; a typo gets a "did you mean" ValueError."""
        if kwargs:
            known = ["optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
                     "steps_per_execution", "jit_compile", "auto_scale_loss"]
            raise unknown_name_error("compile() argument", next(iter(kwargs)), known, arg="argument")
        _check_positive_int("compile", "steps_per_execution", steps_per_execution, allow_none=False)
        if jit_compile not in ("auto", True, False):
            raise ValueError(f"compile: `jit_compile` must be 'auto', True or False. Received: "
                             f"jit_compile={jit_compile!r}")
        self.optimizer = koptimizers.get(optimizer)
        if auto_scale_loss and self.dtype_policy.name == "mixed_float16" and self.optimizer is not None and \
                not isinstance(self.optimizer, koptimizers.LossScaleOptimizer):  # as Keras 3
            self.optimizer = koptimizers.LossScaleOptimizer(self.optimizer, name="loss_scale_optimizer")
        self.loss = loss
        self._compile_loss = CompileLoss(loss, loss_weights) if loss is not None else None
        self._compile_metrics = CompileMetrics(metrics, weighted_metrics, loss_identifier=loss)
        self.run_eagerly = bool(run_eagerly)
        self.steps_per_execution = int(steps_per_execution)
        if run_eagerly:
            jit = False
        elif jit_compile == "auto":
            jit = ops.auto_jit_compile()
        else:
            jit = bool(jit_compile)
        self.jit_compile = jit
        self._steps = StepFunctions(self, jit)
        self.compiled = True

    def _assert_compiled(self, where):
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before calling `{where}()`: the model '{self.name}' "
                             "has no optimizer and loss yet. Example: "
                             "model.compile(optimizer='adam', loss='mse').")

    # -- building from the first batch ---------------------------------------------------------------------------
    def _check_input_shape(self, x, where):
        if is_structure(x) or len(getattr(self, "_input_tensors", None) or ()) > 1:
            check_inputs(self, x, where)  # several inputs: their number, names, shapes and batch sizes
            return
        expected = getattr(getattr(self, "_input_layer", None), "batch_shape", None)
        if expected is None:
            return
        if not input_shape_fits(expected, shape_of_batch(x)):
            got = shape_of_batch(x)
            raise ValueError(f"{where}: model '{self.name}' expects inputs of shape {tuple(expected)}, but `x` has "
                             f"shape {(None,) + tuple(got[1:])} per batch.")

    def _build_for(self, x, y=None, where="fit", training=True):
        """Build the model, the compiled loss/metrics and the optimizer from the first batch."""
        kind = "train" if training else "test"
        custom = self._runs_step_method(kind)
        if y is None and self._compile_loss is not None and not custom:
            raise ValueError(f"{where}: targets are required to compute the loss, but the data has none. Pass `y` "
                             "(or a dataset/generator that yields `(x, y)` batches). Received: y=None")
        self._check_input_shape(x, where)
        xb = _to_backend(x)
        if not self.built:
            if _defines_call(self):
                self(xb)
            else:  # a model that only holds others (a GAN's generator and discriminator) and steps them itself
                self.built = True
        if self._compile_loss is None and not self._step_provides_loss(kind) and not custom \
                and not self._forward_adds_losses(xb, training):
            raise ValueError(f"{where}: the model was compiled without a `loss`, so it cannot be "
                             f"{'trained' if training else 'evaluated'}. Pass `loss=` to compile(), or override "
                             "`compute_loss` or `train_step`.")
        loss_unbuilt = self._compile_loss is not None and not self._compile_loss.built
        metrics_unbuilt = (self._compile_loss is None and not self._compile_metrics.built
                           and any(self._compile_metrics._user))
        if y is not None and (loss_unbuilt or metrics_unbuilt):
            # Line the losses and metrics up with the outputs, check `y` against them, then resolve the
            # shape-dependent names ("accuracy", "crossentropy") from each output's target shape.
            outputs = describe_outputs(self, shape_of_batch(x), lambda: self(xb))
            reasons = {i: "a loss" for i in self._compile_loss.configure(outputs)} if loss_unbuilt else {}
            for i in self._compile_metrics.configure(outputs):
                reasons[i] = "a loss and metrics" if i in reasons else "metrics"
            outputs.needed = sorted(reasons)
            targets = outputs.check_targets(y, where, reasons)
            y_shapes = [None if t is None else shape_of_batch(t) for t in targets]
            if loss_unbuilt:
                self._compile_loss.build(y_shapes)
            self._compile_metrics.build(y_shapes, self._compile_loss)
        if training:
            self._ensure_optimizer_built()

    def _forward_adds_losses(self, xb, training):
        """Whether a forward pass adds losses (``add_loss``, regularizers): then a model compiled without a loss
        trains on them, as in Keras 3."""
        if self.losses:
            return True
        self(xb, training=training)
        found = bool(self.losses)
        self._clear_losses()
        return found

    def _ensure_optimizer_built(self):
        trainable = self.trainable_variables
        built_for = getattr(self.optimizer, "_kshim_built_for", None)
        if built_for != [id(v) for v in trainable]:
            if built_for is not None:
                self.optimizer = self.optimizer.from_config(self.optimizer.get_config())
                self._steps = StepFunctions(self, self.jit_compile)
            self.optimizer.build(trainable)
            self.optimizer._kshim_built_for = [id(v) for v in trainable]

    # -- state plumbing ------------------------------------------------------------------------------------------
    def _state_vars(self):
        return self.trainable_variables, self.non_trainable_variables, self.optimizer.variables

    def _metric_results(self, metric_values):
        names = self._compile_metrics.names()
        results = self._steps.results(metric_values)
        logs = dict(zip(names, results))
        for m, result in zip(self._layer_metrics(), results[len(names):]):  # the metrics the layers update
            if isinstance(result, Mapping):
                logs.update(result)
            else:
                logs[m.name] = result
        return logs

    def _floats(self, metric_values, prefix=""):
        return {prefix + k: log_value(v) for k, v in self._metric_results(metric_values).items()}

    def _store_metrics(self, metric_values):
        swap_values(self._compile_metrics.variables() + self._layer_metric_variables(), metric_values)

    @property
    def metrics_names(self):
        """The log names, in the order `evaluate` returns its values (``[]`` before compile)."""
        if self._compile_metrics is None:
            return []
        return list(self._compile_metrics.names()) + [m.name for m in self._layer_metrics()]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self):
        return self._floats(read_values(self._compile_metrics.variables() + self._layer_metric_variables()))

    # -- fit -----------------------------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns a `History`."""
        self._assert_compiled("fit")
        _check_positive_int("fit", "epochs", epochs, allow_none=False)
        _check_positive_int("fit", "steps_per_epoch", steps_per_epoch)
        _check_positive_int("fit", "validation_steps", validation_steps)
        if verbose not in ("auto", 0, 1, 2):
            raise ValueError(f"fit: `verbose` must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("fit: give `sample_weight` or `class_weight`, not both.")
        self._check_validation_freq(validation_freq)
        cap = config.max_epochs()
        if cap and cap < epochs:  # Keras 3's debugging cap (kshim.config.set_max_epochs)
            warnings.warn(f"Limiting epochs to {cap}", stacklevel=2)
            epochs = cap
        if validation_split and validation_data is None:
            if data_adapter.is_generator_like(x) or hasattr(x, "on_epoch_end"):
                raise ValueError("fit: `validation_split` only works with array inputs; pass `validation_data`.")
            (x, y, sample_weight), validation_data = data_adapter.train_validation_split(
                x, y, sample_weight, validation_split)
        adapter = data_adapter.get_adapter(x, y, sample_weight, batch_size, steps_per_epoch, shuffle,
                                           class_weight, where="fit")
        val_adapter = None
        if validation_data is not None:
            vx, vy, vsw = data_adapter.unpack_validation_data(validation_data)
            val_adapter = data_adapter.get_adapter(vx, vy, vsw, validation_batch_size or batch_size,
                                                   validation_steps, False, None, where="fit (validation)")
        verbose = 1 if verbose == "auto" else verbose
        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose,
                           epochs=epochs, steps=adapter.num_batches())
        self.stop_training = False
        steps = None
        epoch_logs = {}
        cbs.on_train_begin()
        if self._initial_epoch is not None:  # a callback (BackupAndRestore) resumes an interrupted run
            initial_epoch, self._initial_epoch = self._initial_epoch, None
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            metric_values = None
            seen = 0
            for step, last, group in _execution_groups(adapter.epoch(), self.steps_per_execution):
                xb, yb, swb = group[0]
                if steps is None:
                    self._build_for(xb, yb, where="fit")
                    distribution_hooks.prepare_fit(self)  # a no-op without a distribution
                    steps = self.make_train_function()
                if metric_values is None:
                    metric_values = steps.reset()
                if self._compile_loss is not None:  # numpy targets checked on the host (sparse labels in range)
                    for batch in group:
                        self._compile_loss.check_host_targets(batch[1])
                cbs.on_train_batch_begin(step)
                with interrupts.held():  # the step consumes the old values: Ctrl-C waits until the new are bound
                    metric_values = steps(group, metric_values)
                seen += len(group)
                if cbs.needs_batch_logs("on_train_batch_end"):
                    values = metric_values
                    cbs.on_train_batch_end(last, LazyLogs(lambda v=values, f=steps: f.logs(v)))
                if self.stop_training:
                    break
            if seen == 0:
                if epoch == initial_epoch:
                    raise ValueError("fit: the training data produced no batches. Check `x` (an exhausted "
                                     "generator?) and `steps_per_epoch`.")
                warnings.warn(f"fit: the training data ran out after {epoch} epoch(s); stopping. Use a "
                              "re-iterable dataset or set `steps_per_epoch` so every epoch has data.")
                break
            epoch_logs = {k: log_value(v) for k, v in steps.logs(metric_values).items()}
            steps.store(metric_values)
            if val_adapter is not None and self._due(epoch, validation_freq):
                val_adapter.rewind()  # each validation starts at the first batch, as in Keras 3
                epoch_logs.update(self._evaluate_loop(val_adapter, cbs, prefix="val_"))
            cbs.on_epoch_end(epoch, epoch_logs)
            adapter.on_epoch_end()
            if self.stop_training or getattr(adapter, "exhausted", False):
                break
        if getattr(self.optimizer, "use_ema", False) and steps is not None:
            self.optimizer.finalize_variable_values(self.trainable_variables)
        cbs.on_train_end(epoch_logs)
        return cbs.history

    @staticmethod
    def _check_validation_freq(validation_freq):
        if isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
            if validation_freq < 1:
                raise ValueError("fit: `validation_freq` must be a positive integer or a list of epochs. "
                                 f"Received: validation_freq={validation_freq!r}")
            return
        if isinstance(validation_freq, (list, tuple, set, range)) and all(
                isinstance(e, (int, np.integer)) and not isinstance(e, bool) and e >= 1 for e in validation_freq):
            return
        raise ValueError("fit: `validation_freq` must be a positive integer or a list of epochs (1-based). "
                         f"Received: validation_freq={validation_freq!r}")

    @staticmethod
    def _due(epoch, validation_freq):
        if isinstance(validation_freq, (int, np.integer)):
            return (epoch + 1) % validation_freq == 0
        return (epoch + 1) in validation_freq

    def make_train_function(self, force=False):
        """The function ``fit`` calls for each execution: the model's ``train_step`` where a subclass overrides
        it (or ``compute_metrics``/``metrics``), else the built-in compiled step. Kept in ``train_function``."""
        if force or getattr(self, "train_function", None) is None or self.train_function.steps_ref is not self._steps:
            self.train_function = (MethodTrainFunction(self) if self._runs_step_method("train")
                                   else BuiltinTrainFunction(self))
        return self.train_function

    def make_test_function(self, force=False):
        """`make_train_function` for ``evaluate`` and ``test_step``. Kept in ``test_function``."""
        if force or getattr(self, "test_function", None) is None or self.test_function.steps_ref is not self._steps:
            self.test_function = (MethodTestFunction(self) if self._runs_step_method("test")
                                  else BuiltinTestFunction(self))
        return self.test_function

    # -- evaluate ------------------------------------------------------------------------------------------------
    def _evaluate_loop(self, adapter, cbs, prefix=""):
        steps = None
        metric_values = None
        cbs.on_test_begin()
        for step, last, group in _execution_groups(adapter.epoch(), self.steps_per_execution):
            xb, yb, swb = group[0]
            if yb is None and self._compile_loss is not None and not self._runs_step_method("test"):
                raise ValueError("evaluate: targets `y` are required to compute the loss and metrics.")
            if steps is None:
                self._build_for(xb, yb, where="evaluate", training=False)
                steps = self.make_test_function()
                metric_values = steps.reset()
            if self._compile_loss is not None:
                for batch in group:
                    self._compile_loss.check_host_targets(batch[1])
            cbs.on_test_batch_begin(step)
            metric_values = steps(group, metric_values)
            if cbs.needs_batch_logs("on_test_batch_end"):
                values = metric_values
                cbs.on_test_batch_end(last, LazyLogs(lambda v=values, f=steps: f.logs(v)))
        if metric_values is None:
            raise ValueError("evaluate: the data produced no batches.")
        logs = {k: log_value(v) for k, v in steps.logs(metric_values).items()}
        cbs.on_test_end(logs)
        if not prefix:
            steps.store(metric_values)
        return {prefix + k: v for k, v in logs.items()}

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss and metrics on the given data: a scalar, a list ``[loss, *metrics]``, or a dict."""
        self._assert_compiled("evaluate")
        _check_positive_int("evaluate", "steps", steps)
        adapter = data_adapter.get_adapter(x, y, sample_weight, batch_size, steps, False, None, where="evaluate")
        verbose = 1 if verbose == "auto" else verbose
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                           steps=adapter.num_batches())
        logs = self._evaluate_loop(adapter, cbs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # -- predict -------------------------------------------------------------------------------------------------
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for ``x``, batched, as numpy arrays."""
        _check_positive_int("predict", "steps", steps)
        if verbose == 0 and callbacks is None and steps is None and _one_batch(x, batch_size):
            data_adapter.check_numeric("x", x)  # strings: the adapter's clear error, not one from the step
            return self._predict_batch(x)  # the lean path: no data adapter, no callbacks, one compiled call
        adapter = data_adapter.get_adapter(x, None, None, batch_size, steps, False, None, where="predict")
        verbose = 1 if verbose == "auto" else verbose
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                           steps=adapter.num_batches())
        fn = self._predict_fn()
        outputs = []
        changed = {}
        cbs.on_predict_begin()
        with ops.inference_mode():
            for step, (xb, _, _) in enumerate(adapter.epoch()):
                if not self.built:
                    self._check_input_shape(xb, "predict")
                    with values_lock:  # one thread builds
                        if not self.built:
                            self(_to_backend(xb))
                elif step == 0:
                    self._check_input_shape(xb, "predict")
                cbs.on_predict_batch_begin(step)
                non_trainable = self.non_trainable_variables
                with values_lock:  # thread-safe predict: never read values another thread's trace swapped in
                    values = read_values(self.trainable_variables), read_values(non_trainable)
                out, new_non_trainable = fn(*values, _to_backend(xb))
                _bind_changed(non_trainable, new_non_trainable, changed)
                outputs.append(out)
                cbs.on_predict_batch_end(step, {"outputs": out})
        _own_changed(changed)
        cbs.on_predict_end()
        if not outputs:
            raise ValueError("predict: the data produced no batches.")
        return _concat_outputs(outputs)

    def _predict_fn(self):
        if self._overrides("predict_step"):
            return self._method_predict_fn()
        if self._steps is None:
            self._steps = StepFunctions(self, ops.auto_jit_compile())
        return self._steps.predict

    # -- single batches ------------------------------------------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; returns the batch's loss and metrics."""
        self._assert_compiled("train_on_batch")
        if class_weight is not None:
            sample_weight = data_adapter.class_weight_to_sample_weight(y, class_weight)
        self._build_for(x, y, where="train_on_batch")
        fn = self.make_train_function()
        with interrupts.held():
            values = fn([(x, y, sample_weight)], fn.reset())
        fn.store(values)
        return self._batch_result(fn.logs(values), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss and metrics on one batch."""
        self._assert_compiled("test_on_batch")
        self._build_for(x, y, where="test_on_batch", training=False)
        fn = self.make_test_function()
        values = fn([(x, y, sample_weight)], fn.reset())
        fn.store(values)
        return self._batch_result(fn.logs(values), return_dict)

    def predict_on_batch(self, x):
        """Model outputs for one batch, as numpy."""
        return self._predict_batch(x)

    def _predict_batch(self, x):
        """The outputs for one batch: one call of the compiled predict step under inference mode."""
        shape = tuple(x.shape) if hasattr(x, "shape") else None
        if shape is None or shape != getattr(self, "_predict_checked_shape", None):
            self._check_input_shape(x, "predict")
            if self.built and shape is not None:  # a built model's inputs are fixed: one check per new shape
                self._predict_checked_shape = shape
        xb = _to_backend(x) if _DIST.engine is not None or not isinstance(x, np.ndarray) else (
            x.astype(config.floatx()) if x.dtype == np.float64 else x)  # the compiled step converts numpy itself
        with values_lock:  # thread-safe predict: one thread builds; no one reads values a trace swapped in
            if not self.built:
                self(xb)
            fn = self._predict_fn()
            non_trainable = self.non_trainable_variables
            values = read_values(self.trainable_variables), read_values(non_trainable)
        with ops.inference_mode():
            out, new_non_trainable = fn(*values, xb)
        changed = {}
        _bind_changed(non_trainable, new_non_trainable, changed)
        _own_changed(changed)
        return _outputs_to_numpy(out)

    def _batch_result(self, logs, return_dict):
        logs = {k: log_value(v) for k, v in logs.items()}
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values










def _one_batch(x, batch_size):
    """Whether ``x`` is one array (numpy or a backend tensor) that fits in one predict batch."""
    if not (isinstance(x, np.ndarray) or ops.is_tensor(x)) or not x.shape:
        return False
    if batch_size is None:
        batch_size = 32
    elif isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        return False  # the data adapter raises the error
    return 0 < x.shape[0] <= batch_size


def _outputs_to_numpy(out):
    """One batch's outputs as numpy arrays of their own (never a view of a backend buffer)."""
    if isinstance(out, (list, tuple)):
        return [np.array(ops.convert_to_numpy(o)) for o in out]
    if isinstance(out, dict):
        return {k: np.array(ops.convert_to_numpy(o)) for k, o in out.items()}
    return np.array(ops.convert_to_numpy(out))


def _bind_changed(variables, new_values, changed):
    """Bind the values a predict step changed (the states of stateful RNNs; None marks an unchanged value) and
    note their variables."""
    for v, value in zip(variables, new_values):
        if value is not None and value is not v._value:
            v._value = value
            changed[id(v)] = v


def _own_changed(changed):
    """Give the changed values buffers of their own, made outside inference mode (see
    `kshim.backends.interface.core.inference_mode`), so a later fit may use them."""
    for v in changed.values():
        v._value = ops.copy(v._value)


def _concat_outputs(outputs):
    first = outputs[0]
    if isinstance(first, (list, tuple)):
        return [np.concatenate([ops.convert_to_numpy(o[i]) for o in outputs]) for i in range(len(first))]
    if isinstance(first, dict):
        return {k: np.concatenate([ops.convert_to_numpy(o[k]) for o in outputs]) for k in first}
    return np.concatenate([ops.convert_to_numpy(o) for o in outputs])


def _defines_call(model):
    """Whether the model computes outputs (a functional or Sequential model, or a subclass with a ``call``)."""
    return type(model).call is not Layer.call
