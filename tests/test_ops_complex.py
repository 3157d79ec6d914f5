"""Complex numbers (real, imag, conj, angle, isreal, polar, view_as_complex/real) and the value-dependent shapes
(nonzero, unique) plus vectorize: against numpy, against Keras 3 (the shared table), on symbolic tensors, under a
compiled step, and their gradients."""

import json
import zipfile

import numpy as np
import pytest

import kshim
from kshim import ops
from kshim.backends import B
from tests.keras_ops_parity import parity_tests

from conformance.table_ops_complex import ANG, CASES, I, M, MAG, ROWS, V, X, Z


keras_results, test_matches_keras = parity_tests(__name__, CASES, ops)


def _np(x):
    return [_np(v) for v in x] if isinstance(x, (tuple, list)) else ops.convert_to_numpy(x)


def test_complex_parts_against_numpy():
    z = ops.convert_to_tensor(Z)
    assert ops.dtype(z) == "complex64" and ops.dtype(ops.convert_to_tensor(Z, dtype="complex64")) == "complex64"
    np.testing.assert_array_equal(_np(ops.real(z)), Z.real)
    np.testing.assert_array_equal(_np(ops.numpy.imag(z)), Z.imag)
    np.testing.assert_array_equal(_np(ops.conj(z)), np.conj(Z))
    assert _np(ops.conjugate(z)).dtype == np.complex64 and _np(ops.real(z)).dtype == np.float32
    np.testing.assert_allclose(_np(ops.angle(z)), np.angle(Z), rtol=1e-6)
    np.testing.assert_array_equal(_np(ops.isreal(z)), np.isreal(Z))
    assert _np(ops.isreal(z)).sum() == 2  # Z[1, 1] and Z[0, 2]
    # real input is complex with a zero imaginary part (numpy's rule)
    np.testing.assert_array_equal(_np(ops.imag(X)), np.zeros_like(X))
    assert _np(ops.angle(np.array([2, -3, 0], "int32"))).tolist() == pytest.approx([0.0, np.pi, 0.0])
    # a Python complex becomes complex64 on both backends
    assert ops.dtype(ops.convert_to_tensor([1 + 2j, 3j])) == "complex64"


def test_polar_and_views_against_numpy_and_round_trip():
    c = _np(ops.view_as_complex(X))
    np.testing.assert_array_equal(c, X[:, 0] + 1j * X[:, 1])
    assert c.dtype == np.complex64
    np.testing.assert_array_equal(_np(ops.view_as_real(ops.view_as_complex(X))), X)
    np.testing.assert_array_equal(_np(ops.view_as_real(Z)), np.stack([Z.real, Z.imag], -1))
    p = _np(ops.nn.polar(MAG, ANG))
    np.testing.assert_allclose(p, MAG * np.exp(1j * ANG), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.abs(p), MAG, rtol=1e-6)
    with pytest.raises(ValueError, match=r"view_as_complex: the last axis of `x` must have size 2.*\(3, 3\)"):
        ops.view_as_complex(np.zeros((3, 3), "float32"))


def test_gradients_through_complex_values_to_real_inputs():
    # d/dx of sum(w * angle(x0 + i x1)) is w * (-x1, x0) / |z|^2
    w = np.array([1.0, 2.0, -3.0], "float32")
    g = ops.value_and_grad(lambda p: ops.sum(ops.multiply(ops.angle(ops.view_as_complex(p[0])), w)))(
        [ops.convert_to_tensor(X)])[1][0]
    r2 = (X ** 2).sum(1, keepdims=True)
    np.testing.assert_allclose(_np(g), np.stack([-X[:, 1], X[:, 0]], -1) / r2 * w[:, None], rtol=1e-5)
    # real and imag parts of conj(polar(r, t)): (r cos t, -r sin t)
    u, v = np.float32([1.0, -2.0, 0.5]), np.float32([0.5, 3.0, 1.0])

    def loss(p):
        z = ops.conj(ops.polar(p[0], p[1]))
        return ops.sum(ops.add(ops.multiply(ops.real(z), u), ops.multiply(ops.imag(z), v)))

    g = ops.value_and_grad(loss)([ops.convert_to_tensor(MAG), ops.convert_to_tensor(ANG)])[1]
    np.testing.assert_allclose(_np(g[0]), np.cos(ANG) * u - np.sin(ANG) * v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(g[1]), -MAG * np.sin(ANG) * u - MAG * np.cos(ANG) * v, rtol=1e-5, atol=1e-6)


def test_nonzero_and_unique_against_numpy():
    for ours, ref in zip(_np(ops.nonzero(ROWS)), np.nonzero(ROWS)):
        np.testing.assert_array_equal(ours, ref)
        assert ours.dtype == np.int32
    with pytest.raises(ValueError, match="nonzero: `x` must have at least one axis"):
        ops.nonzero(np.int32(3))
    ref = np.unique(I, return_index=True, return_inverse=True, return_counts=True)
    ours = _np(ops.unique(I, return_index=True, return_inverse=True, return_counts=True))
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(a, b)
    assert [a.dtype for a in ours[1:]] == [np.int32] * 3
    ref = np.unique(ROWS, axis=0, return_index=True, return_inverse=True, return_counts=True)
    for a, b in zip(_np(ops.unique(ROWS, axis=0, return_index=True, return_inverse=True, return_counts=True)), ref):
        np.testing.assert_array_equal(a, np.reshape(b, a.shape))
    # size: padded (values with fill_value, counts and first indices with 0) or cut
    values, first, counts = _np(ops.unique(I, size=6, return_index=True, return_counts=True, fill_value=9))
    assert values.tolist() == [0, 1, 2, 3, 9, 9] and counts.tolist() == [1, 2, 1, 3, 0, 0]
    assert first.tolist() == [6, 1, 2, 0, 0, 0]
    assert _np(ops.unique(I, size=5)).tolist() == [0, 1, 2, 3, 0]
    assert _np(ops.unique(I, size=2, return_counts=True))[1].tolist() == [1, 2]
    with pytest.raises(ValueError, match=r"unique: `axis` must be None or an int in \[-1, 1\). Received: axis=1"):
        ops.unique(I, axis=1)


def test_unique_in_a_compiled_step_needs_size():
    step = B.compile_step(lambda x: ops.unique(x, size=4, return_counts=True))
    for k in range(4):  # the torch replay records after a few eager calls: every call must stay right
        x = np.array([3, 1, 3, k], "int32")
        values, counts = _np(step(ops.convert_to_tensor(x)))
        ref_v, ref_c = np.unique(x, return_counts=True)
        n = len(ref_v)
        assert values.tolist() == ref_v.tolist() + [0] * (4 - n) and counts.tolist() == ref_c.tolist() + [0] * (4 - n)
    # Without `size`: a backend that traces (jax.jit) refuses with the way out; one that replays runs it.
    step = B.compile_step(lambda x: ops.unique(x))
    try:
        for k in range(4):
            x = np.array([3, 1, 3, k], "int32")
            assert _np(step(ops.convert_to_tensor(x))).tolist() == np.unique(x).tolist()
    except ValueError as e:
        assert "pass `size` for a fixed output length" in str(e)


def test_vectorize_against_numpy():
    f = ops.vectorize(lambda a, b: a * b + 1.0)
    np.testing.assert_allclose(_np(f(X, V[:2])), np.vectorize(lambda a, b: a * b + 1.0)(X, V[:2]), rtol=1e-6)
    mv = ops.numpy.vectorize(lambda m, v: ops.matmul(m, v), signature="(m,n),(n)->(m)")
    np.testing.assert_allclose(_np(mv(M, V)), M @ V, rtol=1e-5)
    two = ops.vectorize(lambda m: (ops.sum(m), ops.max(m, axis=0)), signature="(m,n)->(),(n)")
    s, mx = _np(two(M))
    np.testing.assert_allclose(s, M.sum((1, 2)), rtol=1e-5)
    np.testing.assert_array_equal(mx, M.max(1))
    scaled = ops.vectorize(lambda a, s, bias=0.0: a * s + bias, excluded={1})
    np.testing.assert_allclose(_np(scaled(X, 3.0, bias=1.0)), X * 3.0 + 1.0, rtol=1e-6)
    # no element to map: the output still has the loop shape and pyfunc's output core shape
    assert tuple(ops.shape(mv(M[:0], V))) == (0, 3)
    with pytest.raises(ValueError, match="vectorize: core dimension 'n' has inconsistent sizes 4 and 3"):
        mv(M, V[:3])
    with pytest.raises(ValueError, match="vectorize: `signature` must be a generalized ufunc signature"):
        ops.vectorize(lambda a: a, signature="m->n")
    with pytest.raises(ValueError, match="vectorize: `pyfunc` must be callable"):
        ops.vectorize(3)


def test_symbolic_calls_give_static_specs_and_a_model_that_round_trips(tmp_path):
    inp = kshim.Input((3, 2))
    c = ops.view_as_complex(inp)
    assert (c.shape, c.dtype) == ((None, 3), "complex64")
    specs = [ops.real(c), ops.imag(c), ops.conj(c), ops.angle(c), ops.isreal(c), ops.view_as_real(c),
             ops.polar(inp, inp)]
    assert [(s.shape, s.dtype) for s in specs] == [
        ((None, 3), "float32"), ((None, 3), "float32"), ((None, 3), "complex64"), ((None, 3), "float32"),
        ((None, 3), "bool"), ((None, 3, 2), "float32"), ((None, 3, 2), "complex64")]
    ints = kshim.Input((5,), dtype="int32")
    u = ops.unique(ints, size=4, return_counts=True)
    assert [(t.shape, t.dtype) for t in u] == [((4,), "int32"), ((4,), "int32")]
    with pytest.raises(ValueError, match="unique: the length of its output depends on the values.*pass `size`"):
        ops.unique(ints)
    with pytest.raises(ValueError, match="nonzero: the length of its output depends on the values"):
        ops.nonzero(ints)

    model = kshim.Model(inp, [ops.angle(c), ops.view_as_real(ops.conj(ops.nn.polar(ops.abs(inp), inp)))])
    x = np.stack([X, -X], 0)
    out = model.predict(x, verbose=0)
    z = x[..., 0] + 1j * x[..., 1]
    np.testing.assert_allclose(out[0], np.angle(z), rtol=1e-5, atol=1e-6)
    p = np.conj(np.abs(x) * np.exp(1j * x))
    np.testing.assert_allclose(out[1], np.stack([p.real, p.imag], -1), rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "complex.keras")
    model.save(path)
    loaded = kshim.saving.load_model(path)
    for a, b in zip(loaded.predict(x, verbose=0), out):
        np.testing.assert_array_equal(a, b)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    modules = {l["class_name"]: l["module"] for l in config["config"]["layers"]}
    assert {k: modules.get(k) for k in ("ViewAsComplex", "Angle", "Polar", "Conj", "ViewAsReal")} == {
        "ViewAsComplex": "keras.src.ops.math", "Angle": "keras.src.ops.numpy", "Polar": "keras.src.ops.nn",
        "Conj": "keras.src.ops.numpy", "ViewAsReal": "keras.src.ops.math"}
