"""The runner: one worker process per backend, then backend-vs-backend and backend-vs-numpy comparisons.

    from conformance import runner
    result = runner.run(pattern="ops.add")
    print(result.passed, result.failed)

Each backend runs the selected cases in `conformance.worker` processes with ``KSHIM_BACKEND`` set (the backend is
fixed at import): one per core by default, which claim the cases a group at a time (consecutive cases of one module,
so a worker's compiled kernels serve its neighbours), so the slow backend's cases spread over every core once the
fast backend is done. The backends run concurrently. The numpy references are computed here, in the parent, which
runs no case. The array comparison is `kshim.conformance.compare.compare_arrays`, shared with the check of users'
models (``python -m kshim.conformance check``); importing it loads kshim's default backend in the parent too.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from conformance import case as case_mod
from kshim.conformance.compare import Diff, compare_arrays  # noqa: F401 - re-exported: runner.compare_arrays

BACKENDS = ("jax", "torch")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def installed_backends():
    """The backends whose framework is importable here (without importing it)."""
    return [b for b in BACKENDS if importlib.util.find_spec(b) is not None]


# ----------------------------------------------------------------------------------------------------------------
# Results


@dataclass
class CaseResult:
    """The verdict for one case, with the numbers the report shows."""

    name: str
    family: str
    tolerance: str
    verdict: str = "PASS"  # or "FAIL"
    max_abs: float = None  # backend vs backend, worst over keys (None: not compared)
    max_rel: float = None
    ref_max_abs: float = None  # backends vs numpy, worst over keys and backends (None: no reference)
    ref_ok: bool = None
    failures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    times: dict = field(default_factory=dict)

    @property
    def passed(self):
        return self.verdict == "PASS"

    def fail(self, message):
        self.verdict = "FAIL"
        self.failures.append(message)


@dataclass
class RunResult:
    """Everything one run produced."""

    cases: list
    backends: list  # the backends that ran
    missing: list  # requested backends that are not installed
    versions: dict = field(default_factory=dict)
    worker_s: dict = field(default_factory=dict)
    worker_cpu_s: dict = field(default_factory=dict)
    wall_s: float = 0.0
    notes: list = field(default_factory=list)

    @property
    def passed(self):
        return sum(c.passed for c in self.cases)

    @property
    def failed(self):
        return sum(not c.passed for c in self.cases)

    @property
    def ok(self):
        return self.failed == 0 and bool(self.backends)


def _agg(current, value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return current
    return value if current is None else max(current, value)


def evaluate(c, outputs, reference):
    """The `CaseResult` of case ``c`` from ``outputs`` ({backend: {key: array} or an error string}) and the numpy
    ``reference`` ({key: array}, an error string, or None)."""
    res = CaseResult(name=c.name, family=c.family, tolerance=c.tolerance_text())
    good = {}
    for backend, out in outputs.items():
        if isinstance(out, str):
            res.fail(f"{backend} raised {out}")
        else:
            good[backend] = out
    names = list(good)
    if len(names) >= 2:
        b0 = names[0]
        for b1 in names[1:]:
            k0, k1 = set(good[b0]), set(good[b1])
            if k0 != k1:
                res.fail(f"different outputs: only on {b0}: {sorted(k0 - k1)}, only on {b1}: {sorted(k1 - k0)}")
            for key in sorted(k0 & k1):
                a, b = good[b0][key], good[b1][key]
                d = compare_arrays(a, b, c.rtol, c.atol, c.exact, names=(b0, b1))
                res.max_abs, res.max_rel = _agg(res.max_abs, d.max_abs), _agg(res.max_rel, d.max_rel)
                if not d.ok:
                    res.fail(f"{key!r} {b0} vs {b1}: {d.message}")
                if a.dtype != b.dtype:
                    res.notes.append(f"{key!r} dtype: {a.dtype} on {b0}, {b.dtype} on {b1}")
    if isinstance(reference, str):
        res.fail(f"the numpy reference raised {reference}")
    elif reference is not None:
        res.ref_ok = True
        for backend, out in good.items():
            for key, ref in reference.items():
                if key not in out:
                    res.fail(f"{key!r}: in the numpy reference but not returned on {backend}")
                    res.ref_ok = False
                    continue
                d = compare_arrays(out[key], ref, c.ref_rtol, c.ref_atol, False, names=(backend, "numpy"))
                res.ref_max_abs = _agg(res.ref_max_abs, d.max_abs)
                if not d.ok:
                    res.ref_ok = False
                    res.fail(f"{key!r} {backend} vs numpy: {d.message}")
    return res


def compute_reference(c):
    """The flattened numpy reference of case ``c``: a dict, None, or the error text if it raised."""
    if c.reference is None:
        return None
    try:
        with np.errstate(all="ignore"):
            return case_mod.flatten(c.reference(), np.asarray)
    except Exception as exc:  # noqa: BLE001 - reported as the case's failure
        return f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------------------------------------------
# Running the workers


def _tail(path, n=2000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:].strip()
    except OSError:
        return ""


def _start_worker(backend, index, spec_path, work, extra_paths, claims):
    out_dir = os.path.join(work, backend, f"w{index}")
    os.makedirs(out_dir)
    env = dict(os.environ)
    env["KSHIM_BACKEND"] = backend
    env["PYTHONPATH"] = os.pathsep.join([_ROOT, *extra_paths] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    stdout = open(os.path.join(out_dir, "stdout.txt"), "w")
    stderr = open(os.path.join(out_dir, "stderr.txt"), "w")
    command = [sys.executable, "-m", "conformance.worker", "--out", out_dir, "--cases", spec_path]
    if claims:
        command += ["--claims", claims]
    proc = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr, cwd=_ROOT)
    return proc, out_dir, (stdout, stderr)


def _wait(backend, proc, out_dir, files, deadline):
    """The manifest of one finished worker, or the text saying how it died."""
    try:
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        died = None
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        died = "timed out"
    for f in files:
        f.close()
    manifest_path = os.path.join(out_dir, "manifest.json")
    if died is None and (proc.returncode != 0 or not os.path.exists(manifest_path)):
        died = f"exited with code {proc.returncode}"
    if died is not None:
        current = _tail(os.path.join(out_dir, "progress"))
        where = f" while running case {current!r}" if current else ""
        return f"the {backend} worker {died}{where}. stderr: {_tail(os.path.join(out_dir, 'stderr.txt'), 1500)}"
    with open(manifest_path) as f:
        return json.load(f)


def _collect(backend, started, deadline, names):
    """{case: {key: array} or error text} from a backend's workers, plus their merged manifest (None if none
    finished). A case that no finished worker ran gets the error of a worker that died."""
    outputs, merged, deaths = {}, None, []
    for proc, out_dir, files in started:
        manifest = _wait(backend, proc, out_dir, files, deadline)
        if isinstance(manifest, str):
            deaths.append(manifest)
            continue
        if merged is None:
            merged = {"versions": manifest.get("versions", {}), "total_s": 0.0, "cpu_s": 0.0, "times": {}}
        merged["total_s"] = max(merged["total_s"], manifest.get("total_s", 0.0))
        merged["cpu_s"] += manifest.get("cpu_s", 0.0)
        merged["times"].update(manifest.get("times", {}))
        ran = manifest.get("names", [])
        if manifest.get("import_error"):
            outputs.update({n: manifest["import_error"] for n in ran})
            merged.setdefault("import_error", manifest["import_error"])
            continue
        with np.load(os.path.join(out_dir, "results.npz"), allow_pickle=False) as data:
            for n in ran:
                if n in manifest["errors"]:
                    outputs[n] = manifest["errors"][n]
                else:
                    outputs[n] = {key: data[slot] for key, slot in manifest["arrays"].get(n, {}).items()}
    lost = " | ".join(deaths) or f"no {backend} worker ran this case"
    for n in names:
        outputs.setdefault(n, lost)
    return outputs, merged


def _groups(selected, size=20):
    """The cases in claimable groups: consecutive cases of one module, at most ``size`` to a group."""
    groups = []
    for c in selected:
        if groups and groups[-1][0].module == c.module and len(groups[-1]) < size:
            groups[-1].append(c)
        else:
            groups.append([c])
    return [[c.name for c in g] for g in groups]


def default_workers():
    """Worker processes per backend: one per CPU core (the fast backend's workers finish early and leave the
    cores to the slow one's)."""
    return max(1, os.cpu_count() or 1)


def run(backends=None, pattern=None, modules=case_mod.DEFAULT_MODULES, extra_paths=(), timeout=900, workers=None):
    """Run the cases matching ``pattern`` (comma-separated substrings) on ``backends`` (default: every installed
    one) and return a `RunResult`. ``modules`` are the case modules to load (importable from the repository root
    or ``extra_paths``). Each backend runs ``workers`` processes (default: one per core) that share its cases a
    group at a time."""
    t0 = time.perf_counter()
    for p in extra_paths:
        if p not in sys.path:
            sys.path.insert(0, p)
    case_mod.load(modules)
    selected = case_mod.select(pattern)
    requested = list(backends) if backends else list(BACKENDS)
    unknown = [b for b in requested if b not in BACKENDS]
    if unknown:
        raise ValueError(f"conformance: unknown backends {unknown}; choose from {list(BACKENDS)}.")
    available = installed_backends()
    use = [b for b in requested if b in available]
    missing = [b for b in requested if b not in available]
    result = RunResult(cases=[], backends=use, missing=missing)
    if not use:
        result.notes.append(f"no backend to run: {requested} requested, {available or 'none'} installed")
        result.wall_s = time.perf_counter() - t0
        return result
    names = [c.name for c in selected]
    groups = _groups(selected)
    # a worker costs an import of kshim and its framework (seconds): small selections run in one per backend
    count = int(workers) if workers else min(default_workers(), 1 + len(names) // 100)
    count = max(1, min(count, len(groups)))
    with tempfile.TemporaryDirectory(prefix="kshim-conformance-") as work:
        spec_path = os.path.join(work, "cases.json")
        with open(spec_path, "w") as f:
            json.dump({"modules": list(modules), "groups": groups,
                       "paths": [os.path.abspath(p) for p in extra_paths]}, f)
        claims = os.path.join(work, "claims") if count > 1 else None
        if claims:
            os.makedirs(claims)
        paths = [os.path.abspath(p) for p in extra_paths]
        started = {b: [_start_worker(b, i, spec_path, work, paths, claims) for i in range(count)] for b in use}
        references = {c.name: compute_reference(c) for c in selected}  # while the workers run
        deadline = time.monotonic() + timeout
        outputs, times = {}, {}
        for b in use:
            outputs[b], manifest = _collect(b, started[b], deadline, names)
            if manifest:
                result.versions[b] = manifest.get("versions", {})
                result.worker_s[b] = manifest.get("total_s", 0.0)
                result.worker_cpu_s[b] = manifest.get("cpu_s", 0.0)
                for n, t in manifest.get("times", {}).items():
                    times.setdefault(n, {})[b] = t
    for c in selected:
        r = evaluate(c, {b: outputs[b][c.name] for b in use}, references[c.name])
        r.times = times.get(c.name, {})
        result.cases.append(r)
    if len(use) == 1:
        unchecked = sum(references[c.name] is None for c in selected)
        why = f" ({', '.join(missing)} not installed)" if missing else ""
        result.notes.append(
            f"only {use[0]} ran{why}: compared against numpy only"
            + (f"; {unchecked} cases without a numpy reference were only run" if unchecked else ""))
    result.wall_s = time.perf_counter() - t0
    return result
