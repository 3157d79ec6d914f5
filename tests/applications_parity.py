"""Shared machinery of the application tests (test_applications*.py): weights moved both ways between kshim and
Keras 3 itself, and seeded weights compared across kshim's backends.

A case is (module, function, input side, kwargs). For each case:
- kshim builds the model from a seed (its weight digests are recorded for the cross-backend test), perturbs every
  weight (so batch statistics, gammas and biases are not their trivial initial values), writes a ``.weights.h5``
  and predicts;
- Keras 3 (in a subprocess: ``KERAS_BACKEND=torch`` by default, eager, no compile for one forward pass) builds the
  same application, perturbs its own weights the same way, writes a ``.weights.h5`` (and, when asked, the Keras 2
  ``.h5`` layout of Keras's ImageNet files) and its predictions, then loads kshim's file and predicts again;
- `check` asserts that Keras predicts kshim's numbers with kshim's file, and kshim Keras's numbers with Keras's
  file (every value differs from kshim's perturbed ones, so a weight the loader missed would show), rtol 1e-4.

One Keras subprocess per Keras backend serves every case of a call.
"""

import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kshim as keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAS_KERAS = importlib.util.find_spec("keras") is not None
needs_keras = pytest.mark.skipif(not HAS_KERAS, reason="needs Keras 3 (test extra)")
HERE = keras.config.backend()
INSTALLED = [b for b in ("jax", "torch") if importlib.util.find_spec(b) is not None]
cross = pytest.mark.skipif(
    len(INSTALLED) < 2 or HERE != INSTALLED[0],
    reason=f"runs the other backend in a subprocess: once per CI run, in the {INSTALLED[:1]} pass, with two installed")

def perturbed(values, names, seed):
    """The perturbation, written once and run on both sides (`perturb` here, and the Keras script): moving
    variances become uniform(0.8, 1.2); constant-initialized values (biases, statistics, gammas) are shifted by
    N(0, 0.02); random ones are scaled by uniform(0.9, 1.1), so deep nets keep their activation scale; integers
    stay."""
    rng = np.random.default_rng(seed)
    out = []
    for w, name in zip(values, names):
        w = np.asarray(w)
        if w.dtype.kind == "f":
            if name in ("moving_variance", "variance"):
                w = rng.uniform(0.8, 1.2, size=w.shape).astype(w.dtype)
            elif np.ptp(w) == 0:
                w = (w + rng.normal(0.0, 0.02, size=w.shape)).astype(w.dtype)
            else:
                w = (w * rng.uniform(0.9, 1.1, size=w.shape)).astype(w.dtype)
        out.append(w)
    return out


KERAS_SCRIPT = textwrap.dedent("""
    import json, sys, traceback
    import numpy as np
    import keras
""") + "\n\n" + inspect.getsource(perturbed) + textwrap.dedent("""

    def forward(model, x):
        return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))

    def run(spec):
        fn = getattr(keras.applications, spec["fn"])  # (Keras has no mobilenet_v3.MobileNetV3Small)
        model = fn(weights=None, input_shape=(spec["size"], spec["size"], 3), classes=spec["classes"],
                   classifier_activation=None, **spec["kwargs"])
        x = np.load(spec["x"])
        for v, w in zip(model.weights, perturbed([v.numpy() for v in model.weights],
                                                 [v.name for v in model.weights], spec["seed"])):
            v.assign(w)
        model.save_weights(spec["keras_file"])
        if spec["legacy_file"]:  # the Keras 2 layout of Keras's ImageNet files
            import h5py
            from keras.src.legacy.saving import legacy_h5_format
            with h5py.File(spec["legacy_file"], "w") as f:
                legacy_h5_format.save_weights_to_hdf5_group(f, model)
        # predict from the file (a Normalization layer caches its statistics when it loads them)
        model.load_weights(spec["keras_file"])
        np.save(spec["keras_pred"], forward(model, x))
        model.load_weights(spec["kshim_file"])
        np.save(spec["kshim_pred"], forward(model, x))
        keras.utils.clear_session()

    for spec in json.loads(open(sys.argv[1]).read()):
        try:
            run(spec)
        except Exception:  # reported by that case's test
            with open(spec["error"], "w") as f:
                f.write(traceback.format_exc())
""")


def parity_pass(index):
    """The backend whose CI pass checks a family's default case (index ``index``) against Keras: families
    alternate between the passes."""
    return INSTALLED[index % len(INSTALLED)] if HERE in INSTALLED else HERE


def default_params(default):
    """``default`` as pytest parameters (indices), each skipped outside the pass that checks it (`parity_pass`)."""
    return [pytest.param(i, id=c[1], marks=pytest.mark.skipif(
        parity_pass(i) != HERE,
        reason=f"{c[1]}: its Keras parity runs in the {parity_pass(i)} pass (families alternate between the CI "
               f"passes); `-m slow` runs it on every backend")) for i, c in enumerate(default)]


def build(module, fn, size, kwargs, classes=5):
    kwargs = dict({"weights": None}, **kwargs)
    return getattr(importlib.import_module(f"kshim.applications.{module}"), fn)(
        input_shape=(size, size, 3), classes=classes, classifier_activation=None, **kwargs)


def perturb(model, seed):
    model.set_weights(perturbed(model.get_weights(), [v.name for v in model.weights], seed))


def close(actual, expected, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    assert np.all(np.isfinite(expected)), what
    scale = float(np.max(np.abs(expected)))
    assert scale > 1e-3, f"{what}: predictions are all ~0, the comparison would prove nothing"
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * scale, err_msg=what)


def digest(w):
    """A weight's fingerprint: floats by their bytes, integer counters by value (jax keeps int64 as int32)."""
    w = np.asarray(w)
    w = w if w.dtype.kind == "f" else w.astype("int64")
    return hashlib.sha256(np.ascontiguousarray(w).tobytes()).hexdigest()


def case_key(case):
    module, fn, size, kwargs = case
    return (module, fn, size, json.dumps(kwargs, sort_keys=True))


SEEDED_DIGESTS = {}  # case_key -> digests of the seeded model, recorded by whichever test builds it first


def seeded_digests(case):
    key = case_key(case)
    if key not in SEEDED_DIGESTS:
        keras.utils.set_random_seed(7)
        SEEDED_DIGESTS[key] = [digest(w) for w in build(*case).get_weights()]
    return SEEDED_DIGESTS[key]


def _kshim_side(workdir, key, case, x_range, legacy):
    module, fn, size, kwargs = case
    keras.utils.set_random_seed(7)
    model = build(*case)
    SEEDED_DIGESTS.setdefault(case_key(case), [digest(w) for w in model.get_weights()])
    perturb(model, 11)
    x = np.random.default_rng(1).uniform(*x_range, size=(2, size, size, 3)).astype("float32")
    files = {k: os.path.join(workdir, f"{key}.{k}{ext}") for k, ext in (
        ("x", ".npy"), ("keras_file", ".weights.h5"), ("kshim_file", ".weights.h5"), ("keras_pred", ".npy"),
        ("kshim_pred", ".npy"), ("legacy_file", ".h5"), ("error", ".txt"))}
    if not legacy:
        files["legacy_file"] = None
    np.save(files["x"], x)
    model.save_weights(files["kshim_file"])
    ours = model.predict(x, verbose=0)
    spec = dict(files, module=module, fn=fn, size=size, kwargs=kwargs, classes=5, seed=3)
    return spec, {"model": model, "x": x, "ours": ours, "case": case, "files": files}


def _keras_side(workdir, keras_backend, specs):
    path = os.path.join(workdir, f"specs_{keras_backend}.json")
    with open(path, "w") as f:
        json.dump(specs, f)
    script = os.path.join(workdir, "keras_side.py")
    with open(script, "w") as f:
        f.write(KERAS_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("KSHIM_BACKEND", "PYTHONPATH")}
    env["KERAS_BACKEND"] = keras_backend
    proc = subprocess.run([sys.executable, script, path], env=env, capture_output=True, text=True, timeout=1800,
                          cwd=workdir)
    assert proc.returncode == 0, f"Keras side failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def parity_runs(workdir, cases, x_range=(-1.0, 1.0), legacy=False, keras_backend=lambda case: "torch"):
    """The kshim side of every case, then one Keras subprocess per Keras backend (``keras_backend(case)``); each
    case's material for `check`."""
    workdir = str(workdir)
    groups, runs = {}, []
    for i, case in enumerate(cases):
        spec, run = _kshim_side(workdir, f"case{i}", case, x_range, legacy)
        groups.setdefault(keras_backend(case), []).append(spec)
        runs.append(run)
    for backend, specs in groups.items():
        _keras_side(workdir, backend, specs)
    return runs


def check(run):
    module, fn, size, kwargs = run["case"]
    files, x, model = run["files"], run["x"], run["model"]
    if os.path.exists(files["error"]):
        with open(files["error"]) as f:
            pytest.fail(f"{fn}: the Keras side failed:\n{f.read()[-3000:]}")
    close(np.load(files["kshim_pred"]), run["ours"], f"{fn}: Keras 3 with kshim's weights")
    model.load_weights(files["keras_file"])
    close(model.predict(x, verbose=0), np.load(files["keras_pred"]), f"{fn}: kshim with Keras 3's weights")
    if files["legacy_file"]:  # the constructor's `weights=` takes the Keras 2 layout (that of the ImageNet files)
        legacy = build(module, fn, size, dict(kwargs, weights=files["legacy_file"]))
        close(legacy.predict(x, verbose=0), np.load(files["keras_pred"]), f"{fn}: kshim with a Keras 2 layout file")


DIGEST_SCRIPT = textwrap.dedent("""
    import hashlib, importlib, json, sys
    import numpy as np
    import kshim as keras
    sys.path.insert(0, sys.argv[2])
    from applications_parity import build, digest

    out = {}
    for case in json.loads(sys.argv[1]):
        keras.utils.set_random_seed(7)
        out[case[1]] = [digest(w) for w in build(*case).get_weights()]
    print(json.dumps({"backend": keras.config.backend(), "digests": out}))
""")


def check_seeded_weights_on_the_other_backend(tmp_path, cases):
    """The seeded ``weights=None`` models of ``cases`` have bit-identical weights on the other backend (one
    subprocess for all)."""
    other = {"jax": "torch", "torch": "jax"}[HERE]
    script = tmp_path / "digests.py"
    script.write_text(DIGEST_SCRIPT)
    env = dict(os.environ, KSHIM_BACKEND=other, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, str(script), json.dumps(cases), os.path.dirname(__file__)], env=env,
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert theirs["backend"] == other
    for case in cases:
        digests = seeded_digests(case)
        assert len(digests) > 10, case[1]
        assert theirs["digests"][case[1]] == digests, f"{case[1]}: seeded weights differ between {HERE} and {other}"
