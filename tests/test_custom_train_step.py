"""Customizing fit: overridden train_step/test_step/compute_loss/compute_metrics run, with Keras 3's contract per
backend (stateless on jax, stateful on torch), and give Keras 3's numbers from the same initial weights.

The workloads live in tests/programs/custom_steps.py, written once against the Keras API; Keras 3 runs them all in
one subprocess on the same backend (KERAS_BACKEND), from kshim's initial weights."""

import os
import subprocess
import sys

import numpy as np
import pytest

import kshim as keras
from kshim import ops

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "programs"))
import custom_steps  # noqa: E402

BACKEND = keras.config.backend()
PYTHON = sys.executable


def _keras_available():
    try:
        import importlib.util

        return importlib.util.find_spec("keras") is not None
    except ValueError:
        return False


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    """Every workload for this backend, run on kshim here and on Keras 3 in ONE subprocess (KERAS_BACKEND set the
    same) from kshim's initial weights: ``name -> (ours, theirs or None, error)``."""
    folder = tmp_path_factory.mktemp("keras_parity")
    names = [n for n in custom_steps.WORKLOADS if custom_steps.ONLY_ON.get(n, BACKEND) == BACKEND]
    results = {}
    for name in names:
        keras.utils.set_random_seed(7)
        try:
            init, ours = custom_steps.WORKLOADS[name](keras, BACKEND)
        except Exception as e:  # noqa: BLE001 - the workload's own test reports it
            results[name] = (None, None, e)
            continue
        np.savez(folder / f"{name}.init.npz", **{f"w{i}": w for i, w in enumerate(init)})
        results[name] = (ours, None, None)
    if not _keras_available():
        return results
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["KERAS_BACKEND"] = BACKEND
    script = os.path.join(os.path.dirname(__file__), "programs", "custom_steps.py")
    ran = [n for n, r in results.items() if r[2] is None]
    done = subprocess.run([PYTHON, script, str(folder)] + ran, env=env, capture_output=True, text=True,
                          cwd=str(folder), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ran:
        error = folder / f"{name}.error.txt"
        if error.exists():
            results[name] = (results[name][0], None, AssertionError("Keras 3 failed:\n" + error.read_text()))
            continue
        with np.load(folder / f"{name}.out.npz") as f:
            results[name] = (results[name][0], {k: f[k] for k in f.files}, None)
    return results


def _compare_with_keras(name, parity, rtol=1e-4, atol=1e-6):
    ours, theirs, error = parity[name]
    if error is not None:
        raise error
    if theirs is None:
        pytest.skip("Keras 3 is not installed (test extra)")
    assert set(ours) == set(theirs), (sorted(ours), sorted(theirs))
    for k in theirs:
        np.testing.assert_allclose(np.asarray(ours[k], dtype="float64"), theirs[k], rtol=rtol, atol=atol, err_msg=k)
    return ours


def test_distillation_through_compute_loss_matches_keras(parity):
    ours = _compare_with_keras("distill", parity)
    assert ours["history_loss"][-1] < ours["history_loss"][0]


def test_vae_add_loss_and_metric_tracker_match_keras(parity):
    ours = _compare_with_keras("vae", parity)
    assert {"history_loss", "history_kl"} <= set(ours)
    assert ours["history_kl"][0] > 0


def test_custom_test_step_matches_keras(parity):
    ours = _compare_with_keras("test_step", parity)
    assert "eval_max_abs_error" in ours


@pytest.mark.skipif(BACKEND != "torch", reason="the two-optimizer GAN step is written for the stateful contract")
def test_gan_with_two_optimizers_matches_keras(parity):
    ours = _compare_with_keras("gan", parity)
    assert set(k for k in ours if k.startswith("history")) == {"history_d_loss", "history_g_loss"}


@pytest.mark.skipif(BACKEND != "jax", reason="a jax GAN loop (two optimizers' stateless_apply under jax.jit)")
def test_gan_with_two_optimizers_in_a_jax_loop_matches_keras(parity):
    ours = _compare_with_keras("gan_jax_loop", parity)
    assert len(ours["d_losses"]) == 6 and np.all(np.isfinite(ours["g_losses"]))


@pytest.mark.skipif(BACKEND != "torch", reason="torch.optim over model.parameters()")
def test_torch_optim_loop_over_parameters_matches_keras(parity):
    ours = _compare_with_keras("torch_optim_loop", parity)
    assert ours["losses"][-1] < ours["losses"][0]


@pytest.mark.skipif(BACKEND != "torch", reason="TorchModuleWrapper is torch's")
def test_torch_module_wrapper_trains_and_reloads_like_keras(parity):
    ours = _compare_with_keras("torch_module_wrapper", parity)
    assert ours["history_loss"][-1] < ours["history_loss"][0]


@pytest.mark.skipif(BACKEND != "jax", reason="JaxLayer is jax's")
def test_jax_layer_trains_and_reloads_like_keras(parity):
    ours = _compare_with_keras("jax_layer", parity)
    assert ours["history_loss"][-1] < ours["history_loss"][0]


@pytest.mark.skipif(BACKEND != "jax", reason="a jax custom loop (jax.jit, jax.value_and_grad)")
def test_jax_custom_loop_with_stateless_call_and_apply_matches_keras(parity):
    ours = _compare_with_keras("jax_loop", parity)
    assert ours["losses"][-1] < ours["losses"][0]


@pytest.mark.skipif(BACKEND != "jax", reason="the JAX guide's stateless train_step")
def test_jax_guide_train_step_over_metrics_matches_keras(parity):
    ours = _compare_with_keras("jax_train_step", parity)
    assert {"history_loss", "history_mae"} <= set(ours)


@pytest.mark.skipif(BACKEND != "torch", reason="the PyTorch guide's stateful train_step")
def test_torch_guide_train_step_over_metrics_matches_keras(parity):
    ours = _compare_with_keras("torch_train_step", parity)
    assert {"history_loss", "history_mae"} <= set(ours)


# -- an override is always called ----------------------------------------------------------------------------------
def _marker_model(eager):
    """A model whose train_step never changes a weight and logs a constant: only a fit that calls it sees that."""
    if ops.stateless_steps():
        class Marker(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = keras.layers.Dense(1)

            def call(self, x):
                return self.dense(x)

            def train_step(self, state, data):
                return {"marker": ops.convert_to_tensor(42.0)}, state

            def test_step(self, state, data):
                return {"test_marker": ops.convert_to_tensor(7.0)}, state
    else:
        class Marker(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = keras.layers.Dense(1)

            def call(self, x):
                return self.dense(x)

            def train_step(self, data):
                return {"marker": ops.convert_to_tensor(42.0)}

            def test_step(self, data):
                return {"test_marker": ops.convert_to_tensor(7.0)}
    model = Marker()
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse", run_eagerly=eager)
    return model


@pytest.mark.parametrize("eager", [False, True])
def test_fit_calls_an_overridden_train_step_and_test_step(eager):
    x = np.ones((32, 3), "float32")
    y = np.full((32, 1), 5.0, "float32")
    model = _marker_model(eager)
    model(x[:1])
    before = model.get_weights()
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert history.history == {"marker": [42.0, 42.0]}
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.train_on_batch(x, y, return_dict=True) == {"marker": 42.0}
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    # test_step too: evaluate, test_on_batch and fit's validation all log only what the override returns
    assert model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True) == {"test_marker": 7.0}
    assert model.test_on_batch(x, y, return_dict=True) == {"test_marker": 7.0}
    history = model.fit(x, y, batch_size=8, epochs=1, validation_data=(x, y), verbose=0)
    assert history.history == {"marker": [42.0], "val_test_marker": [7.0]}


def test_calling_the_default_train_step_equals_the_builtin_fit():
    """super().train_step is the built-in step: an override that only delegates trains to the same numbers."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = (x @ np.arange(1, 6, dtype="float32")[:, None]).astype("float32")

    class Plain(keras.Model):
        def __init__(self):
            super().__init__()
            self.d1 = keras.layers.Dense(4, activation="tanh")
            self.d2 = keras.layers.Dense(1)

        def call(self, x):
            return self.d2(self.d1(x))

    class Delegating(Plain):
        def train_step(self, *args):
            return super().train_step(*args)

        def test_step(self, *args):
            return super().test_step(*args)

    results = []
    for cls in (Plain, Delegating):
        keras.utils.set_random_seed(3)
        model = cls()
        model(x[:1])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse", metrics=["mae"])
        h = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
        results.append((h.history, model.get_weights(), model.evaluate(x, y, verbose=0, return_dict=True)))
    (h1, w1, e1), (h2, w2, e2) = results
    assert set(h1) == set(h2) == {"loss", "mae"}
    for k in h1:
        np.testing.assert_allclose(h1[k], h2[k], rtol=1e-5)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert e1.keys() == e2.keys()
    np.testing.assert_allclose(list(e1.values()), list(e2.values()), rtol=1e-5)


def test_compile_without_loss_still_fails_when_nothing_provides_one():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="compiled without a `loss`"):
        model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)


@pytest.mark.skipif(BACKEND != "jax", reason="jax.jit of a state made of kshim Variables")
def test_jax_jit_takes_variables_as_arrays():
    import jax

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.arange(6, dtype="float32").reshape(2, 3)

    @jax.jit
    def forward(trainable, non_trainable, x):
        return model.stateless_call(trainable, non_trainable, x)[0]

    from_variables = forward(model.trainable_variables, model.non_trainable_variables, x)
    from_values = forward([v.value for v in model.trainable_variables], [], x)
    np.testing.assert_array_equal(np.asarray(from_variables), np.asarray(from_values))
    np.testing.assert_allclose(np.asarray(from_values), x @ model.get_weights()[0] + model.get_weights()[1],
                               rtol=1e-6)
    grads = jax.grad(lambda t: jax.numpy.sum(forward(t, [], x)))(model.trainable_variables)
    np.testing.assert_allclose(np.asarray(grads[1]), [2.0, 2.0])


def test_examples_gan_and_vae_train(monkeypatch):
    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
    monkeypatch.syspath_prepend(folder)
    import gan
    import vae

    history, samples = gan.main(epochs=2)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert np.all(np.isfinite(history.history["d_loss"] + history.history["g_loss"]))
    assert history.history["d_loss"][1] < history.history["d_loss"][0]  # the discriminator learns first
    assert samples.shape == (8, 64) and 0.0 <= samples.min() and samples.max() <= 1.0
    history, test_loss = vae.main(epochs=3)
    assert set(history.history) == {"loss", "kl_loss"}
    assert history.history["loss"][2] < history.history["loss"][0]
    assert history.history["kl_loss"][2] > 0


def test_predict_calls_an_overridden_predict_step():
    if ops.stateless_steps():
        class Scaled(keras.Model):
            def predict_step(self, state, data):
                outputs, non_trainable = super().predict_step(state, data)
                return {"double": 2.0 * outputs, "plain": outputs}, non_trainable
    else:
        class Scaled(keras.Model):
            def predict_step(self, data):
                outputs = super().predict_step(data)
                return {"double": 2.0 * outputs, "plain": outputs}

    inputs = keras.Input((3,))
    model = Scaled(inputs, keras.layers.Dense(2)(inputs))
    x = np.random.default_rng(0).normal(size=(70, 3)).astype("float32")
    expected = x @ model.get_weights()[0] + model.get_weights()[1]
    for out in (model.predict(x, batch_size=32, verbose=0), model.predict(x[:20], verbose=0)):
        n = len(out["plain"])
        np.testing.assert_allclose(out["plain"], expected[:n], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["double"], 2 * expected[:n], rtol=1e-5, atol=1e-6)


def test_compute_metrics_override_alone_logs_its_metric():
    class WithMeanPrediction(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.mean_prediction = keras.metrics.Mean(name="mean_prediction")

        def compute_metrics(self, x, y, y_pred, sample_weight=None):
            logs = super().compute_metrics(x, y, y_pred, sample_weight)
            self.mean_prediction.update_state(ops.mean(y_pred))
            logs["mean_prediction"] = self.mean_prediction.result()
            return logs

    keras.utils.set_random_seed(5)
    inputs = keras.Input((4,))
    model = WithMeanPrediction(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    x = np.random.default_rng(2).normal(size=(64, 4)).astype("float32")
    y = x[:, :1] * 3.0
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "mae", "mean_prediction"}
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(logs["mean_prediction"], pred.mean(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logs["mae"], np.abs(pred - y).mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], np.square(pred - y).mean(), rtol=1e-5)
