"""`predict` from several threads (issue 20, defect 10). On jax a trace binds tracers to the model's shared
variables for the length of the call; another thread reading them raised `UnexpectedTracerError`."""

import threading

import numpy as np
import pytest

import kshim as keras

THREADS = 8


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.Dense(2)])


def _inputs():
    # Several batch sizes, so that threads trace new shapes while others run
    return [np.random.default_rng(i).normal(size=(5 + i % 4, 4)).astype("float32") for i in range(THREADS)]


def _expected(xs):
    m = _model()
    return [m.predict(x, verbose=0) for x in xs]


@pytest.mark.parametrize("path", ["lean", "batched"])
def test_predict_from_several_threads_on_a_fresh_model(path):
    xs = _inputs()
    expected = _expected(xs)
    for _ in range(3):
        m = _model()  # fresh: its steps are traced (and on torch recorded) while the threads run
        got, errors = [None] * THREADS, []
        barrier = threading.Barrier(THREADS)

        def run(i):
            try:
                barrier.wait()
                for _ in range(4):
                    got[i] = (m.predict(xs[i], verbose=0) if path == "lean"
                              else m.predict(xs[i], batch_size=3, verbose=0))
            except Exception as e:  # noqa: BLE001 - collected and reported below
                errors.append(f"{type(e).__name__}: {e}")

        threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:2]
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)
        for w in m.get_weights():  # the model's own values were never left as a tracer
            assert np.isfinite(np.asarray(w)).all()


def test_predict_from_threads_on_an_unbuilt_subclassed_model():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.a = keras.layers.Dense(6, activation="tanh")
            self.b = keras.layers.Dense(1)

        def call(self, x):
            return self.b(self.a(x))

    xs = _inputs()
    keras.utils.set_random_seed(5)
    ref = Net()
    expected = [ref.predict(x, verbose=0) for x in xs]
    keras.utils.set_random_seed(5)
    m = Net()
    got, errors = [None] * THREADS, []

    def run(i):
        try:
            got[i] = m.predict(xs[i], verbose=0)
        except Exception as e:  # noqa: BLE001
            errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:2]
    assert len(m.weights) == 4  # built once
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)
