"""Parity of kshim.ops with Keras 3's keras.ops: one table of cases per op family, the same source run by both.

A case is ``(id, source, inputs[, options])``: ``source`` is a Python expression of ``ops`` (and ``np``) that gives a
function, e.g. ``"lambda x: ops.linalg.det(x)"``, and ``inputs`` a list of numpy arrays it is called with. kshim
evaluates the source with ``ops = kshim.ops``; Keras 3 with ``ops = keras.ops`` in one subprocess per session for
every table, with ``KERAS_BACKEND=numpy`` (it runs each op without compiling it: the jax backend spends minutes
compiling hundreds of small eager ops on a CI core); a case whose options say ``"keras": "jax"`` (an op the numpy
backend lacks or computes in float64) runs in a second, small jax subprocess. Outputs (a tensor or a nest of them)
are compared leaf by leaf: values at rtol 1e-5 and the dtype Keras gives. Results are cached on disk by a hash of
the tables. Options: ``check_dtype``, ``rtol``, ``backends`` (kshim backends to check, where Keras 3's own
backends disagree), ``keras``.

Run as a script (``python tests/keras_ops_parity.py CASES.pkl OUT.pkl``) it is the Keras side.
"""

import hashlib
import importlib
import importlib.util
import os
import pickle
import importlib.metadata
import subprocess
import sys
import tempfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The test modules whose CASES table lives in conformance/table_ops_<family>.py: Keras 3 runs all of them in one subprocess per session (its import and
# start-up cost ~20 s on a shared CI core), and the results are cached on disk under a hash of the tables.
TABLES = ("test_ops_control_flow", "test_ops_linalg", "test_ops_math", "test_ops_nn", "test_ops_image",
          "test_ops_numpy_extra", "test_ops_complex")
_RESULTS = {}


def leaves(value):
    """The arrays of an op's output (a tensor, a Python scalar, or lists/tuples/dicts of them), in order."""
    if isinstance(value, dict):
        return [a for k in sorted(value) for a in leaves(value[k])]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in leaves(v)]
    if value is None:
        return []
    return [np.asarray(value.cpu().detach() if hasattr(value, "detach") else value)]


def run_cases(ops, cases):
    """``{id: [arrays] or "error: ..."}`` for each case, evaluated with ``ops``."""
    out = {}
    for cid, source, inputs, *_ in cases:
        try:
            fn = eval(source, {"ops": ops, "np": np})
            out[cid] = leaves(fn(*[ops.convert_to_tensor(a) for a in inputs]))
        except Exception as e:  # the other side reports it, with the case's id
            out[cid] = f"error: {type(e).__name__}: {e}"
    return out


def _all_cases():
    cases = []
    for name in TABLES:
        table = "table_ops_" + name[len("test_ops_"):]
        if os.path.exists(os.path.join(ROOT, "conformance", f"{table}.py")):
            module = importlib.import_module(f"conformance.{table}")
            cases += [(f"{name}:{c[0]}", c[1], c[2], (c[3] if len(c) > 3 else {}).get("keras", "numpy"))
                      for c in module.CASES]
    return cases


def _run_keras(keras_backend, cases, tmp_dir):
    blob = pickle.dumps((keras_backend, cases))
    key = hashlib.sha256(blob + importlib.metadata.version("keras").encode()).hexdigest()[:20]
    cache = os.path.join(tempfile.gettempdir(), f"kshim-keras-ops-{key}.pkl")
    if not os.path.exists(cache):
        src = os.path.join(tmp_dir, f"cases-{keras_backend}-{os.getpid()}.pkl")
        with open(src, "wb") as f:
            f.write(blob)
        env = dict(os.environ, KERAS_BACKEND=keras_backend)
        env.pop("PYTHONPATH", None)  # Keras runs on its own
        part = f"{cache}.{os.getpid()}.part"  # two sessions (one per backend) may compute it at once
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), src, part], env=env,
                              capture_output=True, text=True, timeout=900, cwd=tmp_dir)
        assert proc.returncode == 0, proc.stderr[-4000:]
        os.replace(part, cache)
    with open(cache, "rb") as f:
        return pickle.load(f)


def keras_reference(module_name, tmp_dir):
    """Keras 3's results for the CASES of test module ``module_name`` (``{id: arrays}``), or None when Keras 3 is
    not installed. Every table is computed in the same single subprocess, once per session (and cached on disk)."""
    if importlib.util.find_spec("keras") is None:
        return None
    if not _RESULTS:
        cases = _all_cases()
        for keras_backend in sorted({c[3] for c in cases}):
            _RESULTS.update(_run_keras(keras_backend, [c[:3] for c in cases if c[3] == keras_backend], tmp_dir))
    prefix = module_name.rpartition(".")[2] + ":"
    return {k[len(prefix):]: v for k, v in _RESULTS.items() if k.startswith(prefix)}


def parity_tests(module_name, cases, ops, rtol=1e-5, atol=1e-6, slow=()):
    """The Keras-parity fixture and test of a table's test module, one per case (ids in ``slow`` are marked slow):

        keras_results, test_matches_keras = parity_tests(__name__, CASES, ops, atol=1e-5)

    A case's options override the tolerances."""

    @pytest.fixture(scope="module")
    def keras_results(tmp_path_factory):
        ref = keras_reference(module_name, str(tmp_path_factory.mktemp("keras_ops")))
        if ref is None:
            pytest.skip("Keras 3 is not installed")
        return ref

    @pytest.mark.parametrize("cid", [pytest.param(c[0], marks=pytest.mark.slow) if c[0] in slow else c[0]
                                     for c in cases])
    def test_matches_keras(keras_results, cid):
        case = next(c for c in cases if c[0] == cid)
        ours = run_cases(ops, [case])[cid]
        assert not isinstance(ours, str), ours
        options = {"rtol": rtol, "atol": atol, **(case[3] if len(case) > 3 else {})}
        assert_matches(ours, keras_results[cid], cid=cid, **options)

    return keras_results, test_matches_keras


def assert_matches(ours, theirs, rtol=1e-5, atol=1e-6, check_dtype=True, cid="", backends=None, keras=None):
    """``backends``: where Keras 3's own backends disagree, the ones kshim follows (the others are skipped; kshim
    gives one answer on every backend)."""
    from kshim import backend

    if backends is not None and backend.backend() not in backends:
        import pytest

        pytest.skip(f"{cid}: Keras 3's backends disagree here; kshim follows Keras 3 on {backends}")
    if isinstance(theirs, str):
        raise AssertionError(f"{cid}: Keras 3 failed: {theirs}")
    assert len(ours) == len(theirs), (cid, len(ours), len(theirs))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, (cid, i, a.shape, b.shape)
        if check_dtype:
            assert a.dtype == b.dtype, (cid, i, a.dtype, b.dtype)
        if a.dtype.kind in "fc":
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{cid} output {i}")
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"{cid} output {i}")


if __name__ == "__main__":
    import keras

    with open(sys.argv[1], "rb") as f:
        _, _cases = pickle.load(f)
    with open(sys.argv[2], "wb") as f:
        pickle.dump(run_cases(keras.ops, _cases), f)
