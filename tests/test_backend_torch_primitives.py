"""The PyTorch backend against numpy: every primitive of `kshim.backends.interface`, on small fixed inputs."""

import inspect
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from kshim import config  # noqa: E402

if config.backend() != "torch":  # the suite runs once per backend; test each backend in its own pass
    pytest.skip("torch primitives are tested in the KSHIM_BACKEND=torch pass", allow_module_level=True)
torch = pytest.importorskip("torch")

from kshim.backends import B  # noqa: E402  (the torch backend, bound to the contract)
from kshim.backends.torch.core import DEVICE  # noqa: E402
from kshim.backends import interface  # noqa: E402

X = np.array([[-1.5, -0.5, 0.0], [0.5, 1.5, 2.5]], dtype=np.float32)
POS = np.array([[0.25, 0.5, 1.0], [2.0, 3.0, 4.0]], dtype=np.float32)
I32 = np.array([[-7, -2, 0], [3, 7, 9]], dtype=np.int32)
R3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 11.0


def check(out, expected, rtol=1e-6, atol=1e-6, dtype=None):
    assert B.is_tensor(out), type(out)
    got = B.convert_to_numpy(out)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if dtype is not None:
        assert B.dtype(out) == dtype, B.dtype(out)
    if got.dtype == bool or np.issubdtype(got.dtype, np.integer):
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


class FakeVariable:
    _kshim_variable = True

    def __init__(self, value):
        self.value = value


# ----------------------------------------------------------------------------------------------------------------
# Completeness


def test_every_primitive_is_implemented():
    assert B.MISSING == ()
    assert len(interface.PRIMITIVES) > 120
    for name, stub in interface.PRIMITIVES.items():
        assert inspect.signature(getattr(B, name)) == inspect.signature(stub), name


# ----------------------------------------------------------------------------------------------------------------
# Creation, conversion, dtypes, devices


def test_convert_to_tensor_dtypes():
    assert B.dtype(B.convert_to_tensor(np.zeros(2, np.float64))) == "float64"
    assert B.dtype(B.convert_to_tensor(np.zeros(2, np.int64))) == "int64"
    assert B.dtype(B.convert_to_tensor([1.0, 2.0])) == "float32"
    assert B.dtype(B.convert_to_tensor([1, 2])) == "int32"
    assert B.dtype(B.convert_to_tensor(3)) == "int32"
    assert B.dtype(B.convert_to_tensor(True)) == "bool"
    assert B.dtype(B.convert_to_tensor([2**40])) == "int64"
    check(B.convert_to_tensor([1, 2], dtype="float16"), np.array([1, 2], np.float16), dtype="float16")
    check(B.convert_to_tensor(np.arange(4)[::-1]), [3, 2, 1, 0])
    ro = np.arange(3.0)
    ro.flags.writeable = False
    check(B.convert_to_tensor(ro), [0.0, 1.0, 2.0], dtype="float64")
    t = torch.ones(2)
    assert B.convert_to_tensor(t) is t
    assert B.convert_to_tensor(FakeVariable(t)) is t
    check(B.add(FakeVariable(t), 1.0), [2.0, 2.0])
    check(B.convert_to_tensor([torch.tensor(1.0), torch.tensor(2.5)]), [1.0, 2.5], dtype="float32")


def test_convert_to_numpy_is_tensor_shape():
    t = torch.ones(2, 3, requires_grad=True) * 2
    a = B.convert_to_numpy(t)
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(a, np.full((2, 3), 2.0, np.float32))
    np.testing.assert_array_equal(B.convert_to_numpy(torch.tensor([1.5], dtype=torch.bfloat16)), [1.5])
    np.testing.assert_array_equal(B.convert_to_numpy(FakeVariable(torch.arange(3))), [0, 1, 2])
    assert B.convert_to_numpy(X) is X
    assert B.is_tensor(torch.zeros(1)) and not B.is_tensor(X) and not B.is_tensor(FakeVariable(torch.zeros(1)))
    assert B.shape(torch.zeros(2, 3)) == (2, 3) and type(B.shape(torch.zeros(2))[0]) is int
    assert B.shape(X) == (2, 3) and B.shape([[1, 2, 3]]) == (1, 3)
    assert B.shape(FakeVariable(torch.zeros(4, 1))) == (4, 1)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32",
                                  "int64", "uint8", "uint16", "uint32", "bool"])
def test_dtype_cast_round_trip(name):
    t = B.cast(np.array([0, 1, 1], np.float32), name)
    assert B.dtype(t) == name
    assert B.cast(t, name) is t
    assert B.dtype(B.zeros((2,), dtype=name)) == name


def test_cast_values():
    check(B.cast(np.array([-1.7, 2.7], np.float32), "int32"), np.array([-1, 2], np.int32), dtype="int32")
    check(B.cast(np.array([0, 2]), "bool"), [False, True], dtype="bool")


def test_creation():
    check(B.zeros((2, 3)), np.zeros((2, 3), np.float32), dtype="float32")
    check(B.ones(3, dtype="int32"), np.ones(3, np.int32), dtype="int32")
    check(B.full((2, 2), 7), np.full((2, 2), 7, np.int32), dtype="int32")
    check(B.full((2,), 1.5), [1.5, 1.5], dtype="float32")
    check(B.full((2, 2), np.array([1.0, 2.0], np.float32)), [[1.0, 2.0], [1.0, 2.0]])
    check(B.full((2,), 3, dtype="float64"), [3.0, 3.0], dtype="float64")
    check(B.zeros_like(I32), np.zeros_like(I32), dtype="int32")
    check(B.ones_like(X, dtype="float64"), np.ones((2, 3)), dtype="float64")
    check(B.full_like(X, 4.0), np.full((2, 3), 4.0, np.float32), dtype="float32")
    check(B.full_like(I32, 2.0, dtype="float32"), np.full((2, 3), 2.0), dtype="float32")
    check(B.arange(5), np.arange(5), dtype="int32")
    check(B.arange(1, 7, 2), np.arange(1, 7, 2))
    check(B.arange(0.0, 1.0, 0.25), np.arange(0.0, 1.0, 0.25), dtype="float32")
    check(B.arange(3, dtype="float32"), [0.0, 1.0, 2.0], dtype="float32")
    for n, m, k in [(3, None, 0), (3, 4, 1), (4, 3, -2), (2, 2, 5)]:
        check(B.eye(n, m, k), np.eye(n, m, k, dtype=np.float32), dtype="float32")
    src = torch.arange(3.0)
    c = B.copy(src)
    src[0] = 9.0
    check(c, [0.0, 1.0, 2.0])


def test_device_and_inference_mode():
    assert B.device_name() in ("cpu", "cuda") or B.device_name().startswith("cuda")
    assert B.zeros(1).device == DEVICE and B.convert_to_tensor([1.0]).device == DEVICE
    with B.inference_mode():
        assert torch.is_inference_mode_enabled()
        check(B.add(X, 1.0), X + 1.0)
    assert not torch.is_inference_mode_enabled()


# ----------------------------------------------------------------------------------------------------------------
# Elementwise math


SPECIAL = np.array([1.0, np.nan, np.inf, -np.inf], np.float32)
UNARY = [(n, getattr(np, n), x) for n, x in [
    ("negative", X), ("abs", X), ("sign", X), ("sqrt", POS), ("square", X), ("reciprocal", POS), ("exp", X),
    ("expm1", X * 1e-4), ("log", POS), ("log1p", X * 1e-4), ("sin", X), ("cos", X), ("tan", X), ("tanh", X),
    ("arctan", X), ("floor", X), ("ceil", X), ("logical_not", X > 0), ("isnan", SPECIAL), ("isinf", SPECIAL),
    ("isfinite", SPECIAL),
]] + [("erf", np.vectorize(math.erf), X)]


@pytest.mark.parametrize("name,ref,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, ref, x):
    out = getattr(B, name)(x)
    check(out, ref(x).astype(np.asarray(ref(x)).dtype), rtol=2e-6)
    if x.dtype == np.float32 and name not in ("isnan", "isinf", "isfinite"):
        assert B.dtype(out) == "float32"


def test_unary_int_inputs():
    check(B.abs(I32), np.abs(I32), dtype="int32")
    check(B.negative(I32), -I32, dtype="int32")
    check(B.sign(I32), np.sign(I32), dtype="int32")
    check(B.floor(I32), I32, dtype="int32")
    check(B.sqrt(np.array([4, 9], np.int32)), [2.0, 3.0], dtype="float32")


EQ = np.array([-1.5, 0.0, 0.0], np.float32)
LT = np.array([0.0, -0.5, 1.0], np.float32)
BINARY = [(n, getattr(np, n), a, b) for n, a, b in [
    ("add", X, POS), ("subtract", X, POS), ("multiply", X, POS), ("divide", X, POS), ("power", POS, X),
    ("maximum", X, POS[::-1] - 1), ("minimum", X, POS[::-1] - 1), ("equal", X, EQ), ("not_equal", X, EQ),
    ("less", X, LT), ("less_equal", X, LT), ("greater", X, LT), ("greater_equal", X, LT),
    ("logical_and", X > 0, X < 2), ("logical_or", X > 1, X < -1),
]]


@pytest.mark.parametrize("name,ref,a,b", BINARY, ids=[u[0] for u in BINARY])
def test_binary(name, ref, a, b):
    check(getattr(B, name)(a, b), ref(a, b), rtol=2e-6)
    check(getattr(B, name)(torch.as_tensor(a), torch.as_tensor(b)), ref(a, b), rtol=2e-6)


@pytest.mark.parametrize("name,ref", [("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply),
                                      ("divide", np.divide), ("maximum", np.maximum), ("minimum", np.minimum),
                                      ("power", np.power), ("less", np.less), ("equal", np.equal)])
def test_binary_with_python_scalars(name, ref):
    f = getattr(B, name)
    check(f(POS, 2.0), ref(POS, np.float32(2.0)), rtol=2e-6)
    check(f(2.0, POS), ref(np.float32(2.0), POS), rtol=2e-6)
    if name not in ("less", "equal"):
        assert B.dtype(f(POS, 2.0)) == "float32" and B.dtype(f(3, POS)) == "float32"


def test_weak_python_scalars():
    x32 = B.convert_to_tensor(X)
    assert B.dtype(B.add(x32, 2.0)) == "float32"
    assert B.dtype(B.multiply(2, x32)) == "float32"
    assert B.dtype(B.add(B.cast(X, "float16"), 2.0)) == "float16"
    assert B.dtype(B.add(I32, 2)) == "int32"
    assert B.dtype(B.maximum(I32, 0)) == "int32"
    assert B.dtype(B.maximum(B.cast(X, "float16"), 0.0)) == "float16"
    assert B.dtype(B.where(X > 0, x32, 0.0)) == "float32"
    check(B.add(1, 2), 3, dtype="int32")
    check(B.add(1.5, 2), 3.5, dtype="float32")


def test_integer_division_and_mod():
    a = np.array([-7, 7, -7, 7, 0], np.int32)
    b = np.array([2, 2, -2, -2, 3], np.int32)
    check(B.floor_divide(a, b), a // b, dtype="int32")
    check(B.mod(a, b), a % b, dtype="int32")
    check(B.divide(a, b), (a / b).astype(np.float32), dtype="float32")
    check(B.divide(a, 2), (a / 2).astype(np.float32), dtype="float32")
    fa = np.array([-7.5, 7.5, -7.5, 7.5], np.float32)
    fb = np.array([2.0, 2.0, -2.0, -2.0], np.float32)
    check(B.floor_divide(fa, fb), fa // fb)
    check(B.mod(fa, fb), fa % fb)
    check(B.mod(fa, 2.0), fa % np.float32(2.0))
    check(B.mod(5, np.array([3, -3], np.int32)), [2, -1])


def test_round_half_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.4, 2.6], np.float32)
    check(B.round(x), np.round(x))
    y = np.array([0.125, 1.275, -2.355, 12.5], np.float32)
    check(B.round(y, 2), np.round(y, 2), rtol=1e-6)
    check(B.round(np.array([15, 25, 31], np.int32), -1), np.round(np.array([15, 25, 31], np.int32), -1))
    check(B.round(I32), I32, dtype="int32")


def test_clip():
    check(B.clip(X, -1.0, 1.0), np.clip(X, -1.0, 1.0), dtype="float32")
    lo = np.array([-2.0, 0.0, 0.5], np.float32)
    hi = np.array([0.0, 1.0, 2.0], np.float32)
    check(B.clip(X, lo, hi), np.clip(X, lo, hi))
    check(B.clip(X, lo, 1.0), np.clip(X, lo, 1.0))
    check(B.clip(X, -1.0, hi), np.clip(X, -1.0, hi))
    check(B.clip(I32, 0, 5), np.clip(I32, 0, 5), dtype="int32")


def test_where():
    c = X > 0
    check(B.where(c, X, POS), np.where(c, X, POS))
    check(B.where(c, X, -1.0), np.where(c, X, np.float32(-1.0)), dtype="float32")
    check(B.where(c, 1.0, X), np.where(c, np.float32(1.0), X), dtype="float32")
    check(B.where(c, 1, 0), np.where(c, 1, 0), dtype="int32")
    check(B.where(np.array([1, 0, 2]), 1.0, 0.0), [1.0, 0.0, 1.0], dtype="float32")
    check(B.where(c[:, :1], X, 0.0), np.where(c[:, :1], X, 0.0))


def test_bitwise_and_shifts():
    a = np.array([-8, -1, 5, 0x7FFFFFFF, -(2**31)], np.int32)
    b = np.array([3, 12, 6, 255, 1], np.int32)
    check(B.bitwise_and(a, b), a & b, dtype="int32")
    check(B.bitwise_or(a, b), a | b, dtype="int32")
    check(B.bitwise_xor(a, b), a ^ b, dtype="int32")
    check(B.bitwise_xor(a, 0x5BD1E995), a ^ np.int32(0x5BD1E995), dtype="int32")
    s = np.array([1, 2, 3, 4, 1], np.int32)
    check(B.left_shift(a, s), np.left_shift(a, s), dtype="int32")
    check(B.right_shift(a, s), np.right_shift(a, s), dtype="int32")
    check(B.right_shift(np.array([-8, -1, -7], np.int32), 1), [-4, -1, -4], dtype="int32")
    check(B.left_shift(np.array([0x40000001], np.int32), 2), [4], dtype="int32")
    check(B.right_shift(np.array([200], np.uint8), 3), [25], dtype="uint8")


def test_int32_multiply_wraps():
    a = np.array([0x7FFFFFFF, -(2**31), 123456789, -98765], np.int32)
    b = np.array([2, 3, 0x27D4EB2F, 0x165667B1], np.int32)
    with np.errstate(over="ignore"):
        expected = a * b
        check(B.multiply(a, b), expected, dtype="int32")
        check(B.add(a, b), a + b, dtype="int32")
        check(B.multiply(a, np.int32(-1640531535)), a * np.int32(-1640531535), dtype="int32")


# ----------------------------------------------------------------------------------------------------------------
# Reductions

AXES = [None, 0, 1, -1, (0, 2), (2, 0, 1), ()]


@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name,ref", [("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min),
                                      ("prod", np.prod), ("var", np.var), ("std", np.std)])
def test_float_reductions(name, ref, axis, keepdims):
    x = R3 / 8.0
    check(getattr(B, name)(x, axis=axis, keepdims=keepdims), ref(x, axis=axis, keepdims=keepdims),
          rtol=1e-5, atol=1e-6, dtype="float32")


@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["any", "all"])
def test_logical_reductions(name, axis, keepdims):
    x = R3 > -3
    check(getattr(B, name)(x, axis=axis, keepdims=keepdims), getattr(np, name)(x, axis=axis, keepdims=keepdims),
          dtype="bool")
    check(getattr(B, name)(R3, axis=axis, keepdims=keepdims), getattr(np, name)(R3, axis=axis, keepdims=keepdims))


def test_integer_reductions():
    x = np.arange(1, 7, dtype=np.int32).reshape(2, 3)
    check(B.sum(x), 21, dtype="int32")
    check(B.sum(x, axis=0), [5, 7, 9], dtype="int32")
    check(B.sum(x > 2, axis=1), [1, 3], dtype="int32")
    check(B.prod(x, axis=(0, 1)), 720, dtype="int32")
    check(B.mean(x), 3.5, dtype="float32")
    check(B.mean(x, axis=1), [2.0, 5.0], dtype="float32")
    check(B.max(x, axis=1), [3, 6], dtype="int32")
    check(B.var(x), np.var(x), dtype="float32")
    check(B.cumsum(x), np.cumsum(x), dtype="int32")
    check(B.mean(np.array([True, False, True, True])), 0.75, dtype="float32")


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name):
    x = np.array([[1.0, 5.0, 5.0, 0.0], [3.0, 3.0, -1.0, -1.0], [2.0, 0.0, 2.0, 0.0]], np.float32)
    f, ref = getattr(B, name), getattr(np, name)
    for axis in (None, 0, 1, -1):
        for keepdims in (False, True):
            check(f(x, axis=axis, keepdims=keepdims), ref(x, axis=axis, keepdims=keepdims), dtype="int32")
    check(f(np.array([False, True, True])), ref(np.array([False, True, True])))


def test_logsumexp():
    x = R3 / 4.0
    ref = lambda a, axis, keepdims: np.log(np.sum(np.exp(a.astype(np.float64)), axis=axis, keepdims=keepdims))
    for axis in (None, 0, -1, (0, 2)):
        for keepdims in (False, True):
            check(B.logsumexp(x, axis=axis, keepdims=keepdims), ref(x, axis, keepdims), rtol=1e-6)
    big = np.array([1000.0, 1000.0], np.float32)
    check(B.logsumexp(big), 1000.0 + np.log(2.0), rtol=1e-6)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative(name):
    x = R3 / 10.0
    for axis in (None, 0, 1, -1):
        check(getattr(B, name)(x, axis=axis), getattr(np, name)(x, axis=axis), rtol=1e-5, atol=1e-6)


def test_sort_argsort_top_k():
    x = np.array([[3.0, 1.0, 2.0, 1.0, 3.0], [0.0, -1.0, 5.0, 5.0, 2.0]], np.float32)
    for axis in (-1, 0):
        check(B.sort(x, axis=axis), np.sort(x, axis=axis))
        check(B.argsort(x, axis=axis), np.argsort(x, axis=axis, kind="stable"), dtype="int32")
    check(B.sort(x, axis=None), np.sort(x, axis=None))
    check(B.argsort(x, axis=None), np.argsort(x, axis=None, kind="stable"))
    values, indices = B.top_k(x, 3)
    check(values, [[3.0, 3.0, 2.0], [5.0, 5.0, 2.0]])
    check(indices, [[0, 4, 2], [2, 3, 4]], dtype="int32")
    ties = np.array([1.0, 3.0, 3.0, 2.0, 3.0, 1.0] * 50, np.float32)
    v, i = B.top_k(ties, 5)
    check(v, [3.0] * 5)
    check(i, [1, 2, 4, 7, 8])


# ----------------------------------------------------------------------------------------------------------------
# Shapes and indexing


def test_reshape_transpose_expand_squeeze():
    check(B.reshape(R3, (4, -1)), R3.reshape(4, -1))
    check(B.reshape(R3, 24), R3.reshape(24))
    check(B.transpose(R3), np.transpose(R3))
    check(B.transpose(R3, (1, 0, 2)), np.transpose(R3, (1, 0, 2)))
    for axis in (0, -1, (0, 2), (-1, 0), (1, -2)):
        check(B.expand_dims(X, axis), np.expand_dims(X, axis))
    y = np.zeros((1, 3, 1, 2), np.float32)
    for axis in (None, 0, -2, (0, 2)):
        check(B.squeeze(y, axis), np.squeeze(y, axis))
    with pytest.raises(ValueError):
        B.squeeze(y, 1)


def test_concatenate_stack_split():
    check(B.concatenate([X, POS], axis=0), np.concatenate([X, POS], axis=0))
    check(B.concatenate([X, POS], axis=-1), np.concatenate([X, POS], axis=-1))
    check(B.stack([X, POS]), np.stack([X, POS]))
    check(B.stack([X, POS], axis=2), np.stack([X, POS], axis=2))
    x = np.arange(12.0, dtype=np.float32).reshape(6, 2)
    for ios, axis in [(3, 0), (2, 1), ([1, 4], 0), ([2], 0), ([0, 6], 0)]:
        parts, ref = B.split(x, ios, axis=axis), np.split(x, ios, axis=axis)
        assert isinstance(parts, list) and len(parts) == len(ref)
        for p, r in zip(parts, ref):
            check(p, r)
    with pytest.raises(ValueError):
        B.split(x, 4)


def test_tile_repeat_broadcast_flip():
    for reps in (2, (2, 1), (1, 2, 2), (3,)):
        check(B.tile(X, reps), np.tile(X, reps))
    check(B.repeat(X, 2), np.repeat(X, 2))
    check(B.repeat(X, 2, axis=1), np.repeat(X, 2, axis=1))
    check(B.repeat(X, [1, 3], axis=0), np.repeat(X, [1, 3], axis=0))
    check(B.repeat(X, [2], axis=0), np.repeat(X, [2], axis=0))
    check(B.broadcast_to(X[0], (4, 3)), np.broadcast_to(X[0], (4, 3)))
    for axis in (None, 0, -1, (0, 1)):
        check(B.flip(X, axis), np.flip(X, axis))


def test_take_and_take_along_axis():
    idx = np.array([[0, 2], [1, -1]], np.int32)
    check(B.take(R3, idx), np.take(R3, idx))
    for axis in (0, 1, 2, -1):
        check(B.take(R3, np.array([1, 0, -1]) % R3.shape[axis], axis=axis),
              np.take(R3, np.array([1, 0, -1]) % R3.shape[axis], axis=axis))
    check(B.take(R3, idx, axis=2), np.take(R3, idx, axis=2))
    check(B.take(R3, -1, axis=1), np.take(R3, -1, axis=1))
    order = np.argsort(R3 % 5, axis=-1)
    check(B.take_along_axis(R3, order, axis=-1), np.take_along_axis(R3, order, axis=-1))
    check(B.take_along_axis(R3, np.array([[[1]], [[0]]]), axis=0),
          np.take_along_axis(R3, np.array([[[1]], [[0]]]), axis=0))
    check(B.take_along_axis(R3, np.array([[[-1, 0]]]), axis=2), np.take_along_axis(R3, np.array([[[-1, 0]]]), axis=2))
    check(B.take_along_axis(R3, np.array([3, 0, 23]), axis=None), np.take_along_axis(R3, np.array([3, 0, 23]), None))


def test_one_hot():
    x = np.array([0, 2, -1, 3, 1], np.int32)
    expected = np.array([[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0], [0, 1, 0]], np.float32)
    check(B.one_hot(x, 3), expected, dtype="float32")
    check(B.one_hot(x, 3, dtype="int32"), expected.astype(np.int32), dtype="int32")
    check(B.one_hot(x, 3, axis=0), expected.T)
    x2 = np.array([[0, 1], [2, 5]], np.int64)
    e2 = (x2[..., None] == np.arange(3)).astype(np.float32)
    check(B.one_hot(x2, 3), e2)
    check(B.one_hot(x2, 3, axis=1), np.moveaxis(e2, -1, 1))
    check(B.one_hot(x2, 3, axis=-2), np.moveaxis(e2, -1, -2))


PADS_1D = [2, (1, 3), [(0, 2)], (5, 4)]
PADS_2D = [1, (2, 1), [(1, 2), (0, 3)], [(3, 0), (1, 1)]]
PADS_4D = [1, [(0, 0), (2, 1), (1, 2), (0, 0)], [(1, 0), (0, 1), (2, 2), (1, 0)]]


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric", "edge"])
def test_pad_modes(mode):
    x1 = np.array([1.0, 2.0, 3.0], np.float32)
    x2 = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    x4 = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    for x, pads in [(x1, PADS_1D), (x2, PADS_2D), (x4, PADS_4D)]:
        for pw in pads:
            check(B.pad(x, pw, mode=mode), np.pad(x, pw, mode=mode))
    check(B.pad(np.array([5.0], np.float32), 2, mode=mode), np.pad(np.array([5.0], np.float32), 2, mode=mode))
    ints = np.arange(6, dtype=np.int32).reshape(2, 3)
    check(B.pad(ints, 1, mode=mode), np.pad(ints, 1, mode=mode), dtype="int32")


def test_pad_constant_value_and_errors():
    check(B.pad(X, [(1, 0), (0, 2)], constant_values=-3.5),
          np.pad(X, [(1, 0), (0, 2)], constant_values=-3.5))
    with pytest.raises(ValueError):
        B.pad(X, 1, mode="wrap")


def test_tril_triu_diag():
    m = np.arange(1.0, 13.0, dtype=np.float32).reshape(3, 4)
    for k in (-1, 0, 2):
        check(B.tril(m, k), np.tril(m, k))
        check(B.triu(m, k), np.triu(m, k))
        check(B.diag(m, k), np.diag(m, k))
        check(B.diag(np.array([1.0, 2.0], np.float32), k), np.diag(np.array([1.0, 2.0], np.float32), k))
    check(B.tril(R3), np.tril(R3))
    check(B.triu(R3, 1), np.triu(R3, 1))


def test_slice_along_axis():
    for start, stop, axis in [(0, 2, 0), (1, 3, 1), (1, None, -1), (-2, None, 2), (0, -1, 1)]:
        sl = [slice(None)] * 3
        sl[axis] = slice(start, stop)
        check(B.slice_along_axis(R3, start, stop, axis), R3[tuple(sl)])


def test_scatter_update():
    x = np.zeros((3, 3), np.float32)
    idx = np.array([[0, 1], [2, 2], [1, 0]], np.int32)
    upd = np.array([1.0, 2.0, 3.0], np.float32)
    expected = x.copy()
    expected[idx[:, 0], idx[:, 1]] = upd
    out = B.scatter_update(x, idx, upd)
    check(out, expected)
    xt = torch.zeros(3, 3)
    B.scatter_update(xt, idx, upd)
    assert float(xt.abs().sum()) == 0.0  # the input is not modified
    rows = B.scatter_update(np.zeros((3, 2), np.int32), np.array([[2]]), np.array([[7, 8]], np.int32))
    check(rows, [[0, 0], [0, 0], [7, 8]], dtype="int32")


def test_unique_int():
    x = np.array([3, 1, 3, -2, 1, 0], np.int32)
    check(B.unique_int(x), np.unique(x))


# ----------------------------------------------------------------------------------------------------------------
# Linear algebra


def test_matmul_dot_tensordot_einsum():
    rng = np.random.RandomState(0)
    a = rng.randn(2, 3, 4).astype(np.float32)
    b = rng.randn(4, 5).astype(np.float32)
    c = rng.randn(3, 4, 2).astype(np.float32)
    v = rng.randn(4).astype(np.float32)
    check(B.matmul(a, b), np.matmul(a, b), rtol=1e-5)
    check(B.matmul(v, b), np.matmul(v, b), rtol=1e-5)
    check(B.matmul(a, v), np.matmul(a, v), rtol=1e-5)
    check(B.matmul(np.ones((2, 3), np.int32), np.ones((3, 2), np.int32)), np.full((2, 2), 3), dtype="int32")
    check(B.dot(v, v), np.dot(v, v), rtol=1e-5)
    check(B.dot(a[0], b), np.dot(a[0], b), rtol=1e-5)
    check(B.dot(a, v), np.dot(a, v), rtol=1e-5)
    check(B.dot(a, c), np.dot(a, c), rtol=1e-5)
    check(B.dot(2.0, v), 2.0 * v)
    check(B.dot(v, np.float32(3.0)), 3.0 * v)
    check(B.tensordot(a, c, axes=([1, 2], [0, 1])), np.tensordot(a, c, axes=([1, 2], [0, 1])), rtol=1e-5)
    check(B.tensordot(a, b, axes=1), np.tensordot(a, b, axes=1), rtol=1e-5)
    check(B.tensordot(a, c, axes=(2, 1)), np.tensordot(a, c, axes=(2, 1)), rtol=1e-5)
    check(B.tensordot(v, v, axes=0), np.tensordot(v, v, axes=0), rtol=1e-5)
    check(B.einsum("bij,jk->bik", a, b), np.einsum("bij,jk->bik", a, b), rtol=1e-5)
    check(B.einsum("i,i->", v, v), np.einsum("i,i->", v, v), rtol=1e-5)
    check(B.einsum("bij->bji", a), np.einsum("bij->bji", a))


# ----------------------------------------------------------------------------------------------------------------
# Neural-network primitives


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


Z = np.array([-30.0, -4.0, -1.0, -0.1, 0.0, 0.3, 1.0, 4.0, 30.0], np.float64)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
NN = [
    ("relu", lambda x: np.maximum(x, 0.0)),
    ("sigmoid", _np_sigmoid),
    ("softplus", lambda x: np.logaddexp(0.0, x)),
    ("softsign", lambda x: x / (1.0 + np.abs(x))),
    ("silu", lambda x: x * _np_sigmoid(x)),
    ("elu", lambda x: np.where(x > 0, x, np.expm1(x))),
    ("selu", lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))),
    ("leaky_relu", lambda x: np.where(x >= 0, x, 0.2 * x)),
    ("log_sigmoid", lambda x: -np.logaddexp(0.0, -x)),
]


@pytest.mark.parametrize("name,ref", NN, ids=[n[0] for n in NN])
def test_activations(name, ref):
    out = getattr(B, name)(Z.astype(np.float32))
    check(out, ref(Z), rtol=2e-6, atol=1e-7, dtype="float32")


def test_activation_parameters():
    check(B.elu(Z.astype(np.float32), alpha=0.5), np.where(Z > 0, Z, 0.5 * np.expm1(Z)), rtol=2e-6, atol=1e-7)
    check(B.leaky_relu(Z.astype(np.float32), negative_slope=0.01), np.where(Z >= 0, Z, 0.01 * Z), rtol=1e-6)
    erf = np.vectorize(math.erf)
    exact = 0.5 * Z * (1.0 + erf(Z / np.sqrt(2.0)))
    approx = 0.5 * Z * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (Z + 0.044715 * Z**3)))
    check(B.gelu(Z.astype(np.float32)), approx, rtol=2e-6, atol=1e-6)
    check(B.gelu(Z.astype(np.float32), approximate=False), exact, rtol=2e-6, atol=1e-6)
    assert np.abs(approx - exact).max() > 1e-4  # the two forms really differ


def test_softmax_log_softmax():
    x = (R3 / 5.0).astype(np.float64)

    def ref_sm(a, axis):
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    for axis in (-1, 0, 1, (1, 2)):
        check(B.softmax(x.astype(np.float32), axis=axis), ref_sm(x, axis), rtol=1e-5, atol=1e-7)
        check(B.log_softmax(x.astype(np.float32), axis=axis), np.log(ref_sm(x, axis)), rtol=1e-5, atol=1e-6)
    check(B.softmax(np.array([1000.0, 1000.0], np.float32)), [0.5, 0.5])


# ----------------------------------------------------------------------------------------------------------------
# Differentiation, compilation and execution


def test_value_and_grad():
    w = torch.tensor([1.0, -2.0, 3.0])
    b = torch.tensor(0.5)
    unused = torch.ones(2, 2)
    x = np.array([2.0, 1.0, -1.0], np.float32)

    def loss_fn(params, x):
        w, b, _ = params
        y = B.sum(B.multiply(w, x)) + b  # 2 - 2 - 3 + 0.5 = -2.5
        return B.square(y)

    loss, grads = B.value_and_grad(loss_fn)([w, b, unused], x)
    np.testing.assert_allclose(B.convert_to_numpy(loss), 6.25)
    assert not loss.requires_grad and isinstance(grads, list) and len(grads) == 3
    np.testing.assert_allclose(B.convert_to_numpy(grads[0]), 2 * -2.5 * x)  # d/dw (w.x+b)^2
    np.testing.assert_allclose(B.convert_to_numpy(grads[1]), 2 * -2.5)
    np.testing.assert_array_equal(B.convert_to_numpy(grads[2]), np.zeros((2, 2)))
    assert not any(g.requires_grad for g in grads)
    assert not w.requires_grad and w.grad is None  # inputs are untouched


def test_value_and_grad_has_aux_and_under_compile_step():
    def loss_fn(params, x):
        (w,) = params
        y = B.multiply(w, x)
        return B.sum(y * y), {"y": y, "pair": (y + 1.0, [B.mean(y)])}

    x = np.array([1.0, 2.0], np.float32)
    step = B.compile_step(lambda p, x: B.value_and_grad(loss_fn, has_aux=True)(p, x))
    (loss, aux), grads = step([torch.tensor([3.0, -1.0])], x)
    np.testing.assert_allclose(B.convert_to_numpy(loss), 9.0 + 4.0)
    np.testing.assert_allclose(B.convert_to_numpy(grads[0]), [2 * 3.0 * 1.0, 2 * -2.0 * 2.0])
    np.testing.assert_allclose(B.convert_to_numpy(aux["y"]), [3.0, -2.0])
    np.testing.assert_allclose(B.convert_to_numpy(aux["pair"][0]), [4.0, -1.0])
    np.testing.assert_allclose(B.convert_to_numpy(aux["pair"][1][0]), 0.5)
    assert isinstance(aux["pair"], tuple) and isinstance(aux["pair"][1], list)
    assert not aux["y"].requires_grad and not aux["pair"][1][0].requires_grad


def test_value_and_grad_constant_loss():
    loss, grads = B.value_and_grad(lambda p: B.convert_to_tensor(1.5))([torch.ones(3)])
    np.testing.assert_allclose(B.convert_to_numpy(loss), 1.5)
    np.testing.assert_array_equal(B.convert_to_numpy(grads[0]), np.zeros(3))


def test_stop_gradient():
    def loss_fn(params):
        (w,) = params
        return B.sum(w * B.stop_gradient(w))

    _, grads = B.value_and_grad(loss_fn)([torch.tensor([2.0, 3.0])])
    np.testing.assert_allclose(B.convert_to_numpy(grads[0]), [2.0, 3.0])


def test_compile_step_equals_eager():
    def fn(state, batch):
        w, b = state
        y = B.add(B.matmul(batch, w), b)
        return [B.relu(y), B.mean(y)], torch.is_grad_enabled()

    w = np.arange(6, dtype=np.float32).reshape(3, 2) / 10.0
    b = np.array([0.1, -1.0], np.float32)
    batch = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0]], np.float32)
    eager, _ = fn([w, b], batch)
    (out, grad_enabled) = B.compile_step(fn, donate_argnums=(0,))([w, b], batch)
    assert grad_enabled is False
    check(out[0], B.convert_to_numpy(eager[0]))
    check(out[1], B.convert_to_numpy(eager[1]))
    check(out[0], np.maximum(batch @ w + b, 0.0), rtol=1e-6)
    assert B.compile_step(fn).__name__ == "fn"


def test_compile_step_jit_compile_uses_torch_compile(monkeypatch):
    compiled = []

    def fake_compile(fn):
        compiled.append(fn)
        return lambda *a: ("compiled", fn(*a))

    monkeypatch.setattr(torch, "compile", fake_compile)
    fn = lambda x: B.multiply(x, 2.0)  # noqa: E731
    tag, out = B.compile_step(fn, jit_compile=True)(np.array([1.5], np.float32))
    assert tag == "compiled" and compiled == [fn]
    check(out, [3.0])
    check(B.compile_step(fn, jit_compile=False)(np.array([1.5], np.float32)), [3.0])
    check(B.compile_step(fn)(np.array([1.5], np.float32)), [3.0])
    assert len(compiled) == 1


def test_import_does_not_load_dynamo():
    code = "import sys, kshim.backends.torch; print('torch._dynamo' in sys.modules, 'torch._inductor' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         env={**os.environ, "KSHIM_BACKEND": "torch"})
    assert out.stdout.split() == ["False", "False"]


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
def test_counter_bits_match_the_documented_formula(seed, counter, monkeypatch):
    state = torch.tensor([seed, counter], dtype=torch.int32)
    check(B.counter_bits(state, 37), _np_counter_bits(seed, counter, 37), dtype="int32")
    check(B.counter_bits(state, 5), _np_counter_bits(seed, counter, 5))  # another length: its own cached table
    # The device path (taken on CUDA and under torch.compile) mixes the key with tensor ops: the same bits.
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    check(B.counter_bits(state, 37), _np_counter_bits(seed, counter, 37))


def test_foreach_ops_equal_the_single_tensor_ops_bit_for_bit():
    xs, ys = [torch.tensor(X), torch.tensor(X[0])], [torch.tensor(POS), torch.tensor(POS[1])]
    s = torch.tensor(0.3)
    for name in ("add", "subtract", "multiply", "divide", "maximum"):
        fused, single = getattr(B, f"foreach_{name}"), getattr(B, name)
        for operand, pairs in ((ys, ys), (0.3, [0.3, 0.3]), (s, [s, s])):
            out = fused(xs, operand)
            assert isinstance(out, list) and len(out) == 2
            for o, x, y in zip(out, xs, pairs):
                assert torch.equal(o, single(x, y)), name
    check(B.foreach_sqrt([torch.tensor(POS)])[0], np.sqrt(POS))


def test_foreach_inplace_writes_into_the_first_operand_and_default_copies():
    xs = [torch.tensor(X), torch.tensor(POS)]
    before = [x.clone() for x in xs]
    out = B.foreach_multiply(xs, 2.0)
    assert all(torch.equal(x, b) for x, b in zip(xs, before))  # not in place: inputs untouched
    same = B.foreach_multiply(xs, 2.0, inplace=True)
    assert same is xs and all(torch.equal(x, o) for x, o in zip(xs, out))
    roots = B.foreach_sqrt([torch.tensor(POS)], inplace=True)
    check(roots[0], np.sqrt(POS))


def _multi_fn(scale, state, counter, batch):
    x, (y, none) = batch["x"], batch["rest"]
    assert none is None and not torch.is_grad_enabled()
    return [B.add(state[0], B.multiply(B.sum(x), scale)), B.add(state[1], B.mean(y))], B.add(counter, 1)


def test_compile_multi_step_equals_one_step_at_a_time():
    rng = np.random.default_rng(0)
    xs = torch.tensor(rng.normal(size=(4, 3, 2)).astype(np.float32))
    ys = torch.tensor(rng.normal(size=(4, 3)).astype(np.float32))
    state0 = ([torch.tensor(0.0), torch.tensor(1.0)], torch.tensor(0, dtype=torch.int32))
    single = B.compile_step(_multi_fn)
    state = state0
    for i in range(4):
        state = single(0.5, *state, {"x": xs[i], "rest": (ys[i], None)})
    out = B.compile_multi_step(_multi_fn, 1, 2)(0.5, *state0, {"x": xs, "rest": (ys, None)})
    assert isinstance(out, tuple) and len(out) == 2
    assert torch.equal(out[0][0], state[0][0]) and torch.equal(out[0][1], state[0][1])
    assert int(out[1]) == 4


def test_foreach_blocked_updates_in_place_piece_by_piece(monkeypatch):
    from kshim.backends.torch import foreach

    monkeypatch.setattr(foreach, "_PIECE", 10)
    a = [torch.arange(25.0).reshape(5, 5), torch.ones(3), torch.ones(4), torch.arange(12.0).reshape(3, 4).t()]
    b = [torch.full_like(t, 2.0) for t in a]
    expected = [x * 2.0 + 1.0 for x in a]
    sizes = []

    def fn(xs, ys):
        sizes.append(sum(x.numel() for x in xs))
        return [B.foreach_add(B.foreach_multiply(xs, ys, inplace=True), 1.0, inplace=True)]

    out = B.foreach_blocked(fn, [a, b], 1)
    assert out[0] is a and all(torch.equal(x, e) for x, e in zip(a, expected))
    # 25 elements in slices of 10, 10 and 5; the last slice shares its piece with the next small tensor (5 + 3),
    # the 4 does not fit there; the non-contiguous 3x4 goes whole.
    assert sizes == [10, 10, 8, 4, 12]
    assert all(torch.equal(y, torch.full_like(y, 2.0)) for y in b)  # only the outputs are written
