"""Ctrl-C during `fit` (issue 20, defect 4): an interrupted fit leaves the model usable, holding the weights of
the last completed step. On jax the step donates its input buffers, so an interrupt that lands after a step has
started but before its results are bound used to leave "Array has been deleted" behind."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import kshim as keras

ROUNDS = int(os.environ.get("KSHIM_RELIABILITY_ROUNDS", "2"))  # CI: a small count
RNG = np.random.default_rng(7)
X = RNG.normal(size=(96, 5)).astype("float32")
Y = RNG.normal(size=(96, 2)).astype("float32")


def _model(steps_per_execution=1):
    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    m.compile(keras.optimizers.Adam(0.01), "mse", steps_per_execution=steps_per_execution)
    return m


def _reference(steps):
    """The weights after ``steps`` uninterrupted steps over the first batches of 8."""
    m = _model()
    for i in range(steps):
        m.train_on_batch(X[8 * i:8 * i + 8], Y[8 * i:8 * i + 8])
    return m.get_weights()


def _assert_usable(m, expected):
    got = m.get_weights()  # raised "Array has been deleted" on jax before the fix
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    out = m.predict(X[:4], verbose=0)
    assert out.shape == (4, 2) and np.isfinite(out).all()
    m.fit(X, Y, batch_size=8, epochs=1, verbose=0)  # and it trains on
    assert all(np.isfinite(w).all() for w in m.get_weights())


class _SignalAfterStep(keras.callbacks.Callback):
    """Wraps the compiled train step so that SIGINT arrives just after the ``at``-th call has consumed its
    inputs, before the caller has bound its results: the window in which a real Ctrl-C destroyed the weights."""

    def __init__(self, at, multi=False):
        super().__init__()
        self.at, self.multi, self.calls = at, multi, 0

    def on_train_begin(self, logs=None):
        steps = self.model._steps
        name = "train_multi" if self.multi else "train"
        real = getattr(steps, name)

        def step(*args):
            out = real(*args)
            self.calls += 1
            if self.calls == self.at:
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):  # the handler runs at the next bytecode boundary, inside this function
                    pass
            return out

        setattr(steps, "_" + name, step)


@pytest.mark.parametrize("at", [1, 3, 7])
def test_sigint_just_after_a_step_keeps_that_steps_weights(at):
    m = _model()
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[_SignalAfterStep(at)])
    _assert_usable(m, _reference(at))


def test_sigint_after_a_multi_step_execution_keeps_its_weights():
    m = _model(steps_per_execution=2)
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0,
              callbacks=[_SignalAfterStep(2, multi=True)])
    _assert_usable(m, _reference(4))


def test_sigint_after_train_on_batch_keeps_its_weights():
    m = _model()
    m.train_on_batch(X[:8], Y[:8])
    cb = _SignalAfterStep(1)
    cb.set_model(m)
    cb.on_train_begin()
    with pytest.raises(KeyboardInterrupt):
        m.train_on_batch(X[8:16], Y[8:16])
    _assert_usable(m, _reference(2))


@pytest.mark.parametrize("hook", ["on_train_batch_begin", "on_train_batch_end", "on_epoch_end"])
def test_keyboard_interrupt_from_a_callback_at_random_batches(hook):
    rng = np.random.default_rng(abs(hash(hook)) % 1000)
    for stop in sorted(rng.integers(1, 24, size=3)):
        calls = []

        def raise_at(*args, stop=stop, **kwargs):
            calls.append(1)
            if len(calls) == stop:
                raise KeyboardInterrupt

        cb = keras.callbacks.LambdaCallback(**{hook: raise_at})
        m = _model()
        with pytest.raises(KeyboardInterrupt):
            m.fit(X, Y, batch_size=8, epochs=30, shuffle=False, verbose=0, callbacks=[cb])
        completed = {"on_train_batch_begin": stop - 1, "on_train_batch_end": stop, "on_epoch_end": 12 * stop}[hook]
        _assert_usable(m, _reference_fit(completed))


def _reference_fit(steps):
    m = _model()
    epochs, rest = divmod(steps, 12)
    if epochs:
        m.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    for i in range(rest):
        m.train_on_batch(X[8 * i:8 * i + 8], Y[8 * i:8 * i + 8])
    return m.get_weights()


_CHILD = textwrap.dedent("""
    import sys, numpy as np
    import kshim as keras
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2048, 32)).astype("float32"); y = rng.normal(size=(2048, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((32,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
    m.compile("adam", "mse")
    class Ready(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0 and not getattr(self, "said", False):
                self.said = True
                print("READY", flush=True)
    try:
        m.fit(x, y, epochs=1000, batch_size=16, verbose=0, callbacks=[Ready()])
    except KeyboardInterrupt:
        pass
    w = m.get_weights()
    p = m.predict(x[:8], verbose=0)
    assert all(np.isfinite(v).all() for v in w) and np.isfinite(p).all()
    print("USABLE", flush=True)
""")


def _sigint_rounds(rounds):
    rng = np.random.default_rng(11)
    for _ in range(rounds):
        proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=dict(os.environ))
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(float(rng.uniform(0.0, 0.3)))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        assert "USABLE" in out, err[-2000:]


def test_sigint_to_a_process_mid_fit_leaves_a_usable_model():
    _sigint_rounds(ROUNDS)


@pytest.mark.slow
def test_sigint_to_a_process_mid_fit_many_rounds():
    _sigint_rounds(max(ROUNDS, 20))
