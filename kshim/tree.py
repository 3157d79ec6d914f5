"""Nested structures (``keras.tree``): flatten, pack, map and compare lists, tuples, namedtuples, dicts and deques.

The order is Keras 3's: a dict's values by sorted key, an ``OrderedDict``'s in insertion order, sequences by
index; ``None`` is a leaf; any other object (a tensor, a Variable, a string) is a leaf. Rebuilding keeps each
container's type and a dict's own key order.
"""

import collections
from collections import OrderedDict, defaultdict, deque


class MAP_TO_NONE:  # noqa: N801  (Keras 3 spells it so)
    """Returned by a `traverse` function to replace a sub-tree with None."""


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_nested(structure):
    """Whether ``structure`` is a container tree walks into: a list, tuple, namedtuple, dict or deque."""
    return isinstance(structure, (list, tuple, dict, deque, collections.abc.Mapping))


def _keys(structure):
    """The keys (indices for sequences) of a container, in flatten order."""
    if isinstance(structure, collections.abc.Mapping):
        if isinstance(structure, OrderedDict):
            return list(structure)
        try:
            return sorted(structure)
        except TypeError:
            raise TypeError(f"tree: dict keys must be sortable. Received keys: {list(structure)!r}") from None
    return list(range(len(structure)))


def _children(structure):
    if isinstance(structure, collections.abc.Mapping):
        return [structure[k] for k in _keys(structure)]
    return list(structure)


def _rebuild(structure, values):
    """A container like ``structure`` holding ``values`` (given in flatten order)."""
    if isinstance(structure, collections.abc.Mapping):
        by_key = dict(zip(_keys(structure), values))
        items = [(k, by_key[k]) for k in structure]  # the dict's own key order
        if isinstance(structure, defaultdict):
            return defaultdict(structure.default_factory, items)
        try:
            return type(structure)(items)
        except TypeError:
            return dict(items)
    if _is_namedtuple(structure):
        return type(structure)(*values)
    if isinstance(structure, deque):
        return deque(values, maxlen=structure.maxlen)
    if isinstance(structure, tuple):
        return tuple(values)
    return list(values)


def flatten(structure):
    """Every leaf of ``structure``, in order, as a list (``[structure]`` for a leaf)."""
    if not is_nested(structure):
        return [structure]
    out = []
    for child in _children(structure):
        out.extend(flatten(child))
    return out


def flatten_with_path(structure):
    """``[(path, leaf), ...]``: a path is the tuple of keys and indices that leads to the leaf."""
    out = []

    def walk(node, path):
        if not is_nested(node):
            out.append((path, node))
            return
        for key, child in zip(_keys(node), _children(node)):
            walk(child, path + (key,))

    walk(structure, ())
    return out


def _same_kind(a, b):
    if isinstance(a, collections.abc.Mapping) or isinstance(b, collections.abc.Mapping):
        return isinstance(a, collections.abc.Mapping) and isinstance(b, collections.abc.Mapping)
    if _is_namedtuple(a) or _is_namedtuple(b):
        return type(a) is type(b)
    for kind in (deque, tuple, list):
        if isinstance(a, kind) or isinstance(b, kind):
            return isinstance(a, kind) and isinstance(b, kind)
    return False


def _check_same(a, b, path, loose=False):
    nested_a, nested_b = is_nested(a), is_nested(b)
    if not nested_a and not nested_b:
        return
    where = "/".join(str(p) for p in path) or "the top level"
    if nested_a != nested_b:
        raise ValueError(f"The two structures don't have the same nested structure: at {where}, one is a leaf "
                         f"and the other a container. First structure: {a!r}; second structure: {b!r}")
    if not loose and not _same_kind(a, b):
        raise ValueError(f"The two structures don't have the same nested structure: at {where}, "
                         f"{type(a).__name__} and {type(b).__name__} differ. First structure: {a!r}; "
                         f"second structure: {b!r}")
    if isinstance(a, collections.abc.Mapping) != isinstance(b, collections.abc.Mapping) or \
            _keys(a) != _keys(b):
        raise ValueError(f"The two structures don't have the same nested structure: at {where}, the keys "
                         f"{_keys(a)!r} and {_keys(b)!r} differ. First structure: {a!r}; second structure: {b!r}")
    for key, x, y in zip(_keys(a), _children(a), _children(b)):
        _check_same(x, y, path + (key,), loose)


def assert_same_structure(a, b, check_types=None):
    """Raise ValueError unless ``a`` and ``b`` nest the same way, with the same container types at every level
    (dict, OrderedDict and defaultdict count as one; list, tuple, namedtuple and deque do not). ``check_types``
    is accepted for Keras 3 compatibility and, as there, has no effect."""
    _check_same(a, b, ())


def assert_same_paths(a, b):
    """Raise ValueError unless ``a`` and ``b`` have the same leaf paths (container types are not compared)."""
    paths_a = {path for path, _ in flatten_with_path(a)}
    paths_b = {path for path, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        raise ValueError("The two structures don't have the same paths. Only in the first: "
                         f"{sorted(paths_a - paths_b, key=repr)}; only in the second: "
                         f"{sorted(paths_b - paths_a, key=repr)}")


def pack_sequence_as(structure, flat_sequence):
    """``flat_sequence`` packed into the shape of ``structure`` (the inverse of `flatten`)."""
    if not isinstance(flat_sequence, collections.abc.Sequence) or isinstance(flat_sequence, str):
        raise TypeError(f"pack_sequence_as: `flat_sequence` must be a sequence. Received: {flat_sequence!r}")
    flat = list(flat_sequence)
    position = [0]

    def build(node):
        if not is_nested(node):
            if position[0] >= len(flat):
                raise ValueError(f"pack_sequence_as: `flat_sequence` has {len(flat)} items; the structure needs "
                                 f"{len(flatten(structure))}. Structure: {structure!r}")
            position[0] += 1
            return flat[position[0] - 1]
        return _rebuild(node, [build(child) for child in _children(node)])

    out = build(structure)
    if position[0] != len(flat):
        raise ValueError(f"pack_sequence_as: `flat_sequence` has {len(flat)} items; the structure needs "
                         f"{position[0]}. Structure: {structure!r}")
    return out


def map_structure(func, *structures, none_is_leaf=True):
    """``func`` applied to the leaves of ``structures`` (all nested alike), in a structure like the first.

    With ``none_is_leaf=False``, a None leaf of the first structure stays None and ``func`` does not see it."""
    if not callable(func):
        raise TypeError(f"map_structure: `func` must be callable. Received: func={func!r}")
    if not structures:
        raise TypeError("map_structure: give at least one structure.")
    for other in structures[1:]:
        assert_same_structure(structures[0], other)

    def walk(*nodes):
        if not is_nested(nodes[0]):
            if nodes[0] is None and not none_is_leaf:
                return None
            return func(*nodes)
        return _rebuild(nodes[0], [walk(*children) for children in zip(*(_children(n) for n in nodes))])

    return walk(*structures)


def map_structure_up_to(shallow_structure, func, *structures):
    """Like `map_structure`, but only down to the leaves of ``shallow_structure``: what lies deeper in
    ``structures`` reaches ``func`` whole."""
    if not callable(func):
        raise TypeError(f"map_structure_up_to: `func` must be callable. Received: func={func!r}")

    def walk(shallow, nodes):
        if not is_nested(shallow):
            return func(*nodes)
        for node in nodes:
            if not is_nested(node) or not _same_kind(shallow, node) or _keys(node) != _keys(shallow):
                raise ValueError("map_structure_up_to: every structure must contain `shallow_structure`. "
                                 f"Shallow part: {shallow!r}; received: {node!r}")
        return _rebuild(shallow, [walk(s, parts) for s, parts in
                                  zip(_children(shallow), zip(*(_children(n) for n in nodes)))])

    return walk(shallow_structure, structures)


def traverse(func, structure, top_down=True):
    """Apply ``func`` to every sub-tree, depth first (see Keras 3's ``keras.tree.traverse``).

    Top-down: a non-None result replaces the sub-tree and stops the descent; None walks on into it. Bottom-up:
    children first; a non-None result replaces the (rebuilt) sub-tree. `MAP_TO_NONE` stands for None."""
    if not callable(func):
        raise TypeError(f"traverse: `func` must be callable. Received: func={func!r}")

    def result(value):
        return None if value is MAP_TO_NONE else value

    def down(node):
        value = func(node)
        if value is not None:
            return result(value)
        if not is_nested(node):
            return node
        return _rebuild(node, [down(child) for child in _children(node)])

    def up(node):
        if is_nested(node):
            node = _rebuild(node, [up(child) for child in _children(node)])
        value = func(node)
        return node if value is None else result(value)

    return down(structure) if top_down else up(structure)


def lists_to_tuples(structure):
    """``structure`` with every list made a tuple."""
    if not is_nested(structure):
        return structure
    rebuilt = _rebuild(structure, [lists_to_tuples(child) for child in _children(structure)])
    return tuple(rebuilt) if isinstance(rebuilt, list) else rebuilt


def _is_shape(x):
    return isinstance(x, (list, tuple)) and not _is_namedtuple(x) and \
        all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in x)


def map_shape_structure(func, structure):
    """`map_structure` for shapes: a tuple or list of ints and Nones reaches ``func`` whole."""
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    return _rebuild(structure, [map_shape_structure(func, child) for child in _children(structure)])
