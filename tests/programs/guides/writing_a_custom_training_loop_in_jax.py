"""The Keras guide "Writing a training loop from scratch in JAX", as a user runs it on kshim.

Source: keras-io, guides/writing_a_custom_training_loop_in_jax.py (fchollet, 2023). Written out here section by
section, with the same model, loops and calls; not a verbatim copy. Changes, and only these:
- `import kshim as keras` in place of `import keras` (the backend is chosen by KSHIM_BACKEND=jax);
- 160 generated "digits" (784 features, 10 classes, learnable) in place of MNIST, split 128 / 32 in place of
  50000 / 10000 (no download), batched by a small numpy generator in place of `tf.data` (TensorFlow is not
  needed; the guide converts each tf batch to numpy before the step anyway);
- logging every 2 batches in place of every 100; a few asserts, for tests/test_guides.py;
- the guide's last `compute_loss_and_updates` (with `return_losses=True`) is defined but never run there; here it
  is called once, directly; there, `jax.numpy.sum(losses)` became `jax.numpy.sum(jax.numpy.stack(losses))`:
  jax 0.10's `sum` refuses a Python list (whichever Keras runs the guide).
"""

import os

os.environ["KERAS_BACKEND"] = "jax"  # the guide's line; kshim reads KSHIM_BACKEND

import jax
import numpy as np

import kshim as keras

LOG_EVERY = 2  # the guide: 100


def get_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(10, name="predictions")(x2)
    return keras.Model(inputs=inputs, outputs=outputs)


model = get_model()

batch_size = 32
rng = np.random.default_rng(0)
centers = rng.normal(size=(10, 784)).astype("float32")
labels = rng.integers(0, 10, size=160)
x_train = (centers[labels] + rng.normal(size=(160, 784))).astype("float32")  # the guide: MNIST, 28x28 -> 784
y_train = keras.utils.to_categorical(labels)
x_val, y_val = x_train[-32:], y_train[-32:]  # the guide keeps 10000 for validation
x_train, y_train = x_train[:-32], y_train[:-32]


def batches(x, y, shuffle):
    """Stands in for tf.data's from_tensor_slices(...).shuffle(...).batch(batch_size)."""
    order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
    for i in range(0, len(x), batch_size):
        yield x[order[i:i + batch_size]], y[order[i:i + batch_size]]


loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
optimizer = keras.optimizers.Adam(learning_rate=1e-3)


# -- a stateless loss function of the model's variables, and its gradient --------------------------------------
def compute_loss_and_updates(trainable_variables, non_trainable_variables, x, y):
    y_pred, non_trainable_variables = model.stateless_call(trainable_variables, non_trainable_variables, x)
    loss = loss_fn(y, y_pred)
    return loss, non_trainable_variables


grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)


# -- the training step: stateless, then compiled with jax.jit --------------------------------------------------
def train_step(state, data):
    trainable_variables, non_trainable_variables, optimizer_variables = state
    x, y = data
    (loss, non_trainable_variables), grads = grad_fn(trainable_variables, non_trainable_variables, x, y)
    trainable_variables, optimizer_variables = optimizer.stateless_apply(
        optimizer_variables, grads, trainable_variables)
    return loss, (trainable_variables, non_trainable_variables, optimizer_variables)


train_step = jax.jit(train_step)  # the guide decorates a second copy of the same function with @jax.jit

optimizer.build(model.trainable_variables)  # every variable must exist before the loop
trainable_variables = model.trainable_variables
non_trainable_variables = model.non_trainable_variables
optimizer_variables = optimizer.variables
state = trainable_variables, non_trainable_variables, optimizer_variables
before = [np.asarray(w) for w in model.get_weights()]

losses = []
for epoch in range(3):  # the guide makes one pass over 50000 samples
    for step, data in enumerate(batches(x_train, y_train, shuffle=True)):
        loss, state = train_step(state, data)
        losses.append(float(loss))
        if step % LOG_EVERY == 0:
            print(f"Training loss (for 1 batch) at step {step}: {float(loss):.4f}")
            print(f"Seen so far: {(step + 1) * batch_size} samples")
assert np.mean(losses[-4:]) < np.mean(losses[:4]), losses
# the loop never touched the model's variables: only `state` holds the new values
assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))

trainable_variables, non_trainable_variables, optimizer_variables = state
for variable, value in zip(model.trainable_variables, trainable_variables):
    variable.assign(value)
for variable, value in zip(model.non_trainable_variables, non_trainable_variables):
    variable.assign(value)
np.testing.assert_array_equal(model.get_weights()[0], np.asarray(trainable_variables[0]))

# -- metrics, by hand: stateless_update_state inside the step, result() outside ---------------------------------
model = get_model()
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
train_acc_metric = keras.metrics.CategoricalAccuracy()
val_acc_metric = keras.metrics.CategoricalAccuracy()


def compute_loss_and_updates(trainable_variables, non_trainable_variables, metric_variables, x, y):
    y_pred, non_trainable_variables = model.stateless_call(trainable_variables, non_trainable_variables, x)
    loss = loss_fn(y, y_pred)
    metric_variables = train_acc_metric.stateless_update_state(metric_variables, y, y_pred)
    return loss, (non_trainable_variables, metric_variables)


grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)


@jax.jit
def train_step(state, data):
    trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = state
    x, y = data
    (loss, (non_trainable_variables, metric_variables)), grads = grad_fn(
        trainable_variables, non_trainable_variables, metric_variables, x, y)
    trainable_variables, optimizer_variables = optimizer.stateless_apply(
        optimizer_variables, grads, trainable_variables)
    return loss, (trainable_variables, non_trainable_variables, optimizer_variables, metric_variables)


@jax.jit
def eval_step(state, data):
    trainable_variables, non_trainable_variables, metric_variables = state
    x, y = data
    y_pred, non_trainable_variables = model.stateless_call(trainable_variables, non_trainable_variables, x)
    loss = loss_fn(y, y_pred)
    metric_variables = val_acc_metric.stateless_update_state(metric_variables, y, y_pred)
    return loss, (trainable_variables, non_trainable_variables, metric_variables)


optimizer.build(model.trainable_variables)
trainable_variables = model.trainable_variables
non_trainable_variables = model.non_trainable_variables
optimizer_variables = optimizer.variables
metric_variables = train_acc_metric.variables
state = (trainable_variables, non_trainable_variables, optimizer_variables, metric_variables)

for epoch in range(3):
    for step, data in enumerate(batches(x_train, y_train, shuffle=True)):
        loss, state = train_step(state, data)
        if step % LOG_EVERY == 0:
            print(f"Training loss (for 1 batch) at step {step}: {float(loss):.4f}")
            _, _, _, metric_variables = state
            for variable, value in zip(train_acc_metric.variables, metric_variables):
                variable.assign(value)
            print(f"Training accuracy: {train_acc_metric.result()}")
            print(f"Seen so far: {(step + 1) * batch_size} samples")

metric_variables = val_acc_metric.variables
trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = state
state = trainable_variables, non_trainable_variables, metric_variables

for step, data in enumerate(batches(x_val, y_val, shuffle=False)):
    loss, state = eval_step(state, data)
    if step % LOG_EVERY == 0:
        print(f"Validation loss (for 1 batch) at step {step}: {float(loss):.4f}")
        _, _, metric_variables = state
        for variable, value in zip(val_acc_metric.variables, metric_variables):
            variable.assign(value)
        print(f"Validation accuracy: {val_acc_metric.result()}")
        print(f"Seen so far: {(step + 1) * batch_size} samples")

# As in the guide, the validation pass starts from the training accuracy's state (the guide reuses it), so the
# accuracy it shows counts both; the model itself is the trained one.
trainable_variables = state[0]
for variable, value in zip(model.trainable_variables, trainable_variables):
    variable.assign(value)
logits = np.asarray(model.predict(x_val, verbose=0))
val_accuracy = np.mean(np.argmax(logits, 1) == np.argmax(y_val, 1))
assert val_accuracy > 0.5, val_accuracy
assert 0.0 < float(val_acc_metric.result()) <= 1.0


# -- losses tracked by the model (add_loss), through stateless_call(..., return_losses=True) --------------------
class ActivityRegularizationLayer(keras.layers.Layer):
    def call(self, inputs):
        self.add_loss(1e-2 * jax.numpy.sum(inputs))
        return inputs


inputs = keras.Input(shape=(784,), name="digits")
x = keras.layers.Dense(64, activation="relu")(inputs)
x = ActivityRegularizationLayer()(x)
x = keras.layers.Dense(64, activation="relu")(x)
outputs = keras.layers.Dense(10, name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)


def compute_loss_and_updates(trainable_variables, non_trainable_variables, metric_variables, x, y):
    y_pred, non_trainable_variables, losses = model.stateless_call(
        trainable_variables, non_trainable_variables, x, return_losses=True)
    loss = loss_fn(y, y_pred)
    if losses:
        loss += jax.numpy.sum(jax.numpy.stack(losses))  # the guide: jax.numpy.sum(losses); jax 0.10 refuses a list
    metric_variables = train_acc_metric.stateless_update_state(metric_variables, y, y_pred)
    return loss, non_trainable_variables, metric_variables


train_acc_metric.reset_state()
xb, yb = x_train[:8], y_train[:8]
total, _, _ = compute_loss_and_updates(model.trainable_variables, model.non_trainable_variables,
                                       train_acc_metric.variables, xb, yb)
w = model.get_weights()
hidden = np.maximum(xb @ w[0] + w[1], 0.0)
logits = np.maximum(hidden @ w[2] + w[3], 0.0) @ w[4] + w[5]
shifted = logits - logits.max(axis=1, keepdims=True)
log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
expected = -np.mean(np.sum(yb * log_probs, axis=1)) + 1e-2 * hidden.sum()
np.testing.assert_allclose(float(total), expected, rtol=1e-4)
print("GUIDE OK")
