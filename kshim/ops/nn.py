"""Neural-network ops: activations and softmax. Composites are written here once, on the primitives."""

import numpy as np

from kshim.backends import B
from kshim.ops import symbolic as _symbolic

relu = B.relu
sigmoid = B.sigmoid
softplus = B.softplus
softsign = B.softsign
silu = B.silu
swish = B.silu
gelu = B.gelu
elu = B.elu
selu = B.selu
leaky_relu = B.leaky_relu
log_sigmoid = B.log_sigmoid
softmax = B.softmax
log_softmax = B.log_softmax
# The fused last-axis layer normalization behind LayerNormalization (not a Keras 3 op name: kept out of __all__;
# Keras's `ops.layer_normalization` is a composite with any axis).
layer_norm = B.layer_norm


def relu6(x):
    """min(max(x, 0), 6)."""
    return B.clip(x, 0.0, 6.0)


def hard_sigmoid(x):
    """Keras 3's piecewise-linear sigmoid: relu6(x + 3) / 6."""
    return B.divide(B.clip(B.add(x, 3.0), 0.0, 6.0), 6.0)


def hard_silu(x):
    """x * hard_sigmoid(x)."""
    return B.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def mish(x):
    """x * tanh(softplus(x))."""
    return B.multiply(x, B.tanh(B.softplus(x)))


def exponential(x):
    """e ** x."""
    return B.exp(x)


def linear(x):
    """The identity."""
    return x


__all__ = [
    "relu", "sigmoid", "softplus", "softsign", "silu", "swish", "gelu", "elu", "selu", "leaky_relu",
    "log_sigmoid", "softmax", "log_softmax", "relu6", "hard_sigmoid", "hard_silu", "hard_swish", "mish",
    "exponential", "linear",
]


# ----------------------------------------------------------------------------------------------------------------
# Attention


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """Keras 3's ``ops.dot_product_attention``: ``query`` (B, T, N, H), ``key``/``value`` (B, S, K, H) -> (B, T, N, H).

    One hop into the backend's fused kernel (see `kshim.backends.interface.dot_product_attention`)."""
    if attn_logits_soft_cap is not None:
        raise ValueError("dot_product_attention: `attn_logits_soft_cap` is not supported. "
                         f"Received: attn_logits_soft_cap={attn_logits_soft_cap!r}")
    shapes = [tuple(B.shape(t)) for t in (query, key, value)]
    if any(len(s) != 4 for s in shapes):
        raise ValueError("dot_product_attention: `query`, `key` and `value` must be 4-D (batch, length, heads, "
                         f"head_dim). Received: query.shape={shapes[0]}, key.shape={shapes[1]}, "
                         f"value.shape={shapes[2]}")
    if shapes[0][2] % shapes[1][2]:
        raise ValueError("dot_product_attention: the query heads must be a multiple of the key heads. Received: "
                         f"query.shape={shapes[0]}, key.shape={shapes[1]}")
    return B.dot_product_attention(query, key, value, bias=bias, mask=mask, scale=scale, is_causal=is_causal,
                                   flash_attention=flash_attention)


def dot_product_attention_reference(query, key, value, bias=None, mask=None, scale=None, is_causal=False):
    """The reference formula of `dot_product_attention`, written on the primitives (einsum, where, softmax).

    The fused kernels are checked against it; it is also what a backend without a fused kernel would run."""
    q, k, v = (B.cast(t, "float32") if not str(B.dtype(t)).startswith("float") else t for t in (query, key, value))
    heads, kv_heads, head_dim = B.shape(q)[2], B.shape(k)[2], B.shape(q)[3]
    if heads != kv_heads:
        k = B.repeat(k, heads // kv_heads, axis=2)
        v = B.repeat(v, heads // kv_heads, axis=2)
    scale = 1.0 / float(head_dim) ** 0.5 if scale is None else float(scale)
    logits = B.multiply(B.einsum("btnh,bsnh->bnts", q, k), scale)
    if bias is not None:
        logits = B.add(logits, bias)
    keep = None if mask is None else B.cast(mask, "bool")
    if is_causal:
        t, s = B.shape(q)[1], B.shape(k)[1]
        band = B.greater_equal(B.reshape(B.arange(t), (t, 1)), B.reshape(B.arange(s), (1, s)))
        keep = band if keep is None else B.logical_and(keep, band)
    if keep is not None:
        logits = B.where(keep, logits, -0.7 * float(np.finfo(np.float32).max))
    return B.einsum("bnts,bsnh->btnh", B.softmax(logits, axis=-1), v)


__all__ += ["dot_product_attention"]

_symbolic.install(globals(), __all__, "keras.src.ops.nn")
