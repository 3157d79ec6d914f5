"""Attention masks shared by MultiHeadAttention and GroupedQueryAttention (True = attend), as Keras 3 builds them.

The padding masks of the query (B, T), value and key (B, S) become (B, T, 1) and (B, 1, S); the causal band and
the sliding window are (1, T, S); all are combined with logical AND, and with a given ``attention_mask``.
"""

from kshim import ops
from kshim.layers.keras_tensor import is_symbolic


def causal_mask(t, s):
    """(1, T, S): key ``j`` is visible from query ``i`` when ``j <= i``."""
    rows = ops.reshape(ops.arange(t, dtype="int32"), (1, t, 1))
    cols = ops.reshape(ops.arange(s, dtype="int32"), (1, 1, s))
    return ops.greater_equal(rows, cols)


def sliding_window_mask(t, s, window):
    """(1, T, S): key ``j`` is visible from query ``i`` when ``|i - j| < window``."""
    rows = ops.reshape(ops.arange(t, dtype="int32"), (1, t, 1))
    cols = ops.reshape(ops.arange(s, dtype="int32"), (1, 1, s))
    return ops.less(ops.abs(ops.subtract(rows, cols)), window)


def _and(a, b):
    return b if a is None else ops.logical_and(a, b)


def attention_mask(t, s, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
                   use_causal_mask=False, sliding_window=None):
    """The combined boolean mask of shape (B or 1, T, S), or None when nothing masks."""
    auto = None
    if query_mask is not None:
        auto = ops.expand_dims(ops.cast(query_mask, "bool"), -1)
    for m in (value_mask, key_mask):
        if m is not None:
            auto = _and(auto, ops.expand_dims(ops.cast(m, "bool"), -2))
    if use_causal_mask:
        auto = _and(auto, causal_mask(t, s))
    if sliding_window is not None:
        auto = _and(auto, sliding_window_mask(t, s, sliding_window))
    if attention_mask is not None:
        attention_mask = ops.cast(attention_mask, "bool")
    if auto is None:
        return attention_mask
    return auto if attention_mask is None else ops.logical_and(attention_mask, auto)


def pack_call(layer_name, query, value, key, kwargs):
    """The list that travels through the functional graph as one node's inputs: ``[query, value]``,
    ``[query, value, key]``, or with a symbolic ``attention_mask`` ``[query, value, key, attention_mask]``.
    Accepts the already packed list (a node rebuilt from a config) as ``query``."""
    if isinstance(query, (list, tuple)) and value is None:
        items = list(query)
        if not 2 <= len(items) <= 4:
            raise ValueError(f"{layer_name}: a list of inputs must be [query, value], [query, value, key] or "
                             f"[query, value, key, attention_mask]. Received: {len(items)} inputs")
        return items
    if value is None:
        raise ValueError(f"{layer_name}: `value` is required (call the layer as layer(query, value) or "
                         "layer(query, value, key)). Received: value=None")
    packed = [query, value] if key is None else [query, value, key]
    mask = kwargs.get("attention_mask")
    if mask is not None and is_symbolic(mask):
        if key is None:
            packed.append(value)
        packed.append(kwargs.pop("attention_mask"))
    return packed


def unpack_call(inputs, mask, query_mask, value_mask, key_mask, attention_mask):
    """``(query, value, key, query_mask, value_mask, key_mask, attention_mask)`` from a packed call."""
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    query, value = items[0], items[1]
    key = items[2] if len(items) > 2 else None
    if len(items) > 3:
        attention_mask = items[3]
    masks = list(mask) + [None] * 3 if isinstance(mask, (list, tuple)) else [None] * 3
    query_mask = masks[0] if query_mask is None else query_mask
    value_mask = masks[1] if value_mask is None else value_mask
    if key_mask is None and key is not None and key is not value:
        key_mask = masks[2]
    return query, value, (value if key is None else key), query_mask, value_mask, key_mask, attention_mask


def node_call_arguments(inputs):
    """Keras 3's form of a packed call in a model config: ``([query, value(, key)], {"attention_mask": ...})``."""
    items = list(inputs)
    if len(items) == 4:
        return items[:3], {"attention_mask": items[3]}
    return items, {}


def build_config(layer):
    """Keras 3's ``build_config`` of a layer built from (query, value[, key]) shapes: a ``shapes_dict``."""
    names = ("query_shape", "value_shape", "key_shape")
    shapes = layer._build_shape[:3]
    return {"shapes_dict": {n: list(s) for n, s in zip(names, shapes)}}


def build_from_config(layer, config):
    """Build ``layer`` from Keras 3's ``build_config`` (``shapes_dict``, or one ``input_shape`` list)."""
    if "shapes_dict" in config:
        d = config["shapes_dict"]
        shapes = [tuple(d["query_shape"]), tuple(d["value_shape"])]
        if d.get("key_shape") is not None:
            shapes.append(tuple(d["key_shape"]))
    else:
        shapes = [tuple(s) for s in config["input_shape"]]
    layer._maybe_build(shapes)
