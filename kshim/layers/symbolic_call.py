"""How a layer is called on KerasTensors: its output spec, found without touching data, the symbolic masks of its
outputs, and the Node that records the call in the Functional graph. `kshim.layers.layer.Layer` delegates here.

The output spec comes from the layer's ``compute_output_shape`` when it defines one; otherwise ``call()`` is
evaluated abstractly through the backend (`kshim.ops.compute_output_spec`), with the layer's Variables passed as
arguments and restored afterwards."""

import inspect

import numpy as np

from kshim import ops
from kshim.layers.input_spec import check_input_spec
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.node import Node
from kshim.ops.core import ShapeDtype
from kshim.variables import read_values, restore_state, swap_values


def call_flags(cls):
    """(call takes ``training``, call takes ``mask``) for a layer class, computed once per class."""
    flags = cls.__dict__.get("_call_flags")
    if flags is None:
        flags = (_accepts(cls.call, "training"), _accepts(cls.call, "mask"))
        cls._call_flags = flags
        cls._call_takes_training, cls._call_takes_mask = flags
    return flags


def _accepts(fn, arg):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def output_spec(layer, inputs, args, kwargs, own_shape):
    """`Layer.compute_output_spec` (see there); ``own_shape``: the layer defines ``compute_output_shape``."""
    kwargs = dict(kwargs)
    if own_shape:
        shapes = [map_tensors(lambda t: t.shape, inputs)]
        shapes += [a.shape for a in args if isinstance(a, KerasTensor)]
        out = layer.compute_output_shape(*shapes)
        return map_shapes(lambda s: KerasTensor(s, layer.compute_dtype), out)
    takes_training, takes_mask = call_flags(type(layer))
    if not takes_training:
        kwargs.pop("training", None)
    if not takes_mask:
        kwargs.pop("mask", None)
    elif kwargs.get("mask") is None:
        mask = mask_of(inputs)
        if mask is not None:
            kwargs["mask"] = mask
    if layer.autocast:
        inputs = map_tensors(lambda t: KerasTensor(t.shape, layer.compute_dtype)
                              if ops.is_float_dtype(t.dtype) and t.dtype != layer.compute_dtype else t, inputs)
    return abstract_eval(layer, layer.call, (inputs,) + args, kwargs)


def abstract_eval(layer, fn, args, kwargs):
    """``fn(*args, **kwargs)`` evaluated abstractly, with ``layer``'s Variables given to the backend as
    arguments (torch evaluates with meta copies) and restored afterwards, with the losses. KerasTensors out."""
    variables = layer.variables
    layers = all_layers(layer)
    losses = [list(layer._losses) for layer in layers]

    def run(values, *a, **k):
        swap_values(variables, values)
        return fn(*a, **k)

    try:
        with restore_state(variables + layer._layer_metric_variables()):  # a metric updated in `call` too
            out = ops.compute_output_spec(run, (read_values(variables),) + tuple(args), kwargs)
    finally:
        for layer, kept in zip(layers, losses):
            layer._losses = kept
    return map_leaves(lambda x: KerasTensor(x.shape, x.dtype) if isinstance(x, ShapeDtype) else x, out)


def call(layer, inputs, args, kwargs, own_mask):
    """A call on KerasTensors: build, check the input spec, the output spec, masks, and a new Node."""
    if kwargs.get("training", 0) is None:
        del kwargs["training"]  # an explicit True/False stays in the node, as in Keras 3 (Monte-Carlo dropout)
    layer._maybe_build(map_tensors(lambda t: t.shape, inputs))
    if layer.input_spec is not None:
        check_input_spec(layer, inputs)
    if _spec_takes_arguments(type(layer)):
        outputs = layer.compute_output_spec(inputs, *args, **dict(kwargs))
    else:  # a subclass's `compute_output_spec(layer, inputs_spec)`
        outputs = layer.compute_output_spec(inputs)
    if isinstance(outputs, tuple):
        outputs = list(outputs)
    _set_output_masks(layer, inputs, outputs, own_mask)
    node_index = len(layer._inbound_nodes)
    flat = outputs if isinstance(outputs, list) else [outputs]
    for i, t in enumerate(flat):
        t._keras_history = (layer, node_index, i)
        t.name = layer.name if len(flat) == 1 else f"{layer.name}_{i}"
    layer._inbound_nodes.append(Node(layer, inputs, outputs, args, kwargs))
    return outputs


def _set_output_masks(layer, inputs, outputs, own_mask):
    """Give the outputs the symbolic mask that `compute_mask` gives at run time (as the Functional call does:
    one mask goes to every output; a list of masks, one per output, to each its own)."""
    in_mask = mask_of(inputs)
    if not own_mask:
        out_mask = in_mask if layer.supports_masking else None
    else:
        out_mask = abstract_eval(layer, layer.compute_mask, (inputs, in_mask), {})
    flat = outputs if isinstance(outputs, list) else [outputs]
    if isinstance(out_mask, KerasTensor):
        out_mask = [out_mask] * len(flat)
    if isinstance(out_mask, (list, tuple)) and len(out_mask) == len(flat):  # one mask per output
        for t, m in zip(flat, out_mask):
            if isinstance(t, KerasTensor) and isinstance(m, KerasTensor):
                t._keras_mask = m


def _spec_takes_arguments(cls):
    """True if ``cls.compute_output_spec`` takes the call's other arguments, not only the inputs."""
    flag = cls.__dict__.get("_spec_flag")
    if flag is None:
        try:
            params = list(inspect.signature(cls.compute_output_spec).parameters.values())[1:]
        except (TypeError, ValueError):
            params = []
        flag = len(params) > 1 or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)
        cls._spec_flag = flag
    return flag


def map_leaves(fn, tree):
    if isinstance(tree, list):
        return [map_leaves(fn, v) for v in tree]
    if isinstance(tree, tuple):
        return tuple(map_leaves(fn, v) for v in tree)
    if isinstance(tree, dict):
        return {k: map_leaves(fn, v) for k, v in tree.items()}
    return fn(tree)


def map_tensors(fn, tree):
    """``tree`` with each KerasTensor ``t`` replaced by ``fn(t)``."""
    return map_leaves(lambda x: fn(x) if isinstance(x, KerasTensor) else x, tree)


def _is_shape(x):
    return isinstance(x, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in x)


def map_shapes(fn, tree):
    """``tree`` of shapes (tuples of ints and None, in lists, tuples and dicts) with each shape ``s`` as ``fn(s)``."""
    if _is_shape(tree):
        return fn(tuple(tree))
    if isinstance(tree, (list, tuple)):
        return type(tree)(map_shapes(fn, v) for v in tree)
    if isinstance(tree, dict):
        return {k: map_shapes(fn, v) for k, v in tree.items()}
    return tree


def mask_of(inputs):
    """The symbolic mask(s) of ``inputs``: one KerasTensor's mask, a list of them for several (None if none)."""
    if isinstance(inputs, KerasTensor):
        return inputs._keras_mask
    if isinstance(inputs, (list, tuple)):
        masks = [mask_of(t) for t in inputs]
        return masks if any(m is not None for m in masks) else None
    return None


def all_layers(layer):
    out, todo, seen = [], [layer], set()
    while todo:
        x = todo.pop()
        if id(x) not in seen:
            seen.add(id(x))
            out.append(x)
            todo.extend(x._sublayers())
    return out
