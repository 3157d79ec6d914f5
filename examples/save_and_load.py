"""Save a trained model, load it back, check it predicts the same, and resume training where it stopped.

    KSHIM_BACKEND=torch python examples/save_and_load.py

On scikit-learn's digits: a Sequential model is trained, saved as a `.keras` file (the same zip Keras 3 writes:
architecture, weights, compile arguments and optimizer state), loaded, and checked to predict identically. Then
the original and the loaded model each train two more epochs: their weights stay equal, because the optimizer's
state and the dropout stream were saved too. Last, `save_weights`/`load_weights` move the weights alone into a
fresh model of the same architecture.
"""

import os
import tempfile

import numpy as np
from digits_data import digits_split

import kshim as keras
from kshim import layers


def build():
    return keras.Sequential([keras.Input((64,)), layers.Dense(64, activation="relu"), layers.BatchNormalization(),
                             layers.Dropout(0.3, seed=1), layers.Dense(10, activation="softmax")], name="digits_mlp")


def main(epochs=5):
    keras.utils.set_random_seed(0)
    x_train, y_train, x_test, y_test = digits_split()

    model = build()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, shuffle=False, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "digits.keras")
        model.save(path)
        print(f"[{keras.config.backend()}] saved {os.path.basename(path)} ({os.path.getsize(path):,} bytes); "
              f"test accuracy {accuracy:.4f}")
        loaded = keras.models.load_model(path)
        same = np.array_equal(model.predict(x_test, verbose=0), loaded.predict(x_test, verbose=0))
        assert same, "the loaded model predicts differently"
        print(f"loaded: identical predictions {same}, optimizer {type(loaded.optimizer).__name__} at step "
              f"{int(loaded.optimizer.iterations.numpy())}")

        # resume: two more epochs on each model give the same weights
        model.fit(x_train, y_train, batch_size=64, epochs=2, shuffle=False, verbose=0)
        loaded.fit(x_train, y_train, batch_size=64, epochs=2, shuffle=False, verbose=0)
        gap = max(float(np.max(np.abs(a - b))) for a, b in zip(model.get_weights(), loaded.get_weights()))
        assert gap < 1e-5, gap
        _, resumed_accuracy = loaded.evaluate(x_test, y_test, verbose=0)
        print(f"resumed 2 epochs: test accuracy {resumed_accuracy:.4f}; largest weight difference from the "
              f"uninterrupted model {gap:.2e}")

        # the weights alone, into a fresh model of the same architecture
        weights_path = os.path.join(folder, "digits.weights.h5")
        loaded.save_weights(weights_path)
        fresh = build()
        fresh.load_weights(weights_path)
        fresh.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        _, fresh_accuracy = fresh.evaluate(x_test, y_test, verbose=0)
        assert fresh_accuracy == resumed_accuracy
        print(f"save_weights/load_weights into a fresh model: test accuracy {fresh_accuracy:.4f}")
    return resumed_accuracy


if __name__ == "__main__":
    main()
