"""kshim against the loop you would write by hand, on the same backend, measured in the same run.

    python -m benchmarks.run                                 # everything, both backends
    python -m benchmarks.run --backend torch -w tiny_mlp     # one backend, one workload
    python -m benchmarks.run --measures fit,latency --repeat 5 --markdown BENCHMARKS.md
    python -m benchmarks.run --full --repeat 3 --epochs 2 --markdown BENCHMARKS.md   # what BENCHMARKS.md shows

Measures (see `benchmarks.models` for the workloads and the hand-written loops, `benchmarks.measures` for how the
others are taken):

- fit: training samples/s of kshim ``fit``, of the hand-written loop and (when ``keras`` is installed) of Keras 3's
  ``fit``, in one process per backend, in ``--repeat`` interleaved rounds of ``--epochs`` epochs; the ratio is the
  median of the rounds' ratios. Also the first epoch's extra time (compilation, building). On jax, the tiny MLP
  also runs with ``steps_per_execution=32`` against the same per-step hand-written loop.
- latency: ``predict()``/``predict_on_batch()``/``model(x)`` on a batch of 8 against a raw forward.
- import: ``import kshim`` against importing the framework (and Keras).
- memory: peak resident memory of a process that trains one epoch, against the hand-written loop.
- pipeline: the CNN fit from a `PyDataset` with per-batch numpy augmentation (`benchmarks.pipeline`).

With the fit measure come the stronger anchors (`benchmarks.anchors`: torch.compile, lax.scan, the unhoisted jax
LSTM; ``--no-anchors`` leaves them out). ``--sweep batch|width`` measures the scaling curves instead
(`benchmarks.sweep`), ``--full`` everything into one Markdown file, ``--device cuda`` insists on a GPU.

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

from benchmarks import anchors, measures, models, pipeline, sweep
from conformance import device as device_check

MEASURES = ("fit", "latency", "import", "memory", "pipeline")
SPE = 32  # steps_per_execution of the extra jax tiny-MLP row


def _sps(fit, epochs, n):
    t0 = time.perf_counter()
    fit(epochs)
    return epochs * n / (time.perf_counter() - t0)


ANCHOR_LABELS = {"hand_compiled": "hand, torch.compile", f"hand_scan{anchors.SCAN_STEPS}":
                 f"hand, lax.scan x{anchors.SCAN_STEPS}", "hand_unhoisted": "hand, unhoisted LSTM"}


def fit_rows(backend, name, epochs, repeat, keras=None, strong=True):
    """Training throughput of kshim, hand-written and Keras on workload ``name`` (see the module docstring);
    with ``strong``, also the stronger anchors of `benchmarks.anchors` (and kshim with ``steps_per_execution`` on
    jax, against the scanned loop)."""
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
    if strong:
        runners.update(anchors.anchors(backend, name))
        if backend == "jax":
            runners[f"kshim_spe{anchors.SCAN_STEPS}"] = models.build(kshim, name,
                                                                      steps_per_execution=anchors.SCAN_STEPS)

    def fitter(key):
        r = runners[key]
        if key.startswith("hand"):
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
        spe = key.partition("_spe")[2]
        rows.append({"backend": backend, "workload": name + (f" spe={spe}" if spe else ""),
                     "impl": ANCHOR_LABELS.get(key, key.split("_")[0]), "key": key, "samples_per_s": statistics.median(sps[key]),
                     "hand_samples_per_s": statistics.median(sps["hand"]), "ratio": statistics.median(ratios),
                     "first_epoch_s": first[key], "first_epoch_overhead_s": first[key] - steady,
                     "hand_first_epoch_overhead_s": first["hand"] - n / statistics.median(sps["hand"]),
                     "rounds": sps[key]})
    if strong:  # kshim against the best anchor of its kind, round by round
        spe_key = f"kshim_spe{anchors.SCAN_STEPS}"
        pairs = [("kshim", [k for k in runners if k == "hand" or k in ("hand_compiled", "hand_unhoisted")])]
        if spe_key in runners:
            pairs.append((spe_key, [f"hand_scan{anchors.SCAN_STEPS}"]))
        for impl, anchor_keys in pairs:
            best = [max(sps[a][i] for a in anchor_keys) for i in range(repeat)]
            rows.append({"backend": backend, "workload": name, "strong": True, "impl": impl,
                         "anchors": " / ".join(ANCHOR_LABELS.get(a, "hand") for a in anchor_keys),
                         "samples_per_s": statistics.median(sps[impl]), "anchor_samples_per_s": statistics.median(best),
                         "ratio": statistics.median(a / b for a, b in zip(sps[impl], best))})
    return rows


def worker(backend, workloads, which, epochs, repeat, use_keras, strong=True):
    """Everything measured inside one process of ``backend``."""
    keras = None
    if use_keras:
        import keras
    from kshim.backends import B

    out = {"fit": [], "latency": [], "pipeline": [], "device": B.device_name()}
    if "pipeline" in which:
        out["pipeline"] = pipeline.rows(backend, epochs, repeat)
    for name in workloads:
        if "fit" in which:
            out["fit"].extend(fit_rows(backend, name, epochs, repeat, keras, strong))
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
    strong = [r for r in result.get("fit", []) if r.get("strong")]
    fit = [r for r in result.get("fit", []) if not r.get("strong")]
    if fit:
        rows = [[r["backend"], r["workload"], r["impl"], f"{r['samples_per_s']:,.0f}",
                 f"{r['hand_samples_per_s']:,.0f}", f"{r['ratio']:.2f}", f"{r['first_epoch_overhead_s']:.2f}",
                 f"{r['hand_first_epoch_overhead_s']:.2f}"] for r in fit]
        tables.append(("Training throughput (samples/s; ratio = implementation / hand-written loop, median of the "
                       "rounds; first-epoch overhead = first epoch minus a steady epoch, seconds)",
                       ["backend", "workload", "impl", "samples/s", "hand samples/s", "ratio", "1st-epoch overhead",
                        "hand 1st-epoch overhead"], rows))
    if strong:
        rows = [[r["backend"], r["workload"], r["impl"].replace("_spe", " spe="), r["anchors"],
                 f"{r['samples_per_s']:,.0f}", f"{r['anchor_samples_per_s']:,.0f}", f"{r['ratio']:.2f}"] for r in strong]
        tables.append(("Against the stronger anchors (ratio = kshim / the faster of the anchors listed, round by "
                       "round, median)", ["backend", "workload", "kshim", "anchors", "kshim samples/s",
                                          "best anchor samples/s", "ratio"], rows))
    pipe = result.get("pipeline", [])
    if pipe:
        rows = [[r["backend"], r["impl"], f"{r['samples_per_s']:,.0f}", f"{r['ratio']:.2f}", r["blur_passes"],
                 f"{r['step_ms']:.1f}"] for r in pipe]
        tables.append(("Input pipeline: cnn_28x28 with per-batch numpy augmentation (samples/s; x = / kshim fit on "
                       "arrays augmented ahead of time; target PyDataset workers=2 >= 0.9)",
                       ["backend", "input", "samples/s", "x in-memory", "blur passes", "step ms"], rows))
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
    if "--full" in argv:
        return full(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["jax", "torch", "both"], default="both")
    parser.add_argument("-w", "--workload", action="append", help=f"one of {list(models.WORKLOADS)}; repeatable")
    parser.add_argument("--measures", default=",".join(MEASURES),
                        help=f"comma-separated subset of {','.join(MEASURES)} (default: all)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed round (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved timed rounds (default 3)")
    parser.add_argument("--no-keras", action="store_true", help="leave out the Keras 3 column")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables, machine and command to FILE")
    parser.add_argument("--no-anchors", action="store_true",
                        help="leave out the stronger anchors (torch.compile, lax.scan, unhoisted LSTM)")
    parser.add_argument("--sweep", choices=["batch", "width"],
                        help="the scaling curve over the batch size or the MLP width (fit only; table and PNG plot)")
    parser.add_argument("--plot", metavar="PNG", help="where --sweep writes its plot (default "
                        "benchmarks/sweep_<kind>.png)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="cuda: fail unless each backend runs on a GPU; cpu: hide GPUs; auto: the framework's "
                             "choice (default)")
    parser.add_argument("--full", action="store_true",
                        help="everything: the measures (with anchors and the pipeline) and both sweeps, one file")
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sweep:
        points = sweep.register(args.sweep)
        args.workload = args.workload or [name for _, name in points]
        args.measures = "fit"
        args.no_anchors = True
    workloads = args.workload or list(models.WORKLOADS)
    unknown = sorted(set(workloads) - set(models.WORKLOADS))
    if unknown:
        parser.error(f"--workload: unknown {unknown}; choose from {list(models.WORKLOADS)}")
    which = [m.strip() for m in args.measures.split(",") if m.strip()]
    unknown = sorted(set(which) - set(MEASURES))
    if unknown:
        parser.error(f"--measures: unknown {unknown}; choose from {list(MEASURES)}")
    use_keras = not args.no_keras and importlib.util.find_spec("keras") is not None
    if args.json:  # worker mode, inside a process whose KSHIM_BACKEND (and KERAS_BACKEND) is set
        out = worker(os.environ["KSHIM_BACKEND"], workloads, which, args.epochs, args.repeat, use_keras,
                     strong=not args.no_anchors)
        with open(args.json, "w") as f:
            json.dump(out, f)
        return 0
    backends = ["jax", "torch"] if args.backend == "both" else [args.backend]
    try:
        device_env = device_check.environment(args.device, backends)
    except device_check.DeviceError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2
    result = {"fit": [], "latency": [], "import": [], "memory": [], "pipeline": [], "devices": []}
    for backend in backends:
        env = {**os.environ, **device_env, "KSHIM_BACKEND": backend, "KERAS_BACKEND": backend}
        if {"fit", "latency", "pipeline"} & set(which):
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
                path = tmp.name
            cmd = [sys.executable, "-m", "benchmarks.run", "--json", path, "--epochs", str(args.epochs),
                   "--repeat", str(args.repeat), "--measures", ",".join(which)]
            cmd += ["--no-keras"] if not use_keras else []
            cmd += ["--no-anchors"] if args.no_anchors else []
            cmd += ["--sweep", args.sweep] if args.sweep else []
            for w in workloads:
                cmd += ["-w", w]
            subprocess.run(cmd, check=True, env=env)
            with open(path) as f:
                out = json.load(f)
            os.unlink(path)
            result["fit"] += out["fit"]
            result["latency"] += out["latency"]
            result["pipeline"] += out["pipeline"]
            result["devices"].append(f"{backend}: {out['device']}")
        if "import" in which:
            result["import"].append({"backend": backend, **measures.import_times(backend, with_keras=use_keras)})
        if "memory" in which:
            impls = ["hand", "kshim"] + (["keras"] if use_keras else [])
            for name in workloads:
                result["memory"].append({"backend": backend, "workload": name,
                                         **measures.memory(backend, name, impls)})
    tables = _tables(result)
    if args.sweep:
        title, header, rows, cells = sweep.table(args.sweep, result["fit"])
        tables = [(title, header, rows)]
        path = sweep.plot(args.sweep, cells, args.plot or os.path.join("benchmarks", f"sweep_{args.sweep}.png"))
        if path:
            print(f"\nwrote {path}")
    _print(tables)
    if args.markdown:
        _write_markdown(args.markdown, _markdown(tables, _machine(), argv, result))
    return 0


NOTES = "<!-- notes: everything below this line is kept when benchmarks.run rewrites the file -->"


def _write_markdown(path, text):
    """Write the measured tables to ``path``, keeping the hand-written notes below `NOTES` of the old file."""
    notes = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        if NOTES in old:
            notes = "\n" + old[old.index(NOTES):]
    with open(path, "w") as f:
        f.write(text + notes)
    print(f"\nwrote {path}")


def full(argv):
    """``--full``: the default measures with the anchors and the pipeline, then both sweeps (with their plots),
    each in its own run, into one Markdown file (``--markdown``, default BENCHMARKS.md)."""
    target = "BENCHMARKS.md"
    rest = []
    it = iter(argv)
    for a in it:
        if a == "--markdown":
            target = next(it)
        elif a != "--full":
            rest.append(a)
    parts = []
    for extra in ([], ["--sweep", "batch"], ["--sweep", "width"]):
        with tempfile.NamedTemporaryFile(suffix=".md", delete=False) as tmp:
            path = tmp.name
        code = main(rest + extra + ["--markdown", path])
        if code:
            return code
        with open(path) as f:
            text = f.read()
        os.unlink(path)
        parts.append(text if not parts else text[text.index("\n## "):])
    for kind in ("batch", "width"):
        parts.append(f"\n![samples/s against the {kind}](benchmarks/sweep_{kind}.png)\n")
    text = "".join(parts)
    first = text.index("Command: `")
    end = text.index("`", first + len("Command: `"))
    text = text[:first] + f"Command: `python -m benchmarks.run {' '.join(argv)}`" + text[end + 1:]
    _write_markdown(target, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
