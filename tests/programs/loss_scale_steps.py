"""User train_steps under ``mixed_float16``, written once against the Keras 3 API (``keras`` is a parameter), for
tests/test_mixed_precision_steps.py: ``compile`` wraps the optimizer in a `LossScaleOptimizer`, and the user's step
scales the loss with ``self.optimizer.scale_loss(loss)`` before differentiating; the optimizer unscales the
gradients, skips the steps whose gradients are not finite and adapts the scale. The inputs are large so that the
first steps overflow float16 and are skipped.

    python loss_scale_steps.py FOLDER NAME...    # with KERAS_BACKEND set: FOLDER/NAME.init.npz -> NAME.out.npz

Each workload is ``fn(keras, init=None) -> (initial weights, results)``.
"""

import sys

import numpy as np


def _data():
    rng = np.random.default_rng(18)
    x = rng.normal(size=(24, 5)).astype("float32") * 60.0
    y = rng.normal(size=(24, 1)).astype("float32")
    return x, y


def _model(keras, cls, init):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        inputs = keras.Input((5,))
        hidden = keras.layers.Dense(6, activation="tanh")(inputs)
        model = cls(inputs, keras.layers.Dense(1, dtype="float32")(hidden))
    finally:
        keras.config.set_dtype_policy(None if keras.__name__ == "kshim" else "float32")
    if init is not None:
        model.set_weights(init)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.5), loss="mse")
    model.optimizer.dynamic_growth_steps = 2
    return model


def _run(model, x, y):
    weights = [np.asarray(w) for w in model.get_weights()]
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    opt = model.optimizer
    out = {"loss": np.asarray(history.history["loss"], "float64"),
           "iterations": np.asarray(opt.iterations.numpy() if hasattr(opt.iterations, "numpy") else opt.iterations),
           "scale": np.asarray(opt.dynamic_scale.numpy()), "counter": np.asarray(opt.step_counter.numpy()),
           "wrapped": np.asarray(type(opt).__name__ == "LossScaleOptimizer")}
    out.update({f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())})
    return weights, out


def jax_step(keras, init=None, scoped=True):
    """The JAX guide's stateless train_step, with ``optimizer.scale_loss`` on the differentiated loss. Keras 3
    needs the read of the scale in a `StatelessScope` over the step's optimizer values; kshim also reads the
    step's scale without it (``scoped=False``)."""
    import contextlib

    import jax

    class Scaled(keras.Model):
        def compute_loss_and_updates(self, trainable, non_trainable, optimizer_variables, x, y):
            y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
            # The scale is optimizer state: read the step's value of it, as Keras 3's own jax step does.
            mapping = list(zip(self.optimizer.variables, optimizer_variables))
            with keras.StatelessScope(state_mapping=mapping) if scoped else contextlib.nullcontext():
                scaled = self.optimizer.scale_loss(loss)
            return scaled, (loss, non_trainable)

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_variables, metrics_variables = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (_, (loss, non_trainable)), grads = grad_fn(trainable, non_trainable, optimizer_variables, x, y)
            trainable, optimizer_variables = self.optimizer.stateless_apply(optimizer_variables, grads, trainable)
            loss_tracker = self.metrics[0]
            metrics_variables = loss_tracker.stateless_update_state(metrics_variables, loss)
            logs = {"loss": loss_tracker.stateless_result(metrics_variables)}
            return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)

    x, y = _data()
    return _run(_model(keras, Scaled, init), x, y)


def torch_step(keras, init=None):
    """The PyTorch guide's stateful train_step, with ``optimizer.scale_loss(loss).backward()``."""
    import torch

    class Scaled(keras.Model):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            self.optimizer.scale_loss(loss).backward()
            trainable = list(self.trainable_weights)
            grads = [v.value.grad for v in trainable]
            with torch.no_grad():
                self.optimizer.apply(grads, trainable)
            self.metrics[0].update_state(loss)
            return {"loss": self.metrics[0].result()}

    x, y = _data()
    return _run(_model(keras, Scaled, init), x, y)


WORKLOADS = {"jax": jax_step, "torch": torch_step}  # by backend


if __name__ == "__main__":
    import os
    import traceback

    import keras

    folder, names = sys.argv[1], sys.argv[2:]
    for name in names:
        with np.load(os.path.join(folder, f"{name}.init.npz")) as f:
            init = [f[f"w{i}"] for i in range(len(f.files))]
        try:
            _, results = WORKLOADS[name](keras, init)
        except Exception:  # noqa: BLE001 - reported to the test
            with open(os.path.join(folder, f"{name}.error.txt"), "w") as f:
                f.write(traceback.format_exc())
            continue
        np.savez(os.path.join(folder, f"{name}.out.npz"), **results)
