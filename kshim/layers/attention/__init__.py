"""Attention layers: MultiHeadAttention, GroupedQueryAttention, Attention (Luong), AdditiveAttention (Bahdanau)."""

from kshim.layers.attention.attention import AdditiveAttention, Attention
from kshim.layers.attention.grouped_query_attention import GroupedQueryAttention
GroupQueryAttention = GroupedQueryAttention  # Keras 3's public name (keras.layers.GroupQueryAttention)
from kshim.layers.attention.multi_head_attention import MultiHeadAttention

__all__ = ["AdditiveAttention", "Attention", "GroupQueryAttention", "GroupedQueryAttention", "MultiHeadAttention"]
