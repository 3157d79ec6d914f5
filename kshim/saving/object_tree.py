"""Where each object's variables live in a Keras 3 weights file, found by walking the model as Keras 3 does.

Keras 3 stores the variables of every saveable object (layer, model, optimizer) in an HDF5 group
``<path>/vars`` (``vars`` at the root), one dataset per variable named ``"0"``, ``"1"``, ... in the order
trainable-created then non-trainable-created, with the object's name as the group's ``name`` attribute. The path
is the chain of attribute names from the model down to the object:

- a Sequential or Functional model's layers come first, as the container ``layers`` (a Functional model's in
  Keras's depth order, see `keras_functional_order`);
- a layer that defines ``save_own_variables``/``load_own_variables`` (Keras 3's hooks) fills its group itself;
- then every other attribute, public names before private ones, each sorted by name;
- an attribute holding a layer gives ``<attr>``; a list, tuple or dict of layers gives ``<attr>/<class>``, where
  ``<class>`` is the snake_case class name made unique by ``_1``, ``_2``, ... (``layers/dense``,
  ``layers/dense_1``); a nested container is ``container``, ``container_1``, ...;
- an object reached twice is stored once, at the first path;
- a model's optimizer is the attribute ``optimizer``; a subclassed model also has the container ``layers``.

kshim adds one thing Keras 3 does not store: the state of each in-step random stream (``seed_generator``), so
training continues with the same dropout masks after a reload. Keras ignores those groups when it reads the file.
"""

import re
from dataclasses import dataclass

from kshim.layers.layer import Layer
from kshim.optimizers.optimizer import Optimizer
from kshim.random import SeedGenerator
from kshim.registry import LAYERS

# Attributes kshim's own base classes keep (lists of sub-layers, graph bookkeeping): never saving paths.
_GRAPH_ATTRS = frozenset({
    "_tracked_layers", "_self_ref", "_stack", "_symbolic", "_symbolic_nodes", "_input_layer", "_graph_layers",
    "_nodes", "_inputs_struct", "_outputs_struct", "_input_tensors", "_output_tensors", "_inbound_nodes",
    "_seed_generators", "_steps", "_compile_loss", "_compile_metrics", "_compile_args",
})
_BASE_ATTRS = None


@dataclass
class Entry:
    """One group of the weights file: its path (``""`` for the root), the object, and its variables in order."""

    path: str
    obj: object
    variables: list
    kind: str  # "layer", "optimizer" or "seed"

    @property
    def group(self):
        return f"{self.path}/vars" if self.path else "vars"

    @property
    def name(self):
        return getattr(self.obj, "name", None) or self.path.rsplit("/", 1)[-1]


def keras_snake_case(name):
    """Keras 3's ``to_snake_case`` (container entries are named with it): ``MaxPooling2D`` -> ``max_pooling2d``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _name_key(name):
    return f"~{name}" if name.startswith("_") else name


def _base_attrs():
    """The instance attributes of a bare kshim Model: internal state, never part of a saving path."""
    global _BASE_ATTRS
    if _BASE_ATTRS is None:
        Model = LAYERS.lookup("Model")
        probe = object.__new__(Model)
        Model.__init__(probe, name="kshim_saving_probe")  # a given name takes no automatic-name counter
        _BASE_ATTRS = frozenset(vars(probe)) | _GRAPH_ATTRS
    return _BASE_ATTRS


def _is_saveable(obj):
    return isinstance(obj, (Layer, Optimizer))


def _holds_saveable(container, seen=None):
    seen = set() if seen is None else seen
    if id(container) in seen:
        return False
    seen.add(id(container))
    items = container.values() if isinstance(container, dict) else container
    for item in items:
        if _is_saveable(item):
            return True
        if isinstance(item, (list, tuple, dict)) and _holds_saveable(item, seen):
            return True
    return False


def _children(obj):
    """``(attribute name, child)`` for the children Keras 3 visits, in its order."""
    if not isinstance(obj, Layer):
        return []  # optimizers: their variables only
    out = []
    ordered = getattr(obj, "_saving_layers", None)  # Sequential and Functional: their layers, in Keras's order
    if ordered is not None:
        out.append(("layers", ordered()))
    attrs = dict(vars(obj))
    skip = _base_attrs()
    names = [n for n in attrs if n not in skip and not n.startswith("__")]
    if obj._is_model:
        names += ["optimizer"]
        if ordered is None:
            names += ["layers"]
    for name in sorted(set(names), key=_name_key):
        if name == "layers" and obj._is_model:
            child = obj.layers
        elif name == "optimizer":
            child = getattr(obj, "optimizer", None)
        else:
            child = attrs[name]
        if _is_saveable(child) or (isinstance(child, (list, tuple, dict)) and _holds_saveable(child)):
            out.append((name, child))
    return out


def _seed_paths(layer, path):
    """``(path, generator)`` for each random stream the layer owns, named by the attribute holding it."""
    gens = list(getattr(layer, "_seed_generators", ()))
    if not gens:
        return []
    names = {id(v): k for k, v in vars(layer).items() if isinstance(v, SeedGenerator)}
    out = []
    for i, gen in enumerate(gens):
        name = names.get(id(gen), "seed_generator" if i == 0 else f"seed_generator_{i}")
        out.append((f"{path}/{name}" if path else name, gen))
    return out


def _own_variables(obj):
    if isinstance(obj, Optimizer):
        return list(obj.variables)
    own, seen = [], set()
    for v in list(obj._own_trainable) + list(obj._own_non_trainable):
        if id(v) not in seen:
            seen.add(id(v))
            own.append(v)
    return own


def walk(model, include_optimizer=True):
    """The entries of ``model``'s weights file, in Keras 3's visiting order."""
    entries, visited = [], set()

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        if isinstance(obj, Optimizer):
            if include_optimizer:
                entries.append(Entry(path, obj, _own_variables(obj), "optimizer"))
            return
        entries.append(Entry(path, obj, _own_variables(obj), "layer"))
        for seed_path, gen in _seed_paths(obj, path):
            if id(gen) not in visited:
                visited.add(id(gen))
                entries.append(Entry(seed_path, gen, [gen.state], "seed"))
        for name, child in _children(obj):
            child_path = f"{path}/{name}" if path else name
            if _is_saveable(child):
                visit(child, child_path)
            else:
                visit_container(child, child_path, set())

    def visit_container(container, path, seen_containers):
        if id(container) in seen_containers:
            return
        seen_containers.add(id(container))
        used = {}
        items = list(container.values()) if isinstance(container, dict) else list(container)
        for item in items:
            if _is_saveable(item):
                visit(item, f"{path}/{_unique(keras_snake_case(type(item).__name__), used)}")
            elif isinstance(item, (list, tuple, dict)):
                visit_container(item, f"{path}/{_unique('container', used)}", seen_containers)

    visit(model, "")
    return entries


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name
