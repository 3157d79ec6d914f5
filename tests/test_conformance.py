"""Tests for the conformance suite itself: comparisons, the runner, the CLI's verdicts and the JUnit XML."""

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from conformance import case as case_mod
from conformance import report, runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOTH = runner.installed_backends() == ["jax", "torch"]

SYNTHETIC = textwrap.dedent('''
    """Synthetic cases for tests/test_conformance.py: one right, one backend-dependent, one that raises."""
    import numpy as np

    from conformance.case import case, kshim, ops


    @case("synthetic.ok", reference=lambda: {"out": np.arange(3.0)})
    def _ok():
        return {"out": ops.arange(0.0, 3.0, 1.0)}


    @case("synthetic.backend_dependent", exact=True)
    def _backend_dependent():
        return {"out": np.array([1.0, 2.0]) + (0.5 if kshim.config.backend() == "torch" else 0.0)}


    @case("synthetic.wrong_vs_numpy", reference=lambda: {"out": np.array([1.0, 2.0])})
    def _wrong_vs_numpy():
        return {"out": np.array([1.0, 2.5])}


    @case("synthetic.raises")
    def _raises():
        raise RuntimeError("boom from the synthetic case")
''')


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


# ----------------------------------------------------------------------------------------------------------------
# Array comparison


def test_compare_within_tolerance_and_beyond():
    a = np.array([1.0, 2.0, 3.0], np.float32)
    d = runner.compare_arrays(a, a * (1 + 1e-7), rtol=1e-6, atol=0)
    assert d.ok and 0 < d.max_rel < 2e-7
    d = runner.compare_arrays(a, a + np.array([0, 0, 1e-3], np.float32), rtol=1e-6, atol=1e-6)
    assert not d.ok and d.max_abs == pytest.approx(1e-3, rel=1e-3) and "(2,)" in d.message


def test_compare_exact_is_dtype_agnostic_but_bit_strict():
    assert runner.compare_arrays(np.arange(4, dtype=np.int32), np.arange(4, dtype=np.int64), exact=True).ok
    assert runner.compare_arrays(np.float32([0.5, 7]), np.float64([0.5, 7]), exact=True).ok
    x = np.float32([1.0, 2.0])
    assert not runner.compare_arrays(x, np.nextafter(x, np.float32(3)), exact=True).ok


def test_compare_integers_exactly_even_with_tolerance():
    d = runner.compare_arrays(np.array([100, 200]), np.array([100, 201]), rtol=0.1, atol=10)
    assert not d.ok and d.max_abs == 1


def test_compare_nan_inf_and_shapes():
    nan, inf = np.nan, np.inf
    assert runner.compare_arrays(np.array([nan, 1.0, inf]), np.array([nan, 1.0, inf]), exact=True).ok
    assert not runner.compare_arrays(np.array([nan, 1.0]), np.array([1.0, nan]), rtol=1).ok
    assert not runner.compare_arrays(np.array([inf, 1.0]), np.array([-inf, 1.0]), rtol=1).ok
    assert not runner.compare_arrays(np.array([1.0, 2.0]), np.array([[1.0, 2.0]]), rtol=1).ok
    assert not runner.compare_arrays(np.array(["float32"]), np.array(["int32"])).ok
    assert runner.compare_arrays(np.array([], dtype=str), np.array([], dtype=str)).ok


def test_case_modules_import_without_kshim():
    code = ("import sys; from conformance import case; case.load(); "
            "assert 'kshim' not in sys.modules and 'jax' not in sys.modules and 'torch' not in sys.modules; "
            "print(len(case.REGISTRY))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) > 300


def test_every_public_name_has_a_case():
    from conformance.cases_ops import public_names

    case_mod.load()
    missing = public_names() - case_mod.covered_names()
    assert not missing, f"public names without a conformance case: {sorted(missing)}"


# ----------------------------------------------------------------------------------------------------------------
# The runner and the CLI


@pytest.mark.cross_backend
def test_runner_subset_passes():
    result = runner.run(pattern="ops.add.broadcast,random.uniform.minval_maxval")
    names = [c.name for c in result.cases]
    assert names == ["ops.add.broadcast", "random.uniform.minval_maxval"]
    assert result.backends == runner.installed_backends()
    assert result.ok, report.format_text(result)
    add = result.cases[0]
    assert add.ref_ok is True and add.ref_max_abs < 1e-5
    if BOTH:
        assert add.max_abs is not None and add.max_abs < 1e-5
        assert result.cases[1].max_abs == 0  # exact case: bit-identical
    text = report.format_text(result)
    assert "conformance: 2 passed, 0 failed" in text


@pytest.mark.cross_backend
def test_workers_share_the_cases_and_each_runs_once():
    backend = runner.installed_backends()[-1]
    result = runner.run(backends=[backend], pattern="ops.add,ops.subtract,ops.multiply,activations.", workers=2)
    names = [c.name for c in result.cases]
    assert len(names) == len(set(names)) > 40 and result.ok, report.format_text(result)
    assert all(c.ref_ok for c in result.cases if c.ref_max_abs is not None)
    assert set(result.cases[0].times) == {backend}  # every case ran (a time per case from the worker that ran it)
    assert all(c.times for c in result.cases)


@pytest.mark.cross_backend
def test_single_backend_compares_against_numpy_only():
    backend = runner.installed_backends()[0]
    result = runner.run(backends=[backend], pattern="ops.subtract.broadcast")
    assert result.backends == [backend] and result.ok
    assert result.cases[0].max_abs is None and result.cases[0].ref_ok is True
    assert any("compared against numpy only" in n for n in result.notes)


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("synthetic")
    (d / "kshim_synthetic_cases.py").write_text(SYNTHETIC)
    junit, md = d / "report.xml", d / "report.md"
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "--module", "kshim_synthetic_cases", "-k", "synthetic.",
         "--junit", str(junit), "--report", str(md)],
        cwd=d, env=_env(), capture_output=True, text=True, timeout=300)
    return proc, junit, md


@pytest.mark.cross_backend
def test_cli_reports_failures_and_exits_nonzero(synthetic_run):
    proc, _, _ = synthetic_run
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    rows = {line.split()[0]: line.split()[-1] for line in out.splitlines() if line.startswith("synthetic.")}
    expected_bad = BOTH  # with one backend there is nothing to disagree with
    assert rows["synthetic.ok"] == "PASS"
    assert rows["synthetic.backend_dependent"] == ("FAIL" if expected_bad else "PASS")
    assert rows["synthetic.wrong_vs_numpy"] == "FAIL"
    assert rows["synthetic.raises"] == "FAIL"
    assert "RuntimeError: boom from the synthetic case" in out
    assert "not bit-identical" in out or not expected_bad
    n_failed = 3 if expected_bad else 2
    assert f"conformance: {4 - n_failed} passed, {n_failed} failed" in out


@pytest.mark.cross_backend
def test_junit_xml_is_well_formed_with_counts(synthetic_run):
    _, junit, md = synthetic_run
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    failed = [tc for tc in cases if tc.find("failure") is not None]
    n_failed = 3 if BOTH else 2
    assert suite.get("tests") == "4" and suite.get("failures") == str(n_failed) and root.get("tests") == "4"
    assert len(cases) == 4 and len(failed) == n_failed
    assert {tc.get("classname") for tc in cases} == {"conformance.synthetic"}
    raises = next(tc for tc in cases if tc.get("name") == "synthetic.raises")
    assert "boom" in raises.find("failure").get("message")
    text = md.read_text()
    assert text.startswith("# kshim conformance report") and "**FAIL**" in text


@pytest.mark.cross_backend
def test_cli_list_and_bad_backend():
    listed = subprocess.run([sys.executable, "-m", "conformance", "--list", "-k", "initializers."], cwd=ROOT,
                            env=_env(), capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0
    assert "initializers.glorot_uniform" in listed.stdout and listed.stdout.strip().endswith("cases")
    bad = subprocess.run([sys.executable, "-m", "conformance", "--backends", "tensorflow"], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown backends" in bad.stderr
