"""The Keras guide "Customizing what happens in `fit()` with JAX", as a user runs it on kshim.

Source: keras-io, guides/custom_train_step_in_jax.py (fchollet, 2023). Written out here section by section, with
the same models, calls and contracts; not a verbatim copy. Changes, and only these:
- `import kshim as keras` in place of `import keras` (the backend is chosen by KSHIM_BACKEND=jax);
- 64 random samples in place of 1000 (the data is random in the guide too);
- a few asserts at the end of each section, for tests/test_guides.py.
"""

import os

os.environ["KERAS_BACKEND"] = "jax"  # the guide's line; kshim reads KSHIM_BACKEND

import jax
import numpy as np

import kshim as keras

N = 64  # the guide: 1000


# -- A first simple example: a stateless train_step over stateless_call and stateless_compute_loss ---------------
class CustomModel(keras.Model):
    def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, metrics_variables, x, y,
                                 sample_weight, training=False):
        y_pred, non_trainable_variables = self.stateless_call(trainable_variables, non_trainable_variables, x,
                                                              training=training)
        loss, (trainable_variables, non_trainable_variables, metrics_variables) = self.stateless_compute_loss(
            trainable_variables, non_trainable_variables, metrics_variables, x=x, y=y, y_pred=y_pred,
            sample_weight=sample_weight, training=training)
        return loss, (y_pred, non_trainable_variables, metrics_variables)

    def train_step(self, state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (loss, (y_pred, non_trainable_variables, metrics_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, metrics_variables, x, y, sample_weight, training=True)
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        new_metrics_vars = []
        logs = {}
        for metric in self.metrics:
            start = len(new_metrics_vars)
            this_metric_vars = metrics_variables[start:start + len(metric.variables)]
            if metric.name == "loss":
                this_metric_vars = metric.stateless_update_state(this_metric_vars, loss,
                                                                 sample_weight=sample_weight)
            else:
                this_metric_vars = metric.stateless_update_state(this_metric_vars, y, y_pred,
                                                                 sample_weight=sample_weight)
            logs[metric.name] = metric.stateless_result(this_metric_vars)
            new_metrics_vars += this_metric_vars
        state = (trainable_variables, non_trainable_variables, optimizer_variables, new_metrics_vars)
        return logs, state


inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = CustomModel(inputs, outputs)
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
x = np.random.random((N, 32))
y = np.random.random((N, 1))
history = model.fit(x, y, epochs=3)
assert set(history.history) == {"loss", "mae"}, history.history
assert history.history["loss"][-1] < history.history["loss"][0], history.history


# -- Going lower-level: no loss in compile(), our own loss tracker and MAE, a `metrics` property ------------------
class CustomModel(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y, sample_weight,
                                 training=False):
        y_pred, non_trainable_variables = self.stateless_call(trainable_variables, non_trainable_variables, x,
                                                              training=training)
        loss = self.loss_fn(y, y_pred, sample_weight=sample_weight)
        return loss, (y_pred, non_trainable_variables)

    def train_step(self, state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, x, y, sample_weight, training=True)
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        loss_tracker_vars = metrics_variables[:len(self.loss_tracker.variables)]
        mae_metric_vars = metrics_variables[len(self.loss_tracker.variables):]
        loss_tracker_vars = self.loss_tracker.stateless_update_state(loss_tracker_vars, loss,
                                                                     sample_weight=sample_weight)
        mae_metric_vars = self.mae_metric.stateless_update_state(mae_metric_vars, y, y_pred,
                                                                 sample_weight=sample_weight)
        logs = {self.loss_tracker.name: self.loss_tracker.stateless_result(loss_tracker_vars),
                self.mae_metric.name: self.mae_metric.stateless_result(mae_metric_vars)}
        new_metrics_vars = loss_tracker_vars + mae_metric_vars
        state = (trainable_variables, non_trainable_variables, optimizer_variables, new_metrics_vars)
        return logs, state

    @property
    def metrics(self):
        # listed here, so that fit() and evaluate() reset them at the start of each epoch
        return [self.loss_tracker, self.mae_metric]


inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = CustomModel(inputs, outputs)
model.compile(optimizer="adam")  # no loss, no metrics
x = np.random.random((N, 32))
y = np.random.random((N, 1))
history = model.fit(x, y, epochs=5)
assert set(history.history) == {"loss", "mae"}, history.history
assert history.history["loss"][-1] < history.history["loss"][0], history.history


# -- Providing your own evaluation step ---------------------------------------------------------------------------
class CustomModel(keras.Model):
    def test_step(self, state, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        trainable_variables, non_trainable_variables, metrics_variables = state
        y_pred, non_trainable_variables = self.stateless_call(trainable_variables, non_trainable_variables, x,
                                                              training=False)
        loss, (trainable_variables, non_trainable_variables, metrics_variables) = self.stateless_compute_loss(
            trainable_variables, non_trainable_variables, metrics_variables, x=x, y=y, y_pred=y_pred,
            sample_weight=sample_weight, training=False)
        new_metrics_vars = []
        logs = {}
        for metric in self.metrics:
            start = len(new_metrics_vars)
            this_metric_vars = metrics_variables[start:start + len(metric.variables)]
            if metric.name == "loss":
                this_metric_vars = metric.stateless_update_state(this_metric_vars, loss,
                                                                 sample_weight=sample_weight)
            else:
                this_metric_vars = metric.stateless_update_state(this_metric_vars, y, y_pred,
                                                                 sample_weight=sample_weight)
            logs[metric.name] = metric.stateless_result(this_metric_vars)
            new_metrics_vars += this_metric_vars
        state = (trainable_variables, non_trainable_variables, new_metrics_vars)
        return logs, state


inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = CustomModel(inputs, outputs)
model.compile(loss="mse", metrics=["mae"])
x = np.random.random((N, 32))
y = np.random.random((N, 1))
results = model.evaluate(x, y, return_dict=True)
pred = np.asarray(model.predict(x, verbose=0), "float64")
np.testing.assert_allclose(results["loss"], np.mean((pred - y) ** 2), rtol=1e-4)
np.testing.assert_allclose(results["mae"], np.mean(np.abs(pred - y)), rtol=1e-4)
print("GUIDE OK")
