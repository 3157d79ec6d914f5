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

from kshim import config, constraints, initializers, ops, regularizers
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


class MultiHeadAttention(amask.AttentionCalls, Layer):
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
        self._flash_attention = (flash_attention if flash_attention is not None
                                 else config.is_flash_attention_enabled())  # Keras 3's global switch
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
        query_shape, value_shape, key_shape = amask.split_shapes("MultiHeadAttention", input_shape)
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
    _attention_name = "MultiHeadAttention"
    _attention_window = property(lambda self: self._sliding_window)

    def _project(self, query, value, key):
        gate = self._gate_dense(query) if self._use_gate else None
        return self._query_dense(query), self._key_dense(key), self._value_dense(value), gate

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, use_causal_mask=False):
        return amask.compute_attention(
            self, query, key, value, attention_mask, training, return_attention_scores, use_causal_mask,
            name="MultiHeadAttention", scale=self._inverse_sqrt_key_dim, dropout=self._dropout,
            mask_axis=-len(self._attention_axes) * 2 - 1,
            scores_of=lambda q, k: ops.einsum(self._dot_product_equation, k, q))

    # -- shapes, masks, config -----------------------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        query_shape, value_shape, key_shape = amask.split_shapes("MultiHeadAttention", input_shape)
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
