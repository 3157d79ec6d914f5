"""The contract's dynamic family: ops whose output shape depends on the values of their input (Keras 3's
``nonzero`` and ``unique``). Implemented by ``kshim/backends/<backend>/dynamic.py``; bound by `kshim.ops.dynamic`.

They run eagerly. Under ``jax.jit`` a shape cannot depend on values: `unique` works there only with ``size`` (a
fixed output length) and says so otherwise; `nonzero` does not work there. Not differentiable (the indices are
integers; the unique values are a selection)."""


def nonzero(x):
    """The indices of the non-zero elements of ``x``: a tuple of ``x.ndim`` int32 tensors (numpy's nonzero, in
    row-major order)."""


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None, size=None,
           fill_value=None):
    """numpy's unique: the unique elements of ``x`` (flattened when ``axis`` is None, else the unique slices along
    ``axis``), ascending, and as asked the int32 index of each one's first occurrence, the int32 inverse (its
    shape is ``x``'s for ``axis=None``, ``(x.shape[axis],)`` otherwise) and the int32 counts, in that order; a
    tuple when more than the values are returned. With ``size`` every output along the unique axis is cut or
    padded to ``size``: values with ``fill_value`` (default 0), counts with 0, first indices with 0. ``sorted``
    is accepted for Keras 3's signature: both backends always sort."""
