"""A user's stateful ``train_step`` on torch (Keras 3's contract: ``zero_grad``, ``loss.backward()``,
``optimizer.apply``) recorded and replayed, its backward included, like the built-in step: bit for bit the numbers
of ``run_eagerly=True``, and eager, with the same numbers, where a replay would not repeat what the step does."""

import numpy as np
import pytest

import kshim as keras
from kshim import layers

if keras.backend.backend() != "torch":
    pytest.skip("the stateful train_step contract and its replay are torch's", allow_module_level=True)

import torch  # noqa: E402 - only on the torch backend

_X = np.random.RandomState(0).randn(70, 6).astype("float32")  # 4 batches of 16 and one of 6 per epoch
_Y = (_X[:, 0] + _X[:, 1] > 0).astype("int32")


class Stateful(keras.Model):
    """The step of Keras 3's guide "Customizing what happens in fit() with PyTorch"."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        weights = self.trainable_weights
        with torch.no_grad():
            self.optimizer.apply([v.value.grad for v in weights], weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class Counting(Stateful):
    """Reads and changes a Python counter: a record would freeze it."""

    def train_step(self, data):
        self.calls = getattr(self, "calls", 0) + 1
        logs = super().train_step(data)
        logs["calls"] = float(self.calls)
        return logs


_OUTSIDE = []  # a metric no attribute of the model holds


class Untracked(Stateful):
    """Updates a metric the model does not hold: a replay would not update it."""

    def train_step(self, data):
        logs = super().train_step(data)
        _OUTSIDE[-1].update_state(data[1])
        return logs


class TwoOptimizers(Stateful):
    """A GAN's pattern: a second optimizer, held by the model and built on its first ``apply``, trains the
    output layer; a metric in a list counts the labels."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        weights = self.trainable_weights
        with torch.no_grad():
            self.optimizer.apply([v.value.grad for v in weights[:-2]], weights[:-2])
            self.second.apply([v.value.grad for v in weights[-2:]], weights[-2:])
        self.counters[0].update_state(y)
        return {"loss": loss.detach(), "labels": self.counters[0].result()}


class Clipping(Stateful):
    """Asks torch for the parameters themselves (``clip_grad_norm_`` over ``self.parameters()``)."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        loss = self.compute_loss(y=y, y_pred=self(x, training=True))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.parameters(), 0.05)
        weights = self.trainable_weights
        with torch.no_grad():
            self.optimizer.apply([v.value.grad for v in weights], weights)
        return {"loss": loss.detach()}


def _fit(cls, run_eagerly):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6,))
    h = layers.Dense(8, activation="relu")(inputs)
    h = layers.BatchNormalization()(h)
    model = cls(inputs, layers.Dense(2)(h))
    model.second = keras.optimizers.Adam(0.02)
    model.counters = [keras.metrics.Mean()]
    _OUTSIDE.append(keras.metrics.Mean())
    model.compile(optimizer=keras.optimizers.Adam(0.01), run_eagerly=run_eagerly,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    history = model.fit(_X, _Y, batch_size=16, epochs=2, verbose=0, shuffle=False).history
    return model, history


def _assert_same(cls):
    eager, eager_history = _fit(cls, True)
    replay, history = _fit(cls, False)
    assert history == eager_history
    for a, b in zip(replay.weights, eager.weights):
        assert np.array_equal(a.numpy(), b.numpy()), a.path
    for a, b in zip(replay.optimizer.variables + replay.second.variables + replay.counters[0].variables,
                    eager.optimizer.variables + eager.second.variables + eager.counters[0].variables):
        assert np.array_equal(a.numpy(), b.numpy()), a.path
    return replay, history


def _replays(model):
    fn = model.train_function.fn
    return [] if fn is None else [r for r in fn.replayed.replays.values() if callable(r)]


def test_custom_stateful_step_is_replayed_bit_for_bit():
    model, history = _assert_same(Stateful)
    assert len(_replays(model)) == 1  # the batches of 16; the last batch of 6 stays eager (too few calls)
    assert model.train_function.eager_reason is None
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0]


def test_step_with_a_second_optimizer_and_a_listed_metric_is_replayed():
    model, history = _assert_same(TwoOptimizers)
    assert len(_replays(model)) == 1
    assert model.train_function.eager_reason is None
    assert len(model.second.variables) > 1 and history["labels"][-1] == pytest.approx(float(_Y.mean()))


def test_step_changing_a_python_attribute_it_reads_stays_eager():
    with pytest.warns(UserWarning, match="Counting.calls"):
        model, history = _assert_same(Counting)
    assert _replays(model) == []
    assert model.calls == 10 and history["calls"] == [5.0, 10.0]


def test_step_assigning_an_untracked_variable_stays_eager():
    model, _ = _assert_same(Untracked)
    assert model.train_function.fn is None
    assert "not among the model's" in model.train_function.eager_reason
    assert float(_OUTSIDE[-1].result()) == pytest.approx(float(_Y.mean()))


def test_step_using_torch_parameters_stays_eager():
    model, _ = _assert_same(Clipping)
    assert model.train_function.fn is None
    assert "torch parameters" in model.train_function.eager_reason


class NoZeroGrad(Stateful):
    """Never calls ``zero_grad``: eagerly, each step's gradients add to the parameters' from the step before."""

    def zero_grad(self, set_to_none=True):
        pass


def test_step_without_zero_grad_stays_eager():
    model, _ = _assert_same(NoZeroGrad)
    assert model.train_function.fn is None
    assert "before zero_grad()" in model.train_function.eager_reason
