"""Transfer learning with `kshim.applications`: a frozen MobileNetV2 base and a new classifier head.

    KSHIM_BACKEND=torch python examples/transfer_learning_applications.py

The Keras transfer-learning recipe is ``base = keras.applications.MobileNetV2(weights="imagenet",
include_top=False)``, ``base.trainable = False``, then a new head. This machine may be offline, so the base here
is built with ``weights=None`` (seeded random weights, identical on both backends); with the ImageNet file in
``~/.keras/models`` the same script takes ``weights="imagenet"``. The images are scikit-learn's bundled digits
(8x8, no download), enlarged to 32x32 RGB (MobileNetV2's smallest input). The frozen base's weights, its
BatchNormalization statistics included, are checked to be unchanged by training.

A randomly initialized deep network shrinks its signal block after block: the pooled features of the random base
are about 1e-13, too small for a Dense head (or Adam's epsilon) to see. The head therefore starts with a
`Rescaling` by the inverse of the features' spread on the training images, measured once with `base.predict` (with
ImageNet weights the features are O(1) and the factor is about 1). The relative differences between images
survive the random base, and the new head learns the digits from them.
"""

import sys

import numpy as np
from sklearn.datasets import load_digits

import kshim as keras
from kshim import layers


def digits_rgb_32(seed=0):
    """The digits as (n, 32, 32, 3) float32 pixels in [0, 255] (each pixel repeated 4x4, gray to RGB), shuffled."""
    digits = load_digits()
    images = digits.images * (255.0 / 16.0)
    images = np.repeat(np.repeat(images, 4, axis=1), 4, axis=2)
    x = np.repeat(images[..., None], 3, axis=-1).astype("float32")
    y = digits.target.astype("int32")
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order], y[order]


def main(epochs=6, weights=None):
    keras.utils.set_random_seed(0)
    x, y = digits_rgb_32()
    x = keras.applications.mobilenet_v2.preprocess_input(x)  # [0, 255] -> [-1, 1]
    x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

    base = keras.applications.MobileNetV2(weights=weights, include_top=False, input_shape=(32, 32, 3))
    base.trainable = False
    frozen_before = [w.copy() for w in base.get_weights()]

    spread = float(np.std(base.predict(x_train, batch_size=128, verbose=0).mean(axis=(1, 2))))
    inputs = keras.Input(shape=(32, 32, 3))
    features = base(inputs, training=False)  # BatchNormalization stays in inference mode
    features = layers.GlobalAveragePooling2D()(features)
    features = layers.Rescaling(1.0 / spread)(features)
    features = layers.Dropout(0.2)(features)
    outputs = layers.Dense(10, activation="softmax")(features)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    print(f"backend={keras.config.backend()}  base: {base.name}, {len(base.layers)} layers, "
          f"{base.count_params()} parameters (all frozen); trainable: {len(model.trainable_weights)} arrays; "
          f"feature spread {spread:.3g}")
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, validation_split=0.1, verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy of the new head on the frozen base: {accuracy:.3f} (chance: 0.100)")

    unchanged = all(np.array_equal(a, b) for a, b in zip(frozen_before, base.get_weights()))
    print(f"frozen base unchanged: {unchanged}")
    if not unchanged:
        raise SystemExit("the frozen base changed during training")
    return accuracy


if __name__ == "__main__":
    main(epochs=int(sys.argv[1]) if len(sys.argv) > 1 else 6)
