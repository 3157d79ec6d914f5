"""Metrics a layer holds and updates in ``call`` (`Layer.metrics`, the endpoint-layer pattern): tracked on
assignment, part of `Model.metrics` and `metrics_variables`, updated by the compiled steps and reported by ``fit``
and ``evaluate`` with the same numbers as Keras 3.

Keras runs in a subprocess on its torch backend whatever kshim's backend is: Keras 3.15 on jax cannot run this
pattern (``fit`` leaves a layer's metric variables unbound inside the traced step: "'NoneType' object is not
callable"). Run as a script (``python tests/test_layer_metrics.py --keras DIR``) it is the Keras side.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH, EPOCHS = 16, 3


def _endpoint_class(K):
    class LogisticEndpoint(K.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = K.losses.BinaryCrossentropy(from_logits=True)
            self.accuracy_fn = K.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)

        def call(self, logits, targets=None, sample_weight=None):
            if targets is not None:
                self.add_loss(self.loss_fn(targets, logits, sample_weight))
                self.accuracy_fn.update_state(targets, logits, sample_weight)
            return K.ops.sigmoid(logits)

    return LogisticEndpoint


def _model(K):
    inputs = K.Input((5,), name="inputs")
    targets = K.Input((1,), name="targets")
    sample_weight = K.Input((1,), name="sample_weight")
    logits = K.layers.Dense(1)(inputs)
    preds = _endpoint_class(K)(name="endpoint")(logits, targets, sample_weight)
    model = K.Model([inputs, targets, sample_weight], preds)
    model.compile(K.optimizers.Adam(0.05))
    return model


def _data(n=48):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype("float32")
    return {"inputs": x, "targets": (x[:, :1] + 0.3 * x[:, 1:2] > 0).astype("float32"),
            "sample_weight": rng.uniform(0.5, 1.5, size=(n, 1)).astype("float32")}


def _run(model):
    data = _data()
    history = model.fit(data, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0).history
    return {"history": {k: [float(v) for v in vs] for k, vs in history.items()},
            "evaluate": {k: float(v) for k, v in
                         model.evaluate(data, batch_size=BATCH, verbose=0, return_dict=True).items()}}


def keras_side(workdir):
    import keras

    model = _model(keras)
    with np.load(os.path.join(workdir, "weights.npz")) as f:
        model.set_weights([f[f"w{i}"] for i in range(len(f.files))])
    with open(os.path.join(workdir, "keras.json"), "w") as f:
        json.dump(_run(model), f)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import kshim

    if importlib.util.find_spec("keras") is None:
        pytest.skip("Keras 3 is not installed")
    workdir = str(tmp_path_factory.mktemp("layer_metrics"))
    kshim.utils.set_random_seed(1)
    model = _model(kshim)
    np.savez(os.path.join(workdir, "weights.npz"), **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--keras", workdir], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    with open(os.path.join(workdir, "keras.json")) as f:
        theirs = json.load(f)
    return model, _run(model), theirs


def test_layer_metrics_are_tracked_and_part_of_model_metrics():
    import kshim

    model = _model(kshim)
    endpoint = model.get_layer("endpoint")
    assert [m.name for m in endpoint.metrics] == ["accuracy"]
    assert [m.name for m in model.metrics] == ["loss", "accuracy"]
    assert model.metrics_names == ["loss", "accuracy"]
    assert [v.path for v in model.metrics_variables][-2:] == ["accuracy/total", "accuracy/count"]


def test_fit_history_matches_keras(runs):
    _, ours, theirs = runs
    assert set(ours["history"]) == set(theirs["history"]) == {"loss", "accuracy"}
    for key, values in theirs["history"].items():
        np.testing.assert_allclose(ours["history"][key], values, rtol=1e-5)
    assert len(set(ours["history"]["accuracy"])) > 1  # reset each epoch, then updated by every step


def test_evaluate_matches_keras_and_the_state_is_concrete(runs):
    model, ours, theirs = runs
    assert ours["evaluate"].keys() == theirs["evaluate"].keys()
    for key, value in theirs["evaluate"].items():
        np.testing.assert_allclose(ours["evaluate"][key], value, rtol=1e-5)
    # The metric's variables hold the last evaluation's state as numbers (no tracer left behind).
    accuracy = ours["evaluate"]["accuracy"]
    np.testing.assert_allclose(float(model.get_layer("endpoint").accuracy_fn.result()), accuracy, rtol=1e-6)
    np.testing.assert_allclose(model.get_metrics_result()["accuracy"], accuracy, rtol=1e-6)


if __name__ == "__main__" and sys.argv[1:2] == ["--keras"]:
    keras_side(sys.argv[2])
