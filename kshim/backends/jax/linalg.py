"""JAX backend: linear algebra (``jnp.linalg`` and ``jax.scipy.linalg``)."""

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from kshim.backends.jax.core import _as_array, _as_float


def cholesky(x, upper=False):
    return jnp.linalg.cholesky(_as_float(x), upper=bool(upper))


def det(x):
    return jnp.linalg.det(_as_float(x))


def eig(x):
    return tuple(jnp.linalg.eig(_as_float(x)))


def eigh(x):
    return tuple(jnp.linalg.eigh(_as_float(x)))


def inv(x):
    return jnp.linalg.inv(_as_float(x))


def lstsq(a, b, rcond=None):
    return jnp.linalg.lstsq(_as_float(a), _as_float(b), rcond=rcond)[0]


def lu_factor(x):
    fn = jsl.lu_factor
    x = _as_float(x)
    for _ in range(x.ndim - 2):
        fn = jax.vmap(fn)
    return tuple(fn(x))


def matrix_rank(x, tol=None):
    return jnp.linalg.matrix_rank(_as_float(x), tol=tol).astype("int32")


def pinv(x, rcond=None):
    return jnp.linalg.pinv(_as_float(x), rcond=rcond)


def qr(x, mode="reduced"):
    return tuple(jnp.linalg.qr(_as_float(x), mode=mode))


def solve(a, b):
    return jnp.linalg.solve(_as_float(a), _as_float(b))


def solve_triangular(a, b, lower=False):
    return jsl.solve_triangular(_as_float(a), _as_float(b), lower=bool(lower))


def svd(x, full_matrices=True, compute_uv=True):
    out = jnp.linalg.svd(_as_float(x), full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def jvp(fun, primals, tangents, has_aux=False):
    primals = tuple(jax.tree_util.tree_map(_as_array, tuple(primals)))
    tangents = tuple(jax.tree_util.tree_map(_as_array, tuple(tangents)))
    return jax.jvp(fun, primals, tangents, has_aux=has_aux)


def norm(x, ord=None, axis=None, keepdims=False):
    axis = tuple(axis) if isinstance(axis, list) else axis
    return jnp.linalg.norm(_as_float(x), ord=ord, axis=axis, keepdims=keepdims)


def slogdet(x):
    return tuple(jnp.linalg.slogdet(_as_float(x)))
