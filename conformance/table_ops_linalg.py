"""The linalg table of kshim.ops cases: ``(id, source, inputs[, options])``, shared by
tests/test_ops_linalg.py (Keras 3 parity) and conformance/cases_ops_tables.py (backend against backend).
Imports numpy only."""

import numpy as np

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
    ("eigh", "lambda a: ops.linalg.eigh(a)[0]", [SPD]),
    ("eigh.vectors_abs", "lambda a: ops.abs(ops.linalg.eigh(a)[1])", [SPD]),
    # (a triangular matrix: its eigenvalues are its diagonal, in order, and real; compared as |z|)
    ("eig", "lambda a: ops.abs(ops.linalg.eig(a)[0])", [LOW]),
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
    ("qr", "lambda a: [ops.abs(t) for t in ops.linalg.qr(a)]", [RECT]),
    ("qr.complete_shapes", "lambda a: [ops.abs(t) for t in ops.linalg.qr(a, mode='complete')]", [RECT]),
    ("solve", "lambda a, b: ops.linalg.solve(a, b)", [M, B]),
    ("solve_triangular", "lambda a, b: ops.linalg.solve_triangular(a, b, lower=True)", [LOW, B]),
    ("solve_triangular.vector_upper", "lambda a, b: ops.linalg.solve_triangular(a, b)", [LOW.T.copy(), VEC]),
    ("svd", "lambda a: ops.linalg.svd(a, compute_uv=False)", [RECT]),
    ("svd.abs_u_vh", "lambda a: [ops.abs(t) for t in ops.linalg.svd(a, full_matrices=False)]", [RECT]),
    ("jvp", "lambda a, t: ops.linalg.jvp(lambda x: ops.sin(x) * x, (a,), (t,))", [VEC, np.ones(4, "float32")],
     {"keras": "jax"}),
]
