"""`model.summary()`: the table of layers, output shapes and parameter counts, as Keras prints it."""

import numpy as np


def _fmt_bytes(n):
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.2f} B"


def _count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def _bytes(weights):
    return int(sum(int(np.prod(w.shape)) * np.dtype(w.dtype if w.dtype != "bfloat16" else "float16").itemsize
                   for w in weights))


def _shape_str(layer):
    try:
        shape = layer.output_shape
    except (AttributeError, ValueError, NotImplementedError):
        return "?"
    return str(tuple(shape)) if isinstance(shape, tuple) else str([tuple(s) for s in shape])


def _rows(model, expand_nested, depth=0):
    from kshim.models.model import Model

    rows = []
    for layer in model.layers:
        params = _count(layer.weights) if layer.built else 0
        name = ("  " * depth) + f"{layer.name} ({type(layer).__name__})"
        rows.append((name, _shape_str(layer), f"{params:,}" if layer.built else "0 (unbuilt)", layer.trainable))
        if expand_nested and isinstance(layer, Model):
            rows.extend(_rows(layer, expand_nested, depth + 1))
    return rows


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False):
    print_fn = print_fn or print
    line_length = line_length or (98 if show_trainable else 88)
    positions = positions or [0.45, 0.8, 1.0]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Trainable"] if show_trainable else [])
    if show_trainable:
        positions = positions + [line_length]
    widths = [positions[0]] + [positions[i] - positions[i - 1] for i in range(1, len(positions))]

    def line(cells):
        out = ""
        for i, (cell, w) in enumerate(zip(cells, widths)):
            cell = str(cell)
            if len(cell) > w - 1:
                cell = cell[: w - 2] + "…"
            out += cell.rjust(w - 1) + " " if i == 2 else cell.ljust(w)
        return out.rstrip()

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(line(headers))
    print_fn("=" * line_length)
    rows = _rows(model, expand_nested)
    for i, (name, shape, params, trainable) in enumerate(rows):
        print_fn(line([name, shape, params] + (["Y" if trainable else "N"] if show_trainable else [])))
        print_fn(("_" if i < len(rows) - 1 else "=") * line_length if i < len(rows) - 1 else "=" * line_length)
    if not rows:
        print_fn("=" * line_length)
    weights = model.weights
    trainable = [w for w in weights if w.trainable]
    frozen = [w for w in weights if not w.trainable]
    print_fn(f" Total params: {_count(weights):,} ({_fmt_bytes(_bytes(weights))})")
    print_fn(f" Trainable params: {_count(trainable):,} ({_fmt_bytes(_bytes(trainable))})")
    print_fn(f" Non-trainable params: {_count(frozen):,} ({_fmt_bytes(_bytes(frozen))})")
    print_fn("_" * line_length)
