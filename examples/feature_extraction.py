"""Feature extraction with a Sequential model (the Keras Sequential guide's blueprint), on scikit-learn's digits.

    KSHIM_BACKEND=torch python examples/feature_extraction.py

Once a Sequential model is built, it behaves like a functional model: every layer has an `input` and an
`output`, so `kshim.Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])` returns every
intermediate activation in one call. Here a small convnet is trained on the digits, its features are extracted,
checked against calling the layers one by one, and the penultimate layer's features feed a scikit-learn
logistic regression.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import kshim as keras
from kshim import layers, ops


def main(epochs=6):
    keras.utils.set_random_seed(0)
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]  # (1797, 8, 8, 1)
    y = digits.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

    initial_model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(16, 3, activation="relu", name="conv1"),
        layers.Conv2D(16, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(name="pool"),
        layers.Flatten(name="flatten"),
        layers.Dense(32, activation="relu", name="my_intermediate_layer"),
        layers.Dense(10, activation="softmax", name="classifier"),
    ])
    initial_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    initial_model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0)
    _, accuracy = initial_model.evaluate(x_test, y_test, verbose=0)
    print(f"[{keras.config.backend()}] convnet test accuracy {accuracy:.4f}")

    # every layer's output at once
    feature_extractor = keras.Model(inputs=initial_model.inputs,
                                    outputs=[layer.output for layer in initial_model.layers])
    features = feature_extractor(x_test[:5])
    h = x_test[:5]
    for layer, feature in zip(initial_model.layers, features):
        h = layer(h)
        assert np.array_equal(ops.convert_to_numpy(h), ops.convert_to_numpy(feature)), layer.name
        print(f"  {layer.name:>22}: {tuple(ops.shape(feature))}")
    print(f"{len(features)} intermediate outputs, each equal to calling the layers by hand")

    # one intermediate layer's features, as input to another model
    extractor = keras.Model(inputs=initial_model.inputs,
                            outputs=initial_model.get_layer(name="my_intermediate_layer").output)
    train_features = extractor.predict(x_train, verbose=0)
    test_features = extractor.predict(x_test, verbose=0)
    classifier = LogisticRegression(max_iter=2000).fit(np.asarray(train_features), y_train)
    probe_accuracy = classifier.score(np.asarray(test_features), y_test)
    print(f"logistic regression on the {train_features.shape[1]} features of 'my_intermediate_layer': "
          f"test accuracy {probe_accuracy:.4f}")
    return probe_accuracy


if __name__ == "__main__":
    main()
