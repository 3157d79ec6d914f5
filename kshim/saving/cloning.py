"""`clone_model`: the same architecture with new layers and freshly initialized weights."""

import json

from kshim.layers.input_layer import Input, InputLayer
from kshim.layers.keras_tensor import KerasTensor
from kshim.registry import LAYERS, loading_scope
from kshim.serialization import deserialize_keras_object, serialize_keras_object


def _default_clone(layer):
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, **kwargs):
    """A new model with ``model``'s architecture (same configs, same layer names) and new weights.

    ``clone_function(layer)`` makes each new layer (default: ``type(layer).from_config(layer.get_config())``).
    ``input_tensors`` (Sequential and Functional models) are the new model's inputs. The clone is not compiled.
    """
    Functional, Sequential = LAYERS.lookup("Functional"), LAYERS.lookup("Sequential")  # kshim.models: above us
    if kwargs:
        raise ValueError(f"clone_model: unsupported argument(s) {sorted(kwargs)}. Supported: input_tensors, "
                         "clone_function.")
    if isinstance(model, Sequential):
        fn = clone_function or _default_clone
        layers = [fn(layer) for layer in model.layers]
        if input_tensors is not None:
            first = input_tensors[0] if isinstance(input_tensors, (list, tuple)) else input_tensors
            return Sequential([first] + layers, name=model.name, trainable=model.trainable)
        if model._input_layer is not None:
            source = model._input_layer
            layers = [InputLayer(batch_shape=source.batch_shape, dtype=source.dtype, name=source.name)] + layers
        return Sequential(layers, name=model.name, trainable=model.trainable)
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, clone_function or _default_clone)
    if clone_function is not None or input_tensors is not None:
        raise ValueError("clone_model: `clone_function` and `input_tensors` only work with Sequential and "
                         f"Functional models; '{model.name}' is a subclassed {type(model).__name__}.")
    config = json.loads(json.dumps(serialize_keras_object(model)))
    config.pop("compile_config", None)
    with loading_scope(None, True, False):
        return deserialize_keras_object(config)


def _clone_functional(model, input_tensors, clone_function):
    old_inputs = model._input_tensors
    if input_tensors is None:
        new_inputs = []
        for t in old_inputs:
            layer = t._keras_history[0]
            new_inputs.append(Input(batch_shape=layer.batch_shape, dtype=t.dtype, name=layer.name))
    else:
        new_inputs = list(input_tensors) if isinstance(input_tensors, (list, tuple)) else [input_tensors]
        if len(new_inputs) != len(old_inputs):
            raise ValueError(f"clone_model: the model has {len(old_inputs)} input(s); received "
                             f"{len(new_inputs)} input tensor(s).")
    values = {id(old): new for old, new in zip(old_inputs, new_inputs)}
    clones = {}

    def mapped(structure):
        if isinstance(structure, KerasTensor):
            return values[id(structure)]
        if isinstance(structure, dict):
            return {k: mapped(v) for k, v in structure.items()}
        return [mapped(v) for v in structure]

    for node in model._nodes:
        layer = node.layer
        if isinstance(layer, InputLayer):
            continue
        if id(layer) not in clones:
            clones[id(layer)] = clone_function(layer)
        outputs = clones[id(layer)](mapped(node.inputs), *node.args, **node.kwargs)
        old_out = node.outputs if isinstance(node.outputs, list) else [node.outputs]
        new_out = outputs if isinstance(outputs, list) else [outputs]
        for old, new in zip(old_out, new_out):
            values[id(old)] = new
    inputs = mapped(model._inputs_struct) if not isinstance(model._inputs_struct, KerasTensor) else new_inputs[0]
    return LAYERS.lookup("Functional")(inputs, mapped(model._outputs_struct), name=model.name, trainable=model.trainable)
