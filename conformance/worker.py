"""The per-backend worker: ``KSHIM_BACKEND=jax python -m conformance.worker --out DIR --cases FILE``.

Runs the selected cases in this one process (the backend is fixed at import) and writes ``DIR/results.npz``
(every returned array) and ``DIR/manifest.json`` (which array is which case and key, per-case errors and times).
While it runs, ``DIR/progress`` names the case in progress, so a crash or a hang can be pinned on a case.
"""

import argparse
import json
import os
import platform
import sys
import time
import traceback

import numpy as np

from conformance import case as case_mod


def _error_text(exc):
    tb = traceback.extract_tb(exc.__traceback__)
    where = ""
    for frame in reversed(tb):  # the innermost frame in kshim (or else in the case)
        if "/kshim/" in frame.filename or "/conformance/cases" in frame.filename:
            where = f" [at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}]"
            break
    return f"{type(exc).__name__}: {exc}{where}"


def _converter():
    from kshim import ops

    def convert(v):
        if isinstance(v, np.ndarray):
            return v
        if getattr(v, "_kshim_variable", False):
            return np.asarray(ops.convert_to_numpy(v.value))
        if ops.is_tensor(v):
            return np.asarray(ops.convert_to_numpy(v))
        return np.asarray(v)

    return convert


def _versions(backend):
    out = {"python": platform.python_version(), "numpy": np.__version__}
    try:
        mod = __import__(backend)
        out[backend] = getattr(mod, "__version__", "?")
    except Exception:  # noqa: BLE001 - a report detail only
        pass
    return out


def claimed(groups, claims_dir, backend):
    """Yield the names of each group of ``groups`` that this worker claims first (an exclusive file in
    ``claims_dir``), so several workers of one backend share the cases dynamically, a group at a time."""
    for i, group in enumerate(groups):
        try:
            os.close(os.open(os.path.join(claims_dir, f"{backend}-{i}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        yield from group


def run_cases(names, out_dir):
    """Run the cases ``names`` (any iterable, consumed lazily) and write the results into ``out_dir``."""
    backend = os.environ.get("KSHIM_BACKEND", "")
    manifest = {"backend": backend, "arrays": {}, "dtypes": {}, "errors": {}, "times": {}, "import_error": None}
    arrays = {}
    progress = os.path.join(out_dir, "progress")
    t0 = time.perf_counter()
    try:
        import kshim  # noqa: F401 - selects the backend

        convert = _converter()
        fresh = kshim.utils.clear_session  # automatic layer names restart for each case
    except Exception as exc:  # noqa: BLE001 - every case fails with this message
        manifest["import_error"] = f"importing kshim with KSHIM_BACKEND={backend} failed: {_error_text(exc)}"
        names = list(names)  # claim them all, so that every case reports the import error
        manifest["names"] = names
        names = []
    manifest["import_s"] = time.perf_counter() - t0
    manifest["versions"] = _versions(backend)
    manifest.setdefault("names", [])
    for name in names:
        manifest["names"].append(name)
        c = case_mod.REGISTRY[name]
        with open(progress, "w") as f:
            f.write(name)
        start = time.perf_counter()
        try:
            fresh()  # a case's outputs must not depend on which cases its worker ran before it
            result = c.fn()
            if not isinstance(result, dict) or not result:
                raise TypeError(f"the case must return a non-empty dict of arrays; it returned {type(result)}")
            flat = case_mod.flatten(result, convert)
            keys = {}
            for key, arr in flat.items():
                if arr.dtype == object:
                    raise TypeError(f"output {key!r} is not a numeric or string array: {arr!r}")
                slot = f"a{len(arrays)}"
                arrays[slot] = arr
                keys[key] = slot
            manifest["arrays"][name] = keys
        except Exception as exc:  # noqa: BLE001 - a failing case is a result
            manifest["errors"][name] = _error_text(exc)
        manifest["times"][name] = time.perf_counter() - start
    manifest["total_s"] = time.perf_counter() - t0
    manifest["cpu_s"] = time.process_time()
    np.savez(os.path.join(out_dir, "results.npz"), **arrays)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    if os.path.exists(progress):
        os.remove(progress)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m conformance.worker")
    parser.add_argument("--out", required=True, help="directory for results.npz and manifest.json")
    parser.add_argument("--cases", required=True, help="JSON file with {'modules': [...], 'groups': [[name, ...]]}")
    parser.add_argument("--claims", default=None,
                        help="a directory shared by this backend's workers: each group is run by the worker that "
                             "claims it first (default: run every group)")
    args = parser.parse_args(argv)
    with open(args.cases) as f:
        spec = json.load(f)
    for p in spec.get("paths", []):
        if p not in sys.path:
            sys.path.insert(0, p)
    case_mod.load(spec["modules"])
    groups = spec["groups"]
    missing = [n for g in groups for n in g if n not in case_mod.REGISTRY]
    if missing:
        raise SystemExit(f"conformance.worker: unknown cases {missing}")
    backend = os.environ.get("KSHIM_BACKEND", "")
    names = claimed(groups, args.claims, backend) if args.claims else (n for g in groups for n in g)
    run_cases(names, args.out)


if __name__ == "__main__":
    main()
