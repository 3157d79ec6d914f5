"""Neural-network ops: activations and softmax. Composites are written here once, on the primitives."""

import numpy as np

from kshim.ops import absent as _absent
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
# ``x @ kernel + bias`` in one primitive (torch: one fused addmm, as nn.Linear), behind Dense and EinsumDense's
# plain projections; not a Keras 3 op name either.
dense = B.dense


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


def celu(x, alpha=1.0):
    """max(x, 0) + min(alpha * (exp(x / alpha) - 1), 0)."""
    x = B.convert_to_tensor(x)
    return B.add(B.maximum(x, 0.0), B.minimum(B.multiply(B.expm1(B.divide(x, alpha)), alpha), 0.0))


def glu(x, axis=-1):
    """The gated linear unit: the first half of ``axis`` times the sigmoid of the second half."""
    x = B.convert_to_tensor(x)
    if B.shape(x)[axis] % 2:
        raise ValueError(f"glu: the size of `axis` must be even. Received: x.shape={tuple(B.shape(x))}, "
                         f"axis={axis}")
    a, b = B.split(x, 2, axis=axis)
    return B.multiply(a, B.sigmoid(b))


def hard_tanh(x):
    """clip(x, -1, 1)."""
    return B.clip(x, -1.0, 1.0)


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    x = B.convert_to_tensor(x)
    return B.where(B.greater(B.abs(x), threshold), x, B.zeros_like(x))


def soft_shrink(x, threshold=0.5):
    """x - threshold above it, x + threshold below its negative, else 0."""
    x = B.convert_to_tensor(x)
    zero = B.zeros_like(x)
    return B.where(B.greater(x, threshold), B.subtract(x, threshold),
                   B.where(B.less(x, -threshold), B.add(x, threshold), zero))


def tanh_shrink(x):
    """x - tanh(x)."""
    return B.subtract(x, B.tanh(x))


def threshold(x, threshold, default_value):
    """x where x > threshold, else ``default_value``."""
    x = B.convert_to_tensor(x)
    return B.where(B.greater(x, threshold), x, B.full_like(x, default_value))


def sparse_plus(x):
    """0 below -1, x above 1, (x + 1)^2 / 4 between."""
    x = B.convert_to_tensor(x)
    mid = B.divide(B.square(B.add(x, 1.0)), 4.0)
    return B.where(B.less_equal(x, -1.0), B.zeros_like(x), B.where(B.greater_equal(x, 1.0), x, mid))


def sparse_sigmoid(x):
    """0 below -1, 1 above 1, (x + 1) / 2 between."""
    x = B.convert_to_tensor(x)
    mid = B.divide(B.add(x, 1.0), 2.0)
    return B.where(B.less_equal(x, -1.0), B.zeros_like(x), B.where(B.greater_equal(x, 1.0), B.ones_like(x), mid))


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2."""
    x = B.convert_to_tensor(x)
    return B.divide(B.add(x, B.sqrt(B.add(B.square(x), b))), 2.0)


def sparsemax(x, axis=-1):
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis`` (sparse softmax)."""
    x = B.convert_to_tensor(x)
    n = B.shape(x)[axis]
    ranks = [1] * len(B.shape(x))
    ranks[axis] = n
    desc = B.negative(B.sort(B.negative(x), axis=axis))
    csum = B.cumsum(desc, axis=axis)
    k = B.reshape(B.arange(1, n + 1, dtype=B.dtype(x)), tuple(ranks))
    support = B.greater(B.subtract(desc, B.divide(B.subtract(csum, 1.0), k)), 0.0)
    count = B.sum(B.cast(support, B.dtype(x)), axis=axis, keepdims=True)
    tau = B.divide(B.subtract(B.sum(B.where(support, csum, B.zeros_like(csum)), axis=axis, keepdims=True), 1.0),
                   count)
    return B.maximum(B.subtract(x, tau), 0.0)


__all__ = [
    "relu", "sigmoid", "softplus", "softsign", "silu", "swish", "gelu", "elu", "selu", "leaky_relu",
    "log_sigmoid", "softmax", "log_softmax", "relu6", "hard_sigmoid", "hard_silu", "hard_swish", "mish",
    "exponential", "linear", "celu", "glu", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink", "threshold",
    "sparse_plus", "sparse_sigmoid", "squareplus", "sparsemax",
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

# The rest of Keras 3's ``keras.ops.nn``: written in their own modules, shown here under Keras 3's path.
from kshim.ops.convolution import (  # noqa: E402,F401
    average_pool, conv, conv_transpose, depthwise_conv, max_pool, separable_conv)
from kshim.ops.normalization import *  # noqa: E402,F401,F403
from kshim.ops.nn_extras import *  # noqa: E402,F401,F403
from kshim.ops.nn_windows import *  # noqa: E402,F401,F403
from kshim.ops.ctc import *  # noqa: E402,F401,F403
from kshim.ops.complex import polar  # noqa: E402,F401

__getattr__ = _absent.module_getattr(__name__)  # Keras 3 names kshim leaves out, each with its reason
