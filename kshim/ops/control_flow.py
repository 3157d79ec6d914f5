"""Control flow: branches, loops, maps and custom gradients (Keras 3's ``keras.ops`` core control flow).

Each primitive is one hop into the backend's control-flow family (``jax.lax`` on jax, Python loops on torch);
`scan` (Keras 3's signature, over the rnn family's primitive) and `map` are written here once."""

from kshim.backends import B

cond = B.cond
while_loop = B.while_loop
fori_loop = B.fori_loop
switch = B.switch
vectorized_map = B.vectorized_map
associative_scan = B.associative_scan
custom_gradient = B.custom_gradient


def _leaf_tensors(tree):
    """Python numbers and numpy arrays in a nest of lists/tuples/dicts as tensors (the carry of a loop must have
    a dtype: Keras 3 makes ``0`` an int32 and ``0.0`` a float32 tensor)."""
    if isinstance(tree, (list, tuple)):
        return type(tree)(_leaf_tensors(v) for v in tree)
    if isinstance(tree, dict):
        return {k: _leaf_tensors(v) for k, v in tree.items()}
    if tree is None or B.is_tensor(tree):
        return tree
    return B.convert_to_tensor(tree)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Keras 3's ``ops.scan``: ``carry, y = f(carry, x)`` over the leading axis of ``xs`` (or ``length`` times with
    ``x = None``); returns ``(final_carry, ys)`` with the ``y``s stacked (None when ``f`` returns None).
    ``unroll`` only changes how jax compiles the loop, never its numbers."""
    if not callable(f):
        raise TypeError(f"scan: `f` must be callable. Received: f={f!r}")
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"scan: `unroll` must be a positive integer or a bool. Received: unroll={unroll!r}")
    if xs is None:
        if length is None:
            raise ValueError("scan: give `xs` to scan over, or `length`. Received: xs=None, length=None")
        return B.scan(lambda c, _: f(c, None), _leaf_tensors(init), B.zeros((int(length),), "int32"),
                      reverse=reverse)
    xs = _leaf_tensors(xs)
    if length is not None:
        first = xs[0] if isinstance(xs, (list, tuple)) else xs
        if B.shape(first)[0] != length:
            raise ValueError(f"scan: `length` must match the leading axis of `xs`. Received: length={length}, "
                             f"xs.shape={tuple(B.shape(first))}")
    return B.scan(f, _leaf_tensors(init), xs, reverse=reverse)


def map(f, xs):
    """``f`` applied to each slice of ``xs`` along its leading axis, results stacked (Keras 3's ``ops.map``)."""
    return B.scan(lambda carry, x: (carry, f(x)), (), _leaf_tensors(xs))[1]


__all__ = ["cond", "while_loop", "fori_loop", "switch", "vectorized_map", "associative_scan", "custom_gradient",
           "scan", "map"]
