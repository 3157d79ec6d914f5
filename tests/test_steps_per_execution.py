"""``compile(steps_per_execution=N)``: N train (or test) steps per compiled call, the same numbers as N=1.

On jax the N steps are one ``lax.scan`` over a stacked batch (on CPU a step holding a convolution loops over the
compiled single step instead); on torch a loop inside one call. A last partial
group of batches, or a last short batch, runs step by step. Callbacks' batch hooks run once per execution, with
the first and the last batch index of the execution (Keras 3 does the same).
"""

import numpy as np
import pytest

import kshim
from kshim import layers
from kshim.trainer.step import StepFunctions

N = 90  # with batch_size=8: 11 full batches and one of 2


def _data(n=N, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 3, n).astype("int32")


def _model(spe, dropout=0.3):
    kshim.utils.set_random_seed(0)
    model = kshim.Sequential([kshim.Input((6,)), layers.Dense(8, activation="relu"), layers.Dropout(dropout),
                              layers.Dense(3)])
    model.compile(optimizer="adam", loss=kshim.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=spe)
    return model


def _train(spe, n=N, **fit_kwargs):
    x, y = _data(n)
    model = _model(spe)
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, **fit_kwargs)
    return model, history.history


@pytest.mark.parametrize("spe", [4, 5, 32])
def test_fit_gives_the_same_numbers_bit_for_bit(spe):
    x, y = _data()
    ref_model, ref_history = _train(1, validation_data=(x[:20], y[:20]))
    model, history = _train(spe, validation_data=(x[:20], y[:20]))
    for a, b in zip(ref_model.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history == ref_history
    assert ref_model.evaluate(x, y, batch_size=7, verbose=0) == model.evaluate(x, y, batch_size=7, verbose=0)
    assert ref_model.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() == 3 * 12


def test_the_multi_step_function_runs_for_full_groups(monkeypatch):
    calls = {"single": 0, "multi": 0}
    for kind, prop in (("single", "train"), ("multi", "train_multi")):
        original = getattr(StepFunctions, prop)

        def counted(self, original=original, kind=kind):
            fn = original.fget(self)

            def run(*args):
                calls[kind] += 1
                return fn(*args)

            return run

        monkeypatch.setattr(StepFunctions, prop, property(counted))
    _train(4, n=96)
    # 12 full batches an epoch: groups of 4, 4, 4 -> three multi-step calls, no single steps.
    assert calls == {"single": 0, "multi": 9}
    calls.update(single=0, multi=0)
    _train(4)
    # 11 full batches and a short one: 4 and 4 in one call each; the last group holds the short batch, so its 4
    # batches run step by step.
    assert calls == {"single": 12, "multi": 6}
    calls.update(single=0, multi=0)
    _train(5)
    # 12 batches: 5 and 5 in one call each, then the last 2 (a partial group, one of them short) step by step.
    assert calls == {"single": 6, "multi": 6}


class _Recorder(kshim.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_batch_begin(self, batch, logs=None):
        self.events.append(("begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("end", batch, round(logs["loss"], 6)))

    def on_test_batch_end(self, batch, logs=None):
        self.events.append(("test_end", batch))


def test_batch_hooks_run_once_per_execution_with_first_and_last_index():
    x, y = _data()
    rec = _Recorder()
    model = _model(5)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[rec], validation_data=(x[:40], y[:40]))
    assert [e[:2] for e in rec.events] == [("begin", 0), ("end", 4), ("begin", 5), ("end", 9), ("begin", 10),
                                           ("end", 11), ("test_end", 4)]
    # The logs of an execution are the running metrics after its last step: those of N=1 at the same batch.
    ref = _Recorder()
    _model(1).fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[ref])
    ref_end = {e[1]: e[2] for e in ref.events if e[0] == "end"}
    assert [e[2] for e in rec.events if e[0] == "end"] == [ref_end[4], ref_end[9], ref_end[11]]


def test_stop_training_takes_effect_after_the_execution():
    class Stop(kshim.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    x, y = _data()
    model = _model(4)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[Stop()])
    assert int(model.optimizer.iterations.numpy()) == 4


def test_sample_weights_class_weights_and_generators_match():
    x, y = _data()
    sw = np.linspace(0.5, 2.0, N).astype("float32")

    def batches():
        for i in range(0, N, 8):
            yield x[i:i + 8], y[i:i + 8], sw[i:i + 8]

    results = []
    for spe in (1, 3):
        a = _model(spe)
        a.fit(x, y, sample_weight=sw, batch_size=8, epochs=2, verbose=0, shuffle=False)
        b = _model(spe)
        b.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 0.5}, batch_size=8, epochs=2, verbose=0)
        c = _model(spe)
        c.fit(batches(), epochs=1, verbose=0)
        results.append([m.get_weights() for m in (a, b, c)])
    for ws_1, ws_3 in zip(*results):
        for w1, w3 in zip(ws_1, ws_3):
            np.testing.assert_array_equal(w1, w3)
    # A weighted run differs from an unweighted one (the weights reach the step).
    plain = _model(3)
    plain.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    assert not np.array_equal(plain.get_weights()[0], results[1][0][0])


def test_evaluate_and_train_on_batch_are_unaffected():
    x, y = _data()
    ref, model = _model(1, dropout=0.0), _model(6, dropout=0.0)
    assert model.evaluate(x, y, batch_size=8, verbose=0) == ref.evaluate(x, y, batch_size=8, verbose=0)
    np.testing.assert_array_equal(model.train_on_batch(x[:8], y[:8]), ref.train_on_batch(x[:8], y[:8]))


def test_a_convolutional_model_gives_the_same_numbers_bit_for_bit():
    # On jax's CPU a step holding a convolution runs as a loop over the compiled single step (inside a scanned
    # loop XLA's CPU compiler keeps convolutions on a slow path, whose numbers differed from N=1's here).
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(64, 12, 12, 3)).astype("float32"), rng.integers(0, 2, 64).astype("int32")
    results = []
    for spe in (1, 4):
        kshim.utils.set_random_seed(0)
        model = kshim.Sequential([kshim.Input((12, 12, 3)), layers.Conv2D(8, 3, activation="relu"), layers.Flatten(),
                                  layers.Dense(2)])
        model.compile(optimizer="adam", loss=kshim.losses.SparseCategoricalCrossentropy(from_logits=True),
                      steps_per_execution=spe)
        history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, validation_data=(x, y))
        results.append((model.get_weights(), history.history))
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_array_equal(a, b)
    assert results[0][1] == results[1][1]


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, None])
def test_steps_per_execution_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="steps_per_execution"):
        _model(bad)
