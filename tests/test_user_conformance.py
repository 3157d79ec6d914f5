"""The user-model check: `python -m kshim.conformance check` and `kshim.testing.assert_backends_agree`.

The checks run both backends in subprocesses, whatever backend this pytest process uses, so they run once per CI
pass: only in the pass whose backend is the first installed one (jax when both are). The pure comparison tests run
in every pass.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import kshim
from kshim.conformance import agreement, report
from kshim.testing import assert_backends_agree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = "examples.backend_agreement."
INSTALLED = agreement.installed_backends()


def cross(test):
    """Runs every backend in subprocesses: needs two, and runs in one pass of the suite (tests/conftest.py)."""
    return pytest.mark.cross_backend(pytest.mark.skipif(len(INSTALLED) < 2, reason="needs both backends")(test))


@pytest.fixture(scope="module")
def examples():
    """The four example models, checked with one worker process per backend."""
    checks = [{"build": f"{EX}{m}:build_model", "data": f"{EX}{m}:sample", "steps": 2, "name": m}
              for m in ("mlp", "cnn", "lstm", "broken")]
    return {r.name: r for r in agreement.run_checks(checks)}


def _forward_layers(result):
    return [k.key for k in result.keys if k.kind == "forward"]


@cross
@pytest.mark.parametrize("name,layers", [
    ("mlp", ["dense", "dropout", "dense_1", "dense_2", "model output"]),
    ("cnn", ["conv2d", "batch_normalization", "activation", "max_pooling2d", "conv2d_1", "batch_normalization_1",
             "activation_1", "global_average_pooling2d", "dense", "model output"]),
    ("lstm", ["embedding", "lstm", "dense", "model output"]),
])
def test_good_models_agree(examples, name, layers):
    r = examples[name]
    assert r.ok, report.format_text(r)
    assert r.first_divergence is None and not r.errors and not r.problems
    assert _forward_layers(r) == layers  # every layer's output, in topological order
    initial = [k for k in r.keys if k.kind == "initial"]
    assert initial and all(k.max_abs == 0 for k in initial)  # bit-identical weights from the seed
    grads = [k for k in r.keys if k.kind == "gradients"]
    assert [k.key for k in grads][0] == "loss" and len(grads) == 1 + sum("kernel" in k.key or "bias" in k.key
                                                                        or "embeddings" in k.key or "gamma" in k.key
                                                                        or "beta" in k.key for k in grads)
    steps = sorted({k.step for k in r.keys if k.kind == "training"})
    assert steps == [1, 2]
    assert len([k for k in r.keys if k.kind == "training" and k.step == 1]) == len(initial) + 1  # loss + weights


@cross
def test_broken_model_names_the_layer(examples):
    r = examples["broken"]
    assert not r.ok and not r.errors
    first = r.first_divergence
    assert (first.kind, first.layer, first.layer_class) == ("forward", "noisy_scale", "NoisyScale")
    assert first.max_abs > 1e-3
    before = [k for k in r.keys if k.kind == "initial" or (k.kind == "forward" and k.key == "dense")]
    assert before and all(k.ok for k in before)  # the layers before it agree
    assert "noisy_scale" in r.summary() and "NoisyScale" in r.summary()
    text = report.format_text(r)
    assert "First divergence: forward output of layer 'noisy_scale'" in text and "DISAGREE" in text


@cross
def test_junit_xml_has_one_suite_per_model_and_the_failure(examples):
    root = ET.fromstring(report.junit_xml(list(examples.values())))
    suites = {s.get("name").split(":", 1)[1]: s for s in root.findall("testsuite")}
    assert sorted(suites) == ["broken", "cnn", "lstm", "mlp"]
    for name in ("mlp", "cnn", "lstm"):
        assert suites[name].get("failures") == "0" and not suites[name].findall(".//failure")
    failures = suites["broken"].findall(".//failure")
    assert int(suites["broken"].get("failures")) == len(failures) >= 1
    assert "noisy_scale" in failures[0].get("message")
    assert int(root.get("failures")) == len(failures)


@cross
def test_cli_exit_code_table_and_junit(tmp_path):
    junit = tmp_path / "agreement.xml"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "kshim.conformance", "check", f"{EX}broken:build_model", "--data", f"{EX}broken:sample",
         "--steps", "1", "--junit", str(junit)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "First divergence: forward output of layer 'noisy_scale' (NoisyScale)" in proc.stdout
    assert "max abs diff" in proc.stdout and "RESULT: backends DISAGREE" in proc.stdout
    failures = ET.parse(junit).getroot().findall(".//failure")
    assert failures and "noisy_scale" in failures[0].get("message")


def tiny_model():
    return kshim.Sequential([kshim.Input((4,)), kshim.layers.Dense(3, activation="relu"), kshim.layers.Dense(2)])


@cross
def test_pytest_helper_passes_and_returns_the_numbers():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(8, 4)).astype("float32")
    r = assert_backends_agree(tiny_model, x, None, steps=1)  # y=None: zero targets, default SGD + mse
    assert r.ok and _forward_layers(r) == ["dense", "dense_1", "model output"]
    assert any(k.kind == "training" and k.key == "loss" for k in r.keys)


# ----------------------------------------------------------------------------------------------------------------
# Comparison and argument checks (no subprocess; every pass)


def _manifest(values, kinds=None):
    entries = [{"kind": kind, "key": key, "layer": key.split("/")[0], "class": "Dense", "step": step}
               for kind, key, step in kinds]
    return {"entries": entries, "seconds": 0.0}, [np.asarray(v, np.float32) for v in values]


def test_compare_reports_the_first_divergence_in_order():
    kinds = [("initial", "a/kernel", None), ("forward", "a", None), ("forward", "b", None),
             ("gradients", "a/kernel", None), ("training", "a/kernel", 1)]
    m0, a0 = _manifest([[1.0, 2.0], [0.5], [3.0], [0.1], [1.0]], kinds)
    m1, a1 = _manifest([[1.0, 2.0], [0.5], [3.1], [0.2], [1.0 + 1e-6]], kinds)
    tol = agreement.resolve_tolerances()
    r = agreement.compare("m", {"x": m0, "y": m1}, {"x": a0, "y": a1}, ["x", "y"], tol, 1, 0)
    assert not r.ok and r.first_divergence.key == "b" and r.first_divergence.kind == "forward"
    assert r.first_divergence.max_abs == pytest.approx(0.1, rel=1e-5)
    assert [k.ok for k in r.keys] == [True, True, False, False, True]
    loose = agreement.resolve_tolerances(rtol=0.1, atol=0.1)
    assert agreement.compare("m", {"x": m0, "y": m1}, {"x": a0, "y": a1}, ["x", "y"], loose, 1, 0).ok
    m1b, a1b = _manifest([[1.0, 2.0 + 5e-7]] + [[0.5], [3.0], [0.1], [1.0]], kinds)
    exact = agreement.compare("m", {"x": m0, "y": m1b}, {"x": a0, "y": a1b}, ["x", "y"], loose, 1, 0)
    assert exact.first_divergence.kind == "initial"  # initial weights stay bit for bit under loose tolerances


def test_compare_flags_a_layer_recorded_on_one_backend_only():
    m0, a0 = _manifest([[1.0], [2.0]], [("forward", "a", None), ("forward", "b", None)])
    m1, a1 = _manifest([[1.0], [2.0]], [("forward", "a", None), ("forward", "c", None)])
    r = agreement.compare("m", {"x": m0, "y": m1}, {"x": a0, "y": a1}, ["x", "y"], agreement.resolve_tolerances(),
                          0, 0)
    assert not r.ok and r.first_divergence.key == "b" and "only" in r.first_divergence.message
    assert r.problems and "'c'" in r.problems[0]


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="`rtol` must be a non-negative number. Received: rtol=-1"):
        agreement.resolve_tolerances(rtol=-1)
    with pytest.raises(ValueError, match="`tolerances` keys must be among"):
        agreement.resolve_tolerances(tolerances={"fwd": (1, 1)})
    with pytest.raises(ValueError, match="module-level function"):
        agreement._target(lambda: None, "assert_backends_agree")
    assert agreement._target(tiny_model, "x") == (f"{__name__}:tiny_model", None)
    assert agreement._target("pkg.mod:fn", "x") == ("pkg.mod:fn", None)
