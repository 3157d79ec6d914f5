"""Questions about symbolic tensors: `is_keras_tensor`, `get_source_inputs`."""

from kshim.layers.keras_tensor import KerasTensor


def is_keras_tensor(x):
    """Whether ``x`` is a symbolic tensor (from `kshim.Input` or a layer called on one)."""
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor):
    """The `Input` tensors ``tensor`` was computed from, in order of first appearance, without repeats."""
    if not isinstance(tensor, KerasTensor):
        raise ValueError(f"get_source_inputs: `tensor` must be a KerasTensor. Received: {tensor!r}")
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop(0)
        history = t._keras_history
        node = None
        if history is not None:
            layer, node_index, _ = history
            node = layer._inbound_nodes[node_index] if node_index < len(layer._inbound_nodes) else None
        if node is None or not node.input_tensors:
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            continue
        stack = list(node.input_tensors) + stack
    return found
