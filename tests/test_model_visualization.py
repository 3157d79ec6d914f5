"""plot_model / model_to_dot: the DOT graph's nodes, edges and labels; the built-in SVG drawing (parsed as XML,
boxes and edges counted); the errors when pydot or Graphviz is missing."""

import shutil
import xml.etree.ElementTree as ET

import pytest

import kshim as keras
from kshim import layers
from kshim.utils import model_svg
from kshim.utils import model_visualization as mv

SVG = "{http://www.w3.org/2000/svg}"


def two_inputs():
    a = keras.Input((16,), name="numbers")
    b = keras.Input((8, 8, 1), name="image")
    x = layers.Dense(32, activation="relu", name="dense_a")(a)
    y = layers.Flatten(name="flatten")(layers.Conv2D(4, 3, activation="relu", name="conv")(b))
    z = layers.Dense(10, activation="softmax", name="probs")(layers.Concatenate(name="concat")([x, y]))
    return keras.Model([a, b], z, name="two_inputs")


EDGES = {("numbers", "dense_a"), ("image", "conv"), ("conv", "flatten"), ("dense_a", "concat"),
         ("flatten", "concat"), ("concat", "probs")}


def nested():
    inner = keras.Sequential([keras.Input((16,)), layers.Dense(8, name="d1"), layers.Dense(4, name="d2")],
                             name="inner")
    c = keras.Input((16,), name="c_in")
    return keras.Model(c, layers.Dense(2, name="head")(inner(c)), name="outer")


def test_layer_graph_boxes_edges_and_text():
    g = mv.layer_graph(two_inputs(), show_shapes=True, show_dtype=True, show_layer_activations=True,
                       show_trainable=True)
    assert {b.key for b in g.boxes} == {"numbers", "image", "dense_a", "conv", "flatten", "concat", "probs"}
    assert set(g.edges) == EDGES and len(g.edges) == len(EDGES)
    box = {b.key: b for b in g.boxes}
    assert box["conv"].title == "conv (Conv2D)"
    assert box["conv"].lines == ["Activation: relu", "Input shape: (None, 8, 8, 1)", "Output shape: (None, 6, 6, 4)",
                                 "Input dtype: float32", "Output dtype: float32", "Trainable: True"]
    assert "Input shape: [(None, 32), (None, 144)]" in box["concat"].lines
    assert box["numbers"].lines == ["Output shape: (None, 16)", "Output dtype: float32"]
    plain = mv.layer_graph(two_inputs(), show_layer_names=False)
    assert [b.title for b in plain.boxes if b.key == "probs"] == ["Dense"]
    assert all(b.lines == [] for b in plain.boxes)


def test_expand_nested_clusters_and_edges():
    model = nested()
    flat = mv.layer_graph(model)
    assert set(flat.edges) == {("c_in", "inner"), ("inner", "head")}
    g = mv.layer_graph(model, expand_nested=True)
    assert set(g.edges) == {("c_in", "inner/d1"), ("inner/d1", "inner/d2"), ("inner/d2", "head")}
    assert g.cluster_names == {("inner",): "inner"}
    assert [b.clusters for b in g.boxes if b.key.startswith("inner/")] == [("inner",), ("inner",)]


def test_unbuilt_model_and_bad_arguments():
    with pytest.raises(ValueError, match="not built"):
        mv.layer_graph(keras.Sequential([layers.Dense(2)]))
    with pytest.raises(ValueError, match="rankdir"):
        keras.utils.plot_model(two_inputs(), "x.svg", rankdir="UP")
    with pytest.raises(ValueError, match="unrecognized"):
        keras.utils.plot_model(two_inputs(), "x.svg", colour=True)


def _svg(model, **kwargs):
    rankdir = kwargs.pop("rankdir", "TB")
    return ET.fromstring(model_svg.to_svg(mv.layer_graph(model, **kwargs), rankdir=rankdir))


def _rects(root):
    return {g.get("data-key"): g.find(f"{SVG}rect") for g in root.iter(f"{SVG}g") if g.get("class") == "layer"}


@pytest.mark.parametrize("rankdir", ["TB", "LR", "BT", "RL"])
def test_builtin_svg_layout(rankdir):
    root = _svg(two_inputs(), show_shapes=True, rankdir=rankdir)
    rects = _rects(root)
    assert set(rects) == {"numbers", "image", "dense_a", "conv", "flatten", "concat", "probs"}
    edges = [p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]
    assert {(p.get("data-source"), p.get("data-target")) for p in edges} == EDGES and len(edges) == 6
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "concat (Concatenate)" in texts and "Output shape: (None, 176)" in texts
    box = {k: tuple(float(r.get(a)) for a in ("x", "y", "width", "height")) for k, r in rects.items()}
    width, height = float(root.get("width")), float(root.get("height"))
    for x, y, w, h in box.values():  # on the canvas
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
    for i, a in enumerate(box.values()):  # no two boxes overlap
        for b in list(box.values())[i + 1:]:
            assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
    axis, sign = {"TB": (1, 1), "BT": (1, -1), "LR": (0, 1), "RL": (0, -1)}[rankdir]
    for s, t in EDGES:  # every edge points along the rank direction
        assert sign * (box[t][axis] - box[s][axis]) > 0
    for p in edges:  # and starts on its source box's side and ends on its target's
        start = [float(v) for v in p.get("d").split()[0][1:].split(",")]
        end = [float(v) for v in p.get("d").split()[-1].split(",")]
        (sx, sy, sw, sh), (tx, ty, tw, th) = box[p.get("data-source")], box[p.get("data-target")]
        assert sx - 0.1 <= start[0] <= sx + sw + 0.1 and sy - 0.1 <= start[1] <= sy + sh + 0.1
        assert tx - 0.1 <= end[0] <= tx + tw + 0.1 and ty - 0.1 <= end[1] <= ty + th + 0.1


def test_builtin_svg_keeps_long_edges_clear_of_boxes():
    """dense_a -> concat skips the flatten rank: the layout routes it beside flatten, not through it."""
    root = _svg(two_inputs(), show_shapes=True)
    flatten = _rects(root)["flatten"]
    x0, w = float(flatten.get("x")), float(flatten.get("width"))
    edge = next(p for p in root.iter(f"{SVG}path") if p.get("data-source") == "dense_a")
    through = [float(seg.split(",")[0].lstrip("L")) for seg in edge.get("d").split() if seg.startswith("L")]
    assert through and all(not x0 <= x <= x0 + w for x in through)


def test_builtin_svg_nested_frame():
    root = _svg(nested(), expand_nested=True)
    frames = [g for g in root.iter(f"{SVG}g") if g.get("class") == "cluster"]
    assert len(frames) == 1 and frames[0].find(f"{SVG}text").text == "inner"
    fr = frames[0].find(f"{SVG}rect")
    fx, fy, fw, fh = (float(fr.get(a)) for a in ("x", "y", "width", "height"))
    rects = _rects(root)
    for key, r in rects.items():
        x, y, w, h = (float(r.get(a)) for a in ("x", "y", "width", "height"))
        inside = fx <= x and x + w <= fx + fw and fy <= y and y + h <= fy + fh
        assert inside == key.startswith("inner/")


def test_plot_model_svg_without_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(mv, "pydot", None)
    path = tmp_path / "model.svg"
    assert keras.utils.plot_model(two_inputs(), to_file=path, show_shapes=True) is None
    root = ET.parse(path).getroot()
    assert len(_rects(root)) == 7
    with pytest.raises(ImportError) as info:
        keras.utils.plot_model(two_inputs(), to_file=tmp_path / "model.png")
    message = str(info.value)
    assert "pydot" in message and "Graphviz" in message and "model.svg" in message
    with pytest.raises(ImportError, match="pydot is not installed"):
        keras.utils.model_to_dot(two_inputs())


def test_plot_model_error_when_graphviz_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(mv.shutil, "which", lambda name: None)
    with pytest.raises(ImportError) as info:
        keras.utils.plot_model(two_inputs(), to_file=tmp_path / "model.png")
    assert "Graphviz `dot` was not found" in str(info.value) and "pydot" in str(info.value)


needs_pydot = pytest.mark.skipif(mv.pydot is None, reason="pydot is not installed (the `plot` extra)")


@needs_pydot
def test_model_to_dot_structure():
    dot = keras.utils.model_to_dot(two_inputs(), show_shapes=True, rankdir="LR", dpi=96)
    names = {n.get_name().strip('"') for n in dot.get_nodes()} - {"node"}
    assert names == {"numbers", "image", "dense_a", "conv", "flatten", "concat", "probs"}
    edges = {(e.get_source().strip('"'), e.get_destination().strip('"')) for e in dot.get_edges()}
    assert edges == EDGES and len(dot.get_edges()) == 6
    assert dot.get("rankdir") == "LR" and str(dot.get("dpi")) == "96"
    label = next(n for n in dot.get_nodes() if n.get_name() == '"concat"').get("label")
    assert "<b>concat (Concatenate)</b>" in label and "Input shape: [(None, 32), (None, 144)]" in label
    sub = keras.utils.model_to_dot(nested(), expand_nested=True)
    (cluster,) = sub.get_subgraphs()
    assert cluster.get("label") == "inner"
    assert {n.get_name().strip('"') for n in cluster.get_nodes()} == {"inner/d1", "inner/d2"}


@needs_pydot
@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_plot_model_png_and_svg_with_graphviz(tmp_path):
    png = tmp_path / "model.png"
    keras.utils.plot_model(two_inputs(), to_file=png, show_shapes=True, dpi=72)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "model.svg"
    keras.utils.plot_model(two_inputs(), to_file=svg, show_layer_names=True)
    text = svg.read_text()
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg" and text.count('class="node"') == 7 and text.count('class="edge"') == 6
