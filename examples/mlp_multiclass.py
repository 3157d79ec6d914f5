"""MLP for multi-class softmax classification (the Keras 2 guide's example), on scikit-learn's digits.

    KSHIM_BACKEND=torch python examples/mlp_multiclass.py

Written in Keras 2 style on purpose: `input_dim`, `SGD(lr=..., decay=...)`, `to_categorical`. kshim runs it
unchanged and warns about the Keras 2 spellings.
"""

import warnings

import numpy as np
from sklearn.datasets import load_digits

import kshim as keras
from kshim.layers import Dense, Dropout
from kshim.models import Sequential
from kshim.optimizers import SGD


def main(epochs=30):
    warnings.simplefilter("ignore", DeprecationWarning)  # the Keras 2 spellings below warn once each
    keras.utils.set_random_seed(0)
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = keras.utils.to_categorical(digits.target, num_classes=10)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

    model = Sequential()
    model.add(Dense(64, activation="relu", input_dim=64))
    model.add(Dropout(0.5))
    model.add(Dense(64, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))
    sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    print(f"[{keras.config.backend()}] digits: test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
