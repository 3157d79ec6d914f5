"""JAX backend: neural-network activations (formulas as Keras 3). Integer input is promoted to float32."""

import jax
import jax.numpy as jnp

from kshim.backends.jax.core import _axis_arg, _as_float, _as_operand

# jax.nn's custom_jvp activations spend ~0.4 ms in Python per eager call; wrapped in jit they take ~10 us (and
# inside an outer jit the wrapper costs nothing).
_relu = jax.jit(jax.nn.relu)
_gelu = jax.jit(jax.nn.gelu, static_argnames="approximate")
_softmax = jax.jit(jax.nn.softmax, static_argnames="axis")


def relu(x):
    return _relu(_as_operand(x))


def sigmoid(x):
    return jax.nn.sigmoid(_as_float(x))


def softplus(x):
    return jax.nn.softplus(_as_float(x))


def softsign(x):
    return jax.nn.soft_sign(_as_float(x))


def silu(x):
    return jax.nn.silu(_as_float(x))


def gelu(x, approximate=True):
    return _gelu(_as_float(x), approximate=bool(approximate))


def elu(x, alpha=1.0):
    return jax.nn.elu(_as_float(x), alpha)


def selu(x):
    # jax's constants are Keras's: alpha=1.6732632423543772, scale=1.0507009873554805
    return jax.nn.selu(_as_float(x))


def leaky_relu(x, negative_slope=0.2):
    return jax.nn.leaky_relu(_as_float(x), negative_slope)


def log_sigmoid(x):
    return jax.nn.log_sigmoid(_as_float(x))


def softmax(x, axis=-1):
    return _softmax(_as_float(x), axis=_axis_arg(axis))


def log_softmax(x, axis=-1):
    return jax.nn.log_softmax(_as_float(x), axis=_axis_arg(axis))


def _layer_norm(x, gamma, beta, epsilon):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.var(x, axis=-1, keepdims=True)
    inv = jax.lax.rsqrt(var + epsilon)
    if gamma is not None:
        inv = inv * gamma
    res = -mean * inv
    if beta is not None:
        res = res + beta
    return x * inv + res


_layer_norm_jit = jax.jit(_layer_norm, static_argnames="epsilon")


def layer_norm(x, gamma=None, beta=None, epsilon=1e-3):
    x = _as_float(x)
    gamma = None if gamma is None else _as_operand(gamma).astype(x.dtype)
    beta = None if beta is None else _as_operand(beta).astype(x.dtype)
    return _layer_norm_jit(x, gamma, beta, float(epsilon))


def dense(x, kernel, bias=None):
    r = jnp.matmul(_as_operand(x), _as_operand(kernel))
    return r if bias is None else jnp.add(r, _as_operand(bias))


# ----------------------------------------------------------------------------------------------------------------
# Attention

def _attention(query, key, value, bias, mask, scale, is_causal, implementation):
    return jax.nn.dot_product_attention(query, key, value, bias=bias, mask=mask, scale=scale, is_causal=is_causal,
                                        implementation=implementation)


_attention_jit = jax.jit(_attention, static_argnames=("scale", "is_causal", "implementation"))


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None):
    q, k, v = _as_float(query), _as_float(key), _as_float(value)
    if bias is not None:
        bias = _as_float(bias).astype(q.dtype)
    if mask is not None:
        mask = _as_operand(mask).astype(bool)
    # XLA's implementation is the reference formula (where(mask, logits, -0.7 * max), softmax in float32);
    # cuDNN's fused kernel only when asked for and on a GPU.
    impl = "cudnn" if flash_attention and jax.default_backend() == "gpu" else None
    if v.shape[-1] != q.shape[-1]:
        s = 1.0 / float(q.shape[-1]) ** 0.5 if scale is None else float(scale)
        return _reference_jit(q, k, v, bias, mask, s, bool(is_causal))
    return _attention_jit(q, k, v, bias, mask, None if scale is None else float(scale), bool(is_causal), impl)


def _reference_attention(query, key, value, bias, mask, scale, is_causal):
    """The reference formula, for what jax.nn.dot_product_attention refuses (a value head size unlike the key's)."""
    groups = query.shape[2] // key.shape[2]
    if groups > 1:
        key, value = jnp.repeat(key, groups, axis=2), jnp.repeat(value, groups, axis=2)
    logits = jnp.einsum("btnh,bsnh->bnts", query, key) * scale
    if bias is not None:
        logits = logits + bias
    keep = None if mask is None else mask
    if is_causal:
        band = jnp.tril(jnp.ones((query.shape[1], key.shape[1]), dtype=bool))
        keep = band if keep is None else jnp.logical_and(keep, band)
    if keep is not None:
        logits = jnp.where(keep, logits, -0.7 * jnp.finfo(logits.dtype).max)
    return jnp.einsum("bnts,bsnh->btnh", jax.nn.softmax(logits, axis=-1), value)


_reference_jit = jax.jit(_reference_attention, static_argnames=("scale", "is_causal"))
