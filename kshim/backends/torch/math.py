"""PyTorch backend: segment reductions (``scatter_reduce`` onto the identity), FFTs (``torch.fft``) and special
functions."""

import torch

from kshim.backends.torch.core import _as_tensor

_REDUCE = {"sum": "sum", "max": "amax", "min": "amin", "prod": "prod"}


def _identity(reduction, dtype):
    if reduction == "sum":
        return 0
    if reduction == "prod":
        return 1
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    if dtype.is_floating_point:
        return -float("inf") if reduction == "max" else float("inf")
    return info.min if reduction == "max" else info.max


def segment_reduce(data, segment_ids, num_segments, reduction):
    data = _as_tensor(data)
    ids = _as_tensor(segment_ids).long()
    num_segments = int(num_segments)
    keep = (ids >= 0) & (ids < num_segments)
    if not bool(keep.all()):
        data, ids = data[keep], ids[keep]
    out = torch.full((num_segments,) + tuple(data.shape[1:]), _identity(reduction, data.dtype), dtype=data.dtype,
                     device=data.device)
    index = ids.reshape((-1,) + (1,) * (data.ndim - 1)).expand_as(data)
    return out.scatter_reduce(0, index, data, _REDUCE[reduction], include_self=True)


def _float(x):
    x = _as_tensor(x)
    return x if x.is_floating_point() else x.to(torch.float32)


def _complex(x):
    real, imag = (_float(v) for v in x)
    return torch.complex(real, imag)


def _pair(z):
    return z.real.contiguous(), z.imag.contiguous()


def fft(x):
    return _pair(torch.fft.fft(_complex(x)))


def fft2(x):
    return _pair(torch.fft.fft2(_complex(x)))


def ifft2(x):
    return _pair(torch.fft.ifft2(_complex(x)))


def rfft(x, fft_length=None):
    return _pair(torch.fft.rfft(_float(x), n=fft_length))


def irfft(x, fft_length=None):
    return torch.fft.irfft(_complex(x), n=fft_length)


def erfc(x):
    return torch.erfc(_float(x))


def erfinv(x):
    return torch.erfinv(_float(x))
