"""EinsumDense computes a plain projection equation as reshape + matmul (`matmul_plan`): the same numbers as the
einsum, and other equations keep the einsum."""

import numpy as np
import pytest

from kshim import layers, ops
from kshim.layers.einsum_dense import matmul_plan


@pytest.mark.parametrize("equation,kernel_shape,plan", [
    ("abc,cd->abd", (4, 5), (1, 4, (5,))),
    ("abc,cde->abde", (4, 2, 3), (1, 4, (2, 3))),
    ("abcd,cde->abe", (2, 3, 5), (2, 6, (5,))),
    ("...b,bc->...c", (3, 4), (1, 3, (4,))),
    ("abc,dc->abd", (3, 4), None),        # kernel transposed
    ("abc,cd->adb", (3, 4), None),        # output axes reordered
    ("abc,acd->abd", (3, 3, 4), None),    # a batch axis in the kernel
    ("ab...,bc->ac...", (3, 4), None),    # trailing axes pass through
    ("abcd,dce->abe", (3, 2, 5), None),   # contracted axes in another order
])
def test_matmul_plan_recognizes_only_plain_projections(equation, kernel_shape, plan):
    assert matmul_plan(equation, kernel_shape) == plan


@pytest.mark.parametrize("equation,shape,output_shape,bias_axes", [
    ("abcd,cde->abe", (2, 3, 4, 5), (3, 6), "e"),
    ("abc,cde->abde", (2, 3, 4), (3, 2, 5), "de"),
    ("abc,cde->abde", (2, 3, 4), (3, 2, 5), "e"),     # a bias over part of the kernel's axes: matmul, then add
    ("...b,bc->...c", (2, 3, 4, 5), 6, None),
    ("abc,dc->abd", (2, 3, 4), (3, 6), "d"),
])
def test_einsum_dense_equals_numpy_einsum(equation, shape, output_shape, bias_axes):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    layer = layers.EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes)
    out = ops.convert_to_numpy(layer(x))
    kernel = layer.kernel.numpy().astype("float64")
    expected = np.einsum(equation, x.astype("float64"), kernel)
    if layer.bias is not None:
        bias = np.random.default_rng(1).normal(size=layer.bias.shape).astype("float32")
        layer.bias.assign(bias)
        out = ops.convert_to_numpy(layer(x))
        expected = expected + bias
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_dense_primitive_against_numpy():
    """ops.nn.dense (torch: one fused addmm) is ``x @ kernel + bias`` with its gradients, with and without a bias,
    and promotes mixed dtypes as matmul then add."""
    rng = np.random.default_rng(2)
    x, k, b = (rng.normal(size=s).astype("float32") for s in ((2, 3, 4), (4, 5), (5,)))
    x64, k64, b64 = x.astype("float64"), k.astype("float64"), b.astype("float64")
    np.testing.assert_allclose(ops.convert_to_numpy(ops.nn.dense(x, k, b)), x64 @ k64 + b64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.nn.dense(x, k)), x64 @ k64, rtol=1e-5, atol=1e-6)
    k16 = k.astype("float16")
    mixed, reference = (ops.convert_to_numpy(v) for v in (ops.nn.dense(x, k16, b), ops.add(ops.matmul(x, k16), b)))
    assert mixed.dtype == reference.dtype == np.float32
    np.testing.assert_array_equal(mixed, reference)
    # d/dp of sum(dense * w): dx = w @ k^T, dk = sum over rows of x^T w, db = sum of w over rows
    w = rng.normal(size=(2, 3, 5)).astype("float32")
    grads = ops.value_and_grad(lambda p: ops.sum(ops.multiply(ops.nn.dense(p[0], p[1], p[2]), w)))(
        [ops.convert_to_tensor(v) for v in (x, k, b)])[1]
    w64 = w.astype("float64")
    expected = (w64 @ k64.T, np.einsum("abi,abo->io", x64, w64), w64.sum(axis=(0, 1)))
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(ops.convert_to_numpy(got), want, rtol=1e-5, atol=1e-5)
