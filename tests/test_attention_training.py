"""Transformers train: on this backend, through a `.keras` file into Keras 3, and identically on jax and torch.

- A transformer classifier (Embedding with mask_zero, MultiHeadAttention, LayerNormalization, feed-forward) fits
  on this backend, is saved as `.keras`, and Keras 3 (a subprocess, same backend) loads it and predicts the same.
- The same seeded fit, with dropout inside MultiHeadAttention, GroupQueryAttention and Attention, gives the same
  trajectory on jax and torch: the dropout masks come from kshim's counter-based bits on both. It runs both
  backends in subprocesses, whatever backend this pytest process uses, so it runs once per CI run: in the jax pass.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kshim
from kshim import layers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _text_task(n=96, steps=10, vocab=40, seed=0):
    """Class 1 when token 7 appears before token 9; padded sequences of random lengths."""
    rng = np.random.default_rng(seed)
    x = rng.integers(10, vocab, size=(n, steps))
    y = np.zeros(n, dtype="int32")
    for i in range(n):
        a, b = rng.choice(steps - 3, size=2, replace=False)
        x[i, a], x[i, b] = 7, 9
        y[i] = int(a < b)
        x[i, rng.integers(steps - 2, steps + 1):] = 0
    return x.astype("int32"), y


def _classifier(dropout=0.0):
    t = kshim.Input((10,), dtype="int32")
    e = layers.Embedding(40, 16, mask_zero=True)(t)
    a = layers.MultiHeadAttention(num_heads=2, key_dim=8, dropout=dropout)(e, e)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([e, a]))
    f = layers.Dense(16)(layers.Dense(32, activation="relu")(x))
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, f]))
    return kshim.Model(t, layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(x)))


KERAS_PREDICT = textwrap.dedent("""
    import sys
    import numpy as np
    import keras
    model = keras.saving.load_model(sys.argv[1])
    x = np.load(sys.argv[2])
    np.save(sys.argv[3], model.predict(x, verbose=0))
    print(model.optimizer.__class__.__name__, int(model.optimizer.iterations.numpy()))
""")


def test_transformer_trains_saves_and_keras_predicts_the_same(tmp_path):
    x, y = _text_task()
    kshim.utils.set_random_seed(7)
    model = _classifier()
    model.compile(optimizer=kshim.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    path = str(tmp_path / "transformer.keras")
    model.save(path)
    ours = model.predict(x, verbose=0)
    reloaded = kshim.saving.load_model(path)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), ours, rtol=1e-6, atol=1e-7)
    if importlib.util.find_spec("keras") is None:
        pytest.skip("Keras 3 is not installed")
    np.save(tmp_path / "x.npy", x)
    script = tmp_path / "keras_predict.py"
    script.write_text(KERAS_PREDICT)
    env = dict(os.environ, KERAS_BACKEND=kshim.backend.backend())
    proc = subprocess.run([sys.executable, str(script), path, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-2:] == ["Adam", str(8 * 6)]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ours, rtol=1e-5, atol=1e-6)


SEEDED_FIT = textwrap.dedent("""
    import sys
    import numpy as np
    import kshim as keras
    from kshim import layers

    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, size=(64, 9)).astype("int32")
    x[::3, 6:] = 0
    y = (x[:, 0] > x[:, 1]).astype("int32")
    keras.utils.set_random_seed(1234)
    t = keras.Input((9,), dtype="int32")
    e = layers.Embedding(30, 12, mask_zero=True)(t)
    a = layers.MultiHeadAttention(num_heads=3, key_dim=4, dropout=0.2)(e, e, use_causal_mask=True)
    g = layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2, dropout=0.3)(a, e)
    h = layers.Attention(use_scale=True, dropout=0.25)([g, e])
    out = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(layers.Add()([e, h])))
    model = keras.Model(t, out)
    initial = model.get_weights()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=16, shuffle=True, verbose=0)
    out = {"initial_%d" % i: w for i, w in enumerate(initial)}
    out.update({"final_%d" % i: w for i, w in enumerate(model.get_weights())})
    out["loss"] = np.asarray(history.history["loss"], dtype="float64")
    out["train_mode"] = keras.ops.convert_to_numpy(model(x[:8], training=True))
    np.savez(sys.argv[1], **out)
""")


@pytest.mark.skipif(
    kshim.config.backend() != "jax" or any(importlib.util.find_spec(b) is None for b in ("jax", "torch")),
    reason="runs jax and torch in subprocesses: once per CI run, in the jax pass, with both installed")
def test_seeded_fit_with_attention_dropout_agrees_across_backends(tmp_path):
    script = tmp_path / "seeded_fit.py"
    script.write_text(SEEDED_FIT)
    results = {}
    for backend in ("jax", "torch"):
        env = dict(os.environ, KSHIM_BACKEND=backend, PYTHONPATH=ROOT)
        proc = subprocess.run([sys.executable, str(script), str(tmp_path / f"{backend}.npz")], env=env,
                              capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert proc.returncode == 0, f"{backend}:\n{proc.stderr[-3000:]}"
        with np.load(tmp_path / f"{backend}.npz") as f:
            results[backend] = dict(f)
    jx, th = results["jax"], results["torch"]
    assert set(jx) == set(th)
    for k in jx:
        if k.startswith("initial_"):
            np.testing.assert_array_equal(jx[k], th[k], err_msg=k)
    np.testing.assert_allclose(jx["loss"], th["loss"], rtol=1e-4)
    for k in jx:
        if k.startswith("final_") or k == "train_mode":
            np.testing.assert_allclose(jx[k], th[k], rtol=1e-4, atol=1e-5, err_msg=k)
    # dropout really acted: the training-mode outputs differ from inference's on the same backend
    assert len(set(np.round(jx["loss"], 6))) == 3
