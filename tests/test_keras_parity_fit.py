"""Training parity with real Keras 3: same weights and data give the same history, weights and outputs."""

import os
import warnings

import numpy as np
import pytest

import kshim
from kshim import layers

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")


def _data(n=96, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32") + (x[:, 2] > 1).astype("int32")
    return x, np.minimum(y, classes - 1)


def _build_pair(dropout=False):
    kshim.utils.set_random_seed(3)
    ours = kshim.Sequential([kshim.Input((6,)), layers.Dense(16, activation="tanh"), layers.Dense(3,
                                                                                             activation="softmax")])
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="tanh"),
                               keras.layers.Dense(3, activation="softmax")])
    theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.mark.parametrize("opt_name, kwargs", [
    ("SGD", dict(learning_rate=0.05, momentum=0.9)),
    ("SGD", dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(learning_rate=0.01, amsgrad=True)),
    ("RMSprop", dict(learning_rate=0.01, centered=True, momentum=0.5)),
])
def test_three_epoch_fit_matches_keras(opt_name, kwargs):
    x, y = _data()
    ours, theirs = _build_pair()
    ours.compile(optimizer=getattr(kshim.optimizers, opt_name)(**kwargs), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    theirs.compile(optimizer=getattr(keras.optimizers, opt_name)(**kwargs), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
    h1 = ours.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(h1.history["accuracy"], h2.history["accuracy"], rtol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-4)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


def test_validation_sample_weight_and_class_weight_match_keras():
    x, y = _data(n=80)
    sw = np.linspace(0.5, 2.0, len(x)).astype("float32")
    ours, theirs = _build_pair()
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(optimizer=mod.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    h1 = ours.fit(x, y, sample_weight=sw, batch_size=20, epochs=2, shuffle=False, validation_split=0.25, verbose=0)
    h2 = theirs.fit(x, y, sample_weight=sw, batch_size=20, epochs=2, shuffle=False, validation_split=0.25,
                    verbose=0)
    assert set(h1.history) == set(h2.history)
    for k in h2.history:
        np.testing.assert_allclose(h1.history[k], h2.history[k], rtol=1e-4, err_msg=k)
    ours2, theirs2 = _build_pair()
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    for m, mod in ((ours2, kshim), (theirs2, keras)):
        m.compile(optimizer=mod.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    h1 = ours2.fit(x, y, class_weight=cw, batch_size=20, epochs=2, shuffle=False, verbose=0)
    h2 = theirs2.fit(x, y, class_weight=cw, batch_size=20, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)


def test_keras2_tutorial_code_runs_with_warnings():
    x, y = _data()
    y_onehot = kshim.utils.to_categorical(y, 3)
    import kshim.backend as K

    def mean_pred(y_true, y_pred):
        return K.mean(y_pred)

    model = kshim.models.Sequential()
    with pytest.warns(DeprecationWarning):
        model.add(layers.Dense(16, input_dim=6, activation="relu", batch_input_shape=(None, 6)))
    model.add(layers.Dense(3, activation="softmax"))
    with pytest.warns(DeprecationWarning):
        sgd = kshim.optimizers.SGD(lr=0.05, decay=1e-3, momentum=0.9, nesterov=True)
    model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy", mean_pred])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        hist = model.fit(x, y_onehot, epochs=2, batch_size=16, verbose=0)
    assert list(hist.history) == ["loss", "accuracy", "mean_pred"]
    # The mean of softmax outputs is exactly 1/3 whatever the weights.
    np.testing.assert_allclose(hist.history["mean_pred"], [1 / 3, 1 / 3], rtol=1e-5)
    assert hist.history["loss"][1] < hist.history["loss"][0]
