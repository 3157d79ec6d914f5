"""Issue 20: sparse labels out of range inside a compiled step. Numpy labels are checked on the host before each
step (tests/reliability/test_silent_cases.py); labels that reach the step as tensors are checked only when the
opt-in guard `kshim.config.enable_label_checks()` is on, since reading them back costs a host sync per step."""

import numpy as np
import pytest

import kshim as keras
from kshim import ops

X = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
Y_BAD = np.array([0, 1, 2, 3] * 3 + [0, 1, 7, 2])  # a 7 in the last batch of 4, with 4 classes


def _batches(y):
    """Batches of backend tensors: the host check sees no numpy labels, only the compiled step sees them."""
    return [(ops.convert_to_tensor(X[i:i + 4]), ops.convert_to_tensor(y[i:i + 4].astype("int32")))
            for i in range(0, 16, 4)]


def _dataset(y):
    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return _batches(y)[i]

    return Batches()


def _classifier(**compile_kwargs):
    keras.utils.set_random_seed(1)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
    m.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", **compile_kwargs)
    return m


@pytest.fixture
def guard():
    keras.config.enable_label_checks()
    yield
    keras.config.disable_label_checks()


def test_the_guard_is_off_by_default_and_the_compiled_step_trusts_its_labels():
    assert keras.config.label_checks_enabled() is False
    m = _classifier()
    loss = m.evaluate(_dataset(Y_BAD), verbose=0)
    probs = m.predict(X, verbose=0)
    y = Y_BAD.copy()
    per_sample = np.where(y < 4, -np.log(probs[np.arange(16), np.minimum(y, 3)]), 0.0)  # the bad row gives 0
    np.testing.assert_allclose(loss, per_sample.mean(), rtol=1e-5)
    m.fit(_dataset(Y_BAD), epochs=1, verbose=0)  # no error, no host read


@pytest.mark.parametrize("entry", ["fit", "evaluate"])
def test_the_guard_raises_inside_the_compiled_step(guard, entry):
    m = _classifier()
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: labels must be integers in \[0, 4\)"
                                         r".*Received: a label 7 .*compiled step.*enable_label_checks"):
        if entry == "evaluate":
            m.evaluate(_dataset(Y_BAD), verbose=0)
        else:
            m.fit(_dataset(Y_BAD), epochs=1, verbose=0)
    if entry == "evaluate":
        for a, b in zip(before, m.get_weights()):
            np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(np.concatenate([w.ravel() for w in m.get_weights()])))  # still usable


def test_the_guard_catches_negative_labels_and_passes_good_ones(guard):
    m = _classifier(steps_per_execution=2)
    good = np.array([0, 1, 2, 3] * 4)
    guarded = m.fit(_dataset(good), epochs=2, verbose=0).history["loss"]
    keras.config.disable_label_checks()
    plain = _classifier(steps_per_execution=2).fit(_dataset(good), epochs=2, verbose=0).history["loss"]
    np.testing.assert_allclose(guarded, plain, rtol=1e-6)  # the guard changes no number
    keras.config.enable_label_checks()
    with pytest.raises(ValueError, match=r"in \[0, 4\).*Received: a label -2 "):
        m.evaluate(_dataset(np.array([0, 1, 2, 3] * 3 + [0, -2, 1, 1])), verbose=0)


def test_the_guard_reaches_a_custom_train_step(guard):
    """A user's step (stateless on jax, stateful on torch) that computes its labels inside the step."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    if ops.stateless_steps():
        class Shifted(keras.Model):
            def train_step(self, state, data):
                trainable, non_trainable, optimizer_values, metric_values = state
                x, y = data
                y_pred, _ = self.stateless_call(trainable, non_trainable, x)
                return {"loss": loss_fn(y + 2, y_pred)}, state
    else:
        class Shifted(keras.Model):
            def train_step(self, data):
                x, y = data
                return {"loss": loss_fn(y + 2, self(x))}
    inputs = keras.Input((3,))
    m = Shifted(inputs, keras.layers.Dense(4, activation="softmax")(inputs))
    m.compile("sgd")
    with pytest.raises(ValueError, match=r"in \[0, 4\).*Received: a label 5 "):
        m.fit(_dataset(np.array([0, 1, 2, 3] * 4)), epochs=1, verbose=0)
