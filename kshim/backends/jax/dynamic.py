"""JAX backend: ops whose output shape depends on values. Eager (concrete) input is computed on the host with
numpy (``np.nonzero``, ``np.unique``: the values must come to the host to size the output anyway, and jax would
compile a sort for each new shape); traced input (under ``jax.jit``) takes ``jnp.unique`` with a fixed ``size``,
and is refused otherwise."""

import jax
import jax.numpy as jnp
import numpy as np

from kshim.backends.jax.core import _as_array

_INT32 = jnp.dtype("int32")


def _refuse_traced(x, op, hint):
    if isinstance(x, jax.core.Tracer):
        raise ValueError(f"{op}: the output shape depends on the values of `x`, which jax.jit cannot allow{hint}. "
                         f"Received: a traced x of shape {tuple(x.shape)} (call it eagerly, outside the "
                         "compiled step)")


def nonzero(x):
    x = _as_array(x)
    _refuse_traced(x, "nonzero", "")
    return tuple(jnp.asarray(i.astype(np.int32)) for i in np.nonzero(np.asarray(x)))


def _fit(a, axis, size, fill):
    """``a`` cut or padded with ``fill`` to ``size`` along ``axis`` (numpy)."""
    if a.shape[axis] >= size:
        return np.take(a, np.arange(size), axis=axis)
    widths = [(0, 0)] * a.ndim
    widths[axis] = (0, size - a.shape[axis])
    return np.pad(a, widths, constant_values=fill)


def _host_unique(x, axis, size, fill_value):
    a = np.asarray(x)
    values, first, inverse, counts = np.unique(a, return_index=True, return_inverse=True, return_counts=True,
                                               axis=axis)
    inverse = inverse.reshape(a.shape if axis is None else (-1,))
    if size is not None:
        values = _fit(values, 0 if axis is None else axis % a.ndim, size, 0 if fill_value is None else fill_value)
        first, counts = _fit(first, 0, size, 0), _fit(counts, 0, size, 0)
    return values, first, inverse, counts


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None, size=None,
           fill_value=None):
    x = _as_array(x)
    if not isinstance(x, jax.core.Tracer):
        values, first, inverse, counts = _host_unique(x, axis, size, fill_value)
        values = jnp.asarray(values, dtype=x.dtype)
    else:
        if size is None:
            _refuse_traced(x, "unique", "; pass `size` for a fixed output length")
        values, first, inverse, counts = jnp.unique(
            x, return_index=True, return_inverse=True, return_counts=True, axis=axis, size=size,
            fill_value=0 if fill_value is None else fill_value, equal_nan=False)
        first = jnp.where(counts > 0, first, 0)  # jax pads the first indices with the first one; the contract, 0
    asked = ((first, return_index), (inverse, return_inverse), (counts, return_counts))
    outputs = (values,) + tuple(jnp.asarray(v, dtype=_INT32) for v, want in asked if want)
    return outputs[0] if len(outputs) == 1 else outputs
