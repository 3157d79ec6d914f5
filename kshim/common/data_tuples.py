"""`pack_x_y_sample_weight` and `unpack_x_y_sample_weight`: the ``data`` a train/test step receives, as in Keras."""


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from one batch: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``; a part
    that is missing comes back as None."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError("unpack_x_y_sample_weight: `data` must be `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`. "
                     f"Received: a tuple of length {len(data)}")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch tuple a step receives: ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (Nones at the end left
    out; a lone tuple ``x`` is wrapped so that it stays one input)."""
    if y is None and sample_weight is None:
        return (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)
