"""The complex-number and dynamic-shape table of kshim.ops cases: ``(id, source, inputs[, options])``, shared by
tests/test_ops_complex.py (Keras 3 parity) and conformance/cases_ops_tables.py (backend against backend).
Imports numpy only."""

import numpy as np

R = np.random.default_rng(16)
Z = (R.normal(size=(2, 3)) + 1j * R.normal(size=(2, 3))).astype("complex64")
Z[1, 1] = 2.5  # a real element (isreal) and
Z[0, 2] = -1.5  # one on the negative real axis (angle pi)
X = R.normal(size=(3, 2)).astype("float32")
MAG, ANG = np.abs(X[:, 0]) + 0.5, X[:, 1] * 2.0
I = np.array([3, 1, 2, 1, 3, 3, 0], "int32")
ROWS = np.array([[1, 0, 2], [0, 1, 0], [1, 0, 2], [0, 0, 0]], "int32")
M, V = R.normal(size=(2, 3, 4)).astype("float32"), R.normal(size=(4,)).astype("float32")
# Keras 3 gives unique's indices and counts as int64 on its numpy and torch backends; kshim gives the int32 its
# compute_output_spec (and its jax backend) states.
INT32 = {"check_dtype": False}

CASES = [
    ("real", "lambda z: ops.real(z)", [Z]),
    ("imag", "lambda z: ops.imag(z)", [Z]),
    ("conj", "lambda z: ops.conj(z)", [Z]),
    ("conjugate", "lambda z: ops.conjugate(z)", [Z]),
    ("angle", "lambda z: ops.angle(z)", [Z]),
    ("isreal", "lambda z: ops.isreal(z)", [Z]),
    ("real_input", "lambda x: [ops.real(x), ops.imag(x), ops.conj(x), ops.angle(x), ops.isreal(x)]", [X]),
    ("angle.int", "lambda i: ops.angle(i - 2)", [I]),
    ("view_as_complex", "lambda x: ops.view_as_complex(x)", [X]),
    ("view_as_real", "lambda z: ops.view_as_real(z)", [Z]),
    ("polar", "lambda r, t: ops.polar(r, t)", [MAG, ANG]),
    ("polar.nn", "lambda r, t: ops.nn.polar(r, t)", [MAG, ANG]),
    # real outputs of real inputs through complex values (the first is a gradient case: cases_ops_tables.GRAD)
    ("angle.of_view", "lambda x: ops.angle(ops.view_as_complex(x)) * 2.0", [X]),
    ("polar.parts", "lambda r, t: ops.view_as_real(ops.conj(ops.polar(r, t)))", [MAG, ANG]),
    ("nonzero", "lambda m: ops.nonzero(m)", [ROWS]),
    ("unique", "lambda i: ops.unique(i, return_index=True, return_inverse=True, return_counts=True)", [I], INT32),
    ("unique.values", "lambda i: ops.unique(i)", [I]),
    ("unique.axis", "lambda m: ops.unique(m, axis=0, return_inverse=True, return_counts=True)", [ROWS], INT32),
    ("unique.size_pad", "lambda i: ops.unique(i, size=6, fill_value=-1, return_counts=True)", [I], INT32),
    ("unique.size_cut", "lambda i: ops.unique(i, size=2, return_counts=True)", [I], INT32),
    ("vectorize", "lambda x, v: ops.vectorize(lambda a, b: a * b + 1.0)(x, v[:2])", [X, V]),
    ("vectorize.signature", "lambda m, v: ops.vectorize(lambda a, b: ops.matmul(a, b), "
                            "signature='(m,n),(n)->(m)')(m, v)", [M, V]),
    ("vectorize.excluded", "lambda x: ops.vectorize(lambda a, s: a * s, excluded={1})(x, 3.0)", [X]),
]
