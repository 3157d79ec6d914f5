"""Cases for the activations (kshim.activations, looked up by name) and the neural-network ops in kshim.ops.

numpy references follow Keras 3's formulas: the activation ``gelu`` is the exact erf form (``ops.gelu`` defaults to
the tanh approximation), selu's constants, ``hard_sigmoid = relu6(x + 3) / 6``, ``leaky_relu`` slope 0.2, and
``relu``'s ``negative_slope``/``max_value``/``threshold`` arguments as in ``keras.activations.relu``.
"""

from math import erf as _erf

import numpy as np

from conformance.case import away_from, case, kshim, op_case, ops, rng

SELU_ALPHA, SELU_SCALE = 1.67326324, 1.05070098
_verf = np.vectorize(_erf, otypes=[np.float64])


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _hard_sigmoid(x):
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def _gelu(x, approximate):
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + _verf(x / np.sqrt(2.0)))


def _sparsemax(x):
    """The projection onto the simplex along the last axis (Martins & Astudillo, 2016)."""
    z = -np.sort(-x, axis=-1)
    k = np.arange(1, x.shape[-1] + 1)
    cumulative = np.cumsum(z, axis=-1)
    support = 1 + k * z > cumulative
    kz = support.sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, kz - 1, axis=-1) - 1) / kz
    return np.maximum(x - tau, 0.0)


def keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """``keras.activations.relu``'s formula, argument handling included."""
    if negative_slope != 0.0 and max_value is None and threshold == 0.0:
        return np.where(x >= 0, x, negative_slope * x)
    negative_part = np.maximum(threshold - x, 0.0) if negative_slope != 0.0 else 0.0
    clip_max = max_value is not None
    if threshold != 0.0:
        x = x * (x > threshold)
    elif max_value == 6:
        x, clip_max = np.clip(x, 0.0, 6.0), False
    else:
        x = np.maximum(x, 0.0)
    if clip_max:
        x = np.clip(x, 0.0, max_value)
    return x - negative_slope * negative_part


REFERENCES = {
    "relu": lambda x: np.maximum(x, 0.0),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "elu": _elu,
    "selu": lambda x: SELU_SCALE * _elu(x, SELU_ALPHA),
    "softplus": _softplus,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "gelu": lambda x: _gelu(x, approximate=False),
    "sigmoid": _sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "hard_silu": lambda x: x * _hard_sigmoid(x),
    "hard_swish": lambda x: x * _hard_sigmoid(x),
    "tanh": np.tanh,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "exponential": np.exp,
    "linear": lambda x: x,
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(x)),
    "glu": lambda x: x[..., :3] * _sigmoid(x[..., 3:]),
    "hard_tanh": lambda x: np.clip(x, -1.0, 1.0),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0)),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "log_sigmoid": lambda x: -_softplus(-x),
    "sparse_plus": lambda x: np.where(x <= -1, 0.0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: np.clip((x + 1) / 2, 0.0, 1.0),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "sparsemax": lambda x: _sparsemax(x),
}
# Points where the function has a kink, kept away from when gradients are compared.
KINKS = {"relu": (0,), "leaky_relu": (0,), "relu6": (0, 6), "elu": (0,), "selu": (0,), "hard_sigmoid": (-3, 3),
         "hard_silu": (-3, 3), "hard_swish": (-3, 3), "hard_tanh": (-1, 1), "hard_shrink": (-0.5, 0.5),
         "soft_shrink": (-0.5, 0.5), "sparse_plus": (-1, 1), "sparse_sigmoid": (-1, 1)}
ACT = dict(rtol=1e-5, atol=1e-6, ref_rtol=2e-5, ref_atol=2e-6)  # float32 rounding of composite formulas


def _input(name, seed):
    lo, hi = (-3.0, 3.0) if name == "exponential" else (-5.0, 8.0)
    x = rng(seed).uniform(lo, hi, size=(4, 6))
    return away_from(x, KINKS.get(name, ()), 0.05).astype(np.float32)


for _i, _name in enumerate(sorted(REFERENCES)):
    op_case(f"activations.{_name}", (lambda n: lambda t: kshim.activations.get(n)(t))(_name), REFERENCES[_name],
            [_input(_name, 200 + _i)], grad=True, **ACT)

# Arguments and numerically hard inputs
XA = rng(230).uniform(-4, 4, size=(3, 5)).astype(np.float32)
op_case("activations.leaky_relu.slope", lambda t: kshim.activations.leaky_relu(t, negative_slope=0.05),
        lambda a: np.where(a >= 0, a, 0.05 * a), [away_from(XA, (0,), 0.05).astype(np.float32)], grad=True, **ACT)
op_case("activations.elu.alpha", lambda t: kshim.activations.elu(t, alpha=0.5), lambda a: _elu(a, 0.5),
        [away_from(XA, (0,), 0.05).astype(np.float32)], grad=True, **ACT)
op_case("activations.gelu.approximate", lambda t: kshim.activations.gelu(t, approximate=True),
        lambda a: _gelu(a, True), [XA], grad=True, **ACT)
op_case("activations.threshold", lambda t: kshim.activations.threshold(t, 0.3, -2.0),
        lambda a: np.where(a > 0.3, a, -2.0), [away_from(XA, (0.3,), 0.05).astype(np.float32)], grad=True, **ACT)
op_case("activations.squareplus.b", lambda t: kshim.activations.squareplus(t, b=2),
        lambda a: (a + np.sqrt(a * a + 2)) / 2, [XA], grad=True, **ACT)
op_case("activations.sparsemax.axis0", lambda t: kshim.activations.sparsemax(t, axis=0),
        lambda a: _sparsemax(a.T).T, [XA], grad=True, **ACT)
op_case("activations.softmax.axis0", lambda t: kshim.activations.softmax(t, axis=0), lambda a: _softmax(a, 0), [XA],
        grad=True, **ACT)
op_case("activations.softmax.3d", lambda t: kshim.activations.softmax(t),
        _softmax, [rng(231).uniform(-3, 3, size=(2, 3, 4)).astype(np.float32)], grad=True, **ACT)
op_case("activations.relu.args", lambda t: kshim.activations.relu(t, negative_slope=0.1, max_value=3.0,
                                                                 threshold=0.5),
        lambda a: keras_relu(a, 0.1, 3.0, 0.5), [away_from(XA, (0.5, 3.0), 0.05).astype(np.float32)], grad=True,
        **ACT)
op_case("activations.relu.max_value", lambda t: kshim.activations.relu(t, max_value=2.0),
        lambda a: keras_relu(a, max_value=2.0), [away_from(XA, (0.0, 2.0), 0.05).astype(np.float32)], grad=True,
        **ACT)
op_case("activations.relu.negative_threshold", lambda t: kshim.activations.relu(t, threshold=-1.0, max_value=3.0),
        lambda a: keras_relu(a, 0.0, 3.0, -1.0), [away_from(XA, (-1.0, 0.0, 3.0), 0.05).astype(np.float32)],
        grad=True, **ACT)

DOC_X = np.array([-10, -5, 0.0, 5, 10], np.float32)


@case("activations.relu.keras_doc", reference=lambda: {
    "default": np.array([0.0, 0.0, 0.0, 5.0, 10.0]), "negative_slope": np.array([-5.0, -2.5, 0.0, 5.0, 10.0]),
    "max_value": np.array([0.0, 0.0, 0.0, 5.0, 5.0]), "threshold": np.array([-0.0, -0.0, 0.0, 0.0, 10.0])})
def _relu_doc():
    """The examples in keras.activations.relu's docstring."""
    relu, x = kshim.activations.relu, ops.convert_to_tensor(DOC_X)
    return {"default": relu(x), "negative_slope": relu(x, negative_slope=0.5), "max_value": relu(x, max_value=5.0),
            "threshold": relu(x, threshold=5.0)}


EXTREME = np.array([[-1000.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1000.0]], np.float32)
for _name in ("sigmoid", "softplus", "softsign", "silu", "tanh", "softmax", "log_softmax", "elu", "selu", "mish",
              "gelu"):
    op_case(f"activations.{_name}.extreme", (lambda n: lambda t: kshim.activations.get(n)(t))(_name),
            REFERENCES[_name], [EXTREME], rtol=2e-6, atol=1e-6, ref_atol=1e-6)


@case("activations.get.names", reference=lambda: {"same": np.array(True)})
def _get_names():
    """Every Keras activation name resolves, and get(None) is linear."""
    a = kshim.activations
    names = sorted(REFERENCES)
    return {"same": np.array(all(callable(a.get(n)) for n in names) and a.get(None)(3.0) == 3.0)}


# ----------------------------------------------------------------------------------------------------------------
# The same functions as kshim.ops (ops.gelu defaults to the tanh approximation, as keras.ops.gelu)

OPS_REFERENCES = dict(REFERENCES, gelu=lambda x: _gelu(x, approximate=True),
                      log_sigmoid=lambda x: -_softplus(-x))
OPS_REFERENCES.pop("tanh")  # ops.tanh is covered with the elementwise math
# ops.sparsemax follows Keras 3's ops formula (its outputs need not sum to 1), unlike the activation, which follows
# the paper: its case is the Keras-parity row of conformance/table_ops_nn.py.
OPS_REFERENCES.pop("sparsemax")
# The tanh-approximate gelu's gradient in the far negative tail is below 2e-6 in magnitude: jax flushes it to 0
# where torch keeps it, so that one comparison gets an absolute tolerance of 2e-6.
_OPS_TOLERANCES = {"gelu": dict(ACT, atol=2e-6)}
for _i, _name in enumerate(sorted(OPS_REFERENCES)):
    op_case(f"ops.{_name}", (lambda n: lambda t: getattr(ops, n)(t))(_name), OPS_REFERENCES[_name],
            [_input(_name, 300 + _i)], grad=True, family="ops", **_OPS_TOLERANCES.get(_name, ACT))
op_case("ops.gelu.exact", lambda t: ops.gelu(t, approximate=False), lambda a: _gelu(a, False), [XA], grad=True, **ACT)
op_case("ops.elu.alpha", lambda t: ops.elu(t, alpha=2.0), lambda a: _elu(a, 2.0),
        [away_from(XA, (0,), 0.05).astype(np.float32)], grad=True, **ACT)
op_case("ops.leaky_relu.slope", lambda t: ops.leaky_relu(t, negative_slope=0.3),
        lambda a: np.where(a >= 0, a, 0.3 * a), [away_from(XA, (0,), 0.05).astype(np.float32)], grad=True, **ACT)
op_case("ops.softmax.axis0", lambda t: ops.softmax(t, axis=0), lambda a: _softmax(a, 0), [XA], grad=True, **ACT)
op_case("ops.log_softmax.axis0", lambda t: ops.log_softmax(t, axis=0), lambda a: _log_softmax(a, 0), [XA], grad=True,
        **ACT)
op_case("ops.log_sigmoid.extreme", lambda t: ops.log_sigmoid(t), lambda a: -_softplus(-a), [EXTREME], rtol=2e-6,
        atol=1e-6, ref_atol=1e-6)
