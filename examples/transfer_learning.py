"""Transfer learning with a frozen base model (the Keras Sequential guide's blueprint), on scikit-learn's digits.

    KSHIM_BACKEND=torch python examples/transfer_learning.py

A small convnet (with BatchNormalization) is trained on the digits 0-4. Its convolutional base is then frozen
(`base.trainable = False`) and stacked with a new head in a Sequential model, which learns the digits 5-9 from
only 150 examples. The frozen base's weights, BatchNormalization's moving statistics included, are checked to be
bit-for-bit unchanged: a frozen BatchNormalization runs in inference mode, as in Keras 3. Last, the base is
unfrozen and the whole model fine-tuned with a low learning rate (recompiling makes the change take effect).
"""

import numpy as np
from sklearn.datasets import load_digits

import kshim as keras
from kshim import layers


def main(epochs=10):
    keras.utils.set_random_seed(0)
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    first, second = y < 5, y >= 5
    x_a, y_a = x[first], y[first]
    x_b, y_b = x[second], y[second] - 5
    xb_train, yb_train, xb_test, yb_test = x_b[:150], y_b[:150], x_b[150:], y_b[150:]

    # 1. a base model, trained on the digits 0-4
    base = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(16, 3, activation="relu", name="conv1"),
        layers.BatchNormalization(name="bn"),
        layers.Conv2D(32, 3, activation="relu", name="conv2"),
        layers.GlobalAveragePooling2D(name="gap"),
    ], name="base")
    pretrain = keras.Sequential([base, layers.Dense(5, activation="softmax", name="head_0_4")])
    pretrain.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    pretrain.fit(x_a, y_a, batch_size=32, epochs=epochs, verbose=0)
    _, acc_a = pretrain.evaluate(x_a, y_a, verbose=0)
    print(f"[{keras.config.backend()}] base trained on digits 0-4: accuracy {acc_a:.4f}")

    # 2. freeze the base, stack a new head, train on 150 examples of the digits 5-9
    base.trainable = False
    frozen = [w.copy() for w in base.get_weights()]
    model = keras.Sequential([base, layers.Dense(5, activation="softmax", name="head_5_9")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(xb_train, yb_train, batch_size=16, epochs=2 * epochs, verbose=0)
    _, acc_frozen = model.evaluate(xb_test, yb_test, verbose=0)
    unchanged = all(np.array_equal(a, b) for a, b in zip(frozen, base.get_weights()))
    assert unchanged, "a frozen weight changed"
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    print(f"frozen base + new head on digits 5-9: test accuracy {acc_frozen:.4f} "
          f"({trainable:,} trainable, {non_trainable:,} frozen parameters; frozen weights bit-unchanged: "
          f"{unchanged})")

    # 3. fine-tune everything with a low learning rate
    base.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(xb_train, yb_train, batch_size=16, epochs=epochs, verbose=0)
    _, acc_tuned = model.evaluate(xb_test, yb_test, verbose=0)
    moved = not np.array_equal(frozen[0], base.get_weights()[0])
    assert moved
    print(f"after fine-tuning the whole model: test accuracy {acc_tuned:.4f}")
    return acc_frozen, acc_tuned


if __name__ == "__main__":
    main()
