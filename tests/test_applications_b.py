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

CI cost: the smallest variant of each family runs by default, and each family's Keras parity runs in one of the
two backend passes (alternating: the first family on jax, the second on torch, ...); one Keras subprocess per pass
does every family of that pass. The cross-backend digest test runs in the first pass only. ``-m slow`` runs every
family's parity on the current backend (run it with both backends for the full matrix) and the bigger variants.
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
HERE = keras.config.backend()
INSTALLED = [b for b in ("jax", "torch") if importlib.util.find_spec(b) is not None]
cross = pytest.mark.skipif(
    len(INSTALLED) < 2 or HERE != INSTALLED[0],
    reason=f"runs the other backend in a subprocess: once per CI run, in the {INSTALLED[:1]} pass, with two installed")

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



def parity_pass(index):
    """The backend whose CI pass checks DEFAULT[index] against Keras: families alternate between the passes."""
    return INSTALLED[index % len(INSTALLED)] if HERE in INSTALLED else HERE


KERAS_SCRIPT = textwrap.dedent("""
    import json, sys, traceback
    import numpy as np
    import keras

    def run(spec):
        fn = getattr(getattr(keras.applications, spec["module"]), spec["fn"])
        model = fn(weights=None, input_shape=(spec["size"], spec["size"], 3), classes=spec["classes"],
                   classifier_activation=None, **spec["kwargs"])
        x = np.load(spec["x"])
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
        keras.utils.clear_session()

    for spec in json.loads(open(sys.argv[1]).read()):
        try:
            run(spec)
        except Exception:  # reported by that family's test
            with open(spec["error"], "w") as f:
                f.write(traceback.format_exc())
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


def digest(w):  # float weights by their bytes; integer counters by value (jax keeps int64 as int32)
    w = np.asarray(w)
    w = w if w.dtype.kind == "f" else w.astype("int64")
    return hashlib.sha256(np.ascontiguousarray(w).tobytes()).hexdigest()


SEEDED_DIGESTS = {}  # fn -> digests of the seeded model, recorded by whichever test builds it first


def _kshim_side(workdir, key, case):
    """Builds the seeded model (recording its digests), perturbs it, writes its weights and predicts."""
    module, fn, size, kwargs = case
    keras.utils.set_random_seed(7)
    model = _build(module, fn, size, kwargs)
    SEEDED_DIGESTS.setdefault(fn, [digest(w) for w in model.get_weights()])
    _perturb(model, 11)
    x = np.random.default_rng(1).uniform(0, 255, size=(2, size, size, 3)).astype("float32")
    files = {k: os.path.join(workdir, f"{key}.{k}{ext}") for k, ext in (
        ("x", ".npy"), ("keras_file", ".weights.h5"), ("kshim_file", ".weights.h5"), ("keras_pred", ".npy"),
        ("kshim_pred", ".npy"), ("error", ".txt"))}
    np.save(files["x"], x)
    model.save_weights(files["kshim_file"])
    ours = model.predict(x, verbose=0)
    spec = dict(files, module=module, fn=fn, size=size, kwargs=kwargs, classes=5, seed=3)
    return spec, {"model": model, "x": x, "ours": ours, "case": case, "files": files}


def _parity_runs(workdir, cases):
    """kshim side, then one Keras subprocess for all `cases`; returns each case's material for `_check`."""
    workdir = str(workdir)
    specs, runs = [], []
    for i, case in enumerate(cases):
        spec, run = _kshim_side(workdir, f"case{i}", case)
        specs.append(spec)
        runs.append(run)
    with open(os.path.join(workdir, "specs.json"), "w") as f:
        json.dump(specs, f)
    script = os.path.join(workdir, "keras_side.py")
    with open(script, "w") as f:
        f.write(KERAS_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("KSHIM_BACKEND", "PYTHONPATH")}
    env["KERAS_BACKEND"] = "torch"  # eager: no compile for a single predict
    proc = subprocess.run([sys.executable, script, os.path.join(workdir, "specs.json")], env=env,
                          capture_output=True, text=True, timeout=900, cwd=workdir)
    assert proc.returncode == 0, f"Keras side failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return runs


def _check(run):
    fn, files, x, model = run["case"][1], run["files"], run["x"], run["model"]
    if os.path.exists(files["error"]):
        with open(files["error"]) as f:
            pytest.fail(f"{fn}: the Keras side failed:\n{f.read()[-3000:]}")
    # kshim -> Keras: Keras reads kshim's file and predicts what kshim predicted.
    _close(np.load(files["kshim_pred"]), run["ours"], f"{fn}: Keras 3 with kshim's weights")
    # Keras -> kshim: the model reads Keras's file (every weight differs from kshim's perturbed ones, so a weight
    # the file failed to set would show) and predicts what Keras predicted.
    model.load_weights(files["keras_file"])
    _close(model.predict(x, verbose=0), np.load(files["keras_pred"]), f"{fn}: kshim with Keras 3's weights")


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    """Every DEFAULT family whose parity runs in this pass, with one Keras subprocess for all of them."""
    mine = [i for i in range(len(DEFAULT)) if parity_pass(i) == HERE]
    runs = _parity_runs(tmp_path_factory.mktemp("applications_b_parity"), [DEFAULT[i] for i in mine])
    return dict(zip(mine, runs))


@pytest.mark.parametrize("index", [
    pytest.param(i, marks=pytest.mark.skipif(
        parity_pass(i) != HERE,
        reason=f"{c[1]}: its Keras parity runs in the {parity_pass(i)} pass (families alternate between the CI "
               f"passes); `-m slow` runs it on every backend"))
    for i, c in enumerate(DEFAULT)], ids=[c[1] for c in DEFAULT])
def test_weights_move_both_ways(parity, index):
    _check(parity[index])


@pytest.mark.slow
@pytest.mark.parametrize("case", DEFAULT + SLOW, ids=[c[1] for c in DEFAULT + SLOW])
def test_weights_move_both_ways_every_family_on_this_backend(tmp_path, case):
    (run,) = _parity_runs(tmp_path, [case])
    _check(run)


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


@cross
def test_seeded_weights_are_bit_identical_on_the_other_backend(tmp_path):
    other = {"jax": "torch", "torch": "jax"}[HERE]
    script = tmp_path / "digests.py"
    script.write_text(DIGEST_SCRIPT)
    env = dict(os.environ, KSHIM_BACKEND=other, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, str(script), json.dumps(DEFAULT)], env=env, capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert theirs["backend"] == other
    for module, fn, size, kwargs in DEFAULT:
        if fn not in SEEDED_DIGESTS:  # not built by a parity test in this process
            keras.utils.set_random_seed(7)
            SEEDED_DIGESTS[fn] = [digest(w) for w in _build(module, fn, size, kwargs).get_weights()]
        digests = SEEDED_DIGESTS[fn]
        assert len(digests) > 10, fn
        assert theirs["digests"][fn] == digests, f"{fn}: seeded weights differ between {HERE} and {other}"
