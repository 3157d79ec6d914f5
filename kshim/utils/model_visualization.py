"""`plot_model` and `model_to_dot`: a model's layer graph as a Graphviz picture (through pydot), with Keras 3's
arguments. Beyond Keras, ``plot_model(model, to_file="model.svg")`` also works without pydot or Graphviz: the graph is
then drawn by kshim's own small layered layout (`kshim.utils.model_svg`).

The graph itself (boxes, their text, edges and nested-model clusters) is computed once here, by `layer_graph`, and
both drawings use it."""

import os
import shutil

from kshim.layers.input_layer import InputLayer
from kshim.layers.keras_tensor import KerasTensor
from kshim.models.functional import Functional
from kshim.models.sequential import Sequential
from kshim.models.model import Model
from kshim.utils import model_svg

try:
    import pydot
except ImportError:  # optional: the `plot` extra
    pydot = None

_RANKDIRS = ("TB", "LR", "BT", "RL")


class Box:
    """One drawn layer: an id, the lines of text, and the nested models (outermost first) it sits in."""

    def __init__(self, key, title, lines, clusters):
        self.key, self.title, self.lines, self.clusters = key, title, lines, clusters


class LayerGraph:
    """Boxes in drawing order, edges ``(source key, target key)`` without duplicates, and the name of each
    cluster (a nested model drawn expanded), keyed by its path."""

    def __init__(self):
        self.boxes, self.edges, self.cluster_names = [], [], {}

    def add_edge(self, source, target):
        if (source, target) not in self.edges:
            self.edges.append((source, target))


def _flat(structure):
    if isinstance(structure, KerasTensor):
        return [structure]
    if isinstance(structure, dict):
        return [t for v in structure.values() for t in _flat(v)]
    if isinstance(structure, (list, tuple)):
        return [t for v in structure for t in _flat(v)]
    return []


def _shapes(tensors):
    shapes = [str(tuple(t.shape)) for t in tensors]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _dtypes(tensors):
    dtypes = [str(t.dtype) for t in tensors]
    return dtypes[0] if len(set(dtypes)) == 1 else "[" + ", ".join(dtypes) + "]"


def _activation_name(layer):
    fn = getattr(layer, "activation", None)
    if fn is None or isinstance(layer, Model):
        return None
    return getattr(fn, "__name__", type(fn).__name__)


def _lines(layer, node, opts):
    """The text rows under a box's title, as Keras 3 shows them."""
    lines = []
    if opts["show_layer_activations"]:
        name = _activation_name(layer)
        if name is not None:
            lines.append(f"Activation: {name}")
    inputs = _flat(node.inputs) if node is not None else []
    outputs = _flat(node.outputs) if node is not None else []
    if isinstance(layer, InputLayer) and node is None:
        outputs = [layer.output]
    if opts["show_shapes"]:
        if inputs:
            lines.append(f"Input shape: {_shapes(inputs)}")
        if outputs:
            lines.append(f"Output shape: {_shapes(outputs)}")
    if opts["show_dtype"]:
        if inputs:
            lines.append(f"Input dtype: {_dtypes(inputs)}")
        if outputs:
            lines.append(f"Output dtype: {_dtypes(outputs)}")
    if opts["show_trainable"] and not isinstance(layer, InputLayer):
        lines.append(f"Trainable: {bool(layer.trainable)}")
    return lines


def _last_node(layer, allowed=None):
    nodes = [n for n in getattr(layer, "_inbound_nodes", ()) if allowed is None or id(n) in allowed]
    return nodes[-1] if nodes else None


def _add_box(graph, layer, node, opts, clusters):
    key = "/".join(clusters + (layer.name,))
    title = f"{layer.name} ({type(layer).__name__})" if opts["show_layer_names"] else type(layer).__name__
    graph.boxes.append(Box(key, title, _lines(layer, node, opts), clusters))
    return [key], [key]


def _add_layer(graph, layer, node, opts, clusters):
    """Adds a layer (a box, or a nested model's own graph when expanded); returns its (entry keys, exit keys)."""
    if opts["expand_nested"] and isinstance(layer, (Functional, Sequential)) and layer.built:
        path = clusters + (layer.name,)
        graph.cluster_names[path] = layer.name
        return _add_model(graph, layer, opts, path)
    return _add_box(graph, layer, node, opts, clusters)


def _add_model(graph, model, opts, clusters=()):
    if isinstance(model, Functional):
        nodes = {id(n) for n in model._nodes}
        ends = {}
        for layer in model.layers:
            node = None if isinstance(layer, InputLayer) else _last_node(layer, nodes)
            ends[id(layer)] = _add_layer(graph, layer, node, opts, clusters)
        for node in model._nodes:
            for t in _flat(node.inputs):
                for source in ends[id(t._keras_history[0])][1]:
                    for target in ends[id(node.layer)][0]:
                        graph.add_edge(source, target)
        entries = [k for t in model._input_tensors for k in ends[id(t._keras_history[0])][0]]
        exits = [k for t in model._output_tensors for k in ends[id(t._keras_history[0])][1]]
        return entries, exits
    if isinstance(model, Sequential):
        entries = exits = None
        for layer in model.layers:
            ins, outs = _add_layer(graph, layer, _last_node(layer), opts, clusters)
            for source in exits or ():
                for target in ins:
                    graph.add_edge(source, target)
            entries, exits = entries or ins, outs
        return entries or [], exits or []
    return _add_box(graph, model, _last_node(model), opts, clusters)  # a subclassed model: one box


def layer_graph(model, show_shapes=False, show_dtype=False, show_layer_names=True, expand_nested=False,
                show_layer_activations=False, show_trainable=False):
    """The `LayerGraph` of a built model: one box per layer (nested models expanded into clusters when
    ``expand_nested``), an edge per connection."""
    if not isinstance(model, Model):
        raise ValueError(f"plot_model: `model` must be a kshim Model. Received: model={type(model).__name__}")
    if not model.built:
        raise ValueError(f"plot_model: the model '{model.name}' is not built yet. Build it first, by calling "
                         "`build()` or by calling the model on a batch of data.")
    opts = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                expand_nested=expand_nested, show_layer_activations=show_layer_activations,
                show_trainable=show_trainable)
    graph = LayerGraph()
    _add_model(graph, model, opts)
    return graph


# -- Graphviz, through pydot ---------------------------------------------------------------------------------------
def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _html_label(box):
    rows = [f'<tr><td bgcolor="#ffe8c2"><b>{_escape(box.title)}</b></td></tr>']
    rows += [f"<tr><td>{_escape(line)}</td></tr>" for line in box.lines]
    return '<<table border="0" cellborder="1" cellspacing="0" cellpadding="5">' + "".join(rows) + "</table>>"


def _missing(what):
    return ImportError(
        f"{what} needs pydot (`pip install pydot`, or the `plot` extra: `pip install kshim[plot]`) and Graphviz (the "
        "`dot` program: `apt-get install graphviz`, `brew install graphviz`, or https://graphviz.org/download/). "
        f"{'pydot is not installed' if pydot is None else 'Graphviz `dot` was not found'}. Without either, "
        "`plot_model(model, to_file='model.svg')` draws the model with kshim's built-in SVG layout.")


def _graphviz_works():
    if pydot is None or shutil.which("dot") is None:
        return False
    try:
        pydot.Dot.create(pydot.Dot())
        return True
    except (OSError, pydot.PydotException):
        return False


def _check_rankdir(rankdir):
    if rankdir not in _RANKDIRS:
        raise ValueError(f"plot_model: `rankdir` must be one of {_RANKDIRS}. Received: rankdir={rankdir!r}")


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB", expand_nested=False,
                 dpi=200, subgraph=False, show_layer_activations=False, show_trainable=False, splines="ortho",
                 **kwargs):
    """The model's graph as a `pydot.Dot` (a `pydot.Cluster` with ``subgraph=True``), with Keras 3's arguments."""
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("model_to_dot: the argument `layer_range` is no longer supported (as in Keras 3).")
    if kwargs:
        raise ValueError(f"model_to_dot: unrecognized keyword arguments {sorted(kwargs)}.")
    _check_rankdir(rankdir)
    if pydot is None:
        raise _missing("model_to_dot")
    graph = layer_graph(model, show_shapes, show_dtype, show_layer_names, expand_nested, show_layer_activations,
                        show_trainable)
    if subgraph:
        dot = pydot.Cluster(graph_name=model.name, style="dashed", label=model.name, labeljust="l")
    else:
        dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, concentrate=True, dpi=dpi, splines=splines)
        dot.set_node_defaults(shape="plaintext", fontname="Helvetica", fontsize="11")
    clusters = {(): dot}
    for path in sorted(graph.cluster_names, key=len):
        cluster = pydot.Cluster(graph_name="".join(c if c.isalnum() else "_" for c in "/".join(path)),
                                label=graph.cluster_names[path],
                                style="dashed", labeljust="l")
        clusters[path[:-1]].add_subgraph(cluster)
        clusters[path] = cluster
    for box in graph.boxes:
        clusters[box.clusters].add_node(pydot.Node(_dot_id(box.key), label=_html_label(box), shape="plaintext"))
    for source, target in graph.edges:
        dot.add_edge(pydot.Edge(_dot_id(source), _dot_id(target)))
    return dot


def _dot_id(key):
    return '"' + key.replace('"', "'") + '"'


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False, rankdir="TB",
               expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False, splines="ortho",
               **kwargs):
    """Draws the model's graph into ``to_file``; the format comes from its extension (png when there is none).

    Uses pydot and Graphviz, as Keras 3 does. A ``.svg`` target is drawn with kshim's built-in layered layout when
    pydot or Graphviz is missing. Returns an ``IPython.display.Image`` when IPython is installed (not for pdf/svg
    drawn without Graphviz), else None."""
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("plot_model: the argument `layer_range` is no longer supported (as in Keras 3).")
    if kwargs:
        raise ValueError(f"plot_model: unrecognized keyword arguments {sorted(kwargs)}.")
    _check_rankdir(rankdir)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   expand_nested=expand_nested, show_layer_activations=show_layer_activations,
                   show_trainable=show_trainable)
    if not _graphviz_works():
        if extension != "svg":
            raise _missing(f"plot_model (writing {to_file!r})")
        with open(to_file, "w", encoding="utf-8") as f:
            f.write(model_svg.to_svg(layer_graph(model, **options), rankdir=rankdir))
        return None
    dot = model_to_dot(model, rankdir=rankdir, dpi=dpi, splines=splines, **options)
    dot.write(to_file, format=extension)
    if extension in ("png", "jpg", "jpeg", "gif"):
        try:  # IPython is optional: show the picture inline in a notebook
            from IPython import display
        except ImportError:
            return None
        return display.Image(filename=to_file)
    return None
