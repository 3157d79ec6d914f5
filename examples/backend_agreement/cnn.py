"""A small CNN with BatchNormalization (Functional API), compiled with SGD and momentum: agrees across backends."""

import numpy as np

import kshim as keras
from kshim import layers


def build_model():
    inputs = keras.Input((12, 12, 3))
    x = layers.Conv2D(8, 3, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(8, 3)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy")
    return model


def sample():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(16, 12, 12, 3)).astype("float32")
    y = rng.integers(0, 4, size=(16,))
    return x, y
