"""`Functional`: a model defined by a graph of layer calls, ``Model(inputs, outputs)``.

The graph is read from the symbolic tensors: each KerasTensor knows the layer call (node) that produced it.
Calling the model replays the nodes in topological order on real tensors.
"""

from kshim.layers.input_layer import InputLayer, conform_input
from kshim.layers.keras_tensor import KerasTensor, flatten_leaves
from kshim.layers.keras_tensor import flatten_keras_tensors as _flatten
from kshim.layers.layer import Layer, call_flags
from kshim.models.model import Model
from kshim.registry import LAYERS
from kshim.serialization import (deserialize_call_argument, deserialize_keras_object, serialize_call_argument,
                                  serialize_keras_object)
from kshim.common.properties import read_only


def _pack(structure, values):
    """Rebuild ``structure`` (KerasTensors in lists/dicts) with the values from ``values`` (a dict by id)."""
    if isinstance(structure, KerasTensor):
        return values[id(structure)]
    if isinstance(structure, dict):
        return {k: _pack(v, values) for k, v in structure.items()}
    return [_pack(v, values) for v in structure]


def _fill(structure, values):
    """``structure`` (a call's arguments: nested lists, tuples, dicts) with each KerasTensor replaced by its value
    from ``values`` (a dict by id); every other leaf (numbers, slices, None, flags) stays as it is."""
    if isinstance(structure, KerasTensor):
        return values[id(structure)]
    if isinstance(structure, (list, tuple)):
        return type(structure)(_fill(v, values) for v in structure)
    if isinstance(structure, dict):
        return {k: _fill(v, values) for k, v in structure.items()}
    return structure


class Functional(Model):
    """A model over a directed acyclic graph of layers: several inputs and outputs, shared layers."""

    _is_graph = True
    _keras_config_exact = ("keras.src.models.functional", "Functional")  # this class only, not its subclasses
    _keras_config_unbuilt = True  # the graph, not a build shape, says how to build it
    _rebuild_by_call = False

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._input_tensors = _flatten(inputs)
        self._output_tensors = _flatten(outputs)
        for t in self._input_tensors:
            if not (t._keras_history and isinstance(t._keras_history[0], InputLayer)):
                raise ValueError(f"Model: every input must come from `kshim.Input(...)`. Received: {t!r}")
        self._nodes = self._topological_nodes()
        seen, layers = set(), []
        for t in self._input_tensors:
            layer = t._keras_history[0]
            if id(layer) not in seen:
                seen.add(id(layer))
                layers.append(layer)
        for node in self._nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
        self._graph_layers = layers
        self._graph_layers = keras_functional_order(self)  # Keras's order: weights and summaries line up
        self.built = True
        self._build_shape = [t.shape for t in self._input_tensors]

    def _topological_nodes(self):
        """The nodes between the inputs and the outputs, each after the nodes it depends on."""
        input_ids = {id(t) for t in self._input_tensors}
        order, state = [], {}

        def visit(tensor):
            if id(tensor) in input_ids:
                return
            layer, node_index, _ = tensor._keras_history
            if isinstance(layer, InputLayer):
                raise ValueError(
                    f"Graph disconnected: the output depends on input '{layer.name}' {tensor.shape}, which is not "
                    "in the model's `inputs`."
                )
            node = layer._inbound_nodes[node_index]
            mark = state.get(id(node))
            if mark == "done":
                return
            if mark == "visiting":
                raise ValueError(f"Model: the graph has a cycle through layer '{layer.name}'.")
            state[id(node)] = "visiting"
            for t in node.input_tensors:
                visit(t)
            state[id(node)] = "done"
            order.append(node)

        for t in self._output_tensors:
            visit(t)
        return order

    def _sublayers(self):
        return [layer for layer in self._graph_layers if not isinstance(layer, InputLayer)]

    @property
    def layers(self):
        """The graph's layers; as in Keras 3, the operations on symbolic tensors (``x + 1``, ``ops.mean``) are
        nodes of the graph but not layers of the model."""
        return [layer for layer in self._graph_layers if not layer._is_operation]

    # -- calling -------------------------------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        flat = _flatten_values(inputs, self._inputs_struct, self)
        values = {id(t): conform_input(v, t) for t, v in zip(self._input_tensors, flat)}
        masks = {}
        for node in self._nodes:
            layer = node.layer
            args = _fill(node.inputs, values)
            takes_training, takes_mask = call_flags(type(layer))
            kwargs = _fill(node.kwargs, values) if node.kwargs else {}
            if takes_training and training is not None:
                kwargs["training"] = training  # the model's flag wins over a node's own, as in Keras 3
            elif not takes_training:
                kwargs.pop("training", None)
            in_mask = _pack_masks(node.inputs, masks)
            if takes_mask and in_mask is not None:
                kwargs["mask"] = in_mask
            out = layer(args, *_fill(node.args, values), **kwargs)
            out_mask = None
            if in_mask is not None or type(layer).compute_mask is not Layer.compute_mask:
                out_mask = layer.compute_mask(args, in_mask)
            outs = out if isinstance(out, (list, tuple)) else [out]
            node_outs = node.outputs if isinstance(node.outputs, list) else [node.outputs]
            if isinstance(out_mask, (list, tuple)):  # one mask per output, else none
                out_masks = list(out_mask) if len(out_mask) == len(node_outs) else [None] * len(node_outs)
            else:
                out_masks = [out_mask] * len(node_outs)
            for t, v, m in zip(node_outs, outs, out_masks):
                values[id(t)] = v
                if m is not None:
                    masks[id(t)] = m
        if isinstance(self._outputs_struct, KerasTensor):
            return values[id(self._outputs_struct)]
        return _pack(self._outputs_struct, values)

    def compute_output_shape(self, input_shape):
        shapes = [t.shape for t in self._output_tensors]
        return shapes[0] if isinstance(self._outputs_struct, KerasTensor) else shapes

    def _maybe_build(self, input_shape):
        self.built = True

    # -- graph views ---------------------------------------------------------------------------------------------
    @property
    def inputs(self):
        return list(self._input_tensors)

    @property
    def outputs(self):
        return list(self._output_tensors)

    input = read_only("_inputs_struct")
    output = read_only("_outputs_struct")

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._input_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._output_tensors]
        return shapes[0] if isinstance(self._outputs_struct, KerasTensor) else shapes

    def _saving_layers(self):
        """The layers in the order Keras 3 saves them (see `keras_functional_order`)."""
        return keras_functional_order(self)

    @property
    def _input_layer(self):
        if len(self._input_tensors) == 1:
            return self._input_tensors[0]._keras_history[0]
        return None

    def get_config(self):
        """Keras 3's functional config: every layer with its ``inbound_nodes``, plus input and output layers."""
        node_ids = {}  # id(node) -> index of that node among the layer's nodes kept in this model
        for node in self._nodes:
            kept = [n for n in node.layer._inbound_nodes if id(n) in {id(m) for m in self._nodes}]
            node_ids[id(node)] = kept.index(node)

        def history(t):
            layer, node_index, tensor_index = t._keras_history
            if isinstance(layer, InputLayer):
                return [layer.name, 0, tensor_index]
            return [layer.name, node_ids[id(layer._inbound_nodes[node_index])], tensor_index]

        def tensor_config(t):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(t.shape), "dtype": t.dtype, "keras_history": history(t)}}

        def args_config(x):
            if isinstance(x, KerasTensor):
                return tensor_config(x)
            if isinstance(x, dict):
                return {k: args_config(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [args_config(v) for v in x]
            return serialize_call_argument(x)

        def node_config(node):  # the call as written: `layer(x, y)`, or `layer(logits=x, targets=y)`
            # A layer whose call takes several tensors positionally (MultiHeadAttention(query, value, key)) packs
            # them into one list for the graph; `_node_call_arguments` spreads them back as Keras 3 writes them.
            spread = getattr(node.layer, "_node_call_arguments", None)
            if spread is not None:
                args, tensor_kwargs = spread(node.inputs)
                return {"args": [args_config(a) for a in args],
                        "kwargs": args_config({**node.kwargs, **tensor_kwargs})}
            if node.first_keyword:
                return {"args": args_config(list(node.args)),
                        "kwargs": args_config({node.first_keyword: node.inputs, **node.kwargs})}
            return {"args": args_config([node.inputs, *node.args]), "kwargs": args_config(node.kwargs)}

        layer_configs = []
        for layer in self._graph_layers:
            cfg = serialize_keras_object(layer)
            cfg["name"] = layer.name
            nodes = [n for n in self._nodes if n.layer is layer]
            cfg["inbound_nodes"] = [node_config(n) for n in nodes]
            layer_configs.append(cfg)

        def ends(structure):
            if isinstance(structure, KerasTensor):
                return history(structure)
            if isinstance(structure, dict):
                return {k: ends(v) for k, v in structure.items()}
            return [ends(v) for v in structure]

        return {"name": self.name, "trainable": self.trainable, "layers": layer_configs,
                "input_layers": ends(self._inputs_struct), "output_layers": ends(self._outputs_struct)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild the graph by calling each layer on the symbolic tensors its ``inbound_nodes`` name."""
        layers, outputs = {}, {}  # name -> layer; (name, node_index) -> outputs of that call
        for layer_cfg in config["layers"]:
            layers[layer_cfg["name"]] = deserialize_keras_object(layer_cfg, custom_objects=custom_objects)

        def resolve(x):
            if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
                name, node_index, tensor_index = x["config"]["keras_history"]
                produced = outputs[(name, node_index)]
                return produced[tensor_index] if isinstance(produced, list) else produced
            if isinstance(x, dict) and "class_name" in x:
                return deserialize_call_argument(x)
            if isinstance(x, dict):
                return {k: resolve(v) for k, v in x.items()}
            if isinstance(x, list):
                return [resolve(v) for v in x]
            return x

        pending = [(cfg["name"], i, node) for cfg in config["layers"]
                   for i, node in enumerate(cfg.get("inbound_nodes", []))]
        for name, layer in layers.items():
            if isinstance(layer, InputLayer):
                outputs[(name, 0)] = layer.output
        while pending:
            progress = False
            for item in list(pending):
                name, i, node = item
                try:
                    args, kwargs = resolve(node["args"]), resolve(node.get("kwargs", {}))
                except KeyError:
                    continue
                outputs[(name, i)] = layers[name](*args, **kwargs)
                pending.remove(item)
                progress = True
            if not progress:
                raise ValueError("Model config: the layer graph cannot be rebuilt (a node refers to a layer output "
                                 f"that is never produced). Unresolved layers: {[p[0] for p in pending]}")

        def ends(spec):
            if isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str) and isinstance(spec[1], int):
                produced = outputs[(spec[0], spec[1])]
                return produced[spec[2]] if isinstance(produced, list) else produced
            if isinstance(spec, dict):
                return {k: ends(v) for k, v in spec.items()}
            return [ends(v) for v in spec]

        return cls(ends(config["input_layers"]), ends(config["output_layers"]), name=config.get("name"),
                   trainable=config.get("trainable", True))


def _flatten_values(values, structure, model):
    """The call's inputs in the order of ``model.inputs``, checked against the structure the model was built with.

    As in Keras 3, a dict keyed by the `Input` names may stand for a list of inputs, and one tensor for a list of
    one."""
    if isinstance(structure, KerasTensor):
        if isinstance(values, dict) and len(values) == 1 and structure.name in values:
            return [values[structure.name]]
        if isinstance(values, (list, tuple)) and len(values) == 1:
            return [values[0]]
        return [values]
    if isinstance(structure, dict):
        if not isinstance(values, dict) and len(structure) == 1:
            values = {next(iter(structure)): values}
        if not isinstance(values, dict):
            raise ValueError(f"Model '{model.name}' takes a dict of inputs with keys {list(structure)}. "
                             f"Received: inputs of type {type(values).__name__}")
        missing = [k for k in structure if k not in values]
        if missing:
            raise ValueError(f"Model '{model.name}': the inputs dict lacks the key(s) {missing}; the model takes "
                             f"{list(structure)}. Received keys: {list(values)}")
        return [v for k in structure for v in _flatten_values(values[k], structure[k], model)]
    if len(structure) == 1 and not isinstance(values, (list, tuple, dict)):
        values = [values]
    if isinstance(values, dict):
        names = [t.name for t in structure] if all(isinstance(t, KerasTensor) for t in structure) else []
        if not names or not set(names) <= set(values):
            raise ValueError(f"Model '{model.name}': inputs given as a dict must be keyed by the Input names "
                             f"{names}. Received keys: {list(values)}")
        values = [values[n] for n in names]
    if not isinstance(values, (list, tuple)) or len(values) != len(structure):
        got = len(values) if isinstance(values, (list, tuple)) else 1
        raise ValueError(f"Model '{model.name}' expects {len(structure)} input(s) "
                         f"{[getattr(t, 'name', None) for t in structure]}. Received: {got} input(s)")
    return [v for item, s in zip(values, structure) for v in _flatten_values(item, s, model)]


def _pack_masks(structure, masks):
    if isinstance(structure, KerasTensor):
        return masks.get(id(structure))
    if not isinstance(structure, (list, tuple, dict)):
        return None  # a Python value as the first argument (`0.5 ** x`)
    flat = [masks.get(id(t)) for t in _flatten(structure)]
    return None if all(m is None for m in flat) else flat


def keras_functional_order(model):
    """The layers of a Functional model in Keras 3's order (``map_graph``): by decreasing depth from the outputs,
    ties in the order a depth-first walk from the outputs first meets them. Layers of one class are numbered in
    this order in the weights file (``dense``, ``dense_1``, ...), so it must be Keras's, not kshim's."""
    index, depth_of_layer, depth_of_node = {}, {}, {}
    parents, node_layer, post_order, finished = {}, {}, [], set()

    def node_key(tensor):
        layer, node_index, _ = tensor._keras_history
        if isinstance(layer, InputLayer):
            return ("input", id(layer)), layer, None
        node = layer._inbound_nodes[node_index]
        return ("node", id(node)), layer, node

    def visit(tensor):  # Keras's _build_map_helper
        key, layer, node = node_key(tensor)
        if key in finished:
            return
        index.setdefault(id(layer), len(index))
        node_layer[key] = layer
        inputs = flatten_leaves(node.input_tensors) if node is not None else []
        for t in inputs:
            visit(t)
        parents[key] = [node_key(t)[0] for t in inputs]
        finished.add(key)
        post_order.append(key)

    for tensor in flatten_leaves(model._outputs_struct):
        visit(tensor)
    for key in reversed(post_order):
        layer = node_layer[key]
        depth = max(depth_of_node.setdefault(key, 0), depth_of_layer.get(id(layer), 0))
        depth_of_layer[id(layer)] = depth_of_node[key] = depth
        for parent in parents[key]:
            depth_of_node[parent] = max(depth + 1, depth_of_node.get(parent, 0))
    layers = {id(l): l for l in model._graph_layers}
    for tensor in model._input_tensors:  # inputs that no output depends on
        layer = tensor._keras_history[0]
        if id(layer) not in depth_of_layer:
            depth_of_layer[id(layer)], index[id(layer)] = 0, -1
    if set(depth_of_layer) != set(layers):
        return model._graph_layers  # a graph this walk does not understand: keep kshim's order
    return sorted(layers.values(), key=lambda l: (-depth_of_layer[id(l)], index[id(l)]))


LAYERS.register(Functional)
