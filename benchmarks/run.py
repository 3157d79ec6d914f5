"""kshim against the loop you would write by hand, on the same backend, measured in the same run.

    python -m benchmarks.run                                 # everything, both backends
    python -m benchmarks.run --backend torch -w tiny_mlp     # one backend, one workload
    python -m benchmarks.run --measures fit,latency --repeat 5 --markdown BENCHMARKS.md

Measures (see `benchmarks.models` for the workloads and the hand-written loops, `benchmarks.measures` for how the
others are taken):

- fit: training samples/s of kshim ``fit``, of the hand-written loop and (when ``keras`` is installed) of Keras 3's
  ``fit``, in one process per backend, in ``--repeat`` interleaved rounds of ``--epochs`` epochs; the ratio is the
  median of the rounds' ratios. Also the first epoch's extra time (compilation, building). On jax, the tiny MLP
  also runs with ``steps_per_execution=32`` against the same per-step hand-written loop.
- latency: ``predict()``/``predict_on_batch()``/``model(x)`` on a batch of 8 against a raw forward.
- import: ``import kshim`` against importing the framework (and Keras).
- memory: peak resident memory of a process that trains one epoch, against the hand-written loop.

Numbers from a shared machine are noisy: compare ratios measured in one run, never absolute numbers across runs.
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks import measures, models

MEASURES = ("fit", "latency", "import", "memory")
SPE = 32  # steps_per_execution of the extra jax tiny-MLP row


def _sps(fit, epochs, n):
    t0 = time.perf_counter()
    fit(epochs)
    return epochs * n / (time.perf_counter() - t0)


def fit_rows(backend, name, epochs, repeat, keras=None):
    """Training throughput of kshim, hand-written and Keras on workload ``name`` (see the module docstring)."""
    import kshim

    batch, n = models.WORKLOADS[name]
    x, y = models.data(name, n)
    kshim.utils.set_random_seed(0)
    runners = {"kshim": models.build(kshim, name), "hand": models.hand(backend, name)}
    if keras is not None:
        keras.utils.set_random_seed(0)
        runners["keras"] = models.build(keras, name)
    if backend == "jax" and name == "tiny_mlp":
        runners[f"kshim_spe{SPE}"] = models.build(kshim, name, steps_per_execution=SPE)

    def fitter(key):
        r = runners[key]
        if key == "hand":
            return lambda k: r.fit(x, y, batch, k)
        return lambda k: r.fit(x, y, batch_size=batch, epochs=k, verbose=0)

    first = {}
    for key in runners:
        t0 = time.perf_counter()
        fitter(key)(1)
        first[key] = time.perf_counter() - t0
    sps = {key: [] for key in runners}
    for _ in range(repeat):
        for key in runners:
            sps[key].append(_sps(fitter(key), epochs, n))
    rows = []
    for key in runners:
        if key == "hand":
            continue
        ratios = [a / b for a, b in zip(sps[key], sps["hand"])]
        steady = n / statistics.median(sps[key])
        rows.append({"backend": backend, "workload": name + (f" spe={SPE}" if "spe" in key else ""),
                     "impl": key.split("_")[0], "samples_per_s": statistics.median(sps[key]),
                     "hand_samples_per_s": statistics.median(sps["hand"]), "ratio": statistics.median(ratios),
                     "first_epoch_s": first[key], "first_epoch_overhead_s": first[key] - steady,
                     "hand_first_epoch_overhead_s": first["hand"] - n / statistics.median(sps["hand"])})
    return rows


def worker(backend, workloads, which, epochs, repeat, use_keras):
    """Everything measured inside one process of ``backend``."""
    keras = None
    if use_keras:
        import keras
    from kshim.backends import B

    out = {"fit": [], "latency": [], "device": B.device_name()}
    for name in workloads:
        if "fit" in which:
            out["fit"].extend(fit_rows(backend, name, epochs, repeat, keras))
        if "latency" in which:
            out["latency"].append({"backend": backend, "workload": name, **measures.latency(backend, name, keras)})
    return out


# ------------------------------------------------------------------------------------------------------------------
# Reporting


def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for mod in ("torch", "jax", "keras", "numpy"):
        spec = importlib.util.find_spec(mod)
        if spec is not None:
            code = f"import {mod}; print({mod}.__version__)"
            res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 env={**os.environ, "KERAS_BACKEND": "jax"})
            versions[mod] = res.stdout.strip() or "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "versions": versions,
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "platform": platform.platform()}


def _tables(result):
    """The report as a list of (title, header, rows) tables."""
    tables = []
    fit = result.get("fit", [])
    if fit:
        rows = [[r["backend"], r["workload"], r["impl"], f"{r['samples_per_s']:,.0f}",
                 f"{r['hand_samples_per_s']:,.0f}", f"{r['ratio']:.2f}", f"{r['first_epoch_overhead_s']:.2f}",
                 f"{r['hand_first_epoch_overhead_s']:.2f}"] for r in fit]
        tables.append(("Training throughput (samples/s; ratio = implementation / hand-written loop, median of the "
                       "rounds; first-epoch overhead = first epoch minus a steady epoch, seconds)",
                       ["backend", "workload", "impl", "samples/s", "hand samples/s", "ratio", "1st-epoch overhead",
                        "hand 1st-epoch overhead"], rows))
    lat = result.get("latency", [])
    if lat:
        rows = []
        for r in lat:
            def cell(key, ref):
                return f"{r[key] * 1e6:.0f} ({r[key] / r[ref]:.2f}x)" if key in r else "-"

            row = [r["backend"], r["workload"], f"{r['raw_forward'] * 1e6:.0f}",
                   cell("kshim_predict", "raw_forward"), cell("kshim_predict_on_batch", "raw_forward"),
                   f"{r['raw_call'] * 1e6:.0f}", cell("kshim_call", "raw_call"),
                   cell("keras_predict", "raw_forward"), cell("keras_call", "raw_call")]
            rows.append(row)
        tables.append(("Inference latency, batch of 8 (microseconds per call; x = times the raw forward)",
                       ["backend", "workload", "raw forward (numpy)", "kshim predict()", "kshim predict_on_batch()",
                        "raw forward (tensor)", "kshim model(x)", "keras predict()", "keras model(x)"], rows))
    imp = result.get("import", [])
    if imp:
        rows = [[r["backend"], f"{r['framework']:.2f}", f"{r['kshim']:.2f} ({r['kshim'] / r['framework']:.2f}x)",
                 f"{r['keras']:.2f} ({r['keras'] / r['framework']:.2f}x)" if "keras" in r else "-"] for r in imp]
        tables.append(("Import time (seconds, net of interpreter start-up; x = times importing the framework)",
                       ["backend", "import framework", "import kshim", "import keras"], rows))
    mem = result.get("memory", [])
    if mem:
        rows = []
        for r in mem:
            hand = r["hand"]["peak_mb"]
            cells = [r["backend"], r["workload"], f"{hand:.0f} (+{r['hand']['growth_mb']:.0f})"]
            for impl in ("kshim", "keras"):
                m = r.get(impl)
                cells.append(f"{m['peak_mb']:.0f} (+{m['growth_mb']:.0f}) {m['peak_mb'] / hand:.2f}x" if m else "-")
            rows.append(cells)
        tables.append(("Peak memory of a process training one epoch (MB; + the growth during the fit; x = times "
                       "the hand-written loop's peak)", ["backend", "workload", "hand", "kshim", "keras"], rows))
    return tables


def _print(tables):
    for title, header, rows in tables:
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
        print(f"\n{title}")
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        for row in rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def _markdown(tables, machine, argv, result):
    lines = ["# kshim benchmarks", "",
             f"Command: `python -m benchmarks.run {' '.join(argv)}`", "",
             f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['platform']}; Python {machine['python']}; "
             + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
             + f"; devices: {', '.join(sorted(set(result.get('devices', []))) or '?')}; {machine['date']}.", ""]
    for title, header, rows in tables:
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["jax", "torch", "both"], default="both")
    parser.add_argument("-w", "--workload", action="append", choices=list(models.WORKLOADS))
    parser.add_argument("--measures", default=",".join(MEASURES),
                        help=f"comma-separated subset of {','.join(MEASURES)} (default: all)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed round (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved timed rounds (default 3)")
    parser.add_argument("--no-keras", action="store_true", help="leave out the Keras 3 column")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables, machine and command to FILE")
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workloads = args.workload or list(models.WORKLOADS)
    which = [m.strip() for m in args.measures.split(",") if m.strip()]
    unknown = sorted(set(which) - set(MEASURES))
    if unknown:
        parser.error(f"--measures: unknown {unknown}; choose from {list(MEASURES)}")
    use_keras = not args.no_keras and importlib.util.find_spec("keras") is not None
    if args.json:  # worker mode, inside a process whose KSHIM_BACKEND (and KERAS_BACKEND) is set
        out = worker(os.environ["KSHIM_BACKEND"], workloads, which, args.epochs, args.repeat, use_keras)
        with open(args.json, "w") as f:
            json.dump(out, f)
        return 0
    backends = ["jax", "torch"] if args.backend == "both" else [args.backend]
    result = {"fit": [], "latency": [], "import": [], "memory": [], "devices": []}
    for backend in backends:
        env = {**os.environ, "KSHIM_BACKEND": backend, "KERAS_BACKEND": backend}
        if {"fit", "latency"} & set(which):
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
                path = tmp.name
            cmd = [sys.executable, "-m", "benchmarks.run", "--json", path, "--epochs", str(args.epochs),
                   "--repeat", str(args.repeat), "--measures", ",".join(which)]
            cmd += ["--no-keras"] if not use_keras else []
            for w in workloads:
                cmd += ["-w", w]
            subprocess.run(cmd, check=True, env=env)
            with open(path) as f:
                out = json.load(f)
            os.unlink(path)
            result["fit"] += out["fit"]
            result["latency"] += out["latency"]
            result["devices"].append(f"{backend}: {out['device']}")
        if "import" in which:
            result["import"].append({"backend": backend, **measures.import_times(backend, with_keras=use_keras)})
        if "memory" in which:
            impls = ["hand", "kshim"] + (["keras"] if use_keras else [])
            for name in workloads:
                result["memory"].append({"backend": backend, "workload": name,
                                         **measures.memory(backend, name, impls)})
    tables = _tables(result)
    _print(tables)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(_markdown(tables, _machine(), argv, result))
        print(f"\nwrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
