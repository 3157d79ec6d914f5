"""Keep the best model while training, stop when it stops improving, then reload the best one and evaluate it.

    KSHIM_BACKEND=torch python examples/checkpoint_early_stopping.py

`ModelCheckpoint(save_best_only=True)` writes the model (architecture, weights, optimizer state) to a `.keras`
file whenever `val_loss` improves; the write is atomic, so an interrupted run never leaves a broken file.
`EarlyStopping` ends training once `val_loss` has not improved for `patience` epochs, and
`ReduceLROnPlateau` halves the learning rate on the way. Data: scikit-learn's digits.
"""

import os
import sys
import tempfile

import numpy as np
from digits_data import digits_split

import kshim as keras
from kshim import callbacks, layers


def main(epochs=60, folder=None):
    keras.utils.set_random_seed(0)
    x_train, y_train, x_test, y_test = digits_split()

    model = keras.Sequential([
        keras.Input((64,)),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    folder = folder or tempfile.mkdtemp(prefix="kshim_ckpt_")
    best_path = os.path.join(folder, "best.keras")
    history = model.fit(
        x_train, y_train, epochs=epochs, batch_size=64, validation_split=0.2, verbose=0,
        callbacks=[
            callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True),
            callbacks.EarlyStopping(monitor="val_loss", patience=5),
            callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
            callbacks.CSVLogger(os.path.join(folder, "training.csv")),
        ],
    )
    val_loss = history.history["val_loss"]
    best_epoch = int(np.argmin(val_loss))
    print(f"[{keras.config.backend()}] trained {len(val_loss)} of {epochs} epochs; best val_loss "
          f"{val_loss[best_epoch]:.4f} at epoch {best_epoch + 1}, last {val_loss[-1]:.4f}")

    best = keras.models.load_model(best_path)
    loss, accuracy = best.evaluate(x_test, y_test, batch_size=256, verbose=0)
    print(f"[{keras.config.backend()}] best model reloaded from {best_path}: test loss {loss:.4f}, "
          f"test accuracy {accuracy:.4f}")
    return {"epochs_run": len(val_loss), "best_val_loss": val_loss[best_epoch], "test_accuracy": accuracy,
            "best_path": best_path}


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
