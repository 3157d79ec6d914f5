"""Scaling curves (issue 21, item 6): training samples/s of kshim, the hand-written loop and Keras 3 as the batch
size grows (MLP 784-512-512-10, batch 16 -> 1024) and as the model widens (MLP 784-W-W-10 at batch 128, W 64 ->
4096), on each backend. `python -m benchmarks.run --sweep batch|width` prints the table, writes the PNG plot
(samples/s on a log axis; needs matplotlib: the ``bench`` extra) and, with ``--markdown``, the table.

Where a curve of kshim meets the hand-written loop's, the framework's per-step overhead has stopped mattering:
from there on the kernels' time dominates.
"""

from benchmarks import models

BATCHES = (16, 32, 64, 128, 256, 512, 1024)
WIDTHS = (64, 128, 256, 512, 1024, 2048, 4096)


def register(kind):
    """Add the sweep's workloads to `benchmarks.models` and return ``[(x value, workload name)]``."""
    points = []
    if kind == "batch":
        for b in BATCHES:
            name = f"mlp_batch{b}"
            models._MLP[name] = ((784, 512, 512, 10), 0.0)
            models.WORKLOADS[name] = (b, max(2048, 8 * b))
            points.append((b, name))
    elif kind == "width":
        for w in WIDTHS:
            name = f"mlp_width{w}"
            models._MLP[name] = ((784, w, w, 10), 0.0)
            models.WORKLOADS[name] = (128, 2048 if w <= 1024 else 512)
            points.append((w, name))
    else:
        raise ValueError(f"sweep: `kind` must be 'batch' or 'width'. Received: kind={kind!r}")
    return points


def table(kind, fit_rows):
    """``(title, header, rows)`` of a sweep, from the fit rows of its workloads."""
    by_name = dict((name, x) for x, name in register(kind))
    cells = {}
    for r in fit_rows:
        x = by_name.get(r["workload"])
        if x is None:
            continue
        cells.setdefault((r["backend"], x), {"hand": r["hand_samples_per_s"]})[r["impl"]] = r["samples_per_s"]
    impls = ("hand", "kshim", "keras")
    rows = []
    for (backend, x), c in sorted(cells.items()):
        rows.append([backend, x] + [f"{c[i]:,.0f}" if i in c else "-" for i in impls]
                    + [f"{c['kshim'] / c['hand']:.2f}" if "kshim" in c else "-",
                       f"{c['keras'] / c['hand']:.2f}" if "keras" in c else "-"])
    label = "batch size" if kind == "batch" else "MLP width"
    title = (f"Sweep over the {label} (samples/s; x = / hand-written loop)" +
             (" - MLP 784-512-512-10" if kind == "batch" else " - MLP 784-W-W-10, batch 128"))
    return title, ["backend", label, "hand", "kshim", "keras", "kshim x", "keras x"], rows, cells


def plot(kind, cells, path):
    """A PNG of samples/s (log) against the swept value (log), one line per backend and implementation."""
    try:
        import matplotlib
    except ImportError:
        print("benchmarks --sweep: no plot, it needs matplotlib (pip install 'kshim[bench]')")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    styles = {"hand": "-", "kshim": "--", "keras": ":"}
    for backend in sorted({b for b, _ in cells}):
        for impl, style in styles.items():
            pts = sorted((x, c[impl]) for (b, x), c in cells.items() if b == backend and impl in c)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", label=f"{backend} {impl}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size" if kind == "batch" else "MLP width (batch 128)")
    ax.set_ylabel("training samples/s")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
