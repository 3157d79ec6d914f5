"""``python -m conformance [--backends jax,torch] [-k substring] [--workers N] [--junit path.xml] [--report path.md]``.

Runs every case on each installed backend (one process per backend), compares them with each other and with
numpy, prints the report table and exits with status 1 on any failure (2 when no backend could run).
"""

import argparse
import os
import sys

from conformance import case as case_mod
from conformance import device
from conformance import report, runner


def build_parser():
    p = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.split("\n\n")[1])
    p.add_argument("--backends", default=None,
                   help=f"comma-separated backends to run (default: every installed one of {list(runner.BACKENDS)})")
    p.add_argument("-k", dest="pattern", default=None,
                   help="only cases whose name contains this substring (comma-separate several)")
    p.add_argument("--junit", default=None, help="write JUnit XML here")
    p.add_argument("--report", default=None, help="write the report as Markdown here")
    p.add_argument("--list", action="store_true", help="list the selected cases and exit")
    p.add_argument("--failures-only", action="store_true", help="print only the failing rows of the table")
    p.add_argument("--module", action="append", default=[],
                   help="an extra case module to load (importable from the current directory); repeatable")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes per backend, sharing its cases (default: one per CPU core)")
    p.add_argument("--timeout", type=float, default=900, help="seconds allowed for each backend's worker")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="cuda: fail unless each backend runs on a GPU; cpu: hide GPUs from the workers; auto: the "
                        "framework's choice (default)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    modules = list(case_mod.DEFAULT_MODULES) + list(args.module)
    extra_paths = ["."] if args.module else []
    if args.list:
        for p in extra_paths:
            sys.path.insert(0, p)
        case_mod.load(modules)
        selected = case_mod.select(args.pattern)
        width = max([len(c.name) for c in selected] + [4])
        for c in selected:
            ref = "numpy" if c.reference is not None else "-"
            print(f"{c.name.ljust(width)}  {c.family:<12} {c.tolerance_text():<24} {ref}")
        print(f"{len(selected)} cases")
        return 0
    backends = [b.strip() for b in args.backends.split(",") if b.strip()] if args.backends else None
    try:  # the workers inherit this process's environment
        os.environ.update(device.environment(args.device, backends or list(runner.BACKENDS)))
    except device.DeviceError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    try:
        result = runner.run(backends=backends, pattern=args.pattern, modules=modules, extra_paths=extra_paths,
                            timeout=args.timeout, workers=args.workers)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(report.format_text(result, show_passed=not args.failures_only))
    if args.junit:
        report.write(args.junit, report.junit_xml(result))
    if args.report:
        report.write(args.report, report.format_markdown(result))
    if not result.backends:
        return 2
    if not result.cases:
        print(f"conformance: no case matches -k {args.pattern!r}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
