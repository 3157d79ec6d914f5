"""A model's outputs and inputs as ``compile``/``fit`` see them, and the data lined up with them.

A model has one output, a list of outputs or a dict of outputs. Each output has a *name*, the prefix of its log
keys (``<name>_loss``, ``<name>_<metric>``): the name of the layer that produced it, or its key when the outputs
are a dict (taken in sorted key order, the order Keras 3 flattens a dict in). Each also has a *key* that picks it
out of the model's result: an index, a dict key, or None for a bare tensor.

``y`` and ``sample_weight`` may be a list/tuple with one entry per output (None for "no target"), a dict keyed by
output name, or a single array: for ``sample_weight`` it weighs every output; for ``y`` it is the target of the one
output that has a loss or metrics. ``x`` may be a list/tuple in the model's input order or a dict keyed by input
name (the functional model's ``call`` lines it up); `check_inputs` says clearly when it does not fit.
"""

import numpy as np

from kshim import ops
from kshim.layers.input_layer import input_shape_fits
from kshim.layers.keras_tensor import KerasTensor
from kshim.common.suggest import unknown_name_error


def is_structure(x):
    """True for a list/tuple/dict of arrays (one per input or output); False for one array, a plain Python list
    of numbers included."""
    if isinstance(x, dict):
        return True

    def is_array(v):
        return isinstance(v, (np.ndarray, dict)) or ops.is_tensor(v)

    return isinstance(x, (list, tuple)) and any(is_array(v) for v in x) and all(
        v is None or is_array(v) or isinstance(v, (list, tuple)) for v in x)


def shape_of_batch(x):
    """The shape of a batch (of its first array, when ``x`` is a list or dict of arrays)."""
    if is_structure(x):
        values = x.values() if isinstance(x, dict) else x
        return shape_of_batch(next((v for v in values if v is not None), None))
    return tuple(ops.shape(x)) if ops.is_tensor(x) else tuple(np.shape(x))


def _unwrap_one(value):
    """The single entry of a one-element list/tuple/dict; anything else as is."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    return value


def _layer_name(tensor):
    return tensor._keras_history[0].name


class ModelOutputs:
    """The outputs of one model: ``names`` (log prefixes), ``keys`` (how to pick each from the model's result)
    and ``shapes`` (batch axis None). ``needed`` lists the outputs that have a loss or metrics (set by compile)."""

    def __init__(self, model_name, names, keys, shapes):
        self.model_name = model_name
        self.names = list(names)
        self.keys = list(keys)
        self.shapes = [tuple(s) for s in shapes]
        self.needed = list(range(len(self.names)))
        self.keyed = any(isinstance(k, str) for k in self.keys)  # the model returns a dict

    def __len__(self):
        return len(self.names)

    def describe(self):
        return f"model '{self.model_name}' has {len(self)} outputs {self.names}"

    def pick(self, y_pred):
        """The model's result as a list with one tensor per output, in output order."""
        if self.keys == [None]:
            return [_unwrap_one(y_pred)]
        return [y_pred[k] for k in self.keys]

    def check_name(self, name, arg):
        if name not in self.names:
            raise unknown_name_error(f"output name in `{arg}` ({self.describe()})", name, self.names, arg="key")

    def align(self, value, arg, where=None):
        """``y`` or ``sample_weight`` as a list with one entry (or None) per output."""
        n = len(self)
        head = f"{where}: " if where else ""
        if value is None:
            return [None] * n
        if n == 1:
            return [_unwrap_one(value)]
        if isinstance(value, dict):
            for k in value:
                self.check_name(k, arg)
            return [value.get(name) for name in self.names]
        if isinstance(value, (list, tuple)):
            if len(value) == n:
                return list(value)
            if arg == "y" and len(value) == len(self.needed):
                out = [None] * n
                for i, v in zip(self.needed, value):
                    out[i] = v
                return out
            raise ValueError(f"{head}{self.describe()}, so `{arg}` must be a list with one entry per output "
                             f"(None for an output without one) or a dict keyed by output name. Received: a "
                             f"{type(value).__name__} of {len(value)} entries.")
        if arg == "sample_weight":
            return [value] * n
        if len(self.needed) == 1:
            out = [None] * n
            out[self.needed[0]] = value
            return out
        raise ValueError(f"{head}{self.describe()}, so `y` must be a list with one target per output or a dict "
                         f"keyed by output name. Received: a single array of shape {shape_of_batch(value)}.")

    def check_targets(self, y, where, reasons):
        """Each output that has a loss or metrics must get a target; ``reasons[i]`` says what output ``i`` has."""
        targets = self.align(y, "y", where)
        for i in self.needed:
            if targets[i] is None:
                raise ValueError(f"{where}: `y` has no target for output '{self.names[i]}', which has "
                                 f"{reasons[i]} ({self.describe()}). Give its target in `y`, or compile it "
                                 "without a loss and metrics.")
        return targets


def describe_outputs(model, x_shape, call):
    """The `ModelOutputs` of ``model``. ``x_shape`` is the first input's batch shape; ``call()`` runs the model
    on the batch, used only when the outputs cannot be read from the graph or from ``compute_output_shape``."""
    struct = getattr(model, "_outputs_struct", None)
    name = model.name
    if struct is not None:  # a functional model: read the graph
        if isinstance(struct, KerasTensor):
            return ModelOutputs(name, [_layer_name(struct)], [None], [struct.shape])
        items = sorted(struct.items()) if isinstance(struct, dict) else list(enumerate(struct))
        if not all(isinstance(t, KerasTensor) for _, t in items):
            raise ValueError(f"compile: model '{name}' has nested outputs; compile supports one output, a list of "
                             "outputs or a dict of outputs.")
        names = [str(k) for k, _ in items] if isinstance(struct, dict) else [_layer_name(t) for _, t in items]
        return ModelOutputs(name, names, [k for k, _ in items], [t.shape for _, t in items])
    try:
        shape = tuple(model.compute_output_shape((None,) + tuple(x_shape[1:])))
        if all(d is None or isinstance(d, (int, np.integer)) for d in shape):
            return ModelOutputs(name, [name], [None], [shape])
    except (NotImplementedError, TypeError, AttributeError, ValueError):
        pass
    y_pred = call()
    if isinstance(y_pred, dict):
        keys = sorted(y_pred)
        return ModelOutputs(name, [str(k) for k in keys], keys, [tuple(ops.shape(y_pred[k])) for k in keys])
    if isinstance(y_pred, (list, tuple)) and len(y_pred) != 1:
        return ModelOutputs(name, [f"output_{i + 1}" for i in range(len(y_pred))], list(range(len(y_pred))),
                            [tuple(ops.shape(v)) for v in y_pred])
    return ModelOutputs(name, [name], [None], [tuple(ops.shape(_unwrap_one(y_pred)))])


# -- inputs ----------------------------------------------------------------------------------------------------------
def _input_names_and_tensors(model):
    struct = getattr(model, "_inputs_struct", None)
    if isinstance(struct, dict) and all(isinstance(t, KerasTensor) for t in struct.values()):
        return list(struct), list(struct.values())
    tensors = getattr(model, "_input_tensors", None)
    if not tensors:
        return None, None
    return [_layer_name(t) for t in tensors], list(tensors)


def check_inputs(model, x, where):
    """A clear error for inputs that do not fit a functional model's inputs: their number, names, per-sample
    shapes and batch sizes."""
    names, tensors = _input_names_and_tensors(model)
    if names is None:
        return
    n = len(names)
    desc = f"model '{model.name}' expects {n} input{'s' if n > 1 else ''} {names}"
    if isinstance(x, dict):
        for k in x:
            if k not in names:
                raise unknown_name_error(f"input name in `x` ({desc})", k, names, arg="key")
        missing = [k for k in names if k not in x]
        if missing:
            raise ValueError(f"{where}: {desc}, but `x` has no entry for {missing}. Received keys: {list(x)}")
        arrays = [x[k] for k in names]
    elif is_structure(x):
        if len(x) != n:
            raise ValueError(f"{where}: {desc}, but `x` is a list of {len(x)} arrays. Pass one array per input, "
                             "in that order, or a dict keyed by input name.")
        arrays = list(x)
    else:  # one array (a plain Python list of numbers included)
        if n > 1:
            raise ValueError(f"{where}: {desc}, but `x` is a single array of shape {shape_of_batch(x)}. Pass a "
                             "list with one array per input or a dict keyed by input name.")
        arrays = [x]
    shapes = [shape_of_batch(a) for a in arrays]
    for name, t, got in zip(names, tensors, shapes):
        expected = tuple(t.shape)
        if not input_shape_fits(expected, got):
            raise ValueError(f"{where}: input '{name}' of model '{model.name}' expects shape {expected}, but `x` "
                             f"gives it shape {(None,) + tuple(got[1:])} per batch.")
    sizes = {name: s[0] for name, s in zip(names, shapes) if s}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"{where}: all inputs must have the same number of samples. Received: {sizes}")
