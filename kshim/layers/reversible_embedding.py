"""`ReversibleEmbedding`: an `Embedding` that can also map hidden states back to vocabulary logits (Keras 3's
``keras.layers.ReversibleEmbedding``), through the transposed embeddings (``tie_weights=True``) or its own
``reverse_embeddings`` (output_dim, input_dim)."""

from kshim import ops
from kshim.layers.embedding import Embedding
from kshim.layers.layer import Layer


class ReversibleEmbedding(Embedding):
    """``call(ids)`` looks tokens up; ``call(hidden, reverse=True)`` gives ``hidden @ embeddings.T`` (or
    ``@ reverse_embeddings``), cast to ``reverse_dtype`` first when given, and soft-capped to
    ``tanh(logits / c) * c`` when ``logit_soft_cap`` = c is given."""

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        if logit_soft_cap is not None and not (isinstance(logit_soft_cap, (int, float)) and logit_soft_cap > 0):
            raise ValueError("ReversibleEmbedding: `logit_soft_cap` must be a positive number or None. Received: "
                             f"logit_soft_cap={logit_soft_cap!r}")
        self.logit_soft_cap = logit_soft_cap

    def __call__(self, inputs, *args, **kwargs):
        if kwargs.get("reverse"):  # hidden states, not token ids: no index range check
            return Layer.__call__(self, inputs, *args, **kwargs)
        return super().__call__(inputs, *args, **kwargs)

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(shape=(self.output_dim, self.input_dim),
                                                      initializer=self.embeddings_initializer,
                                                      name="reverse_embeddings", trainable=True)

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = ops.transpose(self.embeddings.value) if self.tie_weights else self.reverse_embeddings.value
        if self.reverse_dtype is not None:
            inputs, kernel = ops.cast(inputs, self.reverse_dtype), ops.cast(kernel, self.reverse_dtype)
        logits = ops.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            cap = self.logit_soft_cap
            logits = ops.multiply(ops.tanh(ops.divide(logits, cap)), cap)
        return logits

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*tuple(input_shape)[:-1], self.input_dim)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}
