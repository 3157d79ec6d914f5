"""Where a training epoch spends its time: pyinstrument around one steady epoch of kshim ``fit`` (or of the
hand-written loop, or Keras 3) on one workload, after a warm-up epoch.

    KSHIM_BACKEND=torch python -m benchmarks.profile -w transformer_encoder            # kshim, text report
    KSHIM_BACKEND=jax python -m benchmarks.profile -w embedding_lstm --impl hand --html out.html

For native frames (the framework's C++ kernels), run py-spy on the same command:
``py-spy record --native -o profile.svg -- python -m benchmarks.profile -w cnn_28x28 --no-profiler``.
Both tools come with the ``bench`` extra.
"""

import argparse
import os
import sys

from benchmarks import models


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-w", "--workload", default="tiny_mlp", help=f"one of {list(models.WORKLOADS)}")
    p.add_argument("--impl", choices=["kshim", "hand", "keras"], default="kshim")
    p.add_argument("--epochs", type=int, default=1, help="profiled epochs (after one warm-up epoch)")
    p.add_argument("--samples", type=int, help="samples per epoch (default: the workload's)")
    p.add_argument("--html", help="write pyinstrument's HTML report here instead of printing text")
    p.add_argument("--no-profiler", action="store_true", help="just run (under py-spy, for example)")
    args = p.parse_args(argv)
    backend = os.environ.get("KSHIM_BACKEND", "jax")
    batch, n = models.WORKLOADS[args.workload]
    n = args.samples or n
    x, y = models.data(args.workload, n)
    if args.impl == "hand":
        loop = models.hand(backend, args.workload)

        def fit(k):
            loop.fit(x, y, batch, k)
    else:
        if args.impl == "keras":
            os.environ.setdefault("KERAS_BACKEND", backend)
            import keras as k
        else:
            import kshim as k
        model = models.build(k, args.workload)

        def fit(epochs):
            model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    fit(1)
    if args.no_profiler:
        fit(args.epochs)
        return 0
    try:
        import pyinstrument
    except ImportError:
        raise SystemExit("benchmarks.profile needs pyinstrument (pip install 'kshim[bench]')") from None
    profiler = pyinstrument.Profiler(interval=0.0005)
    with profiler:
        fit(args.epochs)
    if args.html:
        with open(args.html, "w") as f:
            f.write(profiler.output_html())
        print(f"wrote {args.html}")
    else:
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
