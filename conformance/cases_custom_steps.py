"""Cases for customized training (issue 15): a ``compute_loss`` override, ``add_loss`` in ``call``, and a custom
``train_step`` pair (a stateless one for jax and a stateful one for torch, written to the same math) must give
the same trajectory on both backends.

The backend-neutral overrides run the same code on both backends; the ``train_step`` pair picks the contract the
backend answers (``kshim.ops.stateless_steps()``), as a user who writes for both would.
"""

import numpy as np

from conformance.case import case, kshim, rng
from conformance.cases_random import set_seed

X = rng(950).normal(size=(48, 6)).astype(np.float32)
Y = (X[:, :2] @ np.array([[1.0], [-2.0]], np.float32) + 0.1).astype(np.float32)


def _base_class():
    keras = kshim

    class Regressor(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(8, activation="tanh")
            self.out = keras.layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    return Regressor


def _run(model, **compile_kwargs):
    set_seed(77)
    model(X[:1])
    initial = model.get_weights()
    model.compile(optimizer=kshim.optimizers.Adam(0.02), **compile_kwargs)
    history = model.fit(X, Y, batch_size=12, epochs=3, shuffle=False, verbose=0)
    return {
        "initial": initial,
        "history": {k: np.asarray(v, np.float64) for k, v in sorted(history.history.items())},
        "weights": model.get_weights(),
        "evaluate": np.asarray(model.evaluate(X, Y, batch_size=16, verbose=0), np.float64),
    }


@case("training.custom.compute_loss", family="training", rtol=1e-4, atol=1e-5)
def _compute_loss():
    """A compute_loss override (mse plus an output penalty), compiled with no loss, fit for 3 epochs."""
    ops = kshim.ops

    class Penalized(_base_class()):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return ops.mean(ops.square(y - y_pred)) + 0.1 * ops.mean(ops.abs(y_pred))

    set_seed(77)
    return _run(Penalized(), metrics=["mae"])


@case("training.custom.add_loss", family="training", rtol=1e-4, atol=1e-5)
def _add_loss():
    """add_loss of an activity penalty in call, on top of the compiled mse, fit for 3 epochs."""
    ops = kshim.ops

    class ActivityPenalty(_base_class()):
        def call(self, x):
            h = self.hidden(x)
            self.add_loss(0.05 * ops.mean(ops.square(h)))
            return self.out(h)

    set_seed(77)
    return _run(ActivityPenalty(), loss="mse")


@case("training.custom.train_step_pair", family="training", rtol=1e-4, atol=1e-5)
def _train_step_pair():
    """A custom train_step written for each contract (jax: stateless with jax.value_and_grad and
    stateless_apply; torch: stateful with loss.backward() and optimizer.apply), the same math: mse, then the
    loss tracker."""
    ops = kshim.ops
    base = _base_class()
    if ops.stateless_steps():
        import jax

        class Stepped(base):
            def _loss(self, trainable, non_trainable, x, y):
                y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x, training=True)
                return ops.mean(ops.square(y - y_pred)), non_trainable

            def train_step(self, state, data):
                trainable, non_trainable, optimizer_values, metric_values = state
                x, y = data
                (loss, non_trainable), grads = jax.value_and_grad(self._loss, has_aux=True)(
                    trainable, non_trainable, x, y)
                trainable, optimizer_values = self.optimizer.stateless_apply(optimizer_values, grads, trainable)
                tracker = self.metrics[0]
                metric_values = tracker.stateless_update_state(metric_values, loss)
                return {"loss": tracker.stateless_result(metric_values)}, (
                    trainable, non_trainable, optimizer_values, metric_values)
    else:
        class Stepped(base):
            def train_step(self, data):
                x, y = data
                self.zero_grad()
                loss = ops.mean(ops.square(y - self(x, training=True)))
                loss.backward()
                weights = self.trainable_weights
                self.optimizer.apply([v.value.grad for v in weights], weights)
                tracker = self.metrics[0]
                tracker.update_state(loss)
                return {"loss": tracker.result()}

    set_seed(77)
    model = Stepped()
    out = _run(model, loss="mse")
    out.pop("evaluate")  # evaluate runs the built-in test step: covered elsewhere
    return out
