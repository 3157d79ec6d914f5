"""kshim.ops.linalg against Keras 3's keras.ops.linalg (tests/keras_ops_parity.py), on the selected backend."""

import numpy as np
import pytest

from kshim import ops
from tests.keras_ops_parity import assert_matches, keras_reference, run_cases

from conformance.table_ops_linalg import *  # noqa: F401,F403  (the table and its inputs)
from conformance.table_ops_linalg import CASES


@pytest.fixture(scope="module")
def keras_results(tmp_path_factory):
    ref = keras_reference(__name__, str(tmp_path_factory.mktemp("keras_ops")))
    if ref is None:
        pytest.skip("Keras 3 is not installed")
    return ref


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_matches_keras(keras_results, cid):
    case = next(c for c in CASES if c[0] == cid)
    ours = run_cases(ops, [case])[cid]
    assert not isinstance(ours, str), ours
    assert_matches(ours, keras_results[cid], rtol=1e-5, atol=1e-5, cid=cid, **(case[3] if len(case) > 3 else {}))


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
