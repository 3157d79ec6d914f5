"""Structures for abstract evaluation (`compute_output_spec`), shared by both backends.

Pure Python, no framework import. A *spec* is any object whose class has ``_kshim_symbolic = True`` and that has a
``shape`` (a tuple of ints and None) and a ``dtype`` (a kshim dtype string): a `KerasTensor`, for example. The
backends turn spec leaves into abstract arrays, call the function, and describe each array it returns as a
`ShapeDtype`. Structures are nested lists, tuples (namedtuples too) and dicts; every other value is a leaf.

The two-probe method, the fallback of both backends: run the function twice on concrete zeros, with every unknown
dimension set to `PROBE_SIZES` [0] and then to [1], and mark as unknown every output dimension that differs.
"""

PROBE_SIZES = (83, 89)  # large and prime, like Keras 3's torch backend: `x[:, :5]` keeps its 5, and a size that
# depends on an unknown one (2 * t, t // 2, t - 1) differs between the two probes


class ShapeDtype:
    """The abstract value of one output array: ``shape`` (ints, None where unknown) and ``dtype`` (a string)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = dtype

    def __eq__(self, other):
        return isinstance(other, ShapeDtype) and (self.shape, self.dtype) == (other.shape, other.dtype)

    __hash__ = None

    def __repr__(self):
        return f"ShapeDtype(shape={self.shape}, dtype={self.dtype!r})"


def is_spec(x):
    return getattr(type(x), "_kshim_symbolic", False)


def map_leaves(fn, tree):
    """``tree`` with every leaf ``x`` replaced by ``fn(x)``."""
    if isinstance(tree, list):
        return [map_leaves(fn, v) for v in tree]
    if isinstance(tree, tuple):
        items = [map_leaves(fn, v) for v in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else type(tree)(items)
    if isinstance(tree, dict):
        return type(tree)((k, map_leaves(fn, v)) for k, v in tree.items())
    return fn(tree)


def specs_in(tree):
    """The spec leaves of ``tree``, in order."""
    found = []
    map_leaves(lambda x: found.append(x) if is_spec(x) else None, tree)
    return found


def replace_specs(tree, values):
    """``tree`` with its spec leaves replaced, in order, by ``values``."""
    it = iter(values)
    return map_leaves(lambda x: next(it) if is_spec(x) else x, tree)


def has_unknown(specs):
    return any(d is None for s in specs for d in s.shape)


def probe_shape(spec, size):
    """``spec``'s shape with every unknown dimension set to ``size``."""
    return tuple(size if d is None else int(d) for d in spec.shape)


def merge_probes(first, second, is_array, describe):
    """One structure of `ShapeDtype` from the outputs of the two probes: a dimension that differs is None.

    ``is_array(x)`` tells the backend's arrays; ``describe(x)`` gives their ``(shape, dtype name)``."""
    flat = []
    map_leaves(lambda x: flat.append(x) if is_array(x) else None, second)
    it = iter(flat)

    def merge(a):
        if not is_array(a):
            return a
        (sa, dtype), (sb, _) = describe(a), describe(next(it))
        if len(sa) != len(sb):
            raise ValueError(f"compute_output_spec: the output rank depends on the input size ({sa} vs {sb}); "
                             "the output shape cannot be described.")
        return ShapeDtype(tuple(d if d == e else None for d, e in zip(sa, sb)), dtype)

    return map_leaves(merge, first)
