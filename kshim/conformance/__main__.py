"""``python -m kshim.conformance check package.module:build_model --data package.module:sample``.

Builds your model on each backend (each in its own process, from one seed), compares initial weights, every
layer's output, the gradients and a few training steps, prints a table and the first layer where the backends
diverge, optionally writes JUnit XML, and exits 1 on disagreement (2 when the check could not run).
"""

import argparse
import os
import sys

from kshim.conformance import agreement as check_mod
from kshim.conformance import report


def _parser():
    parser = argparse.ArgumentParser(prog="python -m kshim.conformance",
                                     description="Check that your kshim model gives the same numbers on every backend.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="compare one or more models across backends",
                       description=check_mod.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build", nargs="+", help="'package.module:function' returning a kshim model (several allowed)")
    p.add_argument("--data", required=True, help="'package.module:function' returning (x, y) or x (one batch)")
    p.add_argument("--steps", type=int, default=3, help="training steps to compare (default 3)")
    p.add_argument("--seed", type=int, default=1337, help="the seed both backends build from (default 1337)")
    p.add_argument("--rtol", type=float, default=None,
                   help="relative tolerance for every non-exact comparison (defaults: forward 1e-5, gradients and "
                        "training 1e-4)")
    p.add_argument("--atol", type=float, default=None, help="absolute tolerance for them (default 1e-6)")
    p.add_argument("--backends", default=None, help="comma-separated backends (default: every installed one)")
    p.add_argument("--junit", default=None, help="write JUnit XML to this file")
    p.add_argument("--timeout", type=float, default=600, help="seconds for the whole run (default 600)")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # `my_project.models` resolves from where you run the check
    try:
        results = check_mod.run_checks(
            [{"build": b, "data": args.data, "steps": args.steps, "seed": args.seed} for b in args.build],
            backends=args.backends.split(",") if args.backends else None, rtol=args.rtol, atol=args.atol,
            timeout=args.timeout, where="kshim.conformance check")
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for r in results:
        print(report.format_text(r))
    if args.junit:
        with open(args.junit, "w", encoding="utf-8") as f:
            f.write(report.junit_xml(results))
    if any(r.errors for r in results):
        return 2
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
