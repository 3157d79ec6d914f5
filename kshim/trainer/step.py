"""The step builder: pure train/test/predict steps over arrays, compiled once per model and compile() call.

A train step maps (trainable values, non-trainable values, optimizer values, metric values, batch) to the new
values of all four. The backend supplies only differentiation (`value_and_grad`) and compilation
(`compile_step`: jax.jit with buffer donation; torch eager under no_grad, or torch.compile on request), and
many steps in one call (`compile_multi_step`: a ``lax.scan`` on jax, a loop on torch) for ``steps_per_execution``.
The optimizer may overwrite the donated values in place (torch's fused ``_foreach`` update).
"""

from kshim import ops
from kshim.distribution.hooks import ACTIVE as _DIST
from kshim.trainer.batches import _batch_size, _run_group
from kshim.trainer.checked_step import compile_checked_step
from kshim.variables import read_values, swap_values


class StepFunctions:
    """The compiled step functions of one compiled model."""

    def __init__(self, model, jit_compile):
        self.model = model
        self.jit_compile = jit_compile
        self._train = None
        self._test = None
        self._predict = None
        self._results = None
        self._train_multi = None
        self._test_multi = None
        self._grad_fn = ops.value_and_grad(self._loss_fn, has_aux=True)

    # -- pure pieces ---------------------------------------------------------------------------------------------
    def _loss_fn(self, trainable, non_trainable, x, y, sample_weight, scale=None, layer_metric_values=None):
        model = self.model
        y_pred, non_trainable, layer_losses, *new_layer_metrics = model.stateless_call(
            trainable, non_trainable, x, training=True, return_losses=True, _metric_values=layer_metric_values)
        loss = _total_loss(model, y, y_pred, sample_weight, layer_losses)
        aux = (loss, y_pred, non_trainable) + tuple(new_layer_metrics)
        if scale is None:
            return loss, aux
        # Loss scaling (a LossScaleOptimizer, or `loss_scale_factor`): differentiate the scaled loss; the
        # optimizer divides the gradients by the scale, and the metrics see the loss itself.
        return ops.multiply(loss, ops.cast(scale, ops.dtype(loss))), aux

    def train_step(self, trainable, non_trainable, optimizer_values, metric_values, x, y, sample_weight):
        model = self.model
        scale = model.optimizer._loss_scale(optimizer_values)
        metric_values, layer_values = _split_metric_values(model, metric_values)
        (_, (loss, y_pred, new_non_trainable, *new_layer)), grads = self._grad_fn(
            trainable, non_trainable, x, y, sample_weight, scale, layer_values)
        new_metric_values = model._compile_metrics.stateless_update(
            metric_values, loss, _batch_size(x), y, y_pred, sample_weight)
        if new_layer:  # the metrics the layers updated in `call` follow the compiled ones
            metric_values, new_metric_values = metric_values + layer_values, new_metric_values + new_layer[0]
        if _DIST.sync is not None:  # torch data parallel: one all-reduce of gradients, statistics and metrics
            grads, new_non_trainable, new_metric_values = _DIST.sync.train(
                grads, non_trainable, new_non_trainable, metric_values, new_metric_values)
        # The step's inputs are donated (see `train`), so the update may reuse their buffers (torch: in place).
        trainable, optimizer_values = model.optimizer._stateless_apply_donated(optimizer_values, grads, trainable)
        return trainable, new_non_trainable, optimizer_values, new_metric_values

    def test_step(self, trainable, non_trainable, metric_values, x, y, sample_weight):
        model = self.model
        metric_values, layer_values = _split_metric_values(model, metric_values)
        y_pred, _, layer_losses, *new_layer = model.stateless_call(
            trainable, non_trainable, x, training=False, return_losses=True, _metric_values=layer_values)
        loss = _total_loss(model, y, y_pred, sample_weight, layer_losses)
        new_metric_values = model._compile_metrics.stateless_update(metric_values, loss, _batch_size(x), y, y_pred,
                                                                    sample_weight)
        if new_layer:
            metric_values, new_metric_values = metric_values + layer_values, new_metric_values + new_layer[0]
        if _DIST.sync is not None:  # torch data parallel: the metric state of the whole global batch
            return _DIST.sync.test(metric_values, new_metric_values)
        return new_metric_values

    def predict_step(self, trainable, non_trainable, x):
        """``(outputs, new non-trainable values)``: stateful RNNs carry their states from batch to batch. A value
        the call left as it was comes back as None, so the caller has nothing to rebind or copy."""
        outputs, new = self.model.stateless_call(trainable, non_trainable, x, training=False)
        non_trainable = [n if n is not o else None for o, n in zip(non_trainable, new)]
        if _DIST.gather is not None:  # data parallel: the outputs of the whole global batch, on every process
            outputs = _DIST.gather(outputs)
        return outputs, non_trainable

    def results_step(self, metric_values):
        metric_values, layer_values = _split_metric_values(self.model, metric_values)
        results = self.model._compile_metrics.stateless_results(metric_values)
        i = 0
        for m in self.model._layer_metrics() if layer_values is not None else ():
            n = len(m.variables)
            results.append(m.stateless_result(layer_values[i:i + n]))
            i += n
        return results

    # -- compiled versions, made on first use --------------------------------------------------------------------
    @property
    def train(self):
        if self._train is None:
            # Metric values are not donated: batch logs handed to callbacks may still refer to them.
            self._train = compile_checked_step(self.train_step, donate_argnums=(0, 1, 2),
                                               jit_compile=self.jit_compile)
        return self._train

    @property
    def test(self):
        if self._test is None:
            self._test = compile_checked_step(self.test_step, jit_compile=self.jit_compile)
        return self._test

    @property
    def predict(self):
        if self._predict is None:
            self._predict = ops.compile_step(self.predict_step, jit_compile=self.jit_compile)
        return self._predict

    @property
    def train_multi(self):
        """``steps_per_execution`` train steps in one call: ``(trainable, non_trainable, optimizer, metrics,
        xs, ys, sample_weights) -> the four new states``, each batch argument stacked on a leading step axis."""
        if self._train_multi is None:
            self._train_multi = ops.compile_multi_step(self.train_step, 0, 4, donate_argnums=(0, 1, 2),
                                                       jit_compile=self.jit_compile)
        return self._train_multi

    @property
    def test_multi(self):
        """``steps_per_execution`` test steps in one call: ``(trainable, non_trainable, metrics, xs, ys,
        sample_weights) -> (new metrics,)``, each batch argument stacked on a leading step axis."""
        if self._test_multi is None:
            self._test_multi = ops.compile_multi_step(
                lambda t, n, m, x, y, sw: (self.test_step(t, n, m, x, y, sw),), 2, 1, jit_compile=self.jit_compile)
        return self._test_multi

    @property
    def results(self):
        if self._results is None:
            self._results = ops.compile_step(self.results_step, jit_compile=self.jit_compile)
        return self._results



class BuiltinTrainFunction:
    """What the loop calls for one execution (a group of batches) of the built-in train step: the compiled
    pure step (``steps_per_execution`` batches in one call when they stack). The token it threads from call to
    call is the compiled metrics' values; logs are computed from them only when read."""

    def __init__(self, model):
        self.model = model
        self.steps = self.steps_ref = model._steps
        self.state = model._state_vars()

    def reset(self):
        layer_metrics = [v for m in self.model._layer_metrics() for v in m.stateless_reset_state()]
        return self.model._compile_metrics.reset_values() + layer_metrics

    def __call__(self, group, metric_values):
        trainable, non_trainable, opt_vars = self.state
        steps = self.steps
        new = _run_group(steps.train, steps.train_multi, group, read_values(trainable), read_values(non_trainable),
                         read_values(opt_vars), metric_values)
        swap_values(trainable, new[0])
        swap_values(non_trainable, new[1])
        swap_values(opt_vars, new[2])
        return new[3]

    def logs(self, metric_values):
        return self.model._metric_results(metric_values)

    def store(self, metric_values):
        self.model._store_metrics(metric_values)


class BuiltinTestFunction(BuiltinTrainFunction):
    """`BuiltinTrainFunction` for the built-in test step (the variables are only read)."""

    def __call__(self, group, metric_values):
        trainable, non_trainable, _ = self.state
        steps = self.steps
        fixed = (read_values(trainable), read_values(non_trainable))
        (metric_values,) = _run_group(lambda m, x, y, sw: (steps.test(*fixed, m, x, y, sw),),
                                      lambda m, x, y, sw: steps.test_multi(*fixed, m, x, y, sw),
                                      group, metric_values)
        return metric_values


def _split_metric_values(model, metric_values):
    """The metric state of a step: the compiled metrics' values, then those of the metrics the layers hold
    (`Layer.metrics`, updated in ``call``), or None when no layer holds one."""
    n = len(model._layer_metric_variables())
    if not n:
        return metric_values, None
    metric_values = list(metric_values)
    return metric_values[:-n], metric_values[-n:]


def _total_loss(model, y, y_pred, sample_weight, layer_losses):
    """The compiled loss plus the layers' losses (``add_loss``, regularizers); a model compiled without a loss
    trains on its layers' losses alone, as in Keras 3 (the endpoint-layer pattern)."""
    loss = model._compile_loss(y, y_pred, sample_weight) if model._compile_loss is not None else None
    for extra in layer_losses:
        loss = extra if loss is None else ops.add(loss, extra)
    return ops.zeros(()) if loss is None else loss
