"""Every primitive of the JAX backend against numpy on small fixed inputs.

Runs only in the KSHIM_BACKEND=jax pass (and is skipped without jax).
"""

import inspect
import math

import numpy as np
import pytest

from kshim import config  # noqa: E402

if config.backend() != "jax":  # the suite runs once per backend; test each backend in its own pass
    pytest.skip("jax primitives are tested in the KSHIM_BACKEND=jax pass", allow_module_level=True)
jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from kshim.backends import B  # noqa: E402  (the jax backend, bound to the contract)
from kshim.backends import interface  # noqa: E402

X = np.array([[-1.5, -0.25, 0.0], [0.5, 1.0, 2.5]], dtype=np.float32)
Y = np.array([[2.0, -0.5, 1.5], [0.25, -3.0, 1.0]], dtype=np.float32)
POS = np.array([[0.25, 0.5, 1.0], [1.5, 2.0, 3.0]], dtype=np.float32)
I1 = np.array([[7, -7, 3], [-4, 9, 0]], dtype=np.int32)
I2 = np.array([[2, 3, -2], [3, -4, 5]], dtype=np.int32)
TIES = np.array([[1.0, 3.0, 3.0, 0.5], [2.0, 2.0, -1.0, 2.0]], dtype=np.float32)
X3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 4.0 - 2.0

_SAME_DTYPES = (np.dtype("float32"), np.dtype("int32"), np.dtype("bool"))


def check(actual, expected, rtol=1e-6, atol=1e-6):
    """``actual`` is a jax array equal to ``expected``; for float32/int32/bool expectations the dtype matches too."""
    assert isinstance(actual, jax.Array), type(actual)
    expected = np.asarray(expected)
    got = np.asarray(actual)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if expected.dtype in _SAME_DTYPES:
        assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


class FakeVariable:
    _kshim_variable = True

    def __init__(self, value):
        self.value = jnp.asarray(value)


# ----------------------------------------------------------------------------------------------------------------
# Completeness


def test_every_primitive_is_implemented_with_the_interface_signature():
    assert len(interface.PRIMITIVES) > 100
    assert B.MISSING == ()
    for name, stub in interface.PRIMITIVES.items():
        assert inspect.signature(getattr(B, name)) == inspect.signature(stub), name


# ----------------------------------------------------------------------------------------------------------------
# Creation, conversion, dtypes, devices


def test_convert_to_tensor():
    t = B.convert_to_tensor([[1.0, 2.0], [3.0, 4.0]])
    check(t, np.array([[1, 2], [3, 4]], np.float32))
    check(B.convert_to_tensor(np.array([1, 2], np.int32)), np.array([1, 2], np.int32))
    check(B.convert_to_tensor([1, 2], dtype="float32"), np.array([1.0, 2.0], np.float32))
    check(B.convert_to_tensor(np.array([1.7, -1.7]), dtype="int32"), np.array([1, -1], np.int32))
    check(B.convert_to_tensor(X, dtype="float16"), X.astype(np.float16))
    assert B.convert_to_tensor(t) is t
    assert B.convert_to_tensor(t, dtype="float32") is t
    check(B.convert_to_tensor(FakeVariable(X)), X)
    check(B.convert_to_tensor(FakeVariable(X), dtype="int32"), X.astype(np.int32))
    check(B.convert_to_tensor(True), np.array(True))
    # float64 input is stored as float32 without x64 (and as float64 with it)
    expected64 = "float64" if jax.config.jax_enable_x64 else "float32"
    assert B.dtype(B.convert_to_tensor(np.array([0.1], np.float64))) == expected64


def test_convert_to_numpy():
    n = B.convert_to_numpy(jnp.asarray(X))
    assert isinstance(n, np.ndarray) and n.dtype == np.float32
    np.testing.assert_array_equal(n, X)
    np.testing.assert_array_equal(B.convert_to_numpy(FakeVariable(I1)), I1)
    np.testing.assert_array_equal(B.convert_to_numpy([1, 2]), np.array([1, 2]))


def test_is_tensor():
    assert B.is_tensor(jnp.ones(2))
    assert not B.is_tensor(np.ones(2))
    assert not B.is_tensor(FakeVariable([1.0]))
    assert not B.is_tensor(1.0)
    assert jax.jit(lambda x: jnp.asarray(B.is_tensor(x)))(jnp.ones(2))  # tracers count as tensors


@pytest.mark.parametrize(
    "name", ["float16", "bfloat16", "float32", "int8", "int16", "int32", "uint8", "uint16", "uint32", "bool"]
)
def test_dtype_strings_round_trip(name):
    t = B.zeros((2,), dtype=name)
    assert B.dtype(t) == name
    assert B.dtype(B.cast(jnp.asarray(X), name)) == name
    assert B.dtype(B.ones((1,), name)) == name


def test_dtype_of_64_bit_and_host_values():
    wide = not jax.config.jax_enable_x64
    assert B.dtype(B.zeros((1,), "int64")) == ("int32" if wide else "int64")
    assert B.dtype(B.zeros((1,), "float64")) == ("float32" if wide else "float64")
    assert B.dtype(np.zeros(2, np.float64)) == ("float32" if wide else "float64")
    assert B.dtype(np.zeros(2, np.int8)) == "int8"
    assert B.dtype(FakeVariable(np.zeros(2, np.float16))) == "float16"
    assert B.dtype(2.0) == "float32"
    assert B.dtype(2) == "int32"
    assert B.dtype(True) == "bool"


def test_cast():
    t = jnp.asarray(X)
    assert B.cast(t, "float32") is t
    check(B.cast(t, "int32"), X.astype(np.int32))  # truncation toward zero: -1.5 -> -1
    check(B.cast(t, "bool"), X.astype(bool))
    check(B.cast(I1, "float32"), I1.astype(np.float32))
    check(B.cast(FakeVariable(I1), "float16"), I1.astype(np.float16))


def test_shape():
    assert B.shape(jnp.zeros((2, 3, 4))) == (2, 3, 4)
    assert B.shape(X) == (2, 3)
    assert B.shape(FakeVariable(X3)) == (2, 3, 4)
    assert B.shape([[1, 2, 3]]) == (1, 3)
    assert B.shape(3.0) == ()
    s = B.shape(jnp.zeros((5, 1)))
    assert isinstance(s, tuple) and all(type(d) is int for d in s)
    assert jax.jit(lambda x: jnp.zeros(B.shape(x)[::-1]))(jnp.ones((2, 3))).shape == (3, 2)


def test_creation():
    check(B.zeros((2, 3)), np.zeros((2, 3), np.float32))
    check(B.zeros((2,), "int32"), np.zeros(2, np.int32))
    check(B.ones((3,)), np.ones(3, np.float32))
    check(B.ones((2, 2), "bool"), np.ones((2, 2), bool))
    check(B.full((2, 2), 7), np.full((2, 2), 7, np.int32))
    check(B.full((2, 2), 0.5), np.full((2, 2), 0.5, np.float32))
    check(B.full((3,), 3, "float32"), np.full(3, 3.0, np.float32))
    check(B.zeros_like(I1), np.zeros_like(I1))
    check(B.zeros_like(X, dtype="int32"), np.zeros((2, 3), np.int32))
    check(B.ones_like(X), np.ones_like(X))
    check(B.ones_like(FakeVariable(I1), dtype="float32"), np.ones((2, 3), np.float32))
    check(B.full_like(X, 2.5), np.full_like(X, 2.5))
    check(B.full_like(I1, 4, dtype="float32"), np.full((2, 3), 4.0, np.float32))


def test_arange_eye_copy():
    check(B.arange(5), np.arange(5, dtype=np.int32))
    check(B.arange(2, 11, 3), np.arange(2, 11, 3, dtype=np.int32))
    check(B.arange(0.0, 1.0, 0.25), np.arange(0.0, 1.0, 0.25, dtype=np.float32))
    check(B.arange(4, dtype="float32"), np.arange(4, dtype=np.float32))
    check(B.arange(5, 0, -2), np.arange(5, 0, -2, dtype=np.int32))
    check(B.eye(3), np.eye(3, dtype=np.float32))
    check(B.eye(2, 4, k=1), np.eye(2, 4, k=1, dtype=np.float32))
    check(B.eye(3, k=-1, dtype="int32"), np.eye(3, k=-1, dtype=np.int32))
    t = jnp.asarray(X)
    c = B.copy(t)
    check(c, X)
    assert c is not t
    check(B.copy(FakeVariable(I1)), I1)


# ----------------------------------------------------------------------------------------------------------------
# Elementwise math

SPECIAL = np.array([np.nan, np.inf, -np.inf, 1.0, -0.0], dtype=np.float32)
_erf = np.vectorize(math.erf)

UNARY = [
    ("negative", X, np.negative),
    ("negative", I1, np.negative),
    ("abs", X, np.abs),
    ("abs", I1, np.abs),
    ("sign", X, np.sign),
    ("sign", I1, np.sign),
    ("sqrt", POS, np.sqrt),
    ("square", X, np.square),
    ("square", I1, np.square),
    ("reciprocal", POS, np.reciprocal),
    ("exp", X, np.exp),
    ("expm1", np.array([1e-6, -1e-5, 0.5], np.float32), np.expm1),
    ("log", POS, np.log),
    ("log1p", np.array([1e-7, 0.5, 3.0], np.float32), np.log1p),
    ("sin", X, np.sin),
    ("cos", X, np.cos),
    ("tan", X / 2, np.tan),
    ("tanh", X, np.tanh),
    ("arctan", X, np.arctan),
    ("erf", X, lambda a: _erf(a).astype(np.float32)),
    ("floor", X, np.floor),
    ("ceil", X, np.ceil),
    ("logical_not", X, np.logical_not),
    ("isnan", SPECIAL, np.isnan),
    ("isinf", SPECIAL, np.isinf),
    ("isfinite", SPECIAL, np.isfinite),
]


@pytest.mark.parametrize("name,x,ref", UNARY, ids=[f"{u[0]}-{u[1].dtype}" for u in UNARY])
def test_unary(name, x, ref):
    check(getattr(B, name)(x), ref(x))
    check(getattr(B, name)(jnp.asarray(x)), ref(x))


def test_erf_of_integers_is_float():
    check(B.erf(np.array([0, 1, -2], np.int32)), _erf(np.array([0.0, 1.0, -2.0])).astype(np.float32))


def test_round_half_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.2, -2.7], np.float32)
    check(B.round(x), np.array([0, 2, 2, -0, -2, 1, -3], np.float32))
    y = np.array([1.25, 1.75, 0.3333, -2.35], np.float32)
    check(B.round(y, decimals=1), np.round(y, 1))


BINARY = [
    ("add", X, Y, np.add),
    ("add", I1, I2, np.add),
    ("subtract", X, Y, np.subtract),
    ("subtract", I1, I2, np.subtract),
    ("multiply", X, Y, np.multiply),
    ("multiply", I1, I2, np.multiply),
    ("divide", X, Y, np.divide),
    ("floor_divide", X, Y, np.floor_divide),
    ("floor_divide", I1, I2, np.floor_divide),
    ("mod", X, Y, np.mod),
    ("mod", I1, I2, np.mod),
    ("power", POS, Y, np.power),
    ("power", I1, np.abs(I2), np.power),
    ("maximum", X, Y, np.maximum),
    ("minimum", X, Y, np.minimum),
    ("maximum", I1, I2, np.maximum),
    ("equal", X, np.where(X > 0, X, Y), np.equal),
    ("not_equal", X, np.where(X > 0, X, Y), np.not_equal),
    ("less", X, Y, np.less),
    ("less_equal", X, np.minimum(X, Y), np.less_equal),
    ("greater", X, Y, np.greater),
    ("greater_equal", X, np.minimum(X, Y), np.greater_equal),
    ("logical_and", X, Y > 0, np.logical_and),
    ("logical_or", X, X > 0, np.logical_or),
    ("bitwise_and", I1, I2, np.bitwise_and),
    ("bitwise_or", I1, I2, np.bitwise_or),
    ("bitwise_xor", I1, I2, np.bitwise_xor),
    ("left_shift", I1, np.array([1, 2, 3], np.int32), np.left_shift),
    ("right_shift", I1, np.array([1, 2, 3], np.int32), np.right_shift),
]


@pytest.mark.parametrize("name,a,b,ref", BINARY, ids=[f"{t[0]}-{t[1].dtype}" for t in BINARY])
def test_binary(name, a, b, ref):
    expected = ref(a, b)
    fn = getattr(B, name)
    check(fn(a, b), expected, rtol=2e-6)
    check(fn(jnp.asarray(a), jnp.asarray(b)), expected, rtol=2e-6)
    check(fn(FakeVariable(a), b), expected, rtol=2e-6)


def test_floor_divide_and_mod_follow_python_signs():
    check(B.floor_divide(np.int32(-7), np.int32(2)), np.int32(-4))
    check(B.mod(np.array([-7, 7, -7], np.int32), np.array([3, -3, -3], np.int32)), np.array([2, -2, -1], np.int32))
    check(B.mod(np.float32(-1.0), np.float32(3.0)), np.float32(2.0))


def test_divide_of_integers_is_float():
    check(B.divide(I1, I2), (I1 / I2).astype(np.float32))


def test_binary_with_scalars():
    check(B.add(X, 1.0), X + np.float32(1.0))
    check(B.subtract(2, I1), 2 - I1)
    check(B.multiply(3.0, X), 3 * X)
    check(B.power(POS, 2), POS**2)
    check(B.maximum(X, 0.0), np.maximum(X, 0))
    check(B.minimum(0.5, X), np.minimum(X, 0.5))
    check(B.greater(X, 0.0), X > 0)
    check(B.equal(I1, 3), I1 == 3)


def test_clip():
    check(B.clip(X, -1.0, 1.0), np.clip(X, -1, 1))
    check(B.clip(I1, 0, 5), np.clip(I1, 0, 5))
    lo, hi = np.full((2, 3), -0.5, np.float32), np.array([0.0, 0.1, 2.0], np.float32)
    check(B.clip(X, lo, hi), np.clip(X, lo, hi))


def test_where():
    check(B.where(X > 0, X, Y), np.where(X > 0, X, Y))
    check(B.where(X > 0, X, 0.0), np.where(X > 0, X, np.float32(0)))
    check(B.where(X > 0, 1.0, -1.0), np.where(X > 0, 1.0, -1.0).astype(np.float32))
    check(B.where(np.array([True, False, True]), I1, I2[0]), np.where([True, False, True], I1, I2[0]))


def test_weak_typing_of_python_scalars():
    f32 = jnp.asarray(X)
    assert B.dtype(B.add(f32, 2.0)) == "float32"
    assert B.dtype(B.multiply(2, f32)) == "float32"
    bf = jnp.asarray(X, dtype=jnp.bfloat16)
    assert B.dtype(B.multiply(bf, 2.0)) == "bfloat16"
    f16 = jnp.asarray(X, dtype=jnp.float16)
    assert B.dtype(B.subtract(f16, 0.5)) == "float16"
    assert B.dtype(B.where(f16 > 0, f16, 0.0)) == "float16"
    assert B.dtype(B.add(jnp.asarray(I1), 1)) == "int32"
    i8 = jnp.asarray([1, 2], dtype=jnp.int8)
    assert B.dtype(B.multiply(i8, 3)) == "int8"
    assert B.dtype(B.clip(f16, 0.0, 1.0)) == "float16"
    assert B.dtype(B.maximum(bf, 0.0)) == "bfloat16"


def test_int32_multiply_wraps_around():
    a = np.array([0x7FFFFFFF, 123456789, -0x7FFFFFFF, 0x10000], np.int32)
    b = np.array([3, 1000, 5, 0x10000], np.int32)
    with np.errstate(over="ignore"):
        expected = a * b
    check(B.multiply(a, b), expected)
    np.testing.assert_array_equal(np.asarray(B.multiply(a, b)), [2147483645, -1097262584, -2147483643, 0])
    check(B.add(np.array([0x7FFFFFFF], np.int32), 1), np.array([-0x80000000], np.int32))
    check(B.left_shift(np.array([0x40000001, 1 << 30], np.int32), 1), np.array([-2147483646, -2147483648], np.int32))
    # uint32 wraps as well (hash-style arithmetic)
    u = np.array([0xFFFFFFFF, 0x9E3779B9], np.uint32)
    with np.errstate(over="ignore"):
        check(B.multiply(u, np.uint32(0x85EBCA6B)), u * np.uint32(0x85EBCA6B))


def test_right_shift_is_arithmetic_for_signed():
    x = np.array([-8, -1, -7, 7, -2147483648], np.int32)
    check(B.right_shift(x, 1), np.array([-4, -1, -4, 3, -1073741824], np.int32))
    check(B.right_shift(x, np.int32(31)), np.array([-1, -1, -1, 0, -1], np.int32))
    u = np.array([0x80000000, 0xFFFFFFFF], np.uint32)
    check(B.right_shift(u, np.uint32(4)), u >> np.uint32(4))  # logical for unsigned


# ----------------------------------------------------------------------------------------------------------------
# Reductions

AXES = [None, 0, 1, -1, (0, 1)]


def _logsumexp(x, axis=None, keepdims=False):
    x = x.astype(np.float64)
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


REDUCTIONS = [
    ("sum", X, np.sum),
    ("sum", I1, np.sum),
    ("mean", X, np.mean),
    ("max", X, np.max),
    ("min", X, np.min),
    ("max", I1, np.max),
    ("prod", X, np.prod),
    ("prod", I1, np.prod),
    ("var", X, np.var),
    ("std", X, np.std),
    ("any", X, np.any),
    ("all", X, np.all),
    ("any", X > 1, np.any),
    ("all", X > -2, np.all),
    ("logsumexp", X, _logsumexp),
]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name,x,ref", REDUCTIONS, ids=[f"{r[0]}-{r[1].dtype}" for r in REDUCTIONS])
def test_reduction(name, x, ref, axis, keepdims):
    got = getattr(B, name)(x, axis=axis, keepdims=keepdims)
    expected = ref(x, axis=axis, keepdims=keepdims)
    check(got, expected, rtol=2e-6)
    if np.asarray(expected).dtype == np.int64:
        assert B.dtype(got) in ("int32", "int64")


def test_reduction_with_axis_list_and_3d():
    check(B.sum(X3, axis=[0, 2]), X3.sum(axis=(0, 2)))
    check(B.mean(X3, axis=(0, -1), keepdims=True), X3.mean(axis=(0, -1), keepdims=True))
    check(B.max(FakeVariable(X3), axis=1), X3.max(axis=1))


def test_mean_of_integers_is_float32():
    got = B.mean(I1)
    assert B.dtype(got) == "float32"
    check(got, np.float32(I1.mean()))
    check(B.mean(I1, axis=0), I1.mean(axis=0).astype(np.float32))
    check(B.mean(np.array([True, False, True, True])), np.float32(0.75))
    assert B.dtype(B.var(I1)) == "float32"


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_first_index_int32(name, axis, keepdims):
    got = getattr(B, name)(TIES, axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(TIES, axis=axis, keepdims=keepdims).astype(np.int32)
    check(got, expected)
    assert B.dtype(got) == "int32"


def test_argmax_known_values():
    check(B.argmax(TIES, axis=1), np.array([1, 0], np.int32))
    check(B.argmin(TIES, axis=1), np.array([3, 2], np.int32))
    check(B.argmax(TIES), np.int32(1))


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumsum_cumprod(axis):
    check(B.cumsum(X, axis=axis), np.cumsum(X, axis=axis))
    check(B.cumprod(X, axis=axis), np.cumprod(X, axis=axis))
    check(B.cumsum(I1, axis=axis), np.cumsum(I1, axis=axis).astype(np.int32))


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_sort_argsort(axis):
    check(B.sort(TIES, axis=axis), np.sort(TIES, axis=axis))
    check(B.argsort(TIES, axis=axis), np.argsort(TIES, axis=axis, kind="stable").astype(np.int32))
    check(B.sort(I1, axis=axis), np.sort(I1, axis=axis))


def test_argsort_known_values_are_stable():
    check(B.argsort(np.array([3.0, 1.0, 3.0, 1.0, 2.0], np.float32)), np.array([1, 3, 4, 0, 2], np.int32))


def test_top_k():
    values, indices = B.top_k(TIES, 2)
    check(values, np.array([[3.0, 3.0], [2.0, 2.0]], np.float32))
    check(indices, np.array([[1, 2], [0, 1]], np.int32))
    x = np.array([0.1, 0.9, -0.3, 0.7, 0.9], np.float32)
    values, indices = B.top_k(x, 3, sorted=True)
    check(values, np.array([0.9, 0.9, 0.7], np.float32))
    check(indices, np.array([1, 4, 3], np.int32))
    values, indices = B.top_k(X3, 1)
    check(values, X3.max(axis=-1, keepdims=True))
    check(indices, np.full((2, 3, 1), 3, np.int32))


# ----------------------------------------------------------------------------------------------------------------
# Shapes and indexing


def test_reshape_transpose():
    check(B.reshape(X3, (4, -1)), X3.reshape(4, -1))
    check(B.reshape(X3, [6, 4]), X3.reshape(6, 4))
    check(B.reshape(X, -1), X.reshape(-1))
    check(B.transpose(X3), X3.transpose())
    check(B.transpose(X3, (1, 0, 2)), X3.transpose(1, 0, 2))
    check(B.transpose(X3, [2, 0, 1]), X3.transpose(2, 0, 1))


def test_expand_dims_squeeze():
    check(B.expand_dims(X, 0), X[None])
    check(B.expand_dims(X, -1), X[..., None])
    check(B.expand_dims(X, (0, 2)), np.expand_dims(X, (0, 2)))
    s = np.zeros((1, 3, 1, 2), np.float32) + np.arange(6, dtype=np.float32).reshape(1, 3, 1, 2)
    check(B.squeeze(s), s.reshape(3, 2))
    check(B.squeeze(s, 2), s[:, :, 0])
    check(B.squeeze(s, (0, 2)), s.reshape(3, 2))


def test_concatenate_stack_split():
    check(B.concatenate([X, Y]), np.concatenate([X, Y]))
    check(B.concatenate((X, FakeVariable(Y), jnp.asarray(POS)), axis=1), np.concatenate([X, Y, POS], axis=1))
    check(B.concatenate([X, Y], axis=-1), np.concatenate([X, Y], axis=-1))
    check(B.stack([X, Y]), np.stack([X, Y]))
    check(B.stack([X, Y], axis=-1), np.stack([X, Y], axis=-1))
    parts = B.split(X3, 3, axis=1)
    assert isinstance(parts, list) and len(parts) == 3
    for got, expected in zip(parts, np.split(X3, 3, axis=1)):
        check(got, expected)
    parts = B.split(X3, [1, 3], axis=-1)
    assert len(parts) == 3
    for got, expected in zip(parts, np.split(X3, [1, 3], axis=-1)):
        check(got, expected)


def test_tile_repeat_broadcast_flip():
    check(B.tile(X, (2, 1)), np.tile(X, (2, 1)))
    check(B.tile(X, 2), np.tile(X, 2))
    check(B.tile(X[0], (2, 2)), np.tile(X[0], (2, 2)))
    check(B.repeat(X, 2), np.repeat(X, 2))
    check(B.repeat(X, 3, axis=1), np.repeat(X, 3, axis=1))
    check(B.repeat(X, [1, 0, 2], axis=1), np.repeat(X, [1, 0, 2], axis=1))
    check(B.broadcast_to(X[0], (4, 3)), np.broadcast_to(X[0], (4, 3)))
    check(B.broadcast_to(np.float32(2.0), [2, 2]), np.full((2, 2), 2.0, np.float32))
    check(B.flip(X), np.flip(X))
    check(B.flip(X3, 1), np.flip(X3, 1))
    check(B.flip(X3, (0, 2)), np.flip(X3, (0, 2)))


def test_take_take_along_axis():
    idx = np.array([2, 0, -1], np.int32)
    check(B.take(X, idx), np.take(X, idx))
    check(B.take(X, idx, axis=1), np.take(X, idx, axis=1))
    check(B.take(X3, np.array([[1, 0], [0, 1]]), axis=0), np.take(X3, [[1, 0], [0, 1]], axis=0))
    check(B.take(X, [1], axis=0), X[[1]])
    tidx = np.array([[2, 0], [1, -1]], np.int32)
    check(B.take_along_axis(X, tidx, axis=1), np.take_along_axis(X, tidx, axis=1))
    order = np.argsort(X3, axis=1)
    check(B.take_along_axis(X3, order, axis=1), np.take_along_axis(X3, order, axis=1))
    flat = np.array([5, 0, 3], np.int32)
    check(B.take_along_axis(X, flat, axis=None), np.take_along_axis(X, flat, axis=None))


def test_one_hot():
    labels = np.array([0, 2, 1, -1, 3], np.int32)
    expected = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 0], [0, 0, 0]], np.float32)
    check(B.one_hot(labels, 3), expected)
    check(B.one_hot(labels, 3, axis=0), expected.T)
    check(B.one_hot(labels, 3, dtype="int32"), expected.astype(np.int32))
    check(B.one_hot(np.array([[1], [0]]), 2), np.array([[[0, 1]], [[1, 0]]], np.float32))


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric", "edge"])
def test_pad(mode):
    width = ((1, 2), (2, 1))
    check(B.pad(X, width, mode=mode), np.pad(X, width, mode=mode))
    check(B.pad(I1, [[0, 1], [1, 1]], mode=mode), np.pad(I1, [[0, 1], [1, 1]], mode=mode))


def test_pad_constant_value():
    check(B.pad(X, ((1, 1), (0, 2)), constant_values=-3.0), np.pad(X, ((1, 1), (0, 2)), constant_values=-3.0))
    check(B.pad(X3, ((0, 0), (1, 0), (0, 1))), np.pad(X3, ((0, 0), (1, 0), (0, 1))))


@pytest.mark.parametrize("k", [-1, 0, 1])
def test_tril_triu_diag(k):
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    check(B.tril(m, k), np.tril(m, k))
    check(B.triu(m, k), np.triu(m, k))
    check(B.tril(X3, k), np.tril(X3, k))
    check(B.triu(X3, k), np.triu(X3, k))
    check(B.diag(m, k), np.diag(m, k))
    check(B.diag(np.array([1.0, 2.0, 3.0], np.float32), k), np.diag(np.array([1.0, 2.0, 3.0], np.float32), k))


@pytest.mark.parametrize(
    "start,stop,axis", [(0, 2, 0), (1, 3, 1), (-2, None, -1), (None, -1, 2), (1, 100, 1), (2, 1, 1), (-100, 2, 0)]
)
def test_slice_along_axis(start, stop, axis):
    index = [slice(None)] * 3
    index[axis] = slice(start, stop)
    check(B.slice_along_axis(X3, start, stop, axis), X3[tuple(index)])


def test_scatter_update():
    x = np.zeros((3, 4), np.float32)
    got = B.scatter_update(x, np.array([[0, 1], [2, 3], [1, 0]]), np.array([1.0, 2.0, 3.0], np.float32))
    expected = x.copy()
    expected[0, 1], expected[2, 3], expected[1, 0] = 1.0, 2.0, 3.0
    check(got, expected)
    assert np.all(x == 0)  # the input is not modified
    # indices shorter than the rank update whole rows
    got = B.scatter_update(jnp.asarray(I1), [[1]], np.array([[5, 6, 7]], np.int32))
    check(got, np.array([[7, -7, 3], [5, 6, 7]], np.int32))


def test_unique_int():
    check(B.unique_int(np.array([3, 1, 3, -2, 1, 0], np.int32)), np.array([-2, 0, 1, 3], np.int32))
    check(B.unique_int(jnp.asarray(I1 % 3)), np.unique(I1 % 3))


# ----------------------------------------------------------------------------------------------------------------
# Linear algebra


def test_matmul_dot_tensordot_einsum():
    a = np.arange(6, dtype=np.float32).reshape(2, 3) / 3.0
    b = np.arange(12, dtype=np.float32).reshape(3, 4) / 5.0 - 1.0
    check(B.matmul(a, b), a @ b, rtol=1e-5)
    batch = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7.0
    check(B.matmul(batch, b.T), batch @ b.T, rtol=1e-5)  # broadcasts the 2-D operand
    check(B.matmul(a, b[:, 0]), a @ b[:, 0], rtol=1e-5)
    check(B.matmul(I1, I2.T), I1 @ I2.T)
    check(B.dot(a[0], b[:, 1]), np.dot(a[0], b[:, 1]), rtol=1e-5)
    check(B.dot(a, b), np.dot(a, b), rtol=1e-5)
    check(B.dot(a, 2.0), a * 2)
    check(B.tensordot(a, b, axes=1), np.tensordot(a, b, axes=1), rtol=1e-5)
    bt = batch.transpose(1, 2, 0)
    check(B.tensordot(batch, bt, axes=2), np.tensordot(batch, bt, axes=2), rtol=1e-5)
    check(B.tensordot(batch, b, axes=([1], [0])), np.tensordot(batch, b, axes=([1], [0])), rtol=1e-5)
    check(B.einsum("ij,jk->ik", a, b), np.einsum("ij,jk->ik", a, b), rtol=1e-5)
    check(B.einsum("bij,kj->bik", batch, FakeVariable(b)), np.einsum("bij,kj->bik", batch, b), rtol=1e-5)
    check(B.einsum("ii", np.eye(3, dtype=np.float32) * 2), np.float32(6.0))


# ----------------------------------------------------------------------------------------------------------------
# Neural-network primitives

Z = np.array([-100.0, -20.0, -2.0, -0.5, 0.0, 0.5, 1.0, 3.0, 20.0, 100.0], np.float32)
Zd = Z.astype(np.float64)
_SQRT2 = math.sqrt(2.0)


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805

ACTIVATIONS = [
    ("relu", {}, np.maximum(Zd, 0)),
    ("sigmoid", {}, _sigmoid(Zd)),
    ("softplus", {}, np.logaddexp(0, Zd)),
    ("softsign", {}, Zd / (1 + np.abs(Zd))),
    ("silu", {}, Zd * _sigmoid(Zd)),
    ("gelu", {}, 0.5 * Zd * (1 + np.tanh(math.sqrt(2 / math.pi) * (Zd + 0.044715 * Zd**3)))),
    ("gelu", {"approximate": False}, 0.5 * Zd * (1 + _erf(Zd / _SQRT2))),
    ("elu", {}, np.where(Zd > 0, Zd, np.expm1(np.minimum(Zd, 0)))),
    ("elu", {"alpha": 0.5}, np.where(Zd > 0, Zd, 0.5 * np.expm1(np.minimum(Zd, 0)))),
    ("selu", {}, SELU_SCALE * np.where(Zd > 0, Zd, SELU_ALPHA * np.expm1(np.minimum(Zd, 0)))),
    ("leaky_relu", {}, np.where(Zd >= 0, Zd, 0.2 * Zd)),
    ("leaky_relu", {"negative_slope": 0.01}, np.where(Zd >= 0, Zd, 0.01 * Zd)),
    ("log_sigmoid", {}, -np.logaddexp(0, -Zd)),
]


@pytest.mark.parametrize(
    "name,kwargs,expected", ACTIVATIONS, ids=[f"{a[0]}-{'-'.join(map(str, a[1].values()))}" for a in ACTIVATIONS]
)
def test_activation(name, kwargs, expected):
    got = getattr(B, name)(Z, **kwargs)
    check(got, expected.astype(np.float32), rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(np.asarray(got)))


def test_selu_and_gelu_known_values():
    check(B.selu(np.array([1.0, -1.0], np.float32)), np.array([1.0507009873554805, -1.1113307], np.float32))
    check(B.gelu(np.array([1.0], np.float32), approximate=False), np.array([0.8413447], np.float32))
    check(B.gelu(np.array([1.0], np.float32)), np.array([0.8411920], np.float32))


def test_activations_promote_integers():
    check(B.sigmoid(np.array([0, 2], np.int32)), _sigmoid(np.array([0.0, 2.0])).astype(np.float32))
    check(B.relu(np.array([-1, 2], np.int32)), np.array([0, 2], np.int32))


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_log_softmax(axis):
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1001.0, 999.0]], np.float32)
    xd = x.astype(np.float64)
    shifted = xd - xd.max(axis=axis, keepdims=True)
    log_sm = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    check(B.softmax(x, axis=axis), np.exp(log_sm).astype(np.float32), rtol=1e-5)
    check(B.log_softmax(x, axis=axis), log_sm.astype(np.float32), rtol=1e-5, atol=1e-5)
    check(B.softmax(X3, axis=1), np.exp(X3) / np.exp(X3).sum(axis=1, keepdims=True), rtol=1e-5)


# ----------------------------------------------------------------------------------------------------------------
# Differentiation, compilation and execution


def _loss(params, x, y):
    w, b, unused = params
    err = x * w + b - y
    return (err * err).sum()


def test_value_and_grad_matches_hand_computed_gradient():
    x = np.array([1.0, 2.0, -1.0], np.float32)
    y = np.array([0.5, 1.0, 2.0], np.float32)
    w, b, unused = np.float32(1.5), np.float32(-0.5), np.array([1.0, 2.0], np.float32)
    loss, grads = B.value_and_grad(_loss)([jnp.asarray(w), jnp.asarray(b), jnp.asarray(unused)], x, y)
    err = x * w + b - y  # [0.5, 1.5, -4.0]
    check(loss, np.float32(np.sum(err**2)))
    np.testing.assert_allclose(np.asarray(loss), 18.5, rtol=1e-6)
    assert isinstance(grads, list) and len(grads) == 3
    check(grads[0], np.float32(2 * np.sum(err * x)))  # 2 * (0.5 + 3.0 + 4.0) = 15
    check(grads[1], np.float32(2 * np.sum(err)))  # 2 * (-2.0) = -4
    check(grads[2], np.zeros(2, np.float32))  # does not influence the loss
    np.testing.assert_allclose([float(grads[0]), float(grads[1])], [15.0, -4.0])


def test_value_and_grad_with_aux_and_variables():
    def fn(params, x):
        (w,) = params
        y = B.matmul(x, w)
        return B.sum(B.square(y)), {"y": y}

    w = np.array([[1.0], [-2.0]], np.float32)
    x = np.array([[1.0, 1.0], [0.5, 2.0]], np.float32)
    (loss, aux), grads = B.value_and_grad(fn, has_aux=True)([FakeVariable(w)], x)
    y = x @ w  # [[-1], [-3.5]]
    check(loss, np.float32((y**2).sum()))
    check(aux["y"], y)
    check(grads[0], 2 * x.T @ y)


def test_stop_gradient():
    def fn(params):
        (w,) = params
        return B.sum(w * B.stop_gradient(w))

    w = jnp.asarray([1.0, -3.0])
    loss, grads = B.value_and_grad(fn)([w])
    check(loss, np.float32(10.0))
    check(grads[0], np.array([1.0, -3.0], np.float32))  # d/dw (w * c) = c
    check(B.stop_gradient(X), X)


def _step(params, x):
    def loss_fn(p, x):
        h = B.relu(B.matmul(x, p[0]) + p[1])
        return B.mean(B.square(h))

    loss, grads = B.value_and_grad(loss_fn)(params, x)
    return [p - 0.1 * g for p, g in zip(params, grads)], loss


def test_compile_step_matches_eager():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    params = [rng.standard_normal((3, 2)).astype(np.float32), np.array([0.1, -0.2], np.float32)]
    assert B.compile_step(_step, jit_compile=False) is _step
    eager_params, eager_loss = _step([jnp.asarray(p) for p in params], x)
    compiled = B.compile_step(_step)
    jit_params, jit_loss = compiled([jnp.asarray(p) for p in params], x)
    check(jit_loss, np.asarray(eager_loss), rtol=1e-6)
    for a, b in zip(jit_params, eager_params):
        check(a, np.asarray(b), rtol=1e-6)
    # buffer donation of the parameters
    donated = B.compile_step(_step, donate_argnums=(0,), jit_compile=True)
    new_params, loss = donated([jnp.asarray(p) for p in params], x)
    check(loss, np.asarray(eager_loss), rtol=1e-6)
    check(new_params[0], np.asarray(eager_params[0]), rtol=1e-6)


def test_primitives_trace_under_jit():
    @jax.jit
    def fn(x, idx):
        y = B.multiply(B.relu(x), 2.0)
        y = B.scatter_update(y, idx, B.ones((2,)))
        v, i = B.top_k(y, 2)
        s = B.slice_along_axis(y, 1, 3, axis=1)
        return (
            B.sum(y),
            v,
            i,
            s,
            B.take(y, B.argmax(y, axis=1), axis=1),
            B.one_hot(i[:, 0], 3),
            B.cast(B.shape(x)[0], "float32"),
            B.convert_to_tensor(y, dtype="int32"),
            B.mean(B.cast(x > 0, "int32")),
        )

    idx = np.array([[0, 0], [1, 2]], np.int32)
    out = fn(X, idx)
    y = np.maximum(X, 0) * 2
    y[0, 0], y[1, 2] = 1.0, 1.0
    check(out[0], np.float32(y.sum()))
    check(out[1], -np.sort(-y, axis=1)[:, :2])
    check(out[2], np.array([[0, 1], [1, 0]], np.int32))  # ties go to the lower index
    check(out[3], y[:, 1:3])
    check(out[4], np.take(y, np.argmax(y, axis=1), axis=1))
    check(out[5], np.array([[1, 0, 0], [0, 1, 0]], np.float32))
    check(out[6], np.float32(2.0))
    check(out[7], y.astype(np.int32))
    check(out[8], np.float32(0.5))


def test_inference_mode_and_device_name():
    with B.inference_mode():
        check(B.add(X, 1.0), X + 1)
    name = B.device_name()
    assert isinstance(name, str)
    platform, _, index = name.partition(":")
    assert platform == jax.devices()[0].platform and index == str(jax.devices()[0].id)


def test_activation_gradients():
    def fn(params):
        (x,) = params
        return B.sum(B.relu(x)) + B.sum(B.multiply(B.softmax(x), np.array([1.0, 0.0, 0.0], np.float32)))

    x = np.array([-1.0, 0.0, 2.0], np.float32)
    _, grads = B.value_and_grad(fn)([jnp.asarray(x)])
    s = np.exp(x) / np.exp(x).sum()
    softmax_grad = s[0] * (np.eye(3)[0] - s)  # d softmax_0 / dx
    check(grads[0], (np.array([0.0, 0.0, 1.0]) + softmax_grad).astype(np.float32))  # relu'(0) = 0, as torch


def test_logsumexp_gradient_is_softmax():
    _, grads = B.value_and_grad(lambda p: B.logsumexp(p[0]))([jnp.asarray(X)])
    check(grads[0], np.exp(X) / np.exp(X).sum(), rtol=1e-5)


# ----------------------------------------------------------------------------------------------------------------
# Fused primitives: list ops, the counter hash, many steps in one call


def _np_mix(x):
    x = x.astype(np.uint32)
    for shift, mult in ((16, 0x7FEB352D), (15, 0x846CA68B), (16, None)):
        x = x ^ (x >> np.uint32(shift))
        if mult is not None:
            x = (x.astype(np.uint64) * mult % 2**32).astype(np.uint32)
    return x


def _np_counter_bits(seed, counter, n):
    key = _np_mix(_np_mix(np.array([(counter + 0x632BE5AB) % 2**32])) ^ np.uint32(seed % 2**32))
    pos = (np.arange(n, dtype=np.uint64) * 0x9E3779B9 % 2**32).astype(np.uint32)
    bits = _np_mix(pos ^ key)
    return _np_mix((bits.astype(np.uint64) + key) % 2**32).view(np.int32)


@pytest.mark.parametrize("seed,counter", [(0, 0), (12345, 7), (2**31 - 2, 2**31 - 1), (-5, -1)])
def test_counter_bits_match_the_documented_formula(seed, counter):
    out = B.counter_bits(np.array([seed, counter], np.int32), 37)
    check(out, _np_counter_bits(seed, counter, 37))
    jitted = jax.jit(lambda s: B.counter_bits(s, 37))(jnp.array([seed, counter], jnp.int32))
    check(jitted, _np_counter_bits(seed, counter, 37))


def test_foreach_ops_equal_the_single_tensor_ops_bit_for_bit():
    xs, ys = [jnp.asarray(X), jnp.asarray(X[0])], [jnp.asarray(Y), jnp.asarray(Y[1])]
    s = jnp.float32(0.3)
    for name in ("add", "subtract", "multiply", "divide", "maximum"):
        fused, single = getattr(B, f"foreach_{name}"), getattr(B, name)
        for operand, pairs in ((ys, ys), (0.3, [0.3, 0.3]), (s, [s, s])):
            out = fused(xs, operand)
            assert isinstance(out, list) and len(out) == 2
            for o, x, y in zip(out, xs, pairs):
                np.testing.assert_array_equal(np.asarray(o), np.asarray(single(x, y)))
    out = B.foreach_sqrt([jnp.asarray(POS)], inplace=True)
    np.testing.assert_array_equal(np.asarray(out[0]), np.asarray(B.sqrt(POS)))
    xs_before = [np.asarray(x).copy() for x in xs]
    B.foreach_add(xs, 1.0, inplace=True)  # jax arrays are immutable: ``inplace`` returns new arrays
    for x, before in zip(xs, xs_before):
        np.testing.assert_array_equal(np.asarray(x), before)


def _multi_fn(scale, state, counter, batch):
    x, (y, none) = batch["x"], batch["rest"]
    assert none is None
    return [B.add(state[0], B.multiply(B.sum(x), scale)), B.add(state[1], B.mean(y))], B.add(counter, 1)


@pytest.mark.parametrize("jit_compile", [True, False])
def test_compile_multi_step_equals_one_step_at_a_time(jit_compile):
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(4, 3, 2)).astype(np.float32)
    ys = rng.normal(size=(4, 3)).astype(np.float32)
    state0 = ([jnp.float32(0.0), jnp.float32(1.0)], jnp.int32(0))
    single = B.compile_step(_multi_fn, jit_compile=jit_compile)
    state = state0
    for i in range(4):
        state = single(jnp.float32(0.5), *state, {"x": xs[i], "rest": (ys[i], None)})
    multi = B.compile_multi_step(_multi_fn, 1, 2, jit_compile=jit_compile)
    out = multi(jnp.float32(0.5), *state0, {"x": jnp.asarray(xs), "rest": (jnp.asarray(ys), None)})
    assert isinstance(out, tuple) and len(out) == 2
    for a, b in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(out[1]) == 4


def test_foreach_blocked_is_one_call_on_jax():
    calls = []

    def fn(xs, ys):
        calls.append(len(xs))
        return B.foreach_add(xs, ys), "ignored"

    xs, ys = [jnp.ones((600, 600)), jnp.ones(3)], [jnp.full((600, 600), 2.0), jnp.full(3, 2.0)]
    out = B.foreach_blocked(fn, [xs, ys], 1)
    assert calls == [2] and len(out) == 1
    np.testing.assert_array_equal(np.asarray(out[0][0]), np.full((600, 600), 3.0, np.float32))
