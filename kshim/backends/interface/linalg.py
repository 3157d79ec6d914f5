"""The contract's linalg family: decompositions, solves and inverses over the last two axes (batched over the
leading ones), as Keras 3's ``keras.ops.linalg``. Implemented by ``kshim/backends/<backend>/linalg.py``; bound by
`kshim.ops.linalg`. Pivots and orders follow LAPACK/numpy (0-based pivots)."""


def cholesky(x, upper=False):
    """The Cholesky factor of the symmetric positive definite ``x``: lower ``L`` with ``x = L L^H``, or upper
    ``U = L^H`` with ``upper``."""


def det(x):
    """The determinant."""


def eig(x):
    """(eigenvalues, eigenvectors) of a general square matrix, complex."""


def eigh(x):
    """(eigenvalues ascending, eigenvectors) of a symmetric/Hermitian matrix (its lower triangle is read)."""


def inv(x):
    """The inverse."""


def lstsq(a, b, rcond=None):
    """The least-squares solution ``x`` of ``a x = b`` (numpy's ``lstsq(a, b, rcond)[0]``)."""


def lu_factor(x):
    """(lu, pivots): the packed LU factors with partial pivoting and the 0-based int32 row swaps, as
    ``scipy.linalg.lu_factor``."""


def matrix_rank(x, tol=None):
    """The rank from the singular values above ``tol`` (numpy's default when None), int32."""


def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse; singular values below ``rcond * largest`` count as zero."""


def qr(x, mode="reduced"):
    """(q, r) with ``mode`` "reduced" or "complete"."""


def solve(a, b):
    """``x`` with ``a x = b``; ``b`` is a matrix or (one axis fewer than ``a``) a vector."""


def solve_triangular(a, b, lower=False):
    """``x`` with ``a x = b`` for triangular ``a`` (``lower`` picks its triangle); ``b`` a matrix or a vector."""


def svd(x, full_matrices=True, compute_uv=True):
    """(u, s, vh), or the singular values ``s`` alone when not ``compute_uv``."""


def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode derivative: ``(fun(*primals), jvp)`` (with ``aux`` third when ``has_aux``), as ``jax.jvp``;
    ``primals`` and ``tangents`` are tuples of the same structure."""


def norm(x, ord=None, axis=None, keepdims=False):
    """numpy's ``linalg.norm``: vector norms over one axis, matrix norms ("fro", "nuc", 1, -1, 2, -2, inf, -inf)
    over two; integer input is computed in float32."""


def slogdet(x):
    """(sign, log|det|) of ``x``."""
