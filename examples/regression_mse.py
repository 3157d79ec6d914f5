"""Regression with mean squared error, on scikit-learn's diabetes data set.

    KSHIM_BACKEND=torch python examples/regression_mse.py
"""

import numpy as np
from sklearn.datasets import load_diabetes

import kshim as keras
from kshim import layers


def main(epochs=100):
    keras.utils.set_random_seed(0)
    data = load_diabetes()
    x = data.data.astype("float32")
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = data.target.astype("float32")
    y_mean, y_std = y.mean(), y.std()
    y = (y - y_mean) / y_std
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    x_train, y_train, x_test, y_test = x[:350], y[:350], x[350:], y[350:]

    model = keras.Sequential([
        keras.Input(shape=(10,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(16, activation="relu"),
        layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse", metrics=["mae"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    mse, mae = model.evaluate(x_test, y_test, verbose=0)
    baseline = float(np.mean((y_test - y_train.mean()) ** 2))
    print(f"[{keras.config.backend()}] diabetes: test mse {mse:.4f} (predict-the-mean baseline {baseline:.4f}), "
          f"test mae in original units {mae * y_std:.2f}")
    return mse, baseline


if __name__ == "__main__":
    main()
