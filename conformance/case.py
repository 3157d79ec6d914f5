"""The case registry: `@case(...)` registers a function that returns named numpy arrays.

A case builds something with kshim (an op, an activation, an initializer, a layer, ...), feeds it fixed numpy
inputs and returns a dict of named arrays: forward values and gradients. The runner runs every case once per
backend, each backend in its own process (the backend is fixed at import), and compares the results across
backends and against the case's numpy ``reference`` when it has one.

Case modules must not import kshim at module level: the parent process imports them too (to list cases and to
compute the numpy references) and never selects a backend. Use the lazy handles `kshim`, `ops`, ... below, or
import inside the case function.
"""

import importlib
import re
from dataclasses import dataclass, field

import numpy as np

# The case modules the runner loads by default, one per family.
DEFAULT_MODULES = (
    "conformance.cases_ops",
    "conformance.cases_ops_arrays",
    "conformance.cases_ops_tables",
    "conformance.cases_activations",
    "conformance.cases_random",
    "conformance.cases_layers",
    "conformance.cases_conv",
    "conformance.cases_layers_misc",
    "conformance.cases_losses",
    "conformance.cases_losses_new",
    "conformance.cases_metrics",
    "conformance.cases_metrics_new",
    "conformance.cases_optimizers",
    "conformance.cases_optimizers_new",
    "conformance.cases_training",
    "conformance.cases_custom_steps",
    "conformance.cases_saving",
    "conformance.cases_recurrent",
    "conformance.cases_callbacks",
    "conformance.cases_preprocessing",
    "conformance.cases_merging",
    "conformance.cases_attention",
    "conformance.cases_layers_new",
    "conformance.cases_audio",
    "conformance.cases_precision",
)

_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-\[\]]+$")


@dataclass
class Case:
    """One registered case. See `case` for the meaning of the fields."""

    name: str
    fn: object
    family: str
    rtol: float = 1e-6
    atol: float = 1e-6
    exact: bool = False
    reference: object = None
    ref_rtol: float = 2e-5
    ref_atol: float = 2e-6
    covers: tuple = ()
    doc: str = ""
    module: str = ""
    extra: dict = field(default_factory=dict)

    def tolerance_text(self):
        return "exact" if self.exact else f"rtol={self.rtol:g} atol={self.atol:g}"


REGISTRY = {}


def case(name, *, family=None, rtol=1e-6, atol=1e-6, exact=False, reference=None, ref_rtol=2e-5, ref_atol=2e-6,
         covers=()):
    """Register the decorated zero-argument function as the conformance case ``name``.

    - ``family``: the report's grouping; the part of ``name`` before the first dot unless given.
    - ``rtol``/``atol``: backend-vs-backend tolerance, ``|a - b| <= atol + rtol * max(|a|, |b|)``. Integer, bool
      and string outputs are always compared exactly.
    - ``exact``: the backends must agree bit for bit (values compared independent of dtype).
    - ``reference``: a zero-argument numpy function returning a dict of arrays for some of the case's keys (run in
      the parent process, in float64 where it matters); compared with ``ref_rtol``/``ref_atol``.
    - ``covers``: further public names (e.g. ``"ops.absolute"``) this case exercises, for the coverage check.

    The function returns a dict of named values: numpy arrays, backend tensors, Variables, Python scalars or
    strings, or (nested) lists/tuples/dicts of them (flattened to ``key[0]``, ``key.sub``).
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"case: `name` must be a dotted identifier. Received: name={name!r}")

    def register(fn):
        if name in REGISTRY:
            raise ValueError(f"case: the name {name!r} is registered twice ({REGISTRY[name].module} and "
                             f"{fn.__module__}).")
        REGISTRY[name] = Case(
            name=name, fn=fn, family=family or name.split(".")[0], rtol=float(rtol), atol=float(atol),
            exact=bool(exact), reference=reference, ref_rtol=float(ref_rtol), ref_atol=float(ref_atol),
            covers=tuple(covers), doc=(fn.__doc__ or "").strip().split("\n")[0], module=fn.__module__,
        )
        return fn

    return register


def load(modules=DEFAULT_MODULES):
    """Import the case modules (registering their cases) and return the registry."""
    for m in modules:
        importlib.import_module(m)
    return REGISTRY


def select(pattern=None, registry=None):
    """The cases whose name contains any of the comma-separated substrings in ``pattern`` (all if None)."""
    registry = REGISTRY if registry is None else registry
    if not pattern:
        return list(registry.values())
    parts = [p.strip() for p in pattern.split(",") if p.strip()]
    return [c for c in registry.values() if any(p in c.name for p in parts)]


def covered_names(registry=None):
    """The public names (``"ops.add"``, ``"activations.relu"``, ...) that some case exercises."""
    registry = REGISTRY if registry is None else registry
    names = set()
    for c in registry.values():
        parts = c.name.split(".")
        if len(parts) >= 2:
            names.add(".".join(parts[:2]))
        names.update(c.covers)
    return names


# ----------------------------------------------------------------------------------------------------------------
# Lazy handles: case modules use these so that importing them never imports kshim (or a backend).


class _Lazy:
    def __init__(self, module):
        self._module = module

    def _module_obj(self):
        return importlib.import_module(self._module)

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._module), attr)


kshim = _Lazy("kshim")
ops = _Lazy("kshim.ops")


# ----------------------------------------------------------------------------------------------------------------
# Helpers shared by the case modules.


def rng(seed):
    """A fixed numpy generator for a case's inputs."""
    return np.random.default_rng(seed)


def weights_for(shape, index=0):
    """Fixed float32 weights for ``sum(out * w)``-style losses, a pure function of (shape, index)."""
    return np.random.default_rng(9000 + index).uniform(-1.5, 1.5, size=tuple(shape)).astype(np.float32)


def away_from(values, points, margin):
    """``values`` pushed at least ``margin`` away from each of ``points`` (to avoid kinks and ties)."""
    v = np.array(values, dtype=np.float64)
    for p in points:
        close = np.abs(v - p) < margin
        v[close] = p + np.where(v[close] >= p, margin, -margin)
    return v


def flatten(value, convert, prefix=""):
    """A flat ``{key: array}`` dict from a nested dict/list/tuple, with ``convert`` applied to each leaf."""
    out = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, convert, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out.update(flatten(v, convert, f"{prefix}[{i}]"))
    else:
        out[prefix] = convert(value)
    return out


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def weighted_sum_np(out):
    """numpy twin of the loss the op cases differentiate: sum_j sum(out_j * weights_for(out_j.shape, j))."""
    total = 0.0
    for j, o in enumerate(_as_list(out)):
        o = np.asarray(o)
        if o.dtype.kind == "f":
            total += float(np.sum(o * weights_for(o.shape, j).astype(np.float64)))
    return np.float64(total)


def weighted_sum(out):
    """The scalar loss ``sum_j sum(out_j * w_j)`` over the float outputs of an op, in kshim ops."""
    total = None
    for j, o in enumerate(_as_list(out)):
        if not ops.is_float_dtype(ops.dtype(o)):
            continue
        term = ops.sum(ops.multiply(o, weights_for(ops.shape(o), j)))
        total = term if total is None else ops.add(total, term)
    return total


def numeric_grad(f, args, i, rel_step=1e-6):
    """Central-difference gradient of the scalar ``f(*args)`` with respect to ``args[i]`` (float64)."""
    args = [np.array(a, dtype=np.float64, order="C") if np.asarray(a).dtype.kind == "f" else a for a in args]
    x = args[i]
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for j in range(flat.size):
        orig = flat[j]
        h = rel_step * max(1.0, abs(orig))
        flat[j] = orig + h
        up = f(*args)
        flat[j] = orig - h
        down = f(*args)
        flat[j] = orig
        gflat[j] = (up - down) / (2 * h)
    return g


def op_case(name, fn, np_fn=None, inputs=(), *, grad=False, numgrad=True, **case_kwargs):
    """Register a case for ``fn(*tensors)`` on fixed numpy ``inputs``.

    The case returns ``out`` (``fn``'s output; a list for several outputs) and, when ``grad`` is True (every float
    input) or a tuple of input indices, ``loss = weighted_sum(out)`` and ``grad<i>`` for each differentiated input,
    from ``kshim.ops.value_and_grad``. With ``np_fn`` the reference is ``np_fn`` on the float64 inputs, and (when
    ``numgrad``) central-difference gradients of the same loss.
    """
    inputs = [np.asarray(a) for a in inputs]
    if grad is True:
        grad = tuple(i for i, a in enumerate(inputs) if a.dtype.kind == "f")
    grad = tuple(grad or ())

    def run():
        args = [ops.convert_to_tensor(a) for a in inputs]
        result = {"out": fn(*args)}
        if grad:
            def loss_fn(params):
                a = list(args)
                for i, p in zip(grad, params):
                    a[i] = p
                return weighted_sum(fn(*a))

            loss, grads = ops.value_and_grad(loss_fn)([args[i] for i in grad])
            result["loss"] = loss
            for i, g in zip(grad, grads):
                result[f"grad{i}"] = g
        return result

    reference = None
    if np_fn is not None:
        def reference():
            a64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in inputs]
            out = np_fn(*a64)
            res = {"out": out}
            if grad and numgrad:
                res["loss"] = weighted_sum_np(out)
                for i in grad:
                    res[f"grad{i}"] = numeric_grad(lambda *a: weighted_sum_np(np_fn(*a)), a64, i)
            return res

    run.__doc__ = getattr(fn, "__doc__", None) if not getattr(fn, "__name__", "") == "<lambda>" else None
    run.__module__ = case_kwargs.pop("module", None) or _caller_module()
    return case(name, reference=reference, **case_kwargs)(run)


def _caller_module():
    import inspect

    frame = inspect.currentframe().f_back.f_back
    return frame.f_globals.get("__name__", "")
