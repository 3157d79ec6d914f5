"""Do the backends agree on *your* model? Build it on each backend from one seed and compare, layer by layer.

    from kshim.conformance import check
    result = check("my_project.models:build_model", data="my_project.data:sample", steps=3)
    print(result.summary())            # the first layer where the backends diverge, or "agree"

The backend is fixed when kshim is imported, so each backend runs in its own process (``kshim.conformance.worker``,
started with ``KSHIM_BACKEND`` set); both run at the same time. Each builds the model from the same seed
(`kshim.utils.set_random_seed`) and records the initial weights, every layer's output on one inference call, the
loss and its gradient with respect to each trainable weight, and the loss and every weight after each of ``steps``
``train_on_batch`` steps on the sample. The parent compares them in that order (`compare_arrays`: ``|a - b| <=
atol + rtol * max(|a|, |b|)``) and names the first key beyond tolerance: with forward outputs recorded in the
order the layer calls finish, that is the first layer, in topological order, where the backends diverge.

The model:
- ``build`` is ``"package.module:function"`` (or, from Python, a module-level function), called with no
  arguments; it returns a kshim model. If that model is not compiled, it is compiled with
  ``SGD(learning_rate=0.01)`` and ``loss="mse"``; otherwise its own optimizer, loss and metrics are used.
- ``data`` is ``"package.module:function"`` returning ``(x, y)`` (numpy arrays, or lists/dicts of them for
  several inputs/outputs), or ``x`` alone: the targets are then zeros shaped like the model's outputs, so the
  gradients and steps pull the outputs towards zero. Keep the sample small (one batch): it is one batch.

Before the forward call, each process re-seeds the global ``np.random`` and ``random`` generators differently. kshim
never reads them after building (its randomness is seeded and counter-based), but a layer that draws from
``np.random`` when called does, and would otherwise agree by coincidence: the check names that layer instead.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from kshim import config
from kshim.conformance.compare import compare_arrays

# (rtol, atol) per kind of comparison; None means bit for bit. Float32 rounding differs between the frameworks'
# kernels (summation order in matmuls and convolutions), and the differences grow through backprop and steps.
DEFAULT_TOLERANCES = {
    "initial": None,
    "forward": (1e-5, 1e-6),
    "gradients": (1e-4, 1e-6),
    "training": (1e-4, 1e-6),
}
KINDS = tuple(DEFAULT_TOLERANCES)
_KSHIM_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def installed_backends():
    """The backends whose framework can be imported here (without importing it)."""
    return [b for b in config.BACKENDS if config._installed(b)]


def resolve_tolerances(rtol=None, atol=None, tolerances=None):
    """The tolerance table: the defaults, then ``rtol``/``atol`` for every non-exact kind, then ``tolerances``
    (``{kind: (rtol, atol)}``, or None for bit for bit)."""
    table = dict(DEFAULT_TOLERANCES)
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is not None and (not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"check: `{name}` must be a non-negative number. Received: {name}={value!r}")
    for kind, tol in table.items():
        if tol is not None:
            table[kind] = (tol[0] if rtol is None else float(rtol), tol[1] if atol is None else float(atol))
    for kind, tol in (tolerances or {}).items():
        if kind not in table:
            raise ValueError(f"check: `tolerances` keys must be among {list(KINDS)}. Received: {kind!r}")
        table[kind] = None if tol is None else (float(tol[0]), float(tol[1]))
    return table


def tolerance_text(tol):
    return "exact" if tol is None else f"rtol={tol[0]:g} atol={tol[1]:g}"


# ----------------------------------------------------------------------------------------------------------------
# Results


@dataclass
class KeyResult:
    """One compared array: which kind, which key (a layer or a weight path), its layer, and the differences."""

    kind: str
    key: str
    layer: str
    layer_class: str
    step: int = None
    max_abs: float = 0.0
    max_rel: float = 0.0
    ok: bool = True
    message: str = ""

    def describe(self):
        where = f"layer '{self.layer}'" + (f" ({self.layer_class})" if self.layer_class else "")
        if self.kind == "initial":
            return f"initial weight '{self.key}' of {where}"
        if self.kind == "forward":
            return f"forward output of {where}" + (f", {self.key}" if self.key != self.layer else "")
        if self.kind == "gradients":
            return "the loss" if self.key == "loss" else f"gradient of the loss w.r.t. '{self.key}' of {where}"
        what = "the loss" if self.key == "loss" else f"weight '{self.key}' of {where}"
        return f"training step {self.step}: {what}"


@dataclass
class CheckResult:
    """Everything one check found. ``ok`` is True when both backends ran and every key is within tolerance."""

    name: str
    backends: list
    tolerances: dict
    steps: int
    seed: int
    keys: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)  # {backend: error text}
    problems: list = field(default_factory=list)  # structural mismatches (different layers, shapes...)
    seconds: dict = field(default_factory=dict)

    @property
    def ok(self):
        return not self.errors and not self.problems and len(self.backends) >= 2 and all(k.ok for k in self.keys)

    @property
    def first_divergence(self):
        """The first `KeyResult` beyond tolerance, in the order initial, forward (topological), gradients,
        training steps; None if all agree."""
        return next((k for k in self.keys if not k.ok), None)

    def summary(self):
        pair = " vs ".join(self.backends)
        if self.errors:
            return f"{self.name}: ERROR " + "; ".join(f"on {b}: {e}" for b, e in self.errors.items())
        if self.problems:
            return f"{self.name}: DISAGREE ({pair}): {self.problems[0]}"
        first = self.first_divergence
        if first is None:
            worst = max(self.keys, key=lambda k: k.max_abs, default=None)
            tail = f"; largest abs diff {worst.max_abs:.2e} ({worst.describe()})" if worst and worst.max_abs else ""
            return f"{self.name}: backends agree ({pair}, {len(self.keys)} arrays compared){tail}"
        return (f"{self.name}: backends DISAGREE ({pair}); first divergence: {first.describe()}: "
                f"max abs diff {first.max_abs:.3g}, max rel diff {first.max_rel:.3g} "
                f"(tolerance {tolerance_text(self.tolerances[first.kind])}). {first.message}")


def compare(name, manifests, arrays, backends, tolerances, steps, seed):
    """The `CheckResult` of one check from each backend's manifest entry and arrays."""
    res = CheckResult(name=name, backends=list(backends), tolerances=tolerances, steps=steps, seed=seed)
    for b in backends:
        m = manifests[b]
        res.seconds[b] = m.get("seconds", 0.0)
        if "error" in m:
            res.errors[b] = m["error"]
    if res.errors or len(backends) < 2:
        return res
    b0, b1 = backends[0], backends[1]
    index1 = {(e["kind"], e["key"], e["step"]): i for i, e in enumerate(manifests[b1]["entries"])}
    seen = set()
    for i, e in enumerate(manifests[b0]["entries"]):
        ident = (e["kind"], e["key"], e["step"])
        kr = KeyResult(kind=e["kind"], key=e["key"], layer=e["layer"], layer_class=e["class"], step=e["step"])
        res.keys.append(kr)
        if ident not in index1:
            kr.ok, kr.max_abs, kr.max_rel = False, float("inf"), float("inf")
            kr.message = f"recorded on {b0} only (the backends called different layers or made different weights)"
            continue
        seen.add(ident)
        tol = tolerances[e["kind"]]
        d = compare_arrays(arrays[b0][i], arrays[b1][index1[ident]], rtol=tol[0] if tol else 0.0,
                           atol=tol[1] if tol else 0.0, exact=tol is None, names=(b0, b1))
        kr.max_abs, kr.max_rel, kr.ok, kr.message = d.max_abs, d.max_rel, d.ok, d.message
    extra = [k for k in index1 if k not in seen]
    if extra:
        res.problems.append(f"recorded on {b1} only: " + ", ".join(f"{k[0]} {k[1]!r}" for k in extra[:5]))
    return res


# ----------------------------------------------------------------------------------------------------------------
# Running the workers


def pack(value, prefix, flat):
    """Store a numpy array or a list/tuple/dict of them in ``flat``; return the layout that `worker._unpack`
    reads back."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [pack(v, f"{prefix}_{i}", flat) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): pack(v, f"{prefix}_{k}", flat) for k, v in value.items()}
    arr = np.asarray(value)
    if arr.dtype == object:
        raise ValueError(f"check: the data must be numpy arrays (or lists/dicts of them). Received an array of "
                         f"Python objects for {prefix!r}")
    flat[prefix] = arr
    return prefix


def _target(fn, where):
    """``(module:qualname, file)`` for a module-level function, so that a worker process can import it again."""
    if isinstance(fn, str):
        return fn, None
    qualname = getattr(fn, "__qualname__", "")
    module = getattr(fn, "__module__", None)
    if not callable(fn) or not module or "<" in qualname:
        raise ValueError(f"{where}: `build_fn` must be a module-level function or a 'package.module:function' "
                         "string (each backend imports it again in its own process). Received: "
                         f"{getattr(fn, '__qualname__', fn)!r}")
    file = None
    if module == "__main__":
        file = os.path.abspath(getattr(sys.modules["__main__"], "__file__", "") or "")
        if not os.path.isfile(file):
            raise ValueError(f"{where}: `build_fn` is defined in an interactive session; put it in a module. "
                             f"Received: {qualname!r}")
    return f"{module}:{qualname}", file


def _paths():
    return [os.path.abspath(p or os.getcwd()) for p in sys.path if os.path.isdir(p or os.getcwd())]


def run_checks(checks, backends=None, rtol=None, atol=None, tolerances=None, timeout=600, where="check"):
    """Run several checks with one worker process per backend; return a list of `CheckResult`.

    ``checks`` is a list of dicts: ``build`` (a 'module:function' string or a module-level function), and either
    ``data`` ('module:function') or ``x``/``y`` arrays, plus optional ``steps`` (3), ``seed`` (1337), ``name``."""
    table = resolve_tolerances(rtol, atol, tolerances)
    requested = list(backends) if backends else list(config.BACKENDS)
    unknown = [b for b in requested if b not in config.BACKENDS]
    if unknown:
        raise ValueError(f"{where}: `backends` must be among {list(config.BACKENDS)}. Received: {unknown}")
    available = installed_backends()
    use = [b for b in requested if b in available]
    if len(use) < 2:
        raise RuntimeError(f"{where}: comparing backends needs two installed; found {available or 'none'} of "
                           f"{requested}. Install the other with `pip install kshim[all]`.")
    with tempfile.TemporaryDirectory(prefix="kshim-check-") as work:
        specs, meta = [], []
        for i, c in enumerate(checks):
            steps, seed = c.get("steps", 3), c.get("seed", 1337)
            for arg, value in (("steps", steps), ("seed", seed)):
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{where}: `{arg}` must be a non-negative integer. Received: {arg}={value!r}")
            build, build_file = _target(c["build"], where)
            spec = {"build": build, "build_file": build_file, "steps": steps, "seed": seed}
            if c.get("data") is not None:
                spec["data"], spec["data_file"] = _target(c["data"], where)
            else:
                if c.get("x") is None:
                    raise ValueError(f"{where}: pass `data` ('module:function') or the arrays `x` (and `y`).")
                flat = {}
                spec["data_layout"] = {"x": pack(c["x"], "x", flat), "y": pack(c.get("y"), "y", flat)}
                spec["data_npz"] = os.path.join(work, f"data_{i}.npz")
                np.savez(spec["data_npz"], **flat)
            specs.append(spec)
            meta.append((c.get("name") or build, steps, seed))
        procs = {}
        for wi, b in enumerate(use):
            out = os.path.join(work, b)
            os.makedirs(out)
            spec_path = os.path.join(out, "spec.json")
            with open(spec_path, "w") as f:
                json.dump({"paths": _paths(), "checks": specs, "worker_index": wi}, f)
            env = dict(os.environ, KSHIM_BACKEND=b)
            env["PYTHONPATH"] = os.pathsep.join([_KSHIM_ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
            log = open(os.path.join(out, "log.txt"), "w")
            procs[b] = (subprocess.Popen([sys.executable, "-m", "kshim.conformance.worker", spec_path, out],
                                         env=env, stdout=log, stderr=subprocess.STDOUT), out, log)
        deadline = time.monotonic() + timeout
        manifests, arrays = {}, {}
        for b, (proc, out, log) in procs.items():
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
                why = None if proc.returncode == 0 else f"exited with code {proc.returncode}"
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                why = f"timed out after {timeout}s"
            log.close()
            path = os.path.join(out, "manifest.json")
            if why is None and not os.path.exists(path):
                why = "wrote no results"
            if why is not None:
                with open(os.path.join(out, "log.txt"), errors="replace") as f:
                    tail = f.read()[-1500:].strip()
                manifests[b] = [{"error": f"the {b} worker {why}: {tail}"}] * len(specs)
                arrays[b] = [None] * len(specs)
                continue
            with open(path) as f:
                manifests[b] = json.load(f)["checks"]
            arrays[b] = []
            for i, m in enumerate(manifests[b]):
                if "error" in m:
                    arrays[b].append(None)
                    continue
                with np.load(os.path.join(out, f"check_{i}.npz"), allow_pickle=False) as data:
                    arrays[b].append([data[f"a{j}"] for j in range(len(m["entries"]))])
    return [compare(name, {b: manifests[b][i] for b in use}, {b: arrays[b][i] for b in use}, use, table, steps,
                    seed) for i, (name, steps, seed) in enumerate(meta)]


def check(build, data=None, x=None, y=None, steps=3, seed=1337, rtol=None, atol=None, tolerances=None,
          backends=None, timeout=600):
    """Check one model (see the module docstring); returns a `CheckResult`."""
    return run_checks([{"build": build, "data": data, "x": x, "y": y, "steps": steps, "seed": seed}],
                      backends=backends, rtol=rtol, atol=atol, tolerances=tolerances, timeout=timeout)[0]
