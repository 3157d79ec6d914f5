"""`CategoryEncoding`, and `encode_categorical`, the one/multi-hot and count encoding the other categorical layers
share (Keras 3's ``encode_categorical_inputs``)."""

from kshim import ops
from kshim.layers.layer import Layer

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def encode_categorical(indices, output_mode, depth, dtype="float32", count_weights=None):
    """Encode integer ``indices`` (any rank) as one-hot vectors (a trailing axis of size 1 is replaced), or as
    multi-hot / count vectors over the last axis (a rank-0 or rank-1 input is one sample). Indices outside
    [0, depth) encode as zeros, as Keras 3 does. ``output_mode="int"`` returns the indices cast to ``dtype``."""
    if output_mode == "int":
        return ops.cast(indices, dtype)
    x = ops.cast(indices, "int32")
    shape = tuple(ops.shape(x))
    if not shape:
        x, shape = ops.reshape(x, (1,)), (1,)
    if output_mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            x = ops.squeeze(x, -1)
        return ops.one_hot(x, depth, dtype=dtype)
    hot = ops.one_hot(x, depth, dtype=dtype if count_weights is None else "float32")
    if output_mode == "multi_hot":
        return ops.max(hot, axis=-2)
    if count_weights is not None:
        hot = ops.multiply(hot, ops.expand_dims(ops.cast(count_weights, "float32"), -1))
        return ops.cast(ops.sum(hot, axis=-2), dtype)
    return ops.sum(hot, axis=-2)


def encoded_shape(input_shape, output_mode, depth):
    """The output shape of `encode_categorical` for ``input_shape``."""
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return input_shape[:-1] + (depth,)
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,)


def check_output_mode(cls, output_mode, allowed):
    aliases = {"binary": "multi_hot", "tf-idf": "tf_idf"}
    output_mode = aliases.get(output_mode, output_mode)
    if output_mode not in allowed:
        raise ValueError(f"{cls}: `output_mode` must be one of {allowed}. Received: output_mode={output_mode!r}")
    return output_mode


def check_not_sparse(cls, sparse):
    if sparse:
        raise ValueError(f"{cls}: `sparse=True` needs sparse tensors, which kshim does not have (Keras supports "
                         "them on TensorFlow only). Received: sparse=True")


class CategoryEncoding(Layer):
    """Integer category ids in [0, ``num_tokens``) to one-hot, multi-hot or (optionally weighted) count vectors.
    ``output_mode="binary"`` is the old name of ``"multi_hot"``."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        self.output_mode = check_output_mode("CategoryEncoding", output_mode, OUTPUT_MODES)
        check_not_sparse("CategoryEncoding", sparse)
        if num_tokens is None:
            raise ValueError("CategoryEncoding: `num_tokens` must be set. If the number of categories is not known "
                             "beforehand, use `IntegerLookup` instead. Received: num_tokens=None")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens < 1:
            raise ValueError(f"CategoryEncoding: `num_tokens` must be an integer >= 1. Received: "
                             f"num_tokens={num_tokens!r}")
        self.num_tokens = num_tokens
        self.sparse = False
        self.built = True

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("CategoryEncoding: `count_weights` is only used with output_mode='count'. "
                             f"Received: output_mode={self.output_mode!r} with count_weights")
        return encode_categorical(inputs, self.output_mode, self.num_tokens, self.compute_dtype, count_weights)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode,
                "sparse": self.sparse}
