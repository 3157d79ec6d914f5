"""The torch replay and Python attributes a step reads (issue 20, defect 7). A custom layer whose ``self.factor``
a callback changes each epoch must train with the new value, as eager torch (and Keras on torch) does; a step
that changes an attribute it reads is not recorded, with a one-line reason."""

import warnings

import numpy as np
import pytest

import kshim
from kshim import layers

if kshim.config.backend() != "torch":
    # jax.jit freezes Python values read at trace time, as Keras 3 on jax does (documented in the README).
    pytest.skip("the replay is the torch backend's", allow_module_level=True)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 4)).astype("float32")
Y = RNG.normal(size=(64, 1)).astype("float32")


class Scale(layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor


class Anneal(kshim.callbacks.Callback):
    def __init__(self, layer, where="on_epoch_begin"):
        super().__init__()
        self.layer = layer
        setattr(self, where, self._change)

    def _change(self, i, logs=None):
        self.layer.factor = 1.0 / (1.0 + i)


def _fit(run_eagerly, where="on_epoch_begin", epochs=6):
    kshim.utils.set_random_seed(1)
    scale = Scale(name="scale")
    m = kshim.Sequential([kshim.Input((4,)), layers.Dense(8, activation="tanh"), scale, layers.Dense(1)])
    m.compile(kshim.optimizers.SGD(0.05), "mse", run_eagerly=run_eagerly)
    m.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0, callbacks=[Anneal(scale, where)])
    return m


@pytest.mark.parametrize("where", ["on_epoch_begin", "on_train_batch_begin"])
def test_an_attribute_changed_by_a_callback_is_followed_bit_for_bit(where):
    eager = _fit(True, where)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        replayed = _fit(False, where)
    for a, b in zip(replayed.get_weights(), eager.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_replays_run_while_the_attribute_stays_put():
    m = _fit(False, epochs=2)
    step = m._steps.train.replayed
    assert any(callable(r) for r in step.replays.values())  # the last epoch's value was recorded and replayed
    guards = next(iter(g for g in step.guards.values() if g))
    assert "factor" in guards[1]


class Counter(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0

    def call(self, x):
        self.calls += 1
        return x * float(self.calls % 3)


def test_a_step_that_changes_an_attribute_it_reads_is_not_recorded():
    kshim.utils.set_random_seed(1)
    m = kshim.Sequential([kshim.Input((4,)), layers.Dense(8), Counter(name="counter"), layers.Dense(1)])
    m.compile(kshim.optimizers.SGD(0.05), "mse")
    with pytest.warns(UserWarning, match=r"not recorded.*Counter\.calls"):
        m.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    kshim.utils.set_random_seed(1)
    e = kshim.Sequential([kshim.Input((4,)), layers.Dense(8), Counter(name="counter"), layers.Dense(1)])
    e.compile(kshim.optimizers.SGD(0.05), "mse", run_eagerly=True)
    e.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), e.get_weights()):
        np.testing.assert_array_equal(a, b)
    reasons = list(m._steps.train.replayed.reasons.values())
    assert len(reasons) == 1 and "\n" not in reasons[0]
