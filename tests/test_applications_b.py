"""Applications, second half: EfficientNet, EfficientNetV2, InceptionV3, InceptionResNetV2, Xception, ConvNeXt,
NASNet, checked against Keras 3 itself.

For each model, at its smallest input size:
- Keras 3 (in a subprocess, ``KERAS_BACKEND=torch``) builds the same application, perturbs every weight (so batch
  statistics, gammas and biases are not their trivial initial values; random kernels are scaled by 0.9-1.1 so
  deep nets do not blow up), writes a ``.weights.h5`` and its predictions;
  kshim loads the file and must predict the same numbers (rtol 1e-4);
- kshim builds the model with a seed, perturbs it the same way and writes a ``.weights.h5``; Keras 3 loads it and
  its predictions must equal kshim's (rtol 1e-4); then kshim loads Keras's file into the same model (every value
  changes, so a weight the loader missed would show);
- the seeded ``weights=None`` model is bit-identical on the other backend (one subprocess for all families).

The smallest variant of each family runs by default; the bigger ones are marked ``slow``.
"""

import hashlib
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kshim as keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs Keras 3 (test extra)")

# (kshim/keras module, function, input side, kwargs). The first of each family runs by default.
DEFAULT = [
    ("efficientnet", "EfficientNetB0", 32, {}),
    ("efficientnet_v2", "EfficientNetV2B0", 32, {}),
    ("inception_v3", "InceptionV3", 75, {}),
    ("inception_resnet_v2", "InceptionResNetV2", 75, {}),
    ("xception", "Xception", 71, {}),
    ("convnext", "ConvNeXtTiny", 32, {}),
]
SLOW = [
    ("efficientnet", f"EfficientNetB{i}", 32, {}) for i in range(1, 8)
] + [
    ("efficientnet_v2", f"EfficientNetV2{v}", 32, {}) for v in ("B1", "B2", "B3", "S", "M", "L")
] + [
    ("convnext", f"ConvNeXt{v}", 32, {}) for v in ("Small", "Base", "Large", "XLarge")
]

KERAS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras

    spec = json.loads(sys.argv[1])

    def build():
        fn = getattr(getattr(keras.applications, spec["module"]), spec["fn"])
        return fn(weights=None, input_shape=(spec["size"], spec["size"], 3), classes=spec["classes"],
                  classifier_activation=None, **spec["kwargs"])

    x = np.load(spec["x"])
    model = build()
    rng = np.random.default_rng(spec["seed"])
    for v in model.weights:
        w = np.asarray(v.numpy())
        if w.dtype.kind != "f":
            continue
        if v.name in ("moving_variance", "variance"):
            w2 = rng.uniform(0.8, 1.2, size=w.shape)
        elif np.ptp(w) == 0:
            w2 = w + rng.normal(0.0, 0.02, size=w.shape)
        else:
            w2 = w * rng.uniform(0.9, 1.1, size=w.shape)
        v.assign(w2.astype(w.dtype))
    model.save_weights(spec["keras_file"])
    # Predict from the file (a Normalization layer caches its statistics when it loads them).
    model.load_weights(spec["keras_file"])
    np.save(spec["keras_pred"], np.asarray(model.predict(x, verbose=0)))
    model.load_weights(spec["kshim_file"])
    np.save(spec["kshim_pred"], np.asarray(model.predict(x, verbose=0)))
""")


def _build(module, fn, size, kwargs, classes=5):
    return getattr(importlib.import_module(f"kshim.applications.{module}"), fn)(
        weights=None, input_shape=(size, size, 3), classes=classes, classifier_activation=None, **kwargs)


def _perturb(model, seed):
    rng = np.random.default_rng(seed)
    values = []
    for v in model.weights:
        w = np.asarray(v.numpy())
        if w.dtype.kind == "f":
            if v.name in ("moving_variance", "variance"):
                w = rng.uniform(0.8, 1.2, size=w.shape).astype(w.dtype)
            elif np.ptp(w) == 0:  # constant-initialized (biases, BN statistics, gammas): shift
                w = (w + rng.normal(0.0, 0.02, size=w.shape)).astype(w.dtype)
            else:  # random: scale each value a little, so deep nets keep their activation scale
                w = (w * rng.uniform(0.9, 1.1, size=w.shape)).astype(w.dtype)
        values.append(w)
    model.set_weights(values)


def _close(actual, expected, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    assert np.all(np.isfinite(expected)), what
    scale = float(np.max(np.abs(expected)))
    assert scale > 1e-3, f"{what}: predictions are all ~0, the comparison would prove nothing"
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * scale, err_msg=what)


def _both_directions(tmp_path, module, fn, size, kwargs):
    keras.utils.set_random_seed(7)
    x = np.random.default_rng(1).uniform(0, 255, size=(2, size, size, 3)).astype("float32")
    model = _build(module, fn, size, kwargs)
    _perturb(model, 11)
    files = {k: str(tmp_path / name) for k, name in (("x", "x.npy"), ("keras_file", "keras.weights.h5"),
                                                      ("kshim_file", "kshim.weights.h5"),
                                                      ("keras_pred", "keras_pred.npy"),
                                                      ("kshim_pred", "kshim_pred.npy"))}
    np.save(files["x"], x)
    model.save_weights(files["kshim_file"])
    ours = model.predict(x, verbose=0)
    spec = dict(files, module=module, fn=fn, size=size, kwargs=kwargs, classes=5, seed=3)
    script = tmp_path / "keras_side.py"
    script.write_text(KERAS_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("KSHIM_BACKEND", "PYTHONPATH")}
    env["KERAS_BACKEND"] = "torch"  # eager: no compile for a single predict
    proc = subprocess.run([sys.executable, str(script), json.dumps(spec)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=str(tmp_path))
    assert proc.returncode == 0, f"Keras side failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    # kshim -> Keras: Keras reads kshim's file and predicts what kshim predicted.
    _close(np.load(files["kshim_pred"]), ours, f"{fn}: Keras 3 with kshim's weights")
    # Keras -> kshim: the model reads Keras's file (every weight differs from kshim's perturbed ones, so a weight
    # the file failed to set would show) and predicts what Keras predicted.
    model.load_weights(files["keras_file"])
    _close(model.predict(x, verbose=0), np.load(files["keras_pred"]), f"{fn}: kshim with Keras 3's weights")


@pytest.mark.parametrize("module,fn,size,kwargs", DEFAULT, ids=[c[1] for c in DEFAULT])
def test_weights_move_both_ways(tmp_path, module, fn, size, kwargs):
    _both_directions(tmp_path, module, fn, size, kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("module,fn,size,kwargs", SLOW, ids=[c[1] for c in SLOW])
def test_weights_move_both_ways_big_variants(tmp_path, module, fn, size, kwargs):
    _both_directions(tmp_path, module, fn, size, kwargs)


DIGEST_SCRIPT = textwrap.dedent("""
    import hashlib, importlib, json, sys
    import numpy as np
    import kshim as keras

    def digest(w):  # float weights by their bytes; integer counters by value (jax keeps int64 as int32)
        w = np.asarray(w)
        w = w if w.dtype.kind == "f" else w.astype("int64")
        return hashlib.sha256(np.ascontiguousarray(w).tobytes()).hexdigest()

    out = {}
    for module, fn, size, kwargs in json.loads(sys.argv[1]):
        keras.utils.set_random_seed(7)
        model = getattr(importlib.import_module("kshim.applications." + module), fn)(
            weights=None, input_shape=(size, size, 3), classes=5, classifier_activation=None, **kwargs)
        out[fn] = [digest(w) for w in model.get_weights()]
    print(json.dumps({"backend": keras.config.backend(), "digests": out}))
""")


def digest(w):  # float weights by their bytes; integer counters by value (jax keeps int64 as int32)
    w = np.asarray(w)
    w = w if w.dtype.kind == "f" else w.astype("int64")
    return hashlib.sha256(np.ascontiguousarray(w).tobytes()).hexdigest()


def _digests(cases):
    out = {}
    for module, fn, size, kwargs in cases:
        keras.utils.set_random_seed(7)
        model = _build(module, fn, size, kwargs)
        out[fn] = [digest(w) for w in model.get_weights()]
    return out


def test_seeded_weights_are_bit_identical_on_the_other_backend(tmp_path):
    here = keras.config.backend()
    other = {"jax": "torch", "torch": "jax"}[here]
    if importlib.util.find_spec(other) is None:
        pytest.skip(f"needs {other}")
    script = tmp_path / "digests.py"
    script.write_text(DIGEST_SCRIPT)
    env = dict(os.environ, KSHIM_BACKEND=other, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, str(script), json.dumps(DEFAULT)], env=env, capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert theirs["backend"] == other
    ours = _digests(DEFAULT)
    for fn, digests in ours.items():
        assert len(digests) > 10, fn
        assert theirs["digests"][fn] == digests, f"{fn}: seeded weights differ between {here} and {other}"
