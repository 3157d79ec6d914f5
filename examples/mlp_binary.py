"""MLP for binary classification, on scikit-learn's breast-cancer data set.

    KSHIM_BACKEND=jax python examples/mlp_binary.py
"""

import numpy as np
from sklearn.datasets import load_breast_cancer

import kshim as keras
from kshim import layers


def main(epochs=40):
    keras.utils.set_random_seed(0)
    data = load_breast_cancer()
    x = data.data.astype("float32")
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = data.target.astype("float32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    x_train, y_train, x_test, y_test = x[:450], y[:450], x[450:], y[450:]

    model = keras.Sequential([
        keras.Input(shape=(30,)),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_split=0.1, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"[{keras.config.backend()}] breast cancer: test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
