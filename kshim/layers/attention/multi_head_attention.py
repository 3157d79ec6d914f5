"""MultiHeadAttention, as Keras 3's: the same arguments, sub-layers, weights, masks and numbers.

Weights come from four EinsumDense sub-layers built in this order: ``query`` (kernel (d_q, N, key_dim)), ``key``
((d_k, N, key_dim)), ``value`` ((d_v, N, value_dim)) and ``attention_output`` ((N, value_dim, d_out)); a
``gate`` (sigmoid, like ``query``) comes before ``value`` with ``use_gate=True``.

When there is no dropout, no request for the scores and the projected tensors are 4-D (the default
``attention_axes``), the attention runs as one `kshim.ops.dot_product_attention` call, the backend's fused kernel
(torch SDPA, jax.nn.dot_product_attention). Otherwise it is computed explicitly: a masked softmax over the scaled
scores and dropout from kshim's counter-based random bits, so seeded training gives the same masks on both
backends. These are Keras 3's own path conditions, so each call takes the same path, and gives the same numbers,
as Keras 3.
"""

import math
import string

from kshim import constraints, initializers, ops, regularizers
from kshim.layers.activations import Softmax
from kshim.layers.core import Dropout
from kshim.layers.einsum_dense import EinsumDense
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.layers.attention import masks as amask


def _ser(module, value):
    return None if value is None else module.serialize(module.get(value))


def _positive_int(name, value, allow_none=False):
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"MultiHeadAttention: `{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def projection_equation(free_dims, bound_dims, output_dims):
    """``(equation, bias_axes, output_rank)`` of a projection: the first ``free_dims`` axes pass through, the next
    ``bound_dims`` are contracted with the kernel, which adds ``output_dims`` new ones (Keras 3's letters)."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    out = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def attention_equations(rank, attn_axes):
    """``(dot_product_equation, combine_equation, scores_rank)`` for projected tensors of ``rank`` whose
    ``attn_axes`` attend (the other non-channel axes, the heads among them, are batch axes)."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    source, extra = "", rank
    for i in range(rank):
        if i in batch or i == rank - 1:
            source += target[i]
        else:
            source += letters[extra]
            extra += 1
    product = "".join([target[i] for i in batch] + [target[i] for i in attn_axes] + [source[i] for i in attn_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def _partial_shape(rank, last):
    return [None] * (rank - len(last)) + list(last)


class MultiHeadAttention(Layer):
    """Keras 3's MultiHeadAttention. Call as ``layer(query, value, key=None, attention_mask=None,
    return_attention_scores=False, training=None, use_causal_mask=False)``."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        _positive_int("num_heads", num_heads)
        _positive_int("key_dim", key_dim)
        _positive_int("value_dim", value_dim, allow_none=True)
        super().__init__(**kwargs)
        self.supports_masking = True
        self._num_heads, self._key_dim = num_heads, key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = float(dropout)
        self._use_bias, self._use_gate = bool(use_bias), bool(use_gate)
        if output_shape:
            output_shape = (output_shape,) if isinstance(output_shape, int) else output_shape
            if not isinstance(output_shape, (list, tuple)):
                raise ValueError("MultiHeadAttention: `output_shape` must be an int, a list or a tuple. "
                                 f"Received: output_shape={output_shape!r}")
            output_shape = tuple(output_shape)
        self._output_shape = output_shape or None
        self._flash_attention = flash_attention
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError("MultiHeadAttention: `attention_axes` must be an int, a list or a tuple. "
                             f"Received: attention_axes={attention_axes!r}")
        self._attention_axes = tuple(attention_axes) if attention_axes is not None else None
        if sliding_window is not None and (isinstance(sliding_window, bool) or not isinstance(sliding_window, int)
                                           or sliding_window <= 0):
            raise ValueError("MultiHeadAttention: `sliding_window` must be None or a positive integer. "
                             f"Received: sliding_window={sliding_window!r}")
        self._sliding_window = sliding_window
        self.seed = seed
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(key_dim))
        if flash_attention and self._dropout > 0:
            raise ValueError("MultiHeadAttention: dropout is not supported with flash attention. Received: "
                             f"dropout={dropout!r}, flash_attention={flash_attention!r}")
        self._scores_wanted = False

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)

    # -- building ------------------------------------------------------------------------------------------------
    def _sublayer_kwargs(self):
        # each projection gets its own initializer instance, as in Keras 3
        return dict(kernel_regularizer=self._kernel_regularizer, bias_regularizer=self._bias_regularizer,
                    activity_regularizer=self._activity_regularizer, kernel_constraint=self._kernel_constraint,
                    bias_constraint=self._bias_constraint, dtype=self.dtype,
                    kernel_initializer=type(self._kernel_initializer).from_config(
                        self._kernel_initializer.get_config()),
                    bias_initializer=type(self._bias_initializer).from_config(self._bias_initializer.get_config()))

    def _projection(self, name, input_shape, last, activation=None):
        equation, bias_axes, rank = projection_equation(len(input_shape) - 1, 1, 2)
        layer = EinsumDense(equation, output_shape=_partial_shape(rank - 1, last), activation=activation,
                            bias_axes=bias_axes if self._use_bias else None, name=name, **self._sublayer_kwargs())
        layer.build(tuple(input_shape))
        return layer, rank

    def build(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        query_shape, value_shape = shapes[0], shapes[1]
        key_shape = shapes[2] if len(shapes) > 2 else value_shape
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("MultiHeadAttention: `value` and `key` must agree on every axis but the last. "
                             f"Received: value_shape={value_shape}, key_shape={key_shape}")
        # The sub-layers are reachable by Keras 3's public property names too: its weights files store them there.
        self._query_dense, rank = self._projection("query", query_shape, [self._num_heads, self._key_dim])
        self.query_dense = self._query_dense
        self._key_dense, _ = self._projection("key", key_shape, [self._num_heads, self._key_dim])
        self.key_dense = self._key_dense
        if self._use_gate:
            self._gate_dense, _ = self._projection("gate", query_shape, [self._num_heads, self._value_dim],
                                                   activation="sigmoid")
        self._value_dense, rank = self._projection("value", value_shape, [self._num_heads, self._value_dim])
        self.value_dense = self._value_dense
        self._build_attention(rank)
        out_last = list(self._output_shape) if self._output_shape else [query_shape[-1]]
        equation, bias_axes, out_rank = projection_equation(len(query_shape) - 1, 2, len(out_last))
        self._output_dense = EinsumDense(equation, output_shape=_partial_shape(out_rank - 1, out_last),
                                         bias_axes=bias_axes if self._use_bias else None, name="attention_output",
                                         **self._sublayer_kwargs())
        self.output_dense = self._output_dense
        projected = list(self._query_dense.compute_output_shape(query_shape))
        projected[-1] = self._value_dim
        self._output_dense.build(tuple(projected))
        self.built = True

    def _build_attention(self, rank):
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(a if a >= 0 else (rank - 1) + a for a in self._attention_axes)
        self._dot_product_equation, self._combine_equation, scores_rank = attention_equations(
            rank, self._attention_axes)
        norm_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))
        self._softmax = Softmax(axis=list(norm_axes) if len(norm_axes) > 1 else norm_axes[0], dtype=self.dtype)
        self._dropout_layer = Dropout(rate=self._dropout, dtype=self.dtype, seed=self.seed)

    # -- calling -------------------------------------------------------------------------------------------------
    _node_call_arguments = staticmethod(amask.node_call_arguments)
    get_build_config = amask.build_config
    build_from_config = amask.build_from_config

    def __call__(self, query, value=None, key=None, **kwargs):
        packed = amask.pack_call("MultiHeadAttention", query, value, key, kwargs)
        self._scores_wanted = bool(kwargs.get("return_attention_scores", False))
        return super().__call__(packed, **kwargs)

    def call(self, inputs, mask=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        query, value, key, query_mask, value_mask, key_mask, attention_mask = amask.unpack_call(
            inputs, mask, query_mask, value_mask, key_mask, attention_mask)
        causal_only = (use_causal_mask and query_mask is None and value_mask is None and key_mask is None
                       and attention_mask is None and self._sliding_window is None)
        if not causal_only:
            attention_mask = amask.attention_mask(
                ops.shape(query)[1], ops.shape(value)[1], query_mask, value_mask, key_mask, attention_mask,
                use_causal_mask, self._sliding_window)
        gate = self._gate_dense(query) if self._use_gate else None
        q = self._query_dense(query)
        k = self._key_dense(key)
        v = self._value_dense(value)
        out, scores = self._compute_attention(q, k, v, attention_mask, training, return_attention_scores,
                                              causal_only)
        out = self._output_dense(ops.multiply(out, gate) if gate is not None else out)
        return (out, scores) if return_attention_scores else out

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, use_causal_mask=False):
        if self._flash_attention and return_attention_scores:
            raise ValueError("MultiHeadAttention: the attention scores cannot be returned with flash attention. "
                             "Received: return_attention_scores=True, flash_attention=True")
        if not (self._dropout > 0 or return_attention_scores or ops.ndim(query) != 4):
            if use_causal_mask and attention_mask is None:
                out = ops.dot_product_attention(query, key, value, scale=self._inverse_sqrt_key_dim, is_causal=True,
                                                flash_attention=self._flash_attention)
                return out, None
            if attention_mask is not None:
                while ops.ndim(attention_mask) < 4:
                    attention_mask = ops.expand_dims(attention_mask, -len(self._attention_axes) * 2 - 1)
                attention_mask = ops.cast(attention_mask, "bool")
            out = ops.dot_product_attention(query, key, value, mask=attention_mask,
                                            scale=self._inverse_sqrt_key_dim, is_causal=use_causal_mask,
                                            flash_attention=self._flash_attention)
            return out, None
        if use_causal_mask:
            causal = amask.causal_mask(ops.shape(query)[1], ops.shape(value)[1])
            attention_mask = causal if attention_mask is None else ops.logical_and(
                ops.cast(attention_mask, "bool"), causal)
        query = ops.multiply(query, self._inverse_sqrt_key_dim)
        scores = ops.einsum(self._dot_product_equation, key, query)
        if attention_mask is not None:
            while ops.ndim(attention_mask) < ops.ndim(scores):
                attention_mask = ops.expand_dims(attention_mask, -len(self._attention_axes) * 2 - 1)
        scores = self._softmax(scores, mask=attention_mask)
        dropped = self._dropout_layer(scores, training=training) if self._dropout > 0 else scores
        return ops.einsum(self._combine_equation, dropped, value), scores

    # -- shapes, masks, config -----------------------------------------------------------------------------------
    def compute_mask(self, inputs, previous_mask=None):
        if isinstance(previous_mask, (list, tuple)):
            return previous_mask[0]
        return None

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        query_shape, value_shape = shapes[0], shapes[1]
        key_shape = shapes[2] if len(shapes) > 2 else value_shape
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("MultiHeadAttention: `value` and `key` must agree on every axis but the last. "
                             f"Received: value_shape={value_shape}, key_shape={key_shape}")
        return query_shape[:-1] + self._output_shape if self._output_shape else query_shape

    def compute_output_spec(self, inputs_spec):
        shapes = [t.shape for t in inputs_spec]
        out = KerasTensor(self.compute_output_shape(shapes), self.compute_dtype)
        if self._scores_wanted:
            q, v = shapes[0], shapes[1]
            return [out, KerasTensor((q[0], self._num_heads, q[1], v[1]), self.compute_dtype)]
        return out

    def get_config(self):
        return {**super().get_config(), "num_heads": self._num_heads, "key_dim": self._key_dim,
                "value_dim": self._value_dim, "dropout": self._dropout, "use_bias": self._use_bias,
                "use_gate": self._use_gate,
                "output_shape": list(self._output_shape) if self._output_shape else None,
                "attention_axes": list(self._attention_axes) if self._attention_axes is not None else None,
                "sliding_window": self._sliding_window,
                "kernel_initializer": _ser(initializers, self._kernel_initializer),
                "bias_initializer": _ser(initializers, self._bias_initializer),
                "kernel_regularizer": _ser(regularizers, self._kernel_regularizer),
                "bias_regularizer": _ser(regularizers, self._bias_regularizer),
                "activity_regularizer": _ser(regularizers, self._activity_regularizer),
                "kernel_constraint": _ser(constraints, self._kernel_constraint),
                "bias_constraint": _ser(constraints, self._bias_constraint), "seed": self.seed}
