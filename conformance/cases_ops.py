"""Cases for kshim.ops, part 1: creation and conversion, elementwise math, comparisons and bitwise ops.

Each case feeds fixed numpy inputs, returns the forward value and (for differentiable float ops) the gradient of
``sum(op(x) * w)`` with fixed weights, and has a numpy reference (float64, with central-difference gradients).
Inputs stay away from kinks, ties and domain edges where gradients are compared.
"""

import numpy as np

from conformance.case import away_from, case, numeric_grad, op_case, ops, rng, weights_for


def f32(seed, shape, lo=-2.0, hi=2.0, avoid=(), margin=0.1):
    x = rng(seed).uniform(lo, hi, size=shape)
    return away_from(x, avoid, margin).astype(np.float32) if avoid else x.astype(np.float32)


X = f32(1, (3, 4))
Y = f32(2, (3, 4))
ROW = f32(3, (4,))
POS = f32(4, (3, 4), 0.2, 4.0)

# ----------------------------------------------------------------------------------------------------------------
# Unary elementwise math: (name, numpy function, input, differentiate?)

_UNARY = [
    ("negative", np.negative, X, True),
    ("abs", np.abs, f32(5, (3, 4), avoid=(0.0,)), True),
    ("absolute", np.abs, f32(5, (3, 4), avoid=(0.0,)), True),
    ("sign", np.sign, np.array([[-2.5, -0.0, 0.0, 1e-30], [3.0, -1e-30, 7.5, -4.0]], np.float32), False),
    ("sign.grad", np.sign, f32(6, (3, 4), avoid=(0.0,)), True),
    ("sqrt", np.sqrt, POS, True),
    ("square", np.square, X, True),
    ("reciprocal", np.reciprocal, f32(7, (3, 4), avoid=(0.0,), margin=0.3), True),
    ("exp", np.exp, f32(8, (3, 4), -3, 3), True),
    ("expm1", np.expm1, f32(9, (3, 4), -1, 1), True),
    ("expm1.tiny", np.expm1, np.array([1e-7, -3e-8, 2e-10, 0.0], np.float32), False),
    ("log", np.log, POS, True),
    ("log1p", np.log1p, f32(10, (3, 4), -0.5, 3), True),
    ("log1p.tiny", np.log1p, np.array([1e-7, -3e-8, 2e-10, 0.0], np.float32), False),
    ("log2", np.log2, POS, True),
    ("log10", np.log10, POS, True),
    ("sin", np.sin, f32(11, (3, 4), -3, 3), True),
    ("cos", np.cos, f32(12, (3, 4), -3, 3), True),
    ("tan", np.tan, f32(13, (3, 4), -1.2, 1.2), True),
    ("tanh", np.tanh, f32(14, (3, 4), -3, 3), True),
    ("arctan", np.arctan, f32(15, (3, 4), -3, 3), True),
    ("erf", None, f32(16, (3, 4), -2.5, 2.5), True),
    ("floor", np.floor, np.array([[-2.5, -1.0, -0.3, 0.0], [0.3, 1.0, 1.7, 2.5]], np.float32), False),
    ("floor.grad", np.floor, f32(17, (3, 4), avoid=(-2, -1, 0, 1, 2)), True),
    ("ceil", np.ceil, np.array([[-2.5, -1.0, -0.3, 0.0], [0.3, 1.0, 1.7, 2.5]], np.float32), False),
    ("ceil.grad", np.ceil, f32(18, (3, 4), avoid=(-2, -1, 0, 1, 2)), True),
    ("round.half_to_even", np.round, np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -3.7], np.float32), False),
    ("round.grad", np.round, f32(19, (3, 4), avoid=(-1.5, -0.5, 0.5, 1.5)), True),
]


def _erf_np(x):
    from math import erf

    return np.vectorize(erf, otypes=[np.float64])(x)


for _name, _np_fn, _x, _grad in _UNARY:
    _op = _name.split(".")[0]
    _tiny = _name.endswith(".tiny")  # values near 1e-7: judge them relatively
    op_case(f"ops.{_name}", (lambda op: lambda x: getattr(ops, op)(x))(_op), _np_fn or _erf_np, [_x], grad=_grad,
            rtol=2e-6, atol=1e-20 if _tiny else 1e-6, ref_atol=1e-20 if _tiny else 2e-6)

op_case("ops.round.decimals", lambda x: ops.round(x, decimals=2), lambda x: np.round(x, 2),
        [f32(20, (3, 4), -10, 10)], rtol=1e-6, ref_atol=1e-6)

# ----------------------------------------------------------------------------------------------------------------
# Binary elementwise math


def _binary(name, op, np_fn, a, b, grad=True, **kw):
    kw.setdefault("rtol", 2e-6)
    op_case(f"ops.{name}", (lambda o: lambda x, y: getattr(ops, o)(x, y))(op), np_fn, [a, b], grad=grad, **kw)


NONZERO = f32(21, (3, 4), avoid=(0.0,), margin=0.4)
for _op, _np_fn in [("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply)]:
    _binary(_op, _op, _np_fn, X, Y)
    _binary(f"{_op}.broadcast", _op, _np_fn, X, ROW)
_binary("divide", "divide", np.divide, X, NONZERO)
_binary("divide.broadcast", "divide", np.divide, ROW, NONZERO)
_binary("true_divide", "true_divide", np.divide, X, NONZERO)
_binary("power", "power", np.power, f32(22, (3, 4), 0.5, 2.0), f32(23, (3, 4), -2, 2))
_binary("maximum", "maximum", np.maximum, X, Y)
_binary("minimum", "minimum", np.minimum, X, Y)
_binary("maximum.broadcast", "maximum", np.maximum, X, ROW)
_binary("floor_divide", "floor_divide", np.floor_divide, f32(24, (3, 4), -5, 5), NONZERO, grad=False)
_binary("mod", "mod", np.mod, f32(25, (3, 4), -5, 5), NONZERO, grad=False, atol=2e-6)

I1 = np.array([7, -7, 7, -7, 0, 9, -9, 100], np.int32)
I2 = np.array([2, 2, -2, -2, 3, 4, 4, -7], np.int32)
_binary("floor_divide.int32", "floor_divide", np.floor_divide, I1, I2, grad=False)
_binary("mod.int32", "mod", np.mod, I1, I2, grad=False)
_binary("divide.int32", "divide", lambda a, b: a / b, I1, I2, grad=False)
_binary("power.int32", "power", np.power, np.array([2, 3, -2, 5, 1, 0], np.int32),
        np.array([3, 2, 3, 0, 7, 2], np.int32), grad=False)
_binary("add.int32", "add", np.add, I1, I2, grad=False)
_binary("add.int32_wraps", "add", lambda a, b: (a.astype(np.int64) + b).astype(np.int32),
        np.array([2**31 - 1, -2**31, 2**30], np.int32), np.array([1, -1, 2**30], np.int32), grad=False)
_binary("multiply.int32_wraps", "multiply", lambda a, b: (a.astype(np.int64) * b).astype(np.int32),
        np.array([0x7FEB352D, 123456789, -987654321, 65537], np.int32),
        np.array([0x846CA68B - 2**32, 1000, 77777, 65537], np.int32), grad=False)
_binary("subtract.int32", "subtract", np.subtract, I1, I2, grad=False)


def _scalar_case(name, fn, np_fn, x, grad=True):
    """``op(tensor, python scalar)``: the value, its gradient, and that the scalar is weak (float32 stays)."""

    def run():
        t = ops.convert_to_tensor(x)
        out = fn(t)
        loss, (g,) = ops.value_and_grad(lambda p: ops.sum(ops.multiply(fn(p[0]), weights_for(x.shape))))([t])
        return {"out": out, "dtype": ops.dtype(out), "grad0": g} if grad else {"out": out, "dtype": ops.dtype(out)}

    def reference():
        res = {"out": np_fn(x.astype(np.float64)), "dtype": np.array(str(x.dtype))}
        if grad:
            w = weights_for(x.shape).astype(np.float64)
            res["grad0"] = numeric_grad(lambda a: float(np.sum(np_fn(a) * w)), [x], 0)
        return res

    case(f"ops.{name}", reference=reference, rtol=2e-6)(run)


_scalar_case("add.python_scalar", lambda t: ops.add(t, 2.5), lambda a: a + 2.5, X)
_scalar_case("subtract.python_scalar", lambda t: ops.subtract(1.5, t), lambda a: 1.5 - a, X)
_scalar_case("multiply.python_scalar", lambda t: ops.multiply(t, 3), lambda a: a * 3, X)
_scalar_case("divide.python_scalar", lambda t: ops.divide(t, 4.0), lambda a: a / 4.0, X)
_scalar_case("power.python_scalar", lambda t: ops.power(t, 3), lambda a: a ** 3, X)
_scalar_case("maximum.python_scalar", lambda t: ops.maximum(t, 0.25), lambda a: np.maximum(a, 0.25),
             f32(26, (3, 4), avoid=(0.25,)))
_scalar_case("minimum.python_scalar", lambda t: ops.minimum(0.25, t), lambda a: np.minimum(a, 0.25),
             f32(27, (3, 4), avoid=(0.25,)))

CLIPPED = f32(28, (3, 4), avoid=(-0.5, 0.7))
op_case("ops.clip", lambda x: ops.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), [CLIPPED], grad=True)
op_case("ops.clip.tensor_bounds", lambda x, lo, hi: ops.clip(x, lo, hi), np.clip,
        [CLIPPED, np.full((3, 4), -0.5, np.float32), np.full((4,), 0.7, np.float32)], grad=(0,))

COND = rng(29).uniform(size=(3, 4)) > 0.5
op_case("ops.where", lambda c, x, y: ops.where(c, x, y), np.where, [COND, X, Y], grad=True)
op_case("ops.where.broadcast_scalar", lambda c, x: ops.where(c, x, 0.0), lambda c, x: np.where(c, x, 0.0),
        [COND, X], grad=True)

# ----------------------------------------------------------------------------------------------------------------
# Comparisons, logic and bitwise ops (exact)

TIE_A = rng(30).integers(-2, 3, size=(3, 4)).astype(np.float32)
TIE_B = rng(31).integers(-2, 3, size=(3, 4)).astype(np.float32)
for _op, _np_fn in [("equal", np.equal), ("not_equal", np.not_equal), ("less", np.less),
                    ("less_equal", np.less_equal), ("greater", np.greater), ("greater_equal", np.greater_equal)]:
    _binary(_op, _op, _np_fn, TIE_A, TIE_B, grad=False)
_binary("less.broadcast_int32", "less", np.less, I1, np.array(0, np.int32), grad=False)

BA, BB = rng(32).uniform(size=(3, 4)) > 0.5, rng(33).uniform(size=(3, 4)) > 0.5
_binary("logical_and", "logical_and", np.logical_and, BA, BB, grad=False)
_binary("logical_or", "logical_or", np.logical_or, BA, BB, grad=False)
op_case("ops.logical_not", lambda a: ops.logical_not(a), np.logical_not, [BA])
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, 1.5, -2.0, np.nan, 3e38], np.float32)
for _op in ("isnan", "isinf", "isfinite"):
    op_case(f"ops.{_op}", (lambda o: lambda x: getattr(ops, o)(x))(_op), getattr(np, _op), [SPECIAL])
op_case("ops.add.nan_inf", lambda x: ops.add(x, 1.0), lambda x: x + 1.0, [SPECIAL])

BITS_A = np.array([0, -1, 0x12345678, -0x12345678, 2**31 - 1, -2**31, 255, 1], np.int32)
BITS_B = np.array([0x0F0F0F0F, 0x7FFFFFFF, -256, 12345, -2, 2**31 - 1, 15, -1], np.int32)
SHIFTS = np.array([0, 1, 4, 8, 16, 31, 3, 30], np.int32)
for _op, _np_fn in [("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or),
                    ("bitwise_xor", np.bitwise_xor)]:
    _binary(_op, _op, _np_fn, BITS_A, BITS_B, grad=False, exact=True)
_binary("bitwise_and.scalar", "bitwise_and", np.bitwise_and, BITS_A, np.int32(0xFF), grad=False, exact=True)
_binary("left_shift", "left_shift", np.left_shift, BITS_A, SHIFTS, grad=False, exact=True)
_binary("right_shift", "right_shift", np.right_shift, BITS_A, SHIFTS, grad=False, exact=True)

# ----------------------------------------------------------------------------------------------------------------
# Creation and conversion


def _creation(name, fn, np_fn, exact=True):
    case(f"ops.{name}", exact=exact, reference=lambda: {"out": np_fn(), "dtype": np.array(str(np_fn().dtype))})(
        lambda: {"out": fn(), "dtype": ops.dtype(fn())})


_creation("zeros", lambda: ops.zeros((2, 3)), lambda: np.zeros((2, 3), np.float32))
_creation("zeros.int32", lambda: ops.zeros((2, 3), dtype="int32"), lambda: np.zeros((2, 3), np.int32))
_creation("ones", lambda: ops.ones((3,)), lambda: np.ones((3,), np.float32))
_creation("ones.bool", lambda: ops.ones((2, 2), dtype="bool"), lambda: np.ones((2, 2), bool))
_creation("full", lambda: ops.full((2, 3), 1.5, dtype="float32"), lambda: np.full((2, 3), 1.5, np.float32))
_creation("full.int32", lambda: ops.full((2,), 7, dtype="int32"), lambda: np.full((2,), 7, np.int32))
_creation("zeros_like", lambda: ops.zeros_like(ops.convert_to_tensor(X)), lambda: np.zeros_like(X))
_creation("ones_like", lambda: ops.ones_like(ops.convert_to_tensor(X)), lambda: np.ones_like(X))
_creation("ones_like.dtype", lambda: ops.ones_like(ops.convert_to_tensor(X), dtype="int32"),
          lambda: np.ones_like(X, dtype=np.int32))
_creation("full_like", lambda: ops.full_like(ops.convert_to_tensor(X), 2.5), lambda: np.full_like(X, 2.5))
_creation("arange", lambda: ops.arange(5), lambda: np.arange(5, dtype=np.int32))
_creation("arange.start_stop_step", lambda: ops.arange(1, 8, 2), lambda: np.arange(1, 8, 2, dtype=np.int32))
_creation("arange.float", lambda: ops.arange(0.0, 1.0, 0.25), lambda: np.arange(0.0, 1.0, 0.25, dtype=np.float32))
_creation("arange.dtype", lambda: ops.arange(4, dtype="float32"), lambda: np.arange(4, dtype=np.float32))
_creation("eye", lambda: ops.eye(3), lambda: np.eye(3, dtype=np.float32))
_creation("eye.rect_k", lambda: ops.eye(3, 4, k=1), lambda: np.eye(3, 4, k=1, dtype=np.float32))
_creation("convert_to_tensor.list", lambda: ops.convert_to_tensor([[1, 2], [3, 4]]),
          lambda: np.array([[1, 2], [3, 4]], np.int32))
_creation("convert_to_tensor.float_list", lambda: ops.convert_to_tensor([0.5, 1.5]),
          lambda: np.array([0.5, 1.5], np.float32))
_creation("convert_to_tensor.dtype", lambda: ops.convert_to_tensor(np.array([1.0, 2.0], np.float32), dtype="int32"),
          lambda: np.array([1, 2], np.int32))
_creation("convert_to_tensor.bool", lambda: ops.convert_to_tensor(np.array([True, False])),
          lambda: np.array([True, False]))
_creation("convert_to_numpy", lambda: ops.convert_to_numpy(ops.add(ops.convert_to_tensor(X), 1.0)),
          lambda: X + np.float32(1.0))

CASTS = np.array([-2.7, -1.5, -0.5, 0.0, 0.5, 1.7, 2.5, 100.9], np.float32)
for _dt in ("int32", "bool", "float16", "float32"):
    _creation(f"cast.float32_to_{_dt}", (lambda d: lambda: ops.cast(ops.convert_to_tensor(CASTS), d))(_dt),
              (lambda d: lambda: CASTS.astype(d))(_dt))
_creation("cast.int32_to_float32", lambda: ops.cast(ops.convert_to_tensor(I1), "float32"),
          lambda: I1.astype(np.float32))
_creation("cast.bool_to_int32", lambda: ops.cast(ops.convert_to_tensor(BA), "int32"), lambda: BA.astype(np.int32))


@case("ops.cast.grad", reference=lambda: {"grad0": weights_for((3, 4)).astype(np.float64)})
def _cast_grad():
    t = ops.convert_to_tensor(X)
    _, (g,) = ops.value_and_grad(lambda p: ops.sum(ops.multiply(ops.cast(p[0], "float32"), weights_for((3, 4)))))([t])
    return {"grad0": g}


@case("ops.copy", rtol=0, atol=0, reference=lambda: {"out": X, "grad0": weights_for((3, 4))})
def _copy():
    t = ops.convert_to_tensor(X)
    _, (g,) = ops.value_and_grad(lambda p: ops.sum(ops.multiply(ops.copy(p[0]), weights_for((3, 4)))))([t])
    return {"out": ops.copy(t), "grad0": g}


@case("ops.dtype", reference=lambda: {"out": np.array(["float32", "int32", "bool", "float16", "float32"])})
def _dtype():
    ts = [np.zeros(2, np.float32), np.zeros(2, np.int32), np.zeros(2, bool), np.zeros(2, np.float16)]
    names = [ops.dtype(ops.convert_to_tensor(t)) for t in ts] + [ops.dtype(np.zeros(2, np.float32))]
    return {"out": np.array(names)}


@case("ops.shape", reference=lambda: {"out": np.array([2, 3, 4]), "python_ints": np.array(True)})
def _shape():
    s = ops.shape(ops.zeros((2, 3, 4)))
    return {"out": np.array(s), "python_ints": np.array(isinstance(s, tuple) and all(type(d) is int for d in s))}


@case("ops.ndim", covers=("ops.size",), reference=lambda: {"ndim": np.array(3), "size": np.array(24)})
def _ndim_size():
    t = ops.zeros((2, 3, 4))
    return {"ndim": np.array(ops.ndim(t)), "size": np.array(ops.size(t))}


@case("ops.is_float_dtype", covers=("ops.is_int_dtype",),
      reference=lambda: {"float": np.array([True, True, False, False]), "int": np.array([False, False, True, False])})
def _dtype_predicates():
    names = ["float32", "float16", "int32", "bool"]
    return {"float": np.array([ops.is_float_dtype(n) for n in names]),
            "int": np.array([ops.is_int_dtype(n) for n in names])}


@case("ops.stop_gradient", reference=lambda: {"out": X, "grad0": (X * weights_for((3, 4))).astype(np.float64)})
def _stop_gradient():
    t = ops.convert_to_tensor(X)
    w = weights_for((3, 4))
    # d/dx sum(stop_gradient(x) * x * w) = x * w: the stopped factor counts as a constant.
    _, (g,) = ops.value_and_grad(lambda p: ops.sum(ops.multiply(ops.multiply(ops.stop_gradient(p[0]), p[0]), w)))([t])
    return {"out": ops.stop_gradient(t), "grad0": g}


# ----------------------------------------------------------------------------------------------------------------
# The differentiation and compilation primitives (plumbing, but their contract is part of conformance)


def _vag_reference():
    w = weights_for((3, 4)).astype(np.float64)
    x = X.astype(np.float64)
    return {"loss": np.sum(np.tanh(x) * w), "aux": np.sum(x), "grad0": (1 - np.tanh(x) ** 2) * w,
            "grad1": np.zeros(4)}


@case("ops.value_and_grad.aux_and_unused", rtol=2e-6, reference=_vag_reference)
def _value_and_grad():
    w = weights_for((3, 4))

    def fn(params):
        x, unused = params
        return ops.sum(ops.multiply(ops.tanh(x), w)), ops.sum(x)

    (loss, aux), grads = ops.value_and_grad(fn, has_aux=True)([ops.convert_to_tensor(X), ops.convert_to_tensor(ROW)])
    return {"loss": loss, "aux": aux, "grad0": grads[0], "grad1": grads[1]}


@case("ops.compile_step.matches_eager", rtol=2e-6,
      reference=lambda: {"out": np.tanh(X.astype(np.float64)) @ Y.T.astype(np.float64) + 1.0,
                         "first_equals_second": np.array(True)})
def _compile_step():
    def fn(a, b):
        return ops.add(ops.matmul(ops.tanh(a), ops.transpose(b)), 1.0)

    step = ops.compile_step(fn)
    out1 = step(ops.convert_to_tensor(X), ops.convert_to_tensor(Y))
    out2 = step(ops.convert_to_tensor(X), ops.convert_to_tensor(Y))  # the cached/compiled path
    eager = fn(ops.convert_to_tensor(X), ops.convert_to_tensor(Y))
    return {"out": out2, "first_equals_second": np.array(np.array_equal(ops.convert_to_numpy(out1),
                                                                        ops.convert_to_numpy(out2))),
            "eager": eager}


# ----------------------------------------------------------------------------------------------------------------
# Coverage: every public op, activation, initializer and random function has a case.

# Plumbing, and the capabilities a backend answers (auto_jit_compile and stateless_steps differ by design;
# standardize_dtype is a name; trainable_leaf and adopt_variable_class are the plumbing of user-written steps;
# compute_output_spec/ShapeDtype evaluate shapes without data and get_item is the symbolic `x[...]`, both checked
# against Keras 3 in tests/test_symbolic_shapes.py and tests/test_symbolic_ops.py rather than here).
PLUMBING = {"compile_step", "compile_multi_step", "inference_mode", "device_name", "value_and_grad", "is_tensor",
            "auto_jit_compile", "standardize_dtype", "stateless_steps", "trainable_leaf", "adopt_variable_class",
            "compute_output_spec", "ShapeDtype", "get_item", "compiled_eager_call", "compile_stateful_step"}

# Public names that cannot have a cross-backend case because they exist for one backend only, each with where it is
# tested instead.
ONE_BACKEND = {
    "layers.torch_module_wrapper": "wraps a torch nn.Module: torch only (tests/test_native_interop.py)",
    "layers.jax_layer": "wraps a jax function of (params, state, inputs): jax only (tests/test_native_interop.py)",
    "layers.flax_layer": "wraps a flax module: jax only (tests/test_native_interop.py)",
}


def _snake(name):
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def keras_ops_names():
    """Keras 3.15's ``keras.ops`` names (conformance/keras_ops_names.txt) as ``ops.<name>``, less those kshim leaves
    out on purpose, each with its reason (`kshim.ops.absent.ABSENT`): a Keras op kshim lacks or has without a case
    shows up as uncovered."""
    import importlib
    import os

    absent = importlib.import_module("kshim.ops.absent").ABSENT
    with open(os.path.join(os.path.dirname(__file__), "keras_ops_names.txt")) as f:
        keras = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    return {f"ops.{n}" for n in keras if n not in absent and n not in PLUMBING}


def public_names():
    """The names that must be covered, as ``family.name`` strings, found by walking the kshim modules."""
    import importlib
    import inspect
    import types

    names = {f"ops.{n}" for n in dir(ops._module_obj()) if not n.startswith("_") and n not in PLUMBING
             and not isinstance(getattr(ops, n), types.ModuleType)}
    names |= keras_ops_names()
    acts = importlib.import_module("kshim.activations")
    names |= {f"activations.{n}" for n, v in vars(acts).items() if not n.startswith("_") and inspect.isfunction(v)
              and v.__module__ == acts.__name__ and n not in ("get", "serialize", "deserialize")}
    inits = importlib.import_module("kshim.initializers")
    names |= {f"initializers.{_snake(n)}" for n, v in vars(inits).items() if not n.startswith("_")
              and inspect.isclass(v) and issubclass(v, inits.Initializer) and v is not inits.Initializer}
    rnd = importlib.import_module("kshim.random")
    names |= {f"random.{_snake(n)}" for n in ("uniform", "normal", "randint", "dropout", "shuffle", "random_bits",
                                              "SeedGenerator", "truncated_normal", "gamma", "beta", "binomial",
                                              "categorical") if hasattr(rnd, n)}
    try:
        layers = importlib.import_module("kshim.layers")
    except ImportError:
        layers = None
    if layers is not None and hasattr(layers, "Layer"):
        names |= {f"layers.{_snake(n)}" for n, v in vars(layers).items() if not n.startswith("_")
                  and inspect.isclass(v) and issubclass(v, layers.Layer) and v is not layers.Layer
                  and n != "InputLayer"}
    # Losses (functions and classes), metric classes and optimizer classes, by their own names (an alias such as
    # `mse` is the same object as `mean_squared_error`, so it needs no case of its own).
    losses = importlib.import_module("kshim.losses")
    names |= {f"losses.{v.__name__}" for n, v in vars(losses).items() if not n.startswith("_")
              and ((inspect.isfunction(v) and v.__module__.startswith("kshim.losses.") and n not in ("get",
                   "serialize", "deserialize", "reduce_weighted_values"))
                   or (inspect.isclass(v) and issubclass(v, losses.Loss) and v is not losses.Loss))}
    metrics = importlib.import_module("kshim.metrics")
    names |= {f"metrics.{n}" for n, v in vars(metrics).items() if not n.startswith("_") and inspect.isclass(v)
              and issubclass(v, metrics.Metric) and v is not metrics.Metric}
    optimizers = importlib.import_module("kshim.optimizers")
    names |= {f"optimizers.{n}" for n, v in vars(optimizers).items() if not n.startswith("_")
              and inspect.isclass(v) and issubclass(v, optimizers.Optimizer) and v is not optimizers.Optimizer}
    return names - set(ONE_BACKEND)


@case("meta.coverage", family="meta", reference=lambda: {"uncovered": np.array([], dtype=str)})
def _coverage():
    """Every public op, activation, initializer, random function, layer, loss, metric and optimizer has a case."""
    from conformance.case import REGISTRY, covered_names

    return {"uncovered": np.array(sorted(public_names() - covered_names(REGISTRY)), dtype=str)}
