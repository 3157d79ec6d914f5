"""Sequence classification with Embedding + LSTM (the Keras 2 guide's example), on generated token sequences.

    KSHIM_BACKEND=jax python examples/embedding_lstm.py
"""

import kshim as keras
from kshim import layers

from sequence_data import token_sequences


def main(epochs=6):
    keras.utils.set_random_seed(0)
    x, y = token_sequences()
    model = keras.Sequential([
        keras.Input(shape=(30,), dtype="int32"),
        layers.Embedding(50, 32, mask_zero=True),
        layers.LSTM(32),
        layers.Dropout(0.2),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    model.fit(x[:1600], y[:1600], batch_size=32, epochs=epochs, verbose=0)
    loss, accuracy = model.evaluate(x[1600:], y[1600:], verbose=0)
    print(f"[{keras.config.backend()}] Embedding+LSTM: test loss {loss:.4f}, accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
