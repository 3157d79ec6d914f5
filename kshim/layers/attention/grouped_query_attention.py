"""GroupedQueryAttention, as Keras 3's: ``num_query_heads`` query heads share ``num_key_value_heads`` key/value
heads. Sub-layers, in build order: ``query`` (kernel (d, N, head_dim)), ``key`` and ``value`` ((d, K, head_dim)),
``attention_output`` ((N, head_dim, d)); ``gate`` after ``key`` with ``use_gate=True``.

Without dropout and without a request for the scores, the attention is one `kshim.ops.dot_product_attention`
call (the fused kernel); otherwise it is explicit, with kshim's backend-neutral dropout bits.
"""

import math

from kshim import constraints, initializers, ops, regularizers
from kshim.layers.activations import Softmax
from kshim.layers.core import Dropout
from kshim.layers.einsum_dense import EinsumDense
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.layers.attention import masks as amask


def _ser(module, value):
    return None if value is None else module.serialize(module.get(value))


class GroupedQueryAttention(Layer):
    """Keras 3's GroupedQueryAttention. Call as ``layer(query, value, key=None, attention_mask=None,
    return_attention_scores=False, training=None, use_causal_mask=False)``."""

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("head_dim", head_dim), ("num_query_heads", num_query_heads),
                            ("num_key_value_heads", num_key_value_heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"GroupedQueryAttention: `{name}` must be a positive integer. "
                                 f"Received: {name}={value!r}")
        if num_query_heads % num_key_value_heads:
            raise ValueError("GroupedQueryAttention: `num_query_heads` must be a multiple of `num_key_value_heads`. "
                             f"Received: num_query_heads={num_query_heads}, "
                             f"num_key_value_heads={num_key_value_heads}")
        if sliding_window is not None and (isinstance(sliding_window, bool) or not isinstance(sliding_window, int)
                                           or sliding_window <= 0):
            raise ValueError("GroupedQueryAttention: `sliding_window` must be None or a positive integer. "
                             f"Received: sliding_window={sliding_window!r}")
        self.supports_masking = True
        self.head_dim, self.num_query_heads, self.num_key_value_heads = head_dim, num_query_heads, num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout, self.use_bias, self.use_gate = float(dropout), bool(use_bias), bool(use_gate)
        self.sliding_window, self.seed = sliding_window, seed
        self._flash_attention = flash_attention
        if flash_attention and self.dropout > 0:
            raise ValueError("GroupedQueryAttention: dropout is not supported with flash attention. Received: "
                             f"dropout={dropout!r}, flash_attention={flash_attention!r}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(head_dim))
        self._scores_wanted = False

    def _dense(self, equation, output_shape, bias_axes, name, activation=None):
        return EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes if self.use_bias else None,
                           activation=activation, name=name, kernel_regularizer=self.kernel_regularizer,
                           bias_regularizer=self.bias_regularizer, activity_regularizer=self._activity_regularizer,
                           kernel_constraint=self.kernel_constraint, bias_constraint=self.bias_constraint,
                           dtype=self.dtype,
                           kernel_initializer=type(self.kernel_initializer).from_config(
                               self.kernel_initializer.get_config()),
                           bias_initializer=type(self.bias_initializer).from_config(
                               self.bias_initializer.get_config()))

    def build(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        query_shape, value_shape = shapes[0], shapes[1]
        key_shape = shapes[2] if len(shapes) > 2 else value_shape
        self.feature_dim = query_shape[-1]
        self._query_dense = self._dense("bqm,muh->bquh", (None, self.num_query_heads, self.head_dim), "uh", "query")
        self._query_dense.build(query_shape)
        self._key_dense = self._dense("bkm,mvh->bkvh", (None, self.num_key_value_heads, self.head_dim), "vh", "key")
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = self._dense("bqm,muh->bquh", (None, self.num_query_heads, self.head_dim), "uh",
                                           "gate", activation="sigmoid")
            self._gate_dense.build(query_shape)
        self._value_dense = self._dense("bkm,mvh->bkvh", (None, self.num_key_value_heads, self.head_dim), "vh",
                                        "value")
        self._value_dense.build(value_shape)
        self._softmax = Softmax(axis=-1, dtype=self.dtype)
        self._dropout_layer = Dropout(rate=self.dropout, dtype=self.dtype, seed=self.seed)
        self._dot_product_equation = "bquh,bkuh->buqk"
        self._combine_equation = "buqk,bkuh->bquh"
        self._output_dense = self._dense("bquh,uhm->bqm", (None, self.feature_dim), "m", "attention_output")
        self._output_dense.build((None, None, self.num_query_heads, self.head_dim))
        self.built = True

    _node_call_arguments = staticmethod(amask.node_call_arguments)
    get_build_config = amask.build_config
    build_from_config = amask.build_from_config

    def __call__(self, query, value=None, key=None, **kwargs):
        packed = amask.pack_call("GroupedQueryAttention", query, value, key, kwargs)
        self._scores_wanted = bool(kwargs.get("return_attention_scores", False))
        return super().__call__(packed, **kwargs)

    def call(self, inputs, mask=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        query, value, key, query_mask, value_mask, key_mask, attention_mask = amask.unpack_call(
            inputs, mask, query_mask, value_mask, key_mask, attention_mask)
        causal_only = (use_causal_mask and query_mask is None and value_mask is None and key_mask is None
                       and attention_mask is None and self.sliding_window is None)
        if not causal_only:
            attention_mask = amask.attention_mask(
                ops.shape(query)[1], ops.shape(value)[1], query_mask, value_mask, key_mask, attention_mask,
                use_causal_mask, self.sliding_window)
        gate = self._gate_dense(query) if self.use_gate else None
        q = self._query_dense(query)
        k = ops.repeat(self._key_dense(key), self.num_repeats, axis=2)
        v = ops.repeat(self._value_dense(value), self.num_repeats, axis=2)
        out, scores = self._compute_attention(q, k, v, attention_mask, training, return_attention_scores,
                                              causal_only)
        out = self._output_dense(ops.multiply(out, gate) if gate is not None else out)
        return (out, scores) if return_attention_scores else out

    def _compute_attention(self, query, key, value, attention_mask, training, return_attention_scores,
                           use_causal_mask):
        if self._flash_attention and return_attention_scores:
            raise ValueError("GroupedQueryAttention: the attention scores cannot be returned with flash attention. "
                             "Received: return_attention_scores=True, flash_attention=True")
        if not (self.dropout > 0 or return_attention_scores or ops.ndim(query) != 4):
            if attention_mask is not None:
                while ops.ndim(attention_mask) < 4:
                    attention_mask = ops.expand_dims(attention_mask, -3)
                attention_mask = ops.cast(attention_mask, "bool")
            out = ops.dot_product_attention(query, key, value, mask=attention_mask,
                                            scale=self._inverse_sqrt_head_dim, is_causal=use_causal_mask,
                                            flash_attention=self._flash_attention)
            return out, None
        if use_causal_mask:
            causal = amask.causal_mask(ops.shape(query)[1], ops.shape(value)[1])
            attention_mask = causal if attention_mask is None else ops.logical_and(
                ops.cast(attention_mask, "bool"), causal)
        query = ops.multiply(query, self._inverse_sqrt_head_dim)
        scores = ops.einsum(self._dot_product_equation, query, key)
        if attention_mask is not None:
            while ops.ndim(attention_mask) < ops.ndim(scores):
                attention_mask = ops.expand_dims(attention_mask, -3)
        scores = self._softmax(scores, mask=attention_mask)
        dropped = self._dropout_layer(scores, training=training) if self.dropout > 0 else scores
        return ops.einsum(self._combine_equation, dropped, value), scores

    def compute_mask(self, inputs, previous_mask=None):
        if isinstance(previous_mask, (list, tuple)):
            return previous_mask[0]
        return None

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        query_shape, value_shape = shapes[0], shapes[1]
        key_shape = shapes[2] if len(shapes) > 2 else value_shape
        if query_shape[-1] != value_shape[-1]:
            raise ValueError("GroupedQueryAttention: `query` and `value` must have the same last dimension. "
                             f"Received: query_shape={query_shape}, value_shape={value_shape}")
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("GroupedQueryAttention: `value` and `key` must agree on every axis but the last. "
                             f"Received: value_shape={value_shape}, key_shape={key_shape}")
        return query_shape

    def compute_output_spec(self, inputs_spec):
        shapes = [tuple(t.shape) for t in inputs_spec]
        out = KerasTensor(self.compute_output_shape(shapes), self.compute_dtype)
        if self._scores_wanted:
            kv_len = shapes[2][1] if len(shapes) > 2 else shapes[1][1]
            return [out, KerasTensor((shapes[0][0], self.num_query_heads, shapes[0][1], kv_len),
                                     self.compute_dtype)]
        return out

    def get_config(self):
        return {**super().get_config(), "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias,
                "use_gate": self.use_gate, "sliding_window": self.sliding_window, "dropout": self.dropout,
                "kernel_initializer": _ser(initializers, self.kernel_initializer),
                "bias_initializer": _ser(initializers, self.bias_initializer),
                "kernel_regularizer": _ser(regularizers, self.kernel_regularizer),
                "bias_regularizer": _ser(regularizers, self.bias_regularizer),
                "activity_regularizer": _ser(regularizers, self._activity_regularizer),
                "kernel_constraint": _ser(constraints, self.kernel_constraint),
                "bias_constraint": _ser(constraints, self.bias_constraint), "seed": self.seed}
