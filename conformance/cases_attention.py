"""Cases for attention: `ops.dot_product_attention` and the attention layers, EinsumDense and RMSNormalization.

``ops.dot_product_attention`` runs the backend's fused kernel (torch SDPA, jax.nn.dot_product_attention). Each op
case returns the fused output (``out``), the reference composite's (``out_reference``,
`kshim.ops.nn.dot_product_attention_reference`) and the fused path's gradients; both outputs are compared with a
float64 numpy reference (rtol 1e-5), and everything across backends (rtol 1e-5).

Each layer case sets fixed weights, calls the layer statelessly (the trainer's mechanism) with masks, causal masks
or returned scores, and returns the outputs and the gradients of a weighted sum with respect to the float inputs
and every trainable weight; the backends must agree to rtol 1e-5 (Keras 3 parity itself is
tests/test_layers_attention.py). Dropout cases run in training with a fixed seed: kshim's counter-based bits make
the dropped attention weights the same on both backends.
"""

import numpy as np

from conformance.case import _Lazy, case, ops, rng, weighted_sum
from conformance.cases_ops import _snake

# ----------------------------------------------------------------------------------------------------------------
# ops.dot_product_attention: fused vs reference vs numpy float64


def _np_attention(q, k, v, bias=None, mask=None, scale=None, is_causal=False):
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    groups = q.shape[2] // k.shape[2]
    k, v = np.repeat(k, groups, axis=2), np.repeat(v, groups, axis=2)
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    logits = np.einsum("btnh,bsnh->bnts", q, k) * scale
    if bias is not None:
        logits = logits + bias
    keep = np.ones(logits.shape, bool)
    if mask is not None:
        keep &= np.broadcast_to(mask, logits.shape)
    if is_causal:
        keep &= np.tril(np.ones(logits.shape[-2:], bool))
    logits = np.where(keep, logits, -0.7 * np.finfo(np.float32).max)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return np.einsum("bnts,bsnh->btnh", e / e.sum(-1, keepdims=True), v)


def _qkv(seed, t=5, s=6, n=4, kv=4, h=8, hv=None):
    r = rng(seed)
    return (r.normal(size=(2, t, n, h)).astype(np.float32), r.normal(size=(2, s, kv, h)).astype(np.float32),
            r.normal(size=(2, s, kv, hv or h)).astype(np.float32))


_MASK = rng(710).random((2, 1, 5, 6)) > 0.3
_MASK[1, 0, 2, :] = False  # a query row that sees no key: uniform attention on every path
_BIAS = rng(711).normal(size=(2, 4, 5, 6)).astype(np.float32)

DPA_VARIANTS = {
    "plain": (_qkv(700), {}),
    "mask": (_qkv(701), {"mask": _MASK}),
    "causal": (_qkv(702, t=6), {"is_causal": True}),
    "causal_rectangular_mask": (_qkv(703), {"is_causal": True, "mask": _MASK}),
    "bias_scale": (_qkv(704), {"bias": _BIAS, "scale": 0.2}),
    "grouped_heads": (_qkv(705, kv=2), {"mask": _MASK}),
    "value_dim": (_qkv(706, hv=3), {"is_causal": True}),
}


def _dpa_case(variant):
    (q, k, v), kw = DPA_VARIANTS[variant]

    def run():
        from kshim.ops import nn as ops_nn

        tkw = {key: (ops.convert_to_tensor(val) if isinstance(val, np.ndarray) else val) for key, val in kw.items()}

        def loss_fn(params):
            out = ops.dot_product_attention(*params, **tkw)
            return weighted_sum(out), out

        params = [ops.convert_to_tensor(a) for a in (q, k, v)]
        (loss, out), grads = ops.value_and_grad(loss_fn, has_aux=True)(params)
        ref = ops_nn.dot_product_attention_reference(*params, **tkw)
        return {"out": out, "out_reference": ref, "loss": loss, "grad_query": grads[0], "grad_key": grads[1],
                "grad_value": grads[2]}

    def reference():
        out = _np_attention(q, k, v, **kw)
        return {"out": out, "out_reference": out}

    run.__doc__ = (f"ops.dot_product_attention ({variant}): the fused kernel and the reference composite against "
                   "numpy float64, and gradients across backends.")
    case(f"ops.dot_product_attention[{variant}]", family="ops", rtol=1e-5, atol=1e-6, reference=reference,
         covers=("ops.dot_product_attention",),
         ref_rtol=1e-5, ref_atol=1e-6)(run)


for _v in DPA_VARIANTS:
    _dpa_case(_v)


# ops.nn.layer_norm: the fused last-axis layer normalization behind LayerNormalization (torch F.layer_norm)
_LN_X = np.random.default_rng(71).normal(2.0, 3.0, (3, 4, 16)).astype("float32")
_LN_GAMMA = np.random.default_rng(72).uniform(0.5, 1.5, 16).astype("float32")
_LN_BETA = np.random.default_rng(73).normal(0.0, 1.0, 16).astype("float32")


def _np_layer_norm(x, gamma, beta, epsilon):
    x = x.astype("float64")
    out = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + epsilon)
    return out if gamma is None else out * gamma + beta


@case("ops.layer_norm", family="ops", rtol=1e-5, atol=1e-6, ref_rtol=1e-5, ref_atol=1e-5,
      reference=lambda: {"out": _np_layer_norm(_LN_X, _LN_GAMMA, _LN_BETA, 1e-3),
                         "out_plain": _np_layer_norm(_LN_X, None, None, 1e-6)})
def _layer_norm_case():
    """ops.nn.layer_norm over the last axis, with and without gamma/beta, against numpy float64; gradients across
    backends."""
    from kshim.ops import nn as ops_nn

    def loss_fn(params):
        out = ops_nn.layer_norm(*params, 1e-3)
        return weighted_sum(out), out

    params = [ops.convert_to_tensor(a) for a in (_LN_X, _LN_GAMMA, _LN_BETA)]
    (loss, out), grads = ops.value_and_grad(loss_fn, has_aux=True)(params)
    plain = ops_nn.layer_norm(params[0], None, None, 1e-6)
    return {"out": out, "out_plain": plain, "loss": loss, "grad_x": grads[0], "grad_gamma": grads[1],
            "grad_beta": grads[2]}


# ----------------------------------------------------------------------------------------------------------------
# Layers


def _set_fixed_weights(layer, seed):
    """Every weight uniform in [-0.5, 0.5) (scalars in [0.5, 1.5)), so biases and scales matter too."""
    r = rng(seed)
    layer.set_weights([(r.uniform(-0.5, 0.5, size=w.shape) + (1.0 if w.ndim == 0 else 0.0)).astype(w.dtype)
                       for w in layer.get_weights()])


def layer_case(name, make, inputs, *, packed=False, call_kwargs=None, training=False, seed=0, covers=(),
               rtol=1e-5, atol=1e-6):
    """Register ``layers.<name>``: ``make()`` called on ``inputs`` (positionally, or as one list when
    ``packed``), statelessly, with ``call_kwargs`` (numpy arrays become tensors, ``mask`` lists included)."""
    inputs = [np.asarray(a) for a in inputs]
    call_kwargs = dict(call_kwargs or {})

    def run():
        import kshim

        kshim.utils.set_random_seed(seed)
        layer = make()
        tensors = [ops.convert_to_tensor(a) for a in inputs]

        def conv(v):
            if isinstance(v, np.ndarray):
                return ops.convert_to_tensor(v)
            if isinstance(v, list):
                return [conv(x) for x in v]
            return v

        kw = {k: conv(v) for k, v in call_kwargs.items()}
        layer(tensors if packed else tensors[0], *([] if packed else tensors[1:]), **kw)  # build
        _set_fixed_weights(layer, seed + 1)
        t_vars, n_vars = layer.trainable_variables, layer.non_trainable_variables
        n_values = [v.value for v in n_vars]
        diff = [i for i, a in enumerate(inputs) if a.dtype.kind == "f"]

        def loss_fn(params):
            xs = list(tensors)
            for j, i in enumerate(diff):
                xs[i] = params[j]
            args = (xs,) if packed else tuple(xs)
            out, _ = layer.stateless_call(list(params[len(diff):]), n_values, *args, training=training, **kw)
            return weighted_sum(out), out

        params = [tensors[i] for i in diff] + [v.value for v in t_vars]
        (loss, out), grads = ops.value_and_grad(loss_fn, has_aux=True)(params)
        outs = out if isinstance(out, (list, tuple)) else [out]
        res = {f"out{i}": o for i, o in enumerate(outs)}
        res["loss"] = loss
        names = [f"x{i}" for i in diff] + [f"w{i}_{v.name}" for i, v in enumerate(t_vars)]
        res.update({f"grad_{n}": g for n, g in zip(names, grads)})
        return res

    run.__doc__ = f"layers.{name}: outputs and gradients wrt the inputs and every weight, across backends."
    covers = tuple(covers) + _cov(name.split("[")[0])
    case(f"layers.{name}", family="layers", rtol=rtol, atol=atol, covers=covers)(run)


def _f(seed, *shape):
    return rng(seed).normal(size=shape).astype(np.float32)


QM = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]], bool)
VM = np.array([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0]], bool)
L = _Lazy("kshim.layers")  # resolved inside the case functions only


def _cov(*names):
    return tuple(f"layers.{_snake(n)}" for n in names)


X6, V7 = _f(720, 3, 6, 8), _f(721, 3, 7, 8)
layer_case("MultiHeadAttention[self]", lambda: L.MultiHeadAttention(2, 4), [X6, X6])
layer_case("MultiHeadAttention[cross_masks]", lambda: L.MultiHeadAttention(2, 4, value_dim=3, output_shape=5),
           [X6, V7], call_kwargs={"query_mask": QM, "value_mask": VM})
layer_case("MultiHeadAttention[causal]", lambda: L.MultiHeadAttention(2, 4), [X6, X6],
           call_kwargs={"use_causal_mask": True})
layer_case("MultiHeadAttention[causal_masks_scores]", lambda: L.MultiHeadAttention(2, 4, use_gate=True), [X6, X6],
           call_kwargs={"use_causal_mask": True, "query_mask": QM, "value_mask": QM,
                        "return_attention_scores": True})
layer_case("MultiHeadAttention[attention_axes]", lambda: L.MultiHeadAttention(2, 3, attention_axes=(1, 2)),
           [_f(722, 2, 3, 4, 5), _f(723, 2, 3, 4, 5)])
layer_case("MultiHeadAttention[dropout_training]", lambda: L.MultiHeadAttention(2, 4, dropout=0.3, seed=11),
           [X6, V7], call_kwargs={"value_mask": VM}, training=True)
layer_case("GroupedQueryAttention[masks]", lambda: L.GroupedQueryAttention(4, 4, 2), [X6, V7],
           call_kwargs={"query_mask": QM, "value_mask": VM}, covers=_cov("GroupQueryAttention"))
layer_case("GroupedQueryAttention[causal_scores]", lambda: L.GroupedQueryAttention(4, 6, 3, use_gate=True),
           [X6, X6], call_kwargs={"use_causal_mask": True, "return_attention_scores": True})
layer_case("GroupedQueryAttention[dropout_training]", lambda: L.GroupedQueryAttention(4, 4, 1, dropout=0.25, seed=3),
           [X6, X6], call_kwargs={"use_causal_mask": True}, training=True)
Q4, V4, K4 = _f(724, 3, 6, 4), _f(725, 3, 7, 3), _f(726, 3, 7, 4)
layer_case("Attention[dot]", lambda: L.Attention(), [Q4, V4, K4], packed=True)
layer_case("Attention[scale_masks_causal_scores]", lambda: L.Attention(use_scale=True), [Q4, _f(727, 3, 6, 4)],
           packed=True, call_kwargs={"mask": [QM, QM], "use_causal_mask": True, "return_attention_scores": True})
layer_case("Attention[concat_dropout_training]", lambda: L.Attention(score_mode="concat", dropout=0.3, seed=4),
           [Q4, V4, K4], packed=True, call_kwargs={"mask": [QM, VM]}, training=True)
layer_case("AdditiveAttention[masks]", lambda: L.AdditiveAttention(), [Q4, V4, K4], packed=True,
           call_kwargs={"mask": [QM, VM], "return_attention_scores": True})
layer_case("AdditiveAttention[causal_no_scale]", lambda: L.AdditiveAttention(use_scale=False),
           [Q4, _f(728, 3, 6, 4)], packed=True, call_kwargs={"use_causal_mask": True})
layer_case("EinsumDense[heads]", lambda: L.EinsumDense("abc,cde->abde", output_shape=(None, 3, 4), bias_axes="de",
                                                       activation="tanh"), [X6])
layer_case("EinsumDense[ellipsis]", lambda: L.EinsumDense("...b,bc->...c", output_shape=5, bias_axes="c"), [X6])
layer_case("EinsumDense[right_ellipsis]", lambda: L.EinsumDense("ab...,bc->ac...", output_shape=(4, 8),
                                                                bias_axes="c"), [X6])
layer_case("RMSNormalization[last]", lambda: L.RMSNormalization(), [X6])
layer_case("RMSNormalization[two_axes]", lambda: L.RMSNormalization(axis=[1, 2], epsilon=1e-3), [X6])
