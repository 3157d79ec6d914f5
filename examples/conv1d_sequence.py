"""Sequence classification with 1D convolutions (the Keras 2 guide's example), on generated token sequences.

    KSHIM_BACKEND=torch python examples/conv1d_sequence.py
"""

import kshim as keras
from kshim import layers

from sequence_data import token_sequences


def main(epochs=8):
    keras.utils.set_random_seed(0)
    x, y = token_sequences()
    model = keras.Sequential([
        keras.Input(shape=(30,), dtype="int32"),
        layers.Embedding(50, 32),
        layers.Conv1D(64, 3, activation="relu", padding="same"),
        layers.Conv1D(64, 3, activation="relu", padding="same"),
        layers.MaxPooling1D(2),
        layers.Conv1D(64, 3, activation="relu", padding="same"),
        layers.GlobalAveragePooling1D(),
        layers.Dropout(0.3),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x[:1600], y[:1600], batch_size=32, epochs=epochs, verbose=0)
    loss, accuracy = model.evaluate(x[1600:], y[1600:], verbose=0)
    print(f"[{keras.config.backend()}] Conv1D: test loss {loss:.4f}, accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
