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
