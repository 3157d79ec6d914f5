"""PyTorch backend: recurrence. `scan` is a Python loop over the leading axis; the fused LSTM/GRU are torch's own
kernels (``torch.lstm``/``torch.gru``: cuDNN on CUDA, oneDNN/ATen on CPU), with the weights mapped from Keras's
layout: kernels transposed; LSTM gates i,f,c,o are torch's i,f,g,o; GRU gates z,r,h become torch's r,z,n."""

import warnings

import torch
from torch.utils import _pytree as pytree

from kshim.backends.torch.core import _as_tensor

# Keras-layout weights are passed as fresh (transposed) tensors on every call, so cuDNN cannot see one flat
# buffer; it compacts them itself, which is what we want.
warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous chunk")


def _flat(tree):
    return list(tree) if isinstance(tree, (list, tuple)) else [tree]


def _pack(like, leaves):
    if isinstance(like, (list, tuple)):
        return type(like)(leaves)
    return leaves[0]


def scan(fn, init, xs, reverse=False):
    xs_flat = [_as_tensor(x) for x in _flat(xs)]
    n = xs_flat[0].shape[0]
    carry = init
    ys = [None] * n
    for t in (range(n - 1, -1, -1) if reverse else range(n)):
        carry, ys[t] = fn(carry, _pack(xs, [x[t] for x in xs_flat]))
    if n == 0 or ys[0] is None:
        return carry, None
    leaves, spec = pytree.tree_flatten(ys[0])
    columns = [pytree.tree_leaves(y) for y in ys]
    return carry, pytree.tree_unflatten([torch.stack([_as_tensor(c[i]) for c in columns])
                                         for i in range(len(leaves))], spec)


def _bias_pair(b):
    return b, torch.zeros_like(b)


def lstm(inputs, h0, c0, kernel, recurrent_kernel, bias, go_backwards=False):
    x = _as_tensor(inputs)
    if go_backwards:
        x = torch.flip(x, (1,))
    b_ih, b_hh = _bias_pair(_as_tensor(bias))
    params = [_as_tensor(kernel).t(), _as_tensor(recurrent_kernel).t(), b_ih, b_hh]
    out, h, c = torch.lstm(x, (_as_tensor(h0).unsqueeze(0), _as_tensor(c0).unsqueeze(0)), params, True, 1, 0.0,
                           torch.is_grad_enabled(), False, True)
    return out, h[0], c[0]


def _zrh_to_rzn(w, u):
    """Keras's GRU gate blocks z, r, h on the last axis, reordered to torch's r, z, n."""
    return torch.cat([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], dim=-1)


def gru(inputs, h0, kernel, recurrent_kernel, bias, go_backwards=False):
    x = _as_tensor(inputs)
    if go_backwards:
        x = torch.flip(x, (1,))
    rk = _as_tensor(recurrent_kernel)
    u = rk.shape[0]
    b = _zrh_to_rzn(_as_tensor(bias), u)
    params = [_zrh_to_rzn(_as_tensor(kernel), u).t(), _zrh_to_rzn(rk, u).t(), b[0], b[1]]
    out, h = torch.gru(x, _as_tensor(h0).unsqueeze(0), params, True, 1, 0.0, torch.is_grad_enabled(), False, True)
    return out, h[0]
