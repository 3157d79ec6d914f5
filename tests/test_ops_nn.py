"""The keras.ops.nn names kshim writes on its primitives (activations, normalizations, cross-entropies,
encodings, depth/space), against Keras 3."""

import numpy as np
import pytest

from kshim import ops
from tests.keras_ops_parity import parity_tests

from conformance.table_ops_nn import *  # noqa: F401,F403  (the table and its inputs)
from conformance.table_ops_nn import CASES


keras_results, test_matches_keras = parity_tests(__name__, CASES, ops)


def test_activation_formulas_against_numpy():
    x = X.astype("float64")
    np.testing.assert_allclose(ops.convert_to_numpy(ops.nn.celu(X)), np.maximum(x, 0) + np.minimum(np.expm1(x), 0),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.nn.squareplus(X)), (x + np.sqrt(x * x + 4)) / 2, rtol=1e-6)
    # Keras 3's sparsemax threshold: tau = (sum of the cumulative sums over the support - 1) / k
    desc = -np.sort(-x, axis=-1)
    csum = np.cumsum(desc, axis=-1)
    support = desc - (csum - 1) / np.arange(1, 7) > 0
    tau = ((np.where(support, csum, 0).sum(-1, keepdims=True) - 1) / support.sum(-1, keepdims=True))
    np.testing.assert_allclose(ops.convert_to_numpy(ops.nn.sparsemax(X)), np.maximum(x - tau, 0), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.nn.hard_shrink(H)), [0, 0, -0.6, 0, 0, 2.0], rtol=1e-6)


def test_normalization_gradients_flow():
    g = ops.value_and_grad(lambda p: ops.sum(ops.square(ops.nn.layer_normalization(p[0]))))(
        [ops.convert_to_tensor(X)])[1][0]
    # sum of squares of a normalised row is ~n (constant): its gradient is ~0
    np.testing.assert_allclose(ops.convert_to_numpy(g), 0.0, atol=2e-3)
