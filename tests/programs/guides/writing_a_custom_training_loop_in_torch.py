"""The Keras guide "Writing a training loop from scratch in PyTorch", as a user runs it on kshim.

Source: keras-io, guides/writing_a_custom_training_loop_in_torch.py (fchollet, 2023). Written out here section by
section, with the same model, loops and calls; not a verbatim copy. Changes, and only these:
- `import kshim as keras` in place of `import keras` (the backend is chosen by KSHIM_BACKEND=torch);
- 160 generated "digits" (784 features, 10 classes, learnable) in place of MNIST, split 128 / 32 in place of
  50000 / 10000 (no download);
- 2 epochs in place of 3, logging every 2 batches in place of every 100; a few asserts, for tests/test_guides.py.
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # the guide's line; kshim reads KSHIM_BACKEND

import numpy as np
import torch

import kshim as keras

LOG_EVERY = 2  # the guide: 100


def get_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(10, name="predictions")(x2)
    return keras.Model(inputs=inputs, outputs=outputs)


# -- the data, in torch DataLoaders ------------------------------------------------------------------------------
batch_size = 32
rng = np.random.default_rng(0)
centers = rng.normal(size=(10, 784)).astype("float32")
labels = rng.integers(0, 10, size=160)
x_train = (centers[labels] + rng.normal(size=(160, 784))).astype("float32")  # the guide: MNIST, 28x28 -> 784
y_train = keras.utils.to_categorical(labels)
x_val, y_val = x_train[-32:], y_train[-32:]  # the guide keeps 10000 for validation
x_train, y_train = x_train[:-32], y_train[:-32]
train_dataset = torch.utils.data.TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train))
val_dataset = torch.utils.data.TensorDataset(torch.from_numpy(x_val), torch.from_numpy(y_val))
train_dataloader = torch.utils.data.DataLoader(train_dataset, batch_size=batch_size, shuffle=True)
val_dataloader = torch.utils.data.DataLoader(val_dataset, batch_size=batch_size, shuffle=False)

# -- a torch optimizer over model.parameters() and a torch loss -------------------------------------------------
model = get_model()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()

epochs = 2  # the guide: 3
torch_losses = []
for epoch in range(epochs):
    for step, (inputs, targets) in enumerate(train_dataloader):
        logits = model(inputs)
        loss = loss_fn(logits, targets)  # torch losses take (prediction, target)
        model.zero_grad()
        loss.backward()
        optimizer.step()
        torch_losses.append(float(loss.detach().numpy()))
        if step % LOG_EVERY == 0:
            print(f"Training loss (for 1 batch) at step {step}: {loss.detach().numpy():.4f}")
            print(f"Seen so far: {(step + 1) * batch_size} samples")
assert np.mean(torch_losses[-4:]) < np.mean(torch_losses[:4]), torch_losses

# -- the same loop with a Keras optimizer and a Keras loss ------------------------------------------------------
model = get_model()
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

keras_losses = []
for epoch in range(epochs):
    print(f"\nStart of epoch {epoch}")
    for step, (inputs, targets) in enumerate(train_dataloader):
        logits = model(inputs)
        loss = loss_fn(targets, logits)  # Keras losses take (target, prediction)
        model.zero_grad()
        trainable_weights = [v for v in model.trainable_weights]
        loss.backward()
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            optimizer.apply(gradients, trainable_weights)
        keras_losses.append(float(loss.detach().numpy()))
        if step % LOG_EVERY == 0:
            print(f"Training loss (for 1 batch) at step {step}: {loss.detach().numpy():.4f}")
            print(f"Seen so far: {(step + 1) * batch_size} samples")
assert np.mean(keras_losses[-4:]) < np.mean(keras_losses[:4]), keras_losses


# -- metrics, by hand: a training and a validation accuracy ---------------------------------------------------
def train_with_metrics(model, with_model_losses=False):
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    train_acc_metric = keras.metrics.CategoricalAccuracy()
    val_acc_metric = keras.metrics.CategoricalAccuracy()
    val_accs = []
    for epoch in range(epochs):
        print(f"\nStart of epoch {epoch}")
        for step, (inputs, targets) in enumerate(train_dataloader):
            logits = model(inputs)
            loss = loss_fn(targets, logits)
            if with_model_losses and model.losses:
                loss = loss + torch.sum(*model.losses)
            model.zero_grad()
            trainable_weights = [v for v in model.trainable_weights]
            loss.backward()
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                optimizer.apply(gradients, trainable_weights)
            train_acc_metric.update_state(targets, logits)
            if step % LOG_EVERY == 0:
                print(f"Training loss (for 1 batch) at step {step}: {loss.detach().numpy():.4f}")
                print(f"Seen so far: {(step + 1) * batch_size} samples")
        train_acc = train_acc_metric.result()
        print(f"Training acc over epoch: {float(train_acc):.4f}")
        train_acc_metric.reset_state()
        for x_batch_val, y_batch_val in val_dataloader:
            val_logits = model(x_batch_val, training=False)
            val_acc_metric.update_state(y_batch_val, val_logits)
        val_acc = val_acc_metric.result()
        val_acc_metric.reset_state()
        print(f"Validation acc: {float(val_acc):.4f}")
        val_accs.append(float(val_acc))
    return val_accs


model = get_model()
val_accs = train_with_metrics(model)
logits = np.asarray(model.predict(x_val, verbose=0))
np.testing.assert_allclose(val_accs[-1], np.mean(np.argmax(logits, 1) == np.argmax(y_val, 1)), rtol=1e-6)
assert val_accs[-1] > 0.5, val_accs


# -- losses tracked by the model (add_loss) ---------------------------------------------------------------------
class ActivityRegularizationLayer(keras.layers.Layer):
    def call(self, inputs):
        self.add_loss(1e-2 * torch.sum(inputs))
        return inputs


inputs = keras.Input(shape=(784,), name="digits")
x = keras.layers.Dense(64, activation="relu")(inputs)
x = ActivityRegularizationLayer()(x)
x = keras.layers.Dense(64, activation="relu")(x)
outputs = keras.layers.Dense(10, name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)

# The guide then trains a fresh `get_model()` with the loop that adds `model.losses`; it runs here as written,
# and once more on the model above, whose layer adds a loss.
train_with_metrics(get_model(), with_model_losses=True)
model(torch.from_numpy(x_val[:4]))
assert len(model.losses) == 1, model.losses
train_with_metrics(model, with_model_losses=True)
print("GUIDE OK")
