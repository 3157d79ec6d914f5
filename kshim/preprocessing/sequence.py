"""``kshim.preprocessing.sequence``: Keras 2's `pad_sequences` location (Keras 3: ``kshim.utils.pad_sequences``)."""

import warnings

from kshim.utils.sequence_utils import pad_sequences as _pad_sequences


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """`kshim.utils.pad_sequences` (this Keras 2 location warns with a DeprecationWarning)."""
    warnings.warn("`kshim.preprocessing.sequence.pad_sequences` is the Keras 2 location: use "
                  "`kshim.utils.pad_sequences`.", DeprecationWarning, stacklevel=2)
    return _pad_sequences(sequences, maxlen=maxlen, dtype=dtype, padding=padding, truncating=truncating,
                          value=value)


__all__ = ["pad_sequences"]
