"""Quickstart: a Keras Sequential classifier, trained unchanged on whichever backend KSHIM_BACKEND selects.

    KSHIM_BACKEND=jax python examples/quickstart.py
    KSHIM_BACKEND=torch python examples/quickstart.py

The data are three interleaved spirals generated with numpy, so nothing is downloaded.
"""

import numpy as np

import kshim as keras
from kshim import layers


def spirals(n_per_class=400, classes=3, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.1, 1.0, n_per_class)
        t = np.linspace(c * 2 * np.pi / classes, c * 2 * np.pi / classes + 3.0, n_per_class)
        t = t + rng.normal(scale=noise, size=n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, c))
    x, y = np.concatenate(xs).astype("float32"), np.concatenate(ys)
    order = rng.permutation(len(x))
    return x[order], y[order]


def main():
    keras.utils.set_random_seed(42)
    x, y = spirals()
    x_train, y_train, x_test, y_test = x[:960], y[:960], x[960:], y[960:]

    model = keras.Sequential([
        keras.Input(shape=(2,)),
        layers.Dense(64, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.1),
        layers.Dense(3, activation="softmax"),
    ])
    model.summary()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=30, validation_split=0.1, verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"backend={keras.config.backend()} test loss={loss:.4f} test accuracy={accuracy:.4f}")
    print("first predictions:", np.argmax(model.predict(x_test[:5], verbose=0), axis=1), "labels:", y_test[:5])


if __name__ == "__main__":
    main()
