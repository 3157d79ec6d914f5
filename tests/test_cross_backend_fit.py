"""The same seeded training script gives the same numbers on jax and on torch.

Each backend runs in its own process (the backend is fixed at import). Initial weights must be bit-identical
(host-side numpy initializers); after a fit with dropout, momentum, shuffling and a validation split, the history
and the weights must agree to float32 rounding.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

BACKENDS = ("jax", "torch")
pytestmark = pytest.mark.cross_backend  # both backends run in subprocesses: one pass of the suite runs it

SCRIPT = textwrap.dedent("""
    import sys

    import numpy as np

    import kshim as keras
    from kshim import layers

    assert keras.config.backend() == sys.argv[2], keras.config.backend()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 10)).astype("float32")
    y = ((x[:, 0] > 0).astype("int64") + (x[:, 1] + x[:, 2] > 0.5).astype("int64"))

    keras.utils.set_random_seed(1234)
    model = keras.Sequential([
        keras.Input((10,)),
        layers.Dense(32, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(3, activation="softmax"),
    ])
    initial = model.get_weights()
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=16, shuffle=True, validation_split=0.2, verbose=0)
    out = {"initial_%d" % i: w for i, w in enumerate(initial)}
    out.update({"final_%d" % i: w for i, w in enumerate(model.get_weights())})
    out.update({"history_" + k: np.asarray(v, dtype="float64") for k, v in history.history.items()})
    out["predict"] = model.predict(x, verbose=0)
    np.savez(sys.argv[1], **out)
""")


def _run(backend, tmp_path):
    script = tmp_path / "seeded_fit.py"
    script.write_text(SCRIPT)
    out = tmp_path / f"{backend}.npz"
    env = dict(os.environ, KSHIM_BACKEND=backend)
    env.pop("KERAS_BACKEND", None)
    proc = subprocess.run([sys.executable, str(script), str(out), backend], env=env, capture_output=True, text=True,
                          timeout=300, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, f"{backend} run failed:\n{proc.stdout}\n{proc.stderr}"
    with np.load(out) as data:
        return dict(data)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    missing = [b for b in BACKENDS if importlib.util.find_spec(b) is None]
    if missing:
        pytest.skip(f"needs both jax and torch; missing: {', '.join(missing)}")
    tmp = tmp_path_factory.mktemp("cross_backend")
    return {b: _run(b, tmp) for b in BACKENDS}


def test_same_keys(results):
    assert set(results["jax"]) == set(results["torch"])
    hist = {k for k in results["jax"] if k.startswith("history_")}
    assert hist == {"history_loss", "history_accuracy", "history_val_loss", "history_val_accuracy"}
    assert all(len(results["jax"][k]) == 3 for k in hist)


def test_initial_weights_are_bit_identical(results):
    keys = sorted(k for k in results["jax"] if k.startswith("initial_"))
    assert len(keys) == 4
    for k in keys:
        a, b = results["jax"][k], results["torch"][k]
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape, k
        np.testing.assert_array_equal(a, b, err_msg=k)
    assert np.any(results["jax"]["initial_0"] != 0)  # a real (random) kernel, not zeros


def test_history_agrees(results):
    for k in sorted(k for k in results["jax"] if k.startswith("history_")):
        np.testing.assert_allclose(results["jax"][k], results["torch"][k], rtol=1e-4, err_msg=k)
    loss = results["jax"]["history_loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]  # the run really trained


def test_final_weights_and_predictions_agree(results):
    keys = sorted(k for k in results["jax"] if k.startswith("final_"))
    assert len(keys) == 4
    for k in keys:
        np.testing.assert_allclose(results["jax"][k], results["torch"][k], rtol=1e-4, atol=1e-6, err_msg=k)
        assert not np.array_equal(results["jax"][k], results["jax"]["initial_" + k.split("_")[1]])
    np.testing.assert_allclose(results["jax"]["predict"], results["torch"]["predict"], rtol=1e-4, atol=1e-6)
