"""Time-series classification with a transformer encoder, as in the keras-io example "Timeseries classification
with a Transformer model": stacked encoder blocks (multi-head self-attention and a Conv1D feed-forward, each with
layer normalization and a residual connection), global average pooling and an MLP head.

    KSHIM_BACKEND=jax python examples/timeseries_transformer.py

The series are generated: noisy sines of random phase, class 1 oscillating about twice as fast as class 0, with
the same amplitude, so no single time step tells them apart: the model has to compare time steps.
"""

import numpy as np

import kshim as keras
from kshim import layers

STEPS = 64


def make_series(n, seed):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, STEPS)
    y = rng.integers(0, 2, n).astype("int32")
    freq = np.where(y[:, None] == 1, 6.0, 3.0) * rng.uniform(0.9, 1.1, (n, 1))  # class 1 oscillates twice as fast
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = np.sin(2 * np.pi * freq * t + phase) + rng.normal(scale=0.3, size=(n, STEPS))
    return x[..., None].astype("float32"), y


def transformer_encoder(inputs, head_size, num_heads, ff_dim, dropout=0.0):
    x = layers.MultiHeadAttention(key_dim=head_size, num_heads=num_heads, dropout=dropout)(inputs, inputs)
    x = layers.Dropout(dropout)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    res = layers.Add()([x, inputs])  # kshim KerasTensors have no `+` yet
    x = layers.Conv1D(filters=ff_dim, kernel_size=1, activation="relu")(res)
    x = layers.Dropout(dropout)(x)
    x = layers.Conv1D(filters=inputs.shape[-1], kernel_size=1)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    return layers.Add()([x, res])


def build_model(head_size=16, num_heads=2, ff_dim=8, num_blocks=2, mlp_units=(32,), dropout=0.1):
    inputs = keras.Input(shape=(STEPS, 1))
    # Attention and average pooling ignore the order of the steps; a small convolution first gives each step its
    # local shape (the slope, which is what tells the two frequencies apart).
    x = layers.Conv1D(8, kernel_size=5, padding="same", activation="tanh")(inputs)
    for _ in range(num_blocks):
        x = transformer_encoder(x, head_size, num_heads, ff_dim, dropout)
    x = layers.GlobalAveragePooling1D(data_format="channels_last")(x)
    for units in mlp_units:
        x = layers.Dropout(dropout)(layers.Dense(units, activation="relu")(x))
    return keras.Model(inputs, layers.Dense(2, activation="softmax")(x))


def main(epochs=6):
    keras.utils.set_random_seed(0)
    x_train, y_train = make_series(600, seed=1)
    x_val, y_val = make_series(200, seed=2)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_data=(x_val, y_val), verbose=0,
                        callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True,
                                                                 monitor="val_loss")])
    acc = history.history["val_sparse_categorical_accuracy"]
    print(f"[{keras.config.backend()}] validation accuracy {acc[-1]:.3f} after {len(acc)} epochs")
    return history.history


if __name__ == "__main__":
    main()
