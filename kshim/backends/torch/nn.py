"""PyTorch backend: neural-network activations and softmax (formulas as Keras 3)."""

import torch
import torch.nn.functional as F

from kshim.backends.torch.core import _as_tensor
from kshim.backends.torch.numpy import add, matmul

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


def layer_norm(x, gamma=None, beta=None, epsilon=1e-3):
    x = _as_tensor(x)
    gamma = None if gamma is None else _as_tensor(gamma)
    beta = None if beta is None else _as_tensor(beta)
    return F.layer_norm(x, (x.shape[-1],), gamma, beta, float(epsilon))


def dense(x, kernel, bias=None):
    x, kernel = _as_tensor(x), _as_tensor(kernel)
    bias = None if bias is None else _as_tensor(bias)
    d = x.dtype
    if (d.is_floating_point and kernel.dtype == d and kernel.ndim == 2 and x.ndim >= 1
            and (bias is None or (bias.dtype == d and bias.ndim == 1))):
        # F.linear takes the (out, in) weight: kernel.t() is a view, and F.linear's own .t() gives the kernel back,
        # so this is addmm(bias, x_2d, kernel) with no copy.
        return F.linear(x, kernel.t(), bias)
    r = matmul(x, kernel)
    return r if bias is None else add(r, bias)


# ----------------------------------------------------------------------------------------------------------------
# Attention

def _attention_bias(bias, mask, is_causal, t, s, dtype, device):
    """``(additive float mask or None, rows or None)``: ``bias``, the boolean ``mask`` and the causal band folded
    into one additive mask; ``rows`` (…, T, 1) is False on query rows that see no key at all.

    The reference formula gives such a row uniform weights and no gradient to the logits. SDPA cannot: with every
    logit near -0.7 * max its saved log-sum-exp loses the log(S) term and its backward pass goes wrong. So those
    rows are unmasked here, with a zero bias, and their query is zeroed by the caller: equal logits give the same
    uniform weights, and the zeroed query passes the reference's zero gradient to the query and the keys."""
    keep = None if mask is None else _as_tensor(mask).to(torch.bool)
    if is_causal:
        band = torch.ones((t, s), dtype=torch.bool, device=device).tril()
        keep = band if keep is None else keep & band
    out = None if bias is None else _as_tensor(bias).to(dtype)
    if keep is None:
        return out, None
    rows = keep.any(dim=-1, keepdim=True)
    keep = keep | ~rows
    zero = torch.zeros((), dtype=dtype, device=device)
    # -0.7 * max: a masked logit stays far below any real one and never overflows when a bias is added.
    neg = torch.full((), -0.7 * torch.finfo(dtype).max, dtype=dtype, device=device)
    out = torch.where(keep, out if out is not None else zero, neg)
    if bias is not None:
        out = torch.where(rows, out, zero)
    return out, rows


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None):
    q, k, v = _as_tensor(query), _as_tensor(key), _as_tensor(value)
    heads, kv_heads = q.shape[2], k.shape[2]
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, N, T, H): SDPA's layout
    if heads != kv_heads:
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
    t, s = q.shape[2], k.shape[2]
    causal_only = is_causal and bias is None and mask is None
    attn, rows = (None, None) if causal_only else _attention_bias(bias, mask, is_causal, t, s, q.dtype, q.device)
    if rows is not None:
        while rows.ndim < 4:
            rows = rows.unsqueeze(0)
        q = q * rows.to(q.dtype)  # (B|1, N|1, T, 1): rows that see no key get a zero query (see _attention_bias)
    if attn is not None and attn.ndim == 4 and attn.shape[1] == 1 and heads > 1:
        attn = attn.expand(attn.shape[0], heads, attn.shape[2], attn.shape[3])
    # No .contiguous() copies: SDPA reads the transposed views through their strides (on CPU the same bits, and
    # its output, transposed back, is then already contiguous for the output projection's reshape).
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn, is_causal=causal_only, scale=scale)
    return out.transpose(1, 2)
