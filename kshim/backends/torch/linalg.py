"""PyTorch backend: linear algebra (``torch.linalg``), with numpy's conventions where torch differs (0-based
pivots, vector right-hand sides, ``rcond``/``tol`` thresholds)."""

import torch

from kshim.backends.torch.core import _as_tensor


def _float(x):
    x = _as_tensor(x)
    return x if x.is_floating_point() or x.is_complex() else x.to(torch.float32)


def cholesky(x, upper=False):
    return torch.linalg.cholesky(_float(x), upper=bool(upper))


def det(x):
    return torch.linalg.det(_float(x))


def eig(x):
    return tuple(torch.linalg.eig(_float(x)))


def eigh(x):
    return tuple(torch.linalg.eigh(_float(x)))


def inv(x):
    return torch.linalg.inv(_float(x))


def lstsq(a, b, rcond=None):
    a, b = _float(a), _float(b)
    vector = b.ndim == 1
    b = b.unsqueeze(-1) if vector else b
    if rcond is None:
        out = torch.linalg.lstsq(a, b).solution
    elif a.device.type == "cuda":  # CUDA's only driver (gels) has no cutoff: the SVD route keeps numpy's meaning
        out = torch.linalg.pinv(a, rtol=rcond) @ b
    else:
        out = torch.linalg.lstsq(a, b, rcond=rcond, driver="gelsd").solution
    return out.squeeze(-1) if vector else out


def lu_factor(x):
    lu, pivots = torch.linalg.lu_factor(_float(x))
    return lu, (pivots - 1).to(torch.int32)  # torch counts rows from 1


def matrix_rank(x, tol=None):
    return torch.linalg.matrix_rank(_float(x), atol=tol).to(torch.int32)


def pinv(x, rcond=None):
    return torch.linalg.pinv(_float(x), rtol=rcond)


def qr(x, mode="reduced"):
    return tuple(torch.linalg.qr(_float(x), mode=mode))


def solve(a, b):
    return torch.linalg.solve(_float(a), _float(b))


def solve_triangular(a, b, lower=False):
    a, b = _float(a), _float(b)
    if b.ndim == a.ndim - 1:
        return torch.linalg.solve_triangular(a, b.unsqueeze(-1), upper=not lower).squeeze(-1)
    return torch.linalg.solve_triangular(a, b, upper=not lower)


def svd(x, full_matrices=True, compute_uv=True):
    x = _float(x)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


def jvp(fun, primals, tangents, has_aux=False):
    return torch.func.jvp(fun, tuple(_as_tensor(p) for p in primals), tuple(_as_tensor(t) for t in tangents),
                          has_aux=has_aux)


def norm(x, ord=None, axis=None, keepdims=False):
    axis = tuple(axis) if isinstance(axis, list) else axis
    return torch.linalg.norm(_float(x), ord=ord, dim=axis, keepdim=keepdims)


def slogdet(x):
    return tuple(torch.linalg.slogdet(_float(x)))
