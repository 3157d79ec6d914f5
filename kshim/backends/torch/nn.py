"""PyTorch backend: neural-network activations and softmax (formulas as Keras 3)."""

import torch
import torch.nn.functional as F

from kshim.backends.torch.core import _as_tensor

def relu(x):
    return torch.relu(_as_tensor(x))


def sigmoid(x):
    return torch.sigmoid(_as_tensor(x))


def softplus(x):
    return F.softplus(_as_tensor(x))


def softsign(x):
    return F.softsign(_as_tensor(x))


def silu(x):
    return F.silu(_as_tensor(x))


def gelu(x, approximate=True):
    return F.gelu(_as_tensor(x), approximate="tanh" if approximate else "none")


def elu(x, alpha=1.0):
    return F.elu(_as_tensor(x), alpha=alpha)


def selu(x):
    # torch's constants are Keras's (alpha=1.6732632423543772, scale=1.0507009873554805); one fused kernel.
    return F.selu(_as_tensor(x))


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_as_tensor(x), negative_slope=negative_slope)


def log_sigmoid(x):
    return F.logsigmoid(_as_tensor(x))


def softmax(x, axis=-1):
    x = _as_tensor(x)
    if isinstance(axis, int):
        return torch.softmax(x, dim=axis)
    axis = tuple(range(x.ndim)) if axis is None else tuple(axis)
    e = torch.exp(x - torch.amax(x, dim=axis, keepdim=True).detach())
    return e / torch.sum(e, dim=axis, keepdim=True)


def log_softmax(x, axis=-1):
    x = _as_tensor(x)
    if isinstance(axis, int):
        return torch.log_softmax(x, dim=axis)
    axis = tuple(range(x.ndim)) if axis is None else tuple(axis)
    return x - torch.logsumexp(x, dim=axis, keepdim=True)
