"""How many of Keras 3's public names kshim has at the same path.

    python -m kshim.tools.api_coverage [--json] [--min PERCENT] [--missing]

Walks the public namespaces of the installed Keras 3 (``keras``, ``keras.ops``, ``keras.ops.nn``, ...: every
public attribute of a namespace that is itself a module of the ``keras`` package is a namespace, everything else is
a name), looks each name up at the same path under ``kshim``, and reports per namespace and in total. The
namespaces issue 16 leaves to other issues or out (`EXCLUDED`) are skipped wherever they appear in a path.

A name kshim deliberately leaves out raises an ``AttributeError`` whose message starts with ``NOT_PROVIDED``; it
is listed apart, with its reason, and counts as missing in ``percent``; ``percent_without_not_provided`` leaves
those names out of the count. Exits 1 when ``percent`` is under ``--min``.
"""

import argparse
import importlib
import json
import os
import sys
import types

EXCLUDED = frozenset({"applications", "datasets", "export", "mixed_precision", "dtype_policies", "quantizers",
                      "distillation", "legacy", "wrappers", "src", "_tf_keras", "api"})
from kshim.common.absent import NOT_PROVIDED  # the prefix of a deliberate omission's message


def namespaces(root):
    """``{dotted path relative to root ('' for root): module}`` for root and its public sub-namespaces."""
    found, stack = {}, [("", root)]
    while stack:
        path, module = stack.pop()
        found[path] = module
        for name in sorted(vars(module)):
            value = vars(module)[name]
            if name.startswith("_") or name in EXCLUDED or not isinstance(value, types.ModuleType):
                continue
            if not value.__name__.startswith(root.__name__ + "."):
                continue  # a module imported from elsewhere (os, numpy) is not a namespace
            stack.append((f"{path}.{name}" if path else name, value))
    return found


def public_names(module):
    """The public names of a namespace module: its attributes that are not namespaces or private."""
    out = []
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        out.append(name)
    return sorted(out)


def _lookup(root, path):
    """The candidate namespace at ``path`` (a module or any object), or None."""
    node = root
    for part in path.split(".") if path else []:
        try:
            node = getattr(node, part)
        except AttributeError:
            try:
                node = importlib.import_module(f"{node.__name__}.{part}")
            except (ImportError, AttributeError):
                return None
    return node


def _has(node, name):
    """(present, reason if deliberately left out)."""
    if node is None:
        return False, None
    try:
        getattr(node, name)
    except AttributeError as err:
        message = str(err)
        return False, (message if message.startswith(NOT_PROVIDED) else None)
    except Exception as err:  # a name that exists but fails to load is not there either
        return False, f"fails to load: {type(err).__name__}: {err}"
    return True, None


def coverage(reference, candidate):
    """Compare two package roots; returns a JSON-ready dict (per namespace and in total)."""
    report, total, have, absent = {}, 0, 0, 0
    for path, module in sorted(namespaces(reference).items()):
        names = public_names(module)
        node = _lookup(candidate, path)
        missing, left_out = [], {}
        for name in names:
            present, reason = _has(node, name)
            if not present:
                missing.append(name)
                if reason:
                    left_out[name] = reason
        key = reference.__name__ + (f".{path}" if path else "")
        report[key] = {"names": len(names), "present": len(names) - len(missing), "missing": missing,
                       "not_provided": left_out}
        total += len(names)
        have += len(names) - len(missing)
        absent += len(left_out)
    percent = 100.0 * have / total if total else 100.0
    considered = total - absent
    return {"namespaces": report, "total": total, "present": have, "percent": round(percent, 2),
            "not_provided": absent,
            "percent_without_not_provided": round(100.0 * have / considered if considered else 100.0, 2)}


def format_report(result, show_missing=True):
    lines = []
    for key, entry in result["namespaces"].items():
        pct = 100.0 * entry["present"] / entry["names"] if entry["names"] else 100.0
        lines.append(f"{key:<36} {entry['present']:>4} / {entry['names']:<4} {pct:6.1f}%")
        if show_missing and entry["missing"]:
            for name in entry["missing"]:
                reason = entry["not_provided"].get(name)
                lines.append(f"    - {name}" + (f"  ({reason})" if reason else ""))
    lines.append(f"{'total':<36} {result['present']:>4} / {result['total']:<4} {result['percent']:6.1f}%")
    lines.append(f"{'total without the names left out':<36} {result['present']:>4} / "
                 f"{result['total'] - result['not_provided']:<4} {result['percent_without_not_provided']:6.1f}%  "
                 f"({result['not_provided']} left out on purpose, listed with their reasons)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kshim.tools.api_coverage", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--min", type=float, default=None, help="exit 1 when the total is under this percentage")
    parser.add_argument("--summary", action="store_true", help="per-namespace counts only, no missing names")
    args = parser.parse_args(argv)
    import kshim  # noqa: E402  (the candidate; its backend is chosen by KSHIM_BACKEND)

    os.environ.setdefault("KERAS_BACKEND", kshim.config.backend())
    try:
        import keras  # the reference, as installed
    except ImportError:
        print("api_coverage: Keras 3 is not installed (`pip install keras`); nothing to compare against.",
              file=sys.stderr)
        return 2
    result = coverage(keras, kshim)
    result["keras_version"] = keras.__version__
    print(json.dumps(result, indent=1) if args.json else format_report(result, not args.summary))
    if args.min is not None and result["percent"] < args.min:
        if not args.json:
            print(f"api_coverage: {result['percent']}% is under --min {args.min}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
