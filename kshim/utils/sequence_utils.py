"""`pad_sequences`: a list of variable-length sequences as one padded 2-D (or higher) numpy array."""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or truncate) each sequence to ``maxlen`` (default: the longest), as Keras.

    ``padding``/``truncating`` "pre" (default) or "post" say where values are added or removed. Each sequence may
    hold scalars or equally shaped arrays (the result is then (n, maxlen) + that shape). For strings use
    ``dtype=object`` (or a numpy string dtype) and a string ``value``.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be a list of sequences. Received: "
                         f"{type(sequences).__name__}")
    if padding not in ("pre", "post"):
        raise ValueError(f"pad_sequences: `padding` must be 'pre' or 'post'. Received: padding={padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f"pad_sequences: `truncating` must be 'pre' or 'post'. Received: truncating={truncating!r}")
    if maxlen is not None:
        if isinstance(maxlen, (float, np.floating)) and float(maxlen).is_integer():
            maxlen = int(maxlen)
        if isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
            raise ValueError(f"pad_sequences: `maxlen` must be None or a non-negative integer. Received: "
                             f"maxlen={maxlen!r}")
        maxlen = int(maxlen)
    lengths, sample_shape = [], None
    for i, s in enumerate(sequences):
        try:
            lengths.append(len(s))
        except TypeError as e:
            raise ValueError(f"pad_sequences: `sequences` must be a list of iterables. Found a non-iterable at "
                             f"position {i}: {s!r}") from e
        if sample_shape is None and len(s):
            sample_shape = np.asarray(s, dtype=object if dtype is object else None).shape[1:]
    sample_shape = sample_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    is_text = dtype is object or np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype),
                                                                                            np.bytes_)
    if isinstance(value, str) and not is_text:
        raise ValueError(f"pad_sequences: `dtype` {dtype} cannot hold the string `value` {value!r}. Use "
                         "dtype=object for variable-length strings.")
    out = np.full((len(sequences), maxlen) + tuple(sample_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != tuple(sample_shape):
            raise ValueError(f"pad_sequences: the elements of sequence {i} have shape {trunc.shape[1:]}, but "
                             f"earlier ones have shape {tuple(sample_shape)}.")
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, -len(trunc):] = trunc
    return out
