"""Attention (Luong, dot-product) and AdditiveAttention (Bahdanau), as Keras 3's.

Both take ``[query, value]`` or ``[query, value, key]`` (key defaults to value) and an optional mask list
``[query_mask, value_mask]``. Scores are ``query @ key^T`` (times the ``scale`` weight with ``use_scale``), or
``concat_score_weight * sum(tanh(scale * (q + k)))`` with ``score_mode="concat"``; AdditiveAttention's are
``sum(scale * tanh(q + k))``. Masked keys get ``score - 1e9``; the softmax weights are dropped out in training
with kshim's counter-based bits; padded query positions give zeros.
"""

import numbers

from kshim import ops
from kshim import random as krandom
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer


def _validate(cls, inputs, mask=None):
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"{cls}: the layer must be called on a list [query, value] or [query, value, key]. "
                         f"Received: inputs of type {type(inputs).__name__}")
    if not 2 <= len(inputs) <= 3:
        raise ValueError(f"{cls}: the inputs list must have 2 or 3 entries [query, value(, key)]. "
                         f"Received: {len(inputs)} entries")
    if mask is not None:
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{cls}: `mask` must be a list [query_mask, value_mask]. "
                             f"Received: mask of type {type(mask).__name__}")
        if not 2 <= len(mask) <= 3:
            raise ValueError(f"{cls}: `mask` must have 2 or 3 entries. Received: {len(mask)} entries")


class Attention(Layer):
    """Keras 3's dot-product (Luong) attention. Weights: ``scale`` (scalar, ``use_scale``), then
    ``concat_score_weight`` (scalar, ``score_mode="concat"``)."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{cls}: `score_mode` must be 'dot' or 'concat'. Received: score_mode={score_mode!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"{cls}: `dropout` must be a float in [0, 1]. Received: dropout={dropout!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout, self.seed = float(dropout), seed
        if self.dropout > 0:
            self.seed_generator = krandom.SeedGenerator(seed, name="seed_generator")
        self.supports_masking = True
        self.scale = self.concat_score_weight = None
        self._scores_wanted = False

    def build(self, input_shape):
        _validate(type(self).__name__, input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(), initializer="ones")
        self.built = True

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
            return ops.multiply(scores, self.scale.value) if self.scale is not None else scores
        summed = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))
        if self.scale is not None:
            summed = ops.multiply(self.scale.value, summed)
        return ops.multiply(self.concat_score_weight.value, ops.sum(ops.tanh(summed), axis=-1))

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        if scores_mask is not None:
            padding = ops.logical_not(scores_mask)
            if ops.ndim(padding) == 2:
                padding = ops.expand_dims(padding, -2)
            scores = ops.where(padding, ops.subtract(scores, 1.0e9), scores)
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = krandom.dropout(weights, self.dropout, seed=self.seed_generator)
        return ops.matmul(weights, value), weights

    def _score_mask(self, scores, value_mask, use_causal_mask):
        if value_mask is not None:
            value_mask = ops.cast(value_mask, "bool")
        if not use_causal_mask:
            return value_mask
        t, s = ops.shape(scores)[-2], ops.shape(scores)[-1]
        causal = ops.greater_equal(ops.reshape(ops.arange(t, dtype="int32"), (1, t, 1)),
                                   ops.reshape(ops.arange(s, dtype="int32"), (1, 1, s)))
        if value_mask is None:
            return causal
        return ops.logical_and(ops.expand_dims(value_mask, -2), causal)

    def __call__(self, inputs, *args, **kwargs):
        self._scores_wanted = bool(kwargs.get("return_attention_scores", False))
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        _validate(type(self).__name__, inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = mask[0] if mask else None
        value_mask = mask[1] if mask else None
        scores = self._calculate_scores(query, key)
        out, weights = self._apply_scores(scores, value, self._score_mask(scores, value_mask, use_causal_mask),
                                          training=training)
        if query_mask is not None:
            out = ops.where(ops.expand_dims(ops.cast(query_mask, "bool"), -1), out, 0.0)
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, previous_mask=None):
        _validate(type(self).__name__, inputs, previous_mask)
        if previous_mask is None or previous_mask[0] is None:
            return None
        return previous_mask[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def compute_output_spec(self, inputs_spec):
        _validate(type(self).__name__, inputs_spec)
        shapes = [tuple(t.shape) for t in inputs_spec]
        out = KerasTensor(self.compute_output_shape(shapes), self.compute_dtype)
        if self._scores_wanted:
            key_shape = shapes[2] if len(shapes) > 2 else shapes[1]
            return [out, KerasTensor(shapes[0][:-1] + (key_shape[-2],), self.compute_dtype)]
        return out

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Keras 3's additive (Bahdanau) attention. Weight: ``scale`` of shape (dim,), glorot-uniform, with
    ``use_scale`` (the default)."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        _validate(type(self).__name__, input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(input_shape[0][-1],), initializer="glorot_uniform")
        self.built = True

    def _calculate_scores(self, query, key):
        t = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))
        return ops.sum(ops.multiply(self.scale.value, t) if self.scale is not None else t, axis=-1)

    def get_config(self):
        cfg = super().get_config()
        del cfg["score_mode"]
        return cfg
