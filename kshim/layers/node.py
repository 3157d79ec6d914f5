"""`Node`: one call of a layer (or an op) on symbolic tensors, an edge set of the functional graph."""

from kshim.layers.keras_tensor import KerasTensor


class Node:
    """One call of a layer on symbolic inputs: ``layer(inputs, *args, **kwargs)``.

    Every KerasTensor of the call, in ``inputs``, ``args`` or ``kwargs`` and nested in lists, tuples and dicts,
    is an input of the node (`input_tensors`, in Keras's order: positional arguments, then keywords)."""

    __slots__ = ("layer", "inputs", "outputs", "args", "kwargs", "input_tensors", "first_keyword")

    def __init__(self, layer, inputs, outputs, args=(), kwargs=None):
        self.layer, self.inputs, self.outputs = layer, inputs, outputs
        self.args, self.kwargs = tuple(args), kwargs or {}
        self.first_keyword = None  # the name ``inputs`` was given by, when the call passed it by keyword
        self.input_tensors = [t for t in _flat_leaves((inputs, self.args, self.kwargs))
                              if isinstance(t, KerasTensor)]


def _flat_leaves(tree):
    """The leaves of nested lists, tuples and dicts, in order (dict values by sorted key, as Keras's ``tree``)."""
    if isinstance(tree, (list, tuple)):
        return [x for v in tree for x in _flat_leaves(v)]
    if isinstance(tree, dict):
        return [x for k in sorted(tree) for x in _flat_leaves(tree[k])]
    return [tree]
