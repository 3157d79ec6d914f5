"""PyTorch backend: complex tensors and their parts (``torch.complex``, ``torch.real``/``imag``/``angle``)."""

import torch

from kshim.backends.torch.core import _as_tensor


def _float(x):
    x = _as_tensor(x)
    return x if x.is_floating_point() else x.to(torch.float32)


def complex(real, imag):
    real, imag = _float(real), _float(imag)
    d = torch.promote_types(real.dtype, imag.dtype)
    if d.itemsize < 4:  # float16/bfloat16 parts: complex64 (as on jax)
        d = torch.float32
    real, imag = torch.broadcast_tensors(real.to(d), imag.to(d))
    return torch.complex(real, imag)


def real(x):
    x = _as_tensor(x)
    return torch.real(x) if x.is_complex() else x


def imag(x):
    x = _as_tensor(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


def conjugate(x):
    x = _as_tensor(x)
    return torch.conj(x).resolve_conj() if x.is_complex() else x


def angle(x):
    x = _as_tensor(x)
    return torch.angle(x if x.is_complex() else _float(x))


def isreal(x):
    return torch.isreal(_as_tensor(x))
