"""Cases for the kshim.ops names of issue 16 (control flow, linalg, math, the rest of nn and numpy, image), from the
tables in conformance/table_ops_<family>.py that tests/test_ops_<family>.py also checks against Keras 3.

Each table is one case per family (one worker call runs the whole family, so the suite does not grow a case per
op): the forward value of every entry, and for the entries in `GRAD`, the gradient of ``weighted_sum(out)`` with
respect to the first input. (Gradients of every entry cost jax a compile each, minutes of CI; the unit tests and
the entries here cover each family's differentiable composites.) Backends are compared with each other; the numbers
against Keras 3 (and numpy) are the unit tests' job. ``covers`` lists every ``ops`` name the sources call.
"""

import importlib
import re

import numpy as np

from conformance.case import case, ops, weighted_sum

FAMILIES = ("control_flow", "linalg", "math", "nn", "numpy_extra", "image", "complex")
# The entries whose gradient is compared too.
GRAD = {"scan", "fori_loop", "cond.true", "associative_scan.add", "det", "inv", "solve", "cholesky", "norm.fro",
        "segment_sum", "rfft", "stft.hann", "erfinv", "cdist", "celu", "glu", "squareplus", "layer_normalization",
        "rms_normalization", "categorical_crossentropy", "normalize", "arcsinh", "logaddexp", "roll", "quantile",
        "nan_reductions", "linspace.tensor", "trapezoid", "angle.of_view"}
_NAME = re.compile(r"ops\.(?:(?:nn|linalg|image|numpy|math|core)\.)?([a-z_0-9]+)\(")


def _table(family):
    """The entries of ``family``'s table that conformance runs: each op's main entry (an id without a dot) and the
    `GRAD` entries; the variants (``"cholesky.upper"``) are the Keras parity tests' (one jax compile each)."""
    return [c for c in importlib.import_module(f"conformance.table_ops_{family}").CASES
            if "." not in c[0] or c[0] in GRAD]


def covered(family):
    """The public ``ops.<name>`` names the sources of ``family``'s table call."""
    return sorted({f"ops.{m}" for c in _table(family) for m in _NAME.findall(c[1])})


def _run(family):
    out = {}
    for cid, source, inputs, *_ in _table(family):
        fn = eval(source, {"ops": ops._module_obj(), "np": np})
        args = [ops.convert_to_tensor(a) for a in inputs]
        out[cid] = fn(*args)
        if cid in GRAD:
            def loss(params, fn=fn, args=args):
                value = weighted_sum(fn(params[0], *args[1:]))
                return ops.zeros(()) if value is None else value

            out[f"{cid}.grad"] = ops.value_and_grad(loss)([args[0]])[1][0]
    return out


for _family in FAMILIES:
    case(f"ops_tables.{_family}", family="ops", rtol=2e-5, atol=2e-5, covers=tuple(covered(_family)))(
        (lambda f: lambda: _run(f))(_family))


def _custom_gradient():
    """``ops.custom_gradient``: the forward value, and the gradient its function gives (clipped upstream)."""
    @ops.custom_gradient
    def clipped_identity(x):
        def grad(*args, upstream=None):
            return ops.clip(args[0] if upstream is None else upstream, -0.5, 0.5)

        return ops.multiply(x, 1.0), grad

    x = ops.convert_to_tensor(np.array([1.0, -2.0, 3.0, 0.25], "float32"))
    w = np.array([2.0, 0.1, -3.0, 0.3], "float32")
    loss, grads = ops.value_and_grad(lambda p: ops.sum(ops.multiply(clipped_identity(p[0]), w)))([x])
    return {"out": clipped_identity(x), "loss": loss, "grad": grads[0]}


case("ops.custom_gradient", family="ops", reference=lambda: {
    "out": np.array([1.0, -2.0, 3.0, 0.25]), "grad": np.array([0.5, 0.1, -0.5, 0.3])})(_custom_gradient)
