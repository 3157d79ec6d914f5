"""kshim.ops.linalg against Keras 3's keras.ops.linalg (tests/keras_ops_parity.py), on the selected backend."""

import numpy as np
import pytest

from kshim import ops
from tests.keras_ops_parity import assert_matches, keras_reference, run_cases

R = np.random.default_rng(16)
M = R.normal(size=(4, 4)).astype("float32")
SPD = (M @ M.T + 4 * np.eye(4)).astype("float32")
BATCH = np.stack([SPD, SPD + np.eye(4, dtype="float32")])
RECT = R.normal(size=(5, 3)).astype("float32")
B = R.normal(size=(4, 2)).astype("float32")
VEC = R.normal(size=(4,)).astype("float32")
LOW = np.tril(M + 4 * np.eye(4, dtype="float32"))
RANK2 = (R.normal(size=(4, 2)) @ R.normal(size=(2, 4))).astype("float32")

CASES = [
    ("cholesky", "lambda a: ops.linalg.cholesky(a)", [SPD]),
    ("cholesky.upper", "lambda a: ops.linalg.cholesky(a, upper=True)", [SPD]),
    ("cholesky.batched", "lambda a: ops.linalg.cholesky(a)", [BATCH]),
    ("cholesky_inverse", "lambda a: ops.linalg.cholesky_inverse(ops.linalg.cholesky(a))", [SPD]),
    ("cholesky_inverse.upper", "lambda a: ops.linalg.cholesky_inverse(ops.linalg.cholesky(a, upper=True), "
                               "upper=True)", [SPD]),
    ("det", "lambda a: ops.linalg.det(a)", [M]),
    ("det.batched", "lambda a: ops.linalg.det(a)", [BATCH]),
    ("eigh.values", "lambda a: ops.linalg.eigh(a)[0]", [SPD]),
    ("eigh.vectors_abs", "lambda a: ops.abs(ops.linalg.eigh(a)[1])", [SPD]),
    ("eig.values_sorted", "lambda a: ops.sort(ops.real(ops.linalg.eig(a)[0]) if hasattr(ops, 'real') else "
                          "ops.linalg.eigh(a)[0])", [SPD]),
    ("inv", "lambda a: ops.linalg.inv(a)", [M]),
    ("lstsq", "lambda a, b: ops.linalg.lstsq(a, b)", [RECT, R.normal(size=(5, 2)).astype("float32")]),
    ("lstsq.rcond", "lambda a, b: ops.linalg.lstsq(a, b, rcond=1e-3)", [RECT, R.normal(size=(5, 2))
                                                                        .astype("float32")]),
    ("lu_factor", "lambda a: ops.linalg.lu_factor(a)", [M]),
    ("lu_factor.batched", "lambda a: ops.linalg.lu_factor(a)", [BATCH]),
    ("matrix_rank", "lambda a: ops.linalg.matrix_rank(a)", [RANK2]),
    ("matrix_rank.tol", "lambda a: ops.linalg.matrix_rank(a, tol=0.5)", [SPD]),
    ("norm.vector", "lambda a: ops.linalg.norm(a)", [VEC]),
    ("norm.fro", "lambda a: ops.linalg.norm(a)", [M]),
    ("norm.ord1_axis", "lambda a: ops.linalg.norm(a, ord=1, axis=0, keepdims=True)", [M]),
    ("norm.nuc", "lambda a: ops.linalg.norm(a, ord='nuc')", [M]),
    ("norm.inf_matrix", "lambda a: ops.linalg.norm(a, ord=float('inf'))", [M]),
    ("norm.int", "lambda a: ops.norm(a)", [np.arange(6, dtype="int32")]),
    ("pinv", "lambda a: ops.linalg.pinv(a)", [RECT]),
    ("qr.abs", "lambda a: [ops.abs(t) for t in ops.linalg.qr(a)]", [RECT]),
    ("qr.complete_shapes", "lambda a: [ops.abs(t) for t in ops.linalg.qr(a, mode='complete')]", [RECT]),
    ("solve", "lambda a, b: ops.linalg.solve(a, b)", [M, B]),
    ("solve_triangular", "lambda a, b: ops.linalg.solve_triangular(a, b, lower=True)", [LOW, B]),
    ("solve_triangular.vector_upper", "lambda a, b: ops.linalg.solve_triangular(a, b)", [LOW.T.copy(), VEC]),
    ("svd.values", "lambda a: ops.linalg.svd(a, compute_uv=False)", [RECT]),
    ("svd.abs_u_vh", "lambda a: [ops.abs(t) for t in ops.linalg.svd(a, full_matrices=False)]", [RECT]),
    ("jvp", "lambda a, t: ops.linalg.jvp(lambda x: ops.sin(x) * x, (a,), (t,))", [VEC, np.ones(4, "float32")],
     {"keras": "jax"}),
]


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
