"""kshim.ops.linalg against Keras 3's keras.ops.linalg (tests/keras_ops_parity.py), on the selected backend."""

import numpy as np
import pytest

from kshim import ops
from tests.keras_ops_parity import parity_tests

from conformance.table_ops_linalg import *  # noqa: F401,F403  (the table and its inputs)
from conformance.table_ops_linalg import CASES


keras_results, test_matches_keras = parity_tests(__name__, CASES, ops, atol=1e-5)


def test_linalg_values_against_numpy():
    np.testing.assert_allclose(ops.convert_to_numpy(ops.linalg.inv(M)), np.linalg.inv(M.astype("float64")),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.linalg.cholesky_inverse(ops.linalg.cholesky(SPD))),
                               np.linalg.inv(SPD.astype("float64")), rtol=1e-4, atol=1e-6)
    lu, piv = (ops.convert_to_numpy(t) for t in ops.linalg.lu_factor(M))
    L, U = np.tril(lu, -1) + np.eye(4), np.triu(lu)
    P = np.eye(4)
    for i, p in enumerate(piv):  # LAPACK's row swaps, applied in order
        P[[i, p]] = P[[p, i]]
    np.testing.assert_allclose(P @ M, L @ U, rtol=1e-4, atol=1e-5)
    assert int(ops.convert_to_numpy(ops.linalg.matrix_rank(RANK2))) == 2


def test_linalg_gradients_match_numpy():
    g = ops.value_and_grad(lambda p: ops.linalg.det(p[0]))([ops.convert_to_tensor(M)])[1][0]
    np.testing.assert_allclose(ops.convert_to_numpy(g), np.linalg.det(M) * np.linalg.inv(M).T, rtol=1e-4, atol=1e-5)
