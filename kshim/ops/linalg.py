"""Linear algebra, as Keras 3's ``keras.ops.linalg``: one hop into the backend's linalg family;
`cholesky_inverse` is written here once, on `solve_triangular`."""

from kshim.backends import B
from kshim.ops import symbolic as _symbolic

cholesky = B.cholesky
det = B.det
eig = B.eig
eigh = B.eigh
inv = B.inv
lstsq = B.lstsq
lu_factor = B.lu_factor
matrix_rank = B.matrix_rank
norm = B.norm
pinv = B.pinv
solve = B.solve
solve_triangular = B.solve_triangular
jvp = B.jvp


def qr(x, mode="reduced"):
    """(q, r) of ``x``; ``mode`` is "reduced" or "complete"."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: `mode` must be 'reduced' or 'complete'. Received: mode={mode!r}")
    return B.qr(x, mode=mode)


def svd(x, full_matrices=True, compute_uv=True):
    """(u, s, vh), or the singular values alone when not ``compute_uv``."""
    return B.svd(x, full_matrices=full_matrices, compute_uv=compute_uv)


def cholesky_inverse(x, upper=False):
    """The inverse of ``A`` from its Cholesky factor ``x`` (``A = x x^T``, or ``x^T x`` with ``upper``)."""
    x = B.convert_to_tensor(x)
    n = B.shape(x)[-1]
    factor_inv = B.solve_triangular(x, B.eye(n, dtype=B.dtype(x)), lower=not upper)
    t = B.transpose(factor_inv)
    return B.matmul(factor_inv, t) if upper else B.matmul(t, factor_inv)


__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor",
           "matrix_rank", "norm", "pinv", "qr", "solve", "solve_triangular", "svd"]

_symbolic.install(globals(), [n for n in __all__ if n != "jvp"], "keras.src.ops.linalg")
