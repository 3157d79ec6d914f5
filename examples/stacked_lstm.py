"""Stacked LSTMs for sequence classification (the Keras 2 guide's example): the first two return sequences.

    KSHIM_BACKEND=jax python examples/stacked_lstm.py
"""

import numpy as np

import kshim as keras
from kshim import layers


def main(epochs=10):
    keras.utils.set_random_seed(0)
    data_dim, timesteps, num_classes = 16, 8, 4
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(num_classes, data_dim))
    labels = rng.integers(0, num_classes, size=1200)
    x = (centers[labels][:, None, :] + rng.normal(scale=1.5, size=(1200, timesteps, data_dim))).astype("float32")
    y = keras.utils.to_categorical(labels, num_classes)

    model = keras.Sequential([
        keras.Input(shape=(timesteps, data_dim)),
        layers.LSTM(32, return_sequences=True),  # returns a sequence of vectors of dimension 32
        layers.LSTM(32, return_sequences=True),
        layers.LSTM(32),                          # returns a single vector of dimension 32
        layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    model.fit(x[:1000], y[:1000], batch_size=64, epochs=epochs, validation_data=(x[1000:], y[1000:]), verbose=0)
    loss, accuracy = model.evaluate(x[1000:], y[1000:], verbose=0)
    print(f"[{keras.config.backend()}] stacked LSTM: test loss {loss:.4f}, accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
