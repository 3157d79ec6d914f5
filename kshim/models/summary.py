"""`model.summary()`: the table of layers, output shapes and parameter counts, with the columns Keras 3 prints.

A Sequential model, a subclassed model and a functional model whose graph is a plain chain get three columns
(Layer (type), Output Shape, Param #). Any other functional model gets a fourth, "Connected to", listing the
inputs of each layer call as ``layer_name[node_index][tensor_index]``. ``show_trainable`` adds a "Trainable"
column (Y, N, or - for a layer without weights), ``expand_nested`` lists a nested model's layers under it (``└``),
and a compiled model with a built optimizer also reports the optimizer's variables, counted in the total.
The table is plain text (Keras 3 draws it with rich's box characters); the cells hold what Keras 3's cells hold.
"""

import re

import numpy as np

from kshim.config import print_msg
from kshim.layers.keras_tensor import KerasTensor


def _fmt_bytes(n):
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.2f} B"


def _unique(weights):
    return list({id(w): w for w in weights}.values())


def _count(weights):
    return int(sum(int(np.prod(w.shape)) for w in _unique(weights)))


def _bytes(weights):
    return int(sum(int(np.prod(w.shape)) * np.dtype(w.dtype if w.dtype != "bfloat16" else "float16").itemsize
                   for w in _unique(weights)))


def _fmt_shapes(structure):
    if isinstance(structure, KerasTensor):
        return str(tuple(structure.shape))
    if isinstance(structure, tuple) and all(d is None or isinstance(d, int) for d in structure):
        return str(structure)
    if isinstance(structure, dict):
        return "{" + ", ".join(f"{k}: {_fmt_shapes(v)}" for k, v in structure.items()) + "}"
    return "[" + ", ".join(_fmt_shapes(v) for v in structure) + "]"


def _shape_str(layer):
    """The output shape of the layer's last call (Keras 3 shows the last node), else of its build shape."""
    if layer._inbound_nodes:
        outputs = layer._inbound_nodes[-1].outputs
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        return _fmt_shapes(outputs)
    try:
        shape = layer.output_shape
    except (AttributeError, ValueError, NotImplementedError, TypeError):
        return "?"
    single = isinstance(shape, (tuple, list)) and all(d is None or isinstance(d, int) for d in shape)
    return _fmt_shapes(tuple(shape) if single else shape)


def _is_sequential_like(model):
    """Keras 3's test: Sequential and subclassed models, and functional graphs that are one chain of
    single-input calls (one call per depth) with each layer called once."""
    if not model._is_graph:
        return True
    input_ids = {id(t) for t in model._input_tensors}
    depths = {}  # id(node) -> longest path from the model's inputs
    for node in model._nodes:  # topological order: a node's producers come first
        inputs = node.input_tensors
        if len(inputs) > 1:
            return False
        depth = 0
        for t in inputs:
            layer, index, _ = t._keras_history
            if id(t) not in input_ids:
                depth = max(depth, depths[id(layer._inbound_nodes[index])] + 1)
        depths[id(node)] = depth
    if len(set(depths.values())) != len(depths):
        return False
    layers = [node.layer for node in model._nodes]
    return len({id(l) for l in layers}) == len(layers)


def _connections(layer, relevant):
    parts = []
    for node in layer._inbound_nodes:
        if id(node) not in relevant:
            continue
        for t in node.input_tensors:
            source, node_index, tensor_index = t._keras_history
            parts.append(f"{source.name}[{node_index}][{tensor_index}]")
    return ", ".join(parts) or "-"


def _wrap(text, width):
    """``text`` in lines of at most ``width`` characters, broken at spaces where possible."""
    text = str(text)
    if len(text) <= width:
        return [text]
    lines, current = [], ""
    for word in text.split(" "):
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _layer_range(layers, layer_range):
    if layer_range is None:
        return 0, len(layers)
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2 or \
            not all(isinstance(n, str) for n in layer_range):
        raise ValueError("summary: `layer_range` must be a list or tuple of two layer names (or regexes), the "
                         f"first and last layer to show. Received: layer_range={layer_range!r}")
    lower = [i for i, l in enumerate(layers) if re.match(layer_range[0], l.name)]
    upper = [i for i, l in enumerate(layers) if re.match(layer_range[1], l.name)]
    if not lower or not upper:
        raise ValueError("summary: `layer_range` names no layer of the model "
                         f"({[l.name for l in layers]}). Received: layer_range={layer_range!r}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def _rows(model, expand_nested, show_trainable, connected, layer_range=None):
    relevant = {id(n) for n in getattr(model, "_nodes", ())} if connected else set()

    def fields(layer, level):
        prefix = "   " * level + "└ " if level else ""
        if not layer.built:
            params = "0 (unbuilt)"
        else:
            params = f"{_count(layer.weights):,}"
        row = [f"{prefix}{layer.name} ({type(layer).__name__})", _shape_str(layer), params]
        if connected:
            row.append(_connections(layer, relevant))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows = [row]
        if expand_nested and layer._is_model and layer.layers:
            for inner in layer.layers:
                rows.extend(fields(inner, level + 1))
        return rows

    layers = model._graph_layers if model._is_graph else model.layers  # with the ops on symbolic tensors
    start, stop = _layer_range(layers, layer_range)
    return [row for layer in layers[start:stop] for row in fields(layer, 0)]


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    print_fn = print_fn or print_msg  # stdout, or Python logging once interactive logging is off
    connected = not _is_sequential_like(model)
    if connected:
        default_length, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    else:
        default_length, positions = 88, positions or [0.45, 0.8, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #"]
    if show_trainable:
        default_length += 12
        positions = [p * 0.9 for p in positions] + [1.0] if positions[-1] <= 1 else list(positions) + [None]
        headers.append("Trainable")
    line_length = line_length or default_length
    if positions[-1] is None:
        positions[-1] = line_length
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    widths = [positions[0]] + [positions[i] - positions[i - 1] for i in range(1, len(positions))]
    if any(w < 4 for w in widths):
        raise ValueError(f"summary: `line_length`={line_length} with positions {positions} leaves a column "
                         "narrower than 4 characters. Use a larger `line_length`.")

    def line(cells):
        out = ""
        for i, (cell, w) in enumerate(zip(cells, widths)):
            cell = str(cell)
            if i == 2:
                out += cell.rjust(w - 1) + " "
            elif headers[i] == "Trainable":
                out += cell.center(w)
            else:
                out += cell.ljust(w)
        return out.rstrip()

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(line(headers))
    print_fn("=" * line_length)
    rows = _rows(model, expand_nested, show_trainable, connected, layer_range)
    for i, row in enumerate(rows):
        wrapped = [_wrap(cell, w - 1) for cell, w in zip(row, widths)]  # a long cell goes on, as rich wraps it
        for k in range(max(len(c) for c in wrapped)):
            print_fn(line([c[k] if k < len(c) else "" for c in wrapped]))
        print_fn(("_" if i < len(rows) - 1 else "=") * line_length)
    if not rows:
        print_fn("=" * line_length)
    weights = model.weights
    trainable = [w for w in weights if w.trainable]
    frozen = [w for w in weights if not w.trainable]
    optimizer = getattr(model, "optimizer", None)
    opt_vars = list(optimizer.variables) if getattr(model, "compiled", False) and optimizer is not None and \
        getattr(optimizer, "built", False) else None
    total = _count(trainable) + _count(frozen) + (_count(opt_vars) if opt_vars else 0)
    total_bytes = _bytes(trainable) + _bytes(frozen) + (_bytes(opt_vars) if opt_vars else 0)
    print_fn(f" Total params: {total:,} ({_fmt_bytes(total_bytes)})")
    print_fn(f" Trainable params: {_count(trainable):,} ({_fmt_bytes(_bytes(trainable))})")
    print_fn(f" Non-trainable params: {_count(frozen):,} ({_fmt_bytes(_bytes(frozen))})")
    if opt_vars is not None:
        print_fn(f" Optimizer params: {_count(opt_vars):,} ({_fmt_bytes(_bytes(opt_vars))})")
    print_fn("_" * line_length)
