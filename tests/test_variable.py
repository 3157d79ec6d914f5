"""kshim.Variable: creation, assignment, properties, and use wherever a tensor is accepted."""

import numpy as np
import pytest

import kshim
from kshim import config, initializers, ops
from kshim import random as krandom
from kshim.variables import read_values, swap_values


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


X = np.arange(6, dtype="float32").reshape(2, 3) - 2.5


def test_from_array_keeps_values_shape_dtype():
    v = kshim.Variable(X, name="w")
    np.testing.assert_array_equal(v.numpy(), X)
    assert isinstance(v.numpy(), np.ndarray)
    assert v.shape == (2, 3)
    assert v.ndim == 2 and len(v) == 2
    assert str(v.dtype) == "float32"
    assert v.trainable is True
    assert v.name == "w" and v.path == "w"
    assert ops.is_tensor(v.value)
    np.testing.assert_array_equal(np.asarray(v), X)
    np.testing.assert_array_equal(np.asarray(v, dtype="float64"), X.astype("float64"))
    assert np.asarray(v, dtype="float64").dtype == np.float64


def test_python_float_and_float64_array_become_floatx():
    assert str(kshim.Variable(1.5).dtype) == "float32"
    assert kshim.Variable(1.5).shape == ()
    assert float(kshim.Variable(1.5)) == 1.5
    v = kshim.Variable(np.array([0.1, 0.2]))  # float64 numpy -> floatx, as Keras
    assert str(v.dtype) == "float32"
    np.testing.assert_array_equal(v.numpy(), np.array([0.1, 0.2], dtype="float32"))
    assert str(kshim.Variable([1.0, 2.0]).dtype) == "float32"


def test_explicit_dtype_and_trainable_flag():
    v = kshim.Variable(np.array([1, 2, 3], dtype="int32"), dtype="int32", trainable=False, name="steps")
    assert str(v.dtype) == "int32"
    assert v.trainable is False
    np.testing.assert_array_equal(v.numpy(), [1, 2, 3])
    assert int(kshim.Variable(np.array(7, dtype="int32"))) == 7


def test_from_initializer_name_and_shape():
    v = kshim.Variable("ones", shape=(2, 4))
    assert v.shape == (2, 4) and str(v.dtype) == "float32"
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 4), "float32"))
    z = kshim.Variable("zeros", shape=[3], dtype="float32")
    np.testing.assert_array_equal(z.numpy(), np.zeros(3, "float32"))
    g = kshim.Variable("glorot_uniform", shape=(30, 50))
    limit = np.sqrt(6.0 / 80)
    assert g.shape == (30, 50)
    assert np.all(np.abs(g.numpy()) <= limit) and g.numpy().std() > limit / 3  # spread, not constant


def test_from_initializer_object_is_seed_deterministic():
    a = kshim.Variable(initializers.GlorotNormal(seed=5), shape=(4, 3))
    b = kshim.Variable(initializers.GlorotNormal(seed=5), shape=(4, 3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy(), np_(initializers.GlorotNormal(seed=5)((4, 3))))
    c = kshim.Variable(initializers.Constant(2.5), shape=(2,))
    np.testing.assert_array_equal(c.numpy(), [2.5, 2.5])


def test_initializer_without_shape_is_value_error():
    with pytest.raises(ValueError, match="shape"):
        kshim.Variable("glorot_uniform")


def test_shape_mismatch_with_initial_value_is_value_error():
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        kshim.Variable(X, shape=(3, 2))


def test_bad_name_is_value_error():
    with pytest.raises(ValueError, match="name"):
        kshim.Variable(X, name="a/b")


def test_automatic_names_are_unique():
    a, b = kshim.Variable(1.0), kshim.Variable(2.0)
    assert a.name != b.name
    assert a.name.startswith("variable") and b.name.startswith("variable")


def test_assign_replaces_value_and_casts():
    v = kshim.Variable(X)
    out = v.assign(np.ones((2, 3)))  # float64 input is cast to the variable's dtype
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 3), "float32"))
    np.testing.assert_array_equal(np_(out), np.ones((2, 3)))
    assert str(v.dtype) == "float32"
    v.assign(ops.full((2, 3), 4.0))
    np.testing.assert_array_equal(v.numpy(), np.full((2, 3), 4.0, "float32"))
    w = kshim.Variable(np.full((2, 3), -1.0, "float32"))
    v.assign(w)
    np.testing.assert_array_equal(v.numpy(), np.full((2, 3), -1.0, "float32"))
    i = kshim.Variable(np.array([0, 0], "int32"), dtype="int32")
    i.assign(np.array([1.9, -2.2]))
    assert str(i.dtype) == "int32"
    np.testing.assert_array_equal(i.numpy(), [1, -2])


def test_assign_shape_mismatch_is_value_error_and_keeps_value():
    v = kshim.Variable(X, name="kern")
    with pytest.raises(ValueError, match=r"kern.*\(3, 2\).*\(2, 3\)"):
        v.assign(np.zeros((3, 2), "float32"))
    with pytest.raises(ValueError):
        v.assign(np.zeros((6,), "float32"))
    np.testing.assert_array_equal(v.numpy(), X)


def test_assign_add_and_sub():
    v = kshim.Variable(X)
    v.assign_add(np.ones((2, 3), "float32"))
    np.testing.assert_array_equal(v.numpy(), X + 1)
    v.assign_add(0.5)
    np.testing.assert_array_equal(v.numpy(), X + 1.5)
    v.assign_sub(np.full((2, 3), 2.0, "float32"))
    np.testing.assert_array_equal(v.numpy(), X - 0.5)
    v.assign_sub(v.numpy())
    np.testing.assert_array_equal(v.numpy(), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 2, 3\)"):  # broadcasts to a bigger shape: assign refuses it
        v.assign_add(np.ones((2, 2, 3), "float32"))
    np.testing.assert_array_equal(v.numpy(), np.zeros((2, 3)))


def aligned_array(values):
    """A float32 copy of ``values`` in a freshly allocated, 64-byte aligned buffer that owns its memory.

    jax on CPU adopts such buffers without copying (jnp.asarray with a dtype), so the aliasing tests below are
    deterministic on both backends."""
    keep = []
    while True:
        a = np.array(values, dtype="float32")
        if a.ctypes.data % 64 == 0:
            return a
        keep.append(a)




def test_variable_does_not_alias_the_initial_array():
    src = aligned_array(X)
    v = kshim.Variable(src)
    src[0, 0] = 100.0
    np.testing.assert_array_equal(v.numpy(), X)


def test_assign_does_not_alias_the_assigned_array():
    v = kshim.Variable(X)
    src = aligned_array(np.ones((2, 3)))
    v.assign(src)
    src[0, 0] = 100.0
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 3)))


def test_numpy_result_is_not_a_live_view():
    v = kshim.Variable(X.copy())
    out = v.numpy()
    if out.flags.writeable:  # a read-only array (jax) cannot corrupt the variable
        out[0, 0] = 100.0
    np.testing.assert_array_equal(v.numpy(), X)


def test_use_in_ops_and_operators():
    v = kshim.Variable(X)
    w = np.arange(12, dtype="float32").reshape(3, 4) / 7
    np.testing.assert_array_equal(np_(ops.add(v, 1)), X + 1)
    np.testing.assert_array_equal(np_(v + 1), X + 1)
    np.testing.assert_array_equal(np_(1 + v), X + 1)
    np.testing.assert_array_equal(np_(v - 1), X - 1)
    np.testing.assert_array_equal(np_(1 - v), 1 - X)
    np.testing.assert_array_equal(np_(v * 2), X * 2)
    np.testing.assert_array_equal(np_(2 * v), X * 2)
    np.testing.assert_allclose(np_(v / 2), X / 2)
    np.testing.assert_array_equal(np_(v ** 2), X ** 2)
    np.testing.assert_array_equal(np_(-v), -X)
    np.testing.assert_array_equal(np_(abs(v)), np.abs(X))
    np.testing.assert_array_equal(np_(v > 0), X > 0)
    np.testing.assert_array_equal(np_(v <= 0.5), X <= 0.5)
    np.testing.assert_allclose(np_(ops.matmul(v, w)), X @ w, rtol=1e-6)
    np.testing.assert_allclose(np_(v @ w), X @ w, rtol=1e-6)
    np.testing.assert_allclose(np_(ops.matmul(w.T, kshim.Variable(X.T))), w.T @ X.T, rtol=1e-6)
    np.testing.assert_allclose(np_(ops.sum(v)), X.sum(), rtol=1e-6)
    np.testing.assert_array_equal(np_(v[1]), X[1])
    np.testing.assert_array_equal(np_(v + kshim.Variable(X)), 2 * X)


def test_swap_and_read_values_round_trip():
    a, b = kshim.Variable(X), kshim.Variable(np.zeros(2, "float32"))
    new = [ops.convert_to_tensor(-X), ops.convert_to_tensor(np.ones(2, "float32"))]
    old = swap_values([a, b], new)
    np.testing.assert_array_equal(a.numpy(), -X)
    np.testing.assert_array_equal([np_(t) for t in read_values([a, b])][1], np.ones(2))
    swap_values([a, b], old)
    np.testing.assert_array_equal(a.numpy(), X)
    np.testing.assert_array_equal(b.numpy(), np.zeros(2))


def test_seed_generator_state_is_a_non_trainable_int32_variable():
    g = krandom.SeedGenerator(11)
    assert g.state.trainable is False
    assert str(g.state.dtype) == "int32"
    np.testing.assert_array_equal(g.state.numpy(), [11, 0])
    g.next()
    np.testing.assert_array_equal(g.state.numpy(), [11, 1])
