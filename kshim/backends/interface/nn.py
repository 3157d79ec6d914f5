"""The contract's nn family: activations, softmax, layer normalization and attention (formulas as Keras 3).
Implemented by ``kshim/backends/<backend>/nn.py``; bound by `kshim.ops.nn`."""


def relu(x):
    """max(x, 0)."""


def sigmoid(x):
    """1 / (1 + exp(-x))."""


def softplus(x):
    """log(1 + exp(x)), computed stably."""


def softsign(x):
    """x / (1 + |x|)."""


def silu(x):
    """x * sigmoid(x)."""


def gelu(x, approximate=True):
    """Gaussian error linear unit; tanh approximation when ``approximate`` (Keras 3's default)."""


def elu(x, alpha=1.0):
    """x if x > 0 else alpha * (exp(x) - 1)."""


def selu(x):
    """scale * elu(x, alpha) with Keras's alpha=1.67326324, scale=1.05070098."""


def leaky_relu(x, negative_slope=0.2):
    """x if x >= 0 else negative_slope * x."""


def log_sigmoid(x):
    """log(sigmoid(x)), computed stably."""


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, computed stably."""


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``."""


def layer_norm(x, gamma=None, beta=None, epsilon=1e-3):
    """Layer normalization over the last axis of a float ``x``, in ``x``'s dtype:
    ``(x - mean) * rsqrt(var + epsilon) * gamma + beta`` with the biased variance; ``gamma`` and ``beta`` have
    shape ``(x.shape[-1],)`` or are None (no scale, no offset).

    Each backend uses its framework's fused kernel where it has one (torch ``F.layer_norm``); jax writes Keras 3's
    order of operations (``inv = rsqrt(var + epsilon) * gamma``, ``x * inv + (beta - mean * inv)``) in one jitted
    function. The two agree with each other and with Keras 3's LayerNormalization to float32 rounding."""


def dense(x, kernel, bias=None):
    """``matmul(x, kernel) + bias``: the dense projection behind Dense and EinsumDense's plain projections.
    ``kernel`` is 2-D in Keras's (in, out) layout, ``bias`` has shape ``(out,)`` or is None; ``x`` is (..., in).
    Dtypes promote as ``matmul`` then ``add`` do.

    torch runs it as one fused ``addmm`` (``F.linear`` on the 2-D view of ``x``, as ``nn.Linear`` does) when
    ``x``, ``kernel`` and ``bias`` share one floating dtype, and as matmul then add otherwise; jax writes
    ``x @ kernel + bias`` (XLA fuses it inside a jitted step). The fused form adds the bias inside the GEMM, so it
    agrees with matmul then add to float32 rounding, not bit for bit."""


# ----------------------------------------------------------------------------------------------------------------
# Attention (one block: moves as a unit)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None):
    """Scaled dot-product attention in Keras 3's layout: ``query`` (B, T, N, H), ``key``/``value`` (B, S, K, H)
    with ``N`` a multiple of ``K`` (grouped-query attention repeats each key/value head ``N // K`` times).

    ``softmax(where(mask & causal, scale * q @ k^T + bias, -0.7 * finfo.max)) @ v``, returned as (B, T, N, H).
    ``scale`` defaults to ``1 / sqrt(H)``; ``bias`` (float) and ``mask`` (bool, True = attend) broadcast to
    (B, N, T, S); ``is_causal`` keeps key ``s`` for query ``t`` only when ``s <= t`` (top-left aligned). A query
    row with every key masked attends uniformly to all keys (the reference formula's result). Integer inputs are
    promoted to float32.

    Each backend uses its framework's fused kernel: torch ``F.scaled_dot_product_attention`` (the mask and bias
    folded into one additive float mask; the plain causal case uses ``is_causal=True``), jax
    ``jax.nn.dot_product_attention`` (XLA's implementation, which is the reference formula; cuDNN on a GPU when
    ``flash_attention`` is true). Both agree with the reference composite
    ``kshim.ops.nn.dot_product_attention_reference`` to float32 rounding (rtol 1e-5 in the conformance suite).
    """
