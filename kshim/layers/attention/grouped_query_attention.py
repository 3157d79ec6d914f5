"""GroupedQueryAttention, as Keras 3's: ``num_query_heads`` query heads share ``num_key_value_heads`` key/value
heads. Sub-layers, in build order: ``query`` (kernel (d, N, head_dim)), ``key`` and ``value`` ((d, K, head_dim)),
``attention_output`` ((N, head_dim, d)); ``gate`` after ``key`` with ``use_gate=True``.

Without dropout and without a request for the scores, the attention is one `kshim.ops.dot_product_attention`
call (the fused kernel); otherwise it is explicit, with kshim's backend-neutral dropout bits.
"""

import math

from kshim import config, constraints, initializers, ops, regularizers
from kshim.layers.activations import Softmax
from kshim.layers.core import Dropout
from kshim.layers.einsum_dense import EinsumDense
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.layers.attention import masks as amask


def _ser(module, value):
    return None if value is None else module.serialize(module.get(value))


class GroupedQueryAttention(amask.AttentionCalls, Layer):
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
        self._flash_attention = (flash_attention if flash_attention is not None
                                 else config.is_flash_attention_enabled())  # Keras 3's global switch
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
        query_shape, value_shape, key_shape = amask.split_shapes("GroupedQueryAttention", input_shape,
                                                                 check_key=False)
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

    _attention_name = "GroupedQueryAttention"
    _attention_window = property(lambda self: self.sliding_window)

    def _project(self, query, value, key):
        gate = self._gate_dense(query) if self.use_gate else None
        q = self._query_dense(query)
        k = ops.repeat(self._key_dense(key), self.num_repeats, axis=2)
        v = ops.repeat(self._value_dense(value), self.num_repeats, axis=2)
        return q, k, v, gate

    def _compute_attention(self, query, key, value, attention_mask, training, return_attention_scores,
                           use_causal_mask):
        return amask.compute_attention(
            self, query, key, value, attention_mask, training, return_attention_scores, use_causal_mask,
            name="GroupedQueryAttention", scale=self._inverse_sqrt_head_dim, dropout=self.dropout, mask_axis=-3,
            scores_of=lambda q, k: ops.einsum(self._dot_product_equation, q, k))

    def compute_output_shape(self, input_shape):
        query_shape, value_shape, _ = amask.split_shapes("GroupedQueryAttention", input_shape, check_key=False)
        if query_shape[-1] != value_shape[-1]:
            raise ValueError("GroupedQueryAttention: `query` and `value` must have the same last dimension. "
                             f"Received: query_shape={query_shape}, value_shape={value_shape}")
        amask.split_shapes("GroupedQueryAttention", input_shape)
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
