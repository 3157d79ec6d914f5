"""The functional API: `kshim.Input` and `kshim.Model(inputs, outputs)` over graphs of layers.

Multiple inputs and outputs (lists and dicts), a layer shared at several nodes, `layer.input`/`layer.output`,
the graph views of a built Sequential, feature extraction, get_config/from_config, the summary's "Connected to"
column, and parity with real Keras 3 (the same model, the same weights: the same outputs and the same config).
Real Keras 3 runs in this process on its jax backend; kshim runs on the backend under test.
"""

import json
import os

import numpy as np
import pytest

import kshim
from kshim import layers as L
from kshim import ops

RNG = np.random.RandomState(7)
XA = RNG.rand(5, 4).astype("float32")
XB = RNG.rand(5, 4).astype("float32") - 0.5


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


def _dense(x, w, b, act=None):
    y = x.astype(np.float64) @ w + b
    if act == "relu":
        y = np.maximum(y, 0)
    elif act == "tanh":
        y = np.tanh(y)
    elif act == "softmax":
        e = np.exp(y - y.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
    return y


class AddPair(L.Layer):
    """Adds its two inputs: a two-input node without the merge layers."""

    def call(self, inputs):
        return ops.add(inputs[0], inputs[1])

    def compute_output_shape(self, input_shape):
        return input_shape[0]


# ----------------------------------------------------------------------------------------------------------------
# graphs


def _trunk_two_heads():
    kshim.utils.set_random_seed(1)
    x = kshim.Input((4,), name="x")
    h = L.Dense(6, activation="tanh", name="trunk")(x)
    a = L.Dense(2, name="head_a")(h)
    b = L.Dense(3, activation="softmax", name="head_b")(h)
    return kshim.Model(x, [a, b], name="two_heads")


def test_two_outputs_from_one_trunk_equal_numpy():
    model = _trunk_two_heads()
    assert [l.name for l in model.layers] == ["x", "trunk", "head_a", "head_b"]
    assert [t.shape for t in model.inputs] == [(None, 4)] and model.input_shape == (None, 4)
    assert model.output_shape == [(None, 2), (None, 3)]
    out_a, out_b = model(XA)
    w = {l.name: l.get_weights() for l in model.layers[1:]}
    h = _dense(XA, *w["trunk"], "tanh")
    np.testing.assert_allclose(np_(out_a), _dense(h, *w["head_a"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np_(out_b), _dense(h, *w["head_b"], "softmax"), rtol=1e-5, atol=1e-6)
    pa, pb = model.predict(XA, verbose=0, batch_size=2)
    np.testing.assert_allclose(np_(pa), np_(out_a), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np_(pb), np_(out_b), rtol=1e-6, atol=1e-7)
    assert len(model.weights) == 6 and model.count_params() == (4 * 6 + 6) + (6 * 2 + 2) + (6 * 3 + 3)


def _shared_model():
    kshim.utils.set_random_seed(2)
    a, b = kshim.Input((4,), name="a"), kshim.Input((4,), name="b")
    shared = L.Dense(3, activation="relu", name="shared")
    sa, sb = shared(a), shared(b)
    out = L.Dense(1, name="out")(AddPair(name="add")([sa, sb]))
    return kshim.Model([a, b], [out, sb], name="siamese"), shared, (a, b, sa, sb)


def test_shared_layer_at_two_nodes():
    model, shared, (a, b, sa, sb) = _shared_model()
    assert len(shared._inbound_nodes) == 2
    assert len(model.weights) == 4  # the shared kernel and bias once, then out's
    assert model.weights[0] is shared.kernel
    # node 0 is the first call (Keras 3 returns node 0 for a layer called several times)
    assert shared.input is a and shared.output is sa
    assert shared.input_shape == (None, 4) and shared.output_shape == (None, 3)
    out, side = model([XA, XB])
    k, bias = shared.get_weights()
    ha, hb = _dense(XA, k, bias, "relu"), _dense(XB, k, bias, "relu")
    np.testing.assert_allclose(np_(side), hb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np_(out), _dense(ha + hb, *model.get_layer("out").get_weights()), rtol=1e-5,
                               atol=1e-6)
    # changing the shared layer's weights changes both branches
    shared.set_weights([k * 2, bias])
    np.testing.assert_allclose(np_(model([XA, XB])[1]), 2 * hb, rtol=1e-5, atol=1e-6)


def test_dict_inputs_and_outputs():
    kshim.utils.set_random_seed(3)
    a, b = kshim.Input((4,), name="a"), kshim.Input((4,), name="b")
    s = AddPair(name="add")([a, b])
    model = kshim.Model({"a": a, "b": b}, {"sum": s, "proj": L.Dense(2, name="proj")(s)})
    out = model({"b": XB, "a": XA})
    assert set(out) == {"sum", "proj"}
    np.testing.assert_allclose(np_(out["sum"]), XA + XB, rtol=1e-6)
    np.testing.assert_allclose(np_(out["proj"]), _dense(XA + XB, *model.get_layer("proj").get_weights()),
                               rtol=1e-5, atol=1e-6)
    pred = model.predict({"a": XA, "b": XB}, verbose=0)
    np.testing.assert_allclose(np_(pred["sum"]), XA + XB, rtol=1e-6)
    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['b'\]"):
        model({"a": XA})
    with pytest.raises(ValueError, match="takes a dict of inputs with keys \\['a', 'b'\\]"):
        model([XA, XB])


def test_list_model_accepts_inputs_keyed_by_input_names_and_checks_counts():
    model, _, _ = _shared_model()
    by_list = model([XA, XB])
    by_name = model({"b": XB, "a": XA})
    for u, v in zip(by_list, by_name):
        np.testing.assert_array_equal(np_(u), np_(v))
    with pytest.raises(ValueError, match=r"expects 2 input\(s\) \['a', 'b'\]. Received: 3 input\(s\)"):
        model([XA, XB, XA])
    with pytest.raises(ValueError, match=r"expects 2 input\(s\).*Received: 1 input\(s\)"):
        model(XA)
    with pytest.raises(ValueError, match=r"keyed by the Input names \['a', 'b'\]. Received keys: \['a', 'c'\]"):
        model({"a": XA, "c": XB})


def test_graph_errors():
    x = kshim.Input((4,), name="x_in")
    other = kshim.Input((3,), name="other_in")
    with pytest.raises(ValueError, match=r"Graph disconnected.*'other_in' \(None, 3\)"):
        kshim.Model(x, L.Dense(2)(other))
    with pytest.raises(ValueError, match="every input must come from `kshim.Input"):
        kshim.Model(L.Dense(2)(x), L.Dense(1)(x))
    with pytest.raises(TypeError, match="inputs and outputs must be KerasTensors"):
        kshim.Model(x, np.zeros(3))


def test_layer_input_output():
    x = kshim.Input((4,), name="inp")
    d = L.Dense(3, name="d")
    y = d(x)
    assert d.input is x and d.output is y and y.shape == (None, 3)
    assert y._keras_history[0] is d
    eager = L.Dense(2, name="eager_only")
    eager(XA)  # built by an eager call: no symbolic node
    assert eager.built
    with pytest.raises(AttributeError, match="'eager_only' has no defined output"):
        eager.output
    with pytest.raises(AttributeError, match="'eager_only' has no defined input"):
        eager.input


def test_nested_functional_model_as_a_layer():
    kshim.utils.set_random_seed(4)
    i = kshim.Input((4,), name="inner_in")
    inner = kshim.Model(i, L.Dense(3, activation="relu", name="inner_dense")(i), name="inner")
    x = kshim.Input((4,), name="outer_in")
    y = L.Dense(2, name="outer_dense")(inner(x))
    outer = kshim.Model(x, y, name="outer")
    assert [l.name for l in outer.layers] == ["outer_in", "inner", "outer_dense"]
    assert len(outer.weights) == 4 and outer.weights[0] is inner.get_layer("inner_dense").kernel
    h = _dense(XA, *inner.get_layer("inner_dense").get_weights(), "relu")
    np.testing.assert_allclose(np_(outer(XA)), _dense(h, *outer.get_layer("outer_dense").get_weights()),
                               rtol=1e-5, atol=1e-6)
    rebuilt = kshim.Model.from_config(outer.get_config())
    rebuilt.set_weights(outer.get_weights())
    assert type(rebuilt.get_layer("inner")).__name__ == "Functional"
    np.testing.assert_array_equal(np_(rebuilt(XA)), np_(outer(XA)))


# ----------------------------------------------------------------------------------------------------------------
# Sequential graph views and feature extraction (the Keras guide's blueprints)


def _seq():
    kshim.utils.set_random_seed(5)
    return kshim.Sequential([kshim.Input((4,)), L.Dense(8, activation="relu", name="l1"),
                             L.Dropout(0.5, name="drop"), L.Dense(6, activation="tanh", name="l2"),
                             L.Dense(3, name="l3")], name="seq")


def test_sequential_graph_views():
    seq = _seq()
    assert seq.input is seq.inputs[0] and seq.input.shape == (None, 4)
    assert seq.output is seq.outputs[0] and seq.output.shape == (None, 3)
    assert seq.output is seq.layers[-1].output
    assert seq.layers[0].input is seq.input
    unbuilt = kshim.Sequential([L.Dense(2)], name="deferred")
    with pytest.raises(AttributeError, match="'deferred' has no inputs yet: it has no Input"):
        unbuilt.inputs
    unbuilt(XA)  # built by data: the views exist now, with a free batch axis
    assert unbuilt.input.shape == (None, 4) and unbuilt.output.shape == (None, 2)


def test_model_from_sequential_input_to_an_inner_layer():
    seq = _seq()
    sub = kshim.Model(inputs=seq.input, outputs=seq.layers[-2].output)
    assert [l.name for l in sub.layers] == [seq.layers[0].input._keras_history[0].name, "l1", "drop", "l2"]
    by_hand = seq.get_layer("l2")(seq.get_layer("drop")(seq.get_layer("l1")(XA), training=False))
    np.testing.assert_array_equal(np_(sub(XA)), np_(by_hand))
    assert sub.weights[0] is seq.get_layer("l1").kernel  # the same layers, not copies


def test_feature_extraction_returns_every_intermediate_output():
    seq = _seq()
    extractor = kshim.Model(inputs=seq.inputs, outputs=[layer.output for layer in seq.layers])
    features = extractor(XA)
    assert isinstance(features, list) and len(features) == 4
    x, expected = XA, []
    for layer in seq.layers:
        x = layer(x, training=False) if layer.name == "drop" else layer(x)
        expected.append(np_(x))
    for f, e in zip(features, expected):
        np.testing.assert_array_equal(np_(f), e)
    np.testing.assert_array_equal(np_(features[-1]), np_(seq(XA)))
    predicted = extractor.predict(XA, verbose=0)
    for f, e in zip(predicted, expected):
        np.testing.assert_allclose(np_(f), e, rtol=1e-6, atol=1e-7)
    # the feature-extraction model trains nothing new and shares every weight
    assert [id(w) for w in extractor.weights] == [id(w) for w in seq.weights]


def test_training_flag_given_at_a_node_is_kept_as_in_keras3():
    """Monte-Carlo dropout: `Dropout(...)(x, training=True)` stays active when the model is called without a
    flag; the model's own explicit flag (and predict's training=False) wins, as in Keras 3."""
    kshim.utils.set_random_seed(10)
    x = kshim.Input((400,), name="x")
    model = kshim.Model(x, L.Dropout(0.5, name="mc")(x, training=True))
    ones = np.ones((2, 400), "float32")
    dropped = (np_(model(ones)) == 0).mean()
    assert 0.4 < dropped < 0.6
    assert (np_(model(ones, training=False)) == 0).mean() == 0
    assert (np_(model.predict(ones, verbose=0)) == 0).mean() == 0
    config = model.get_config()
    assert config["layers"][1]["inbound_nodes"][0]["kwargs"] == {"training": True}
    rebuilt = kshim.Model.from_config(config)
    assert 0.4 < (np_(rebuilt(ones)) == 0).mean() < 0.6
    plain = kshim.Model(x, L.Dropout(0.5, name="plain")(x, training=None))
    assert plain.get_config()["layers"][1]["inbound_nodes"][0]["kwargs"] == {}
    assert (np_(plain(ones)) == 0).mean() == 0


# ----------------------------------------------------------------------------------------------------------------
# config


def test_get_config_from_config_round_trip():
    model, _, _ = _shared_model()
    config = model.get_config()
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["output_layers"] == [["out", 0, 0], ["shared", 1, 0]]
    shared_cfg = next(c for c in config["layers"] if c["name"] == "shared")
    assert [n["args"][0]["config"]["keras_history"] for n in shared_cfg["inbound_nodes"]] == [["a", 0, 0],
                                                                                             ["b", 0, 0]]
    rebuilt = kshim.Model.from_config(config, custom_objects={"AddPair": AddPair})
    assert rebuilt.get_config() == config
    assert len(rebuilt.get_layer("shared")._inbound_nodes) == 2
    rebuilt.set_weights(model.get_weights())
    for u, v in zip(model([XA, XB]), rebuilt([XA, XB])):
        np.testing.assert_array_equal(np_(u), np_(v))


def test_input_and_output_structures_survive_the_config():
    x = kshim.Input((4,), name="solo")
    y = L.Dense(2, name="d")(x)
    for inputs, outputs, ends in [(x, y, (["solo", 0, 0], ["d", 0, 0])),
                                  ([x], [y], ([["solo", 0, 0]], [["d", 0, 0]])),
                                  ({"solo": x}, {"o": y}, ({"solo": ["solo", 0, 0]}, {"o": ["d", 0, 0]}))]:
        model = kshim.Model(inputs, outputs)
        config = model.get_config()
        assert (config["input_layers"], config["output_layers"]) == ends
        rebuilt = kshim.Model.from_config(config)
        assert rebuilt.get_config()["output_layers"] == ends[1]
        assert type(rebuilt(XA)) is type(model(XA))


# ----------------------------------------------------------------------------------------------------------------
# summary


def _summary(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def _body(lines):
    """The layer rows of a plain summary: the lines between the header's rule and the totals, less the rules."""
    start = lines.index(next(l for l in lines if l.startswith("Layer (type)"))) + 2
    end = lines.index(next(l for l in lines if l.startswith(" Total params")))
    return [l for l in lines[start:end] if l.strip("_=")]


def _cells(line, model_lines):
    """Split a plain summary row at the header's column starts."""
    header = next(l for l in model_lines if l.startswith("Layer (type)"))
    starts = [header.index(h) for h in ("Output Shape", "Param #", "Connected to") if h in header]
    name, shape = line[:starts[0]].strip(), line[starts[0]:starts[1]].strip()
    rest = line[starts[1]:].split(None, 1)
    return [name, shape] + rest


def test_summary_connected_to_column():
    model, _, _ = _shared_model()
    lines = _summary(model)
    assert lines[0] == 'Model: "siamese"' and len(lines[1]) == 108
    rows = {c[0]: c[1:] for c in (_cells(l, lines) for l in _body(lines))}
    assert rows == {"a (InputLayer)": ["(None, 4)", "0", "-"], "b (InputLayer)": ["(None, 4)", "0", "-"],
                    "shared (Dense)": ["(None, 3)", "15", "a[0][0], b[0][0]"],
                    "add (AddPair)": ["(None, 3)", "0", "shared[0][0], shared[1][0]"],
                    "out (Dense)": ["(None, 1)", "4", "add[0][0]"]}
    # a chain (the feature extractor too) has no Connected-to column, as in Keras 3
    seq = _seq()
    chain = _summary(kshim.Model(seq.inputs, [l.output for l in seq.layers]))
    assert "Connected to" not in "\n".join(chain) and len(chain[1]) == 88


def test_summary_layer_range_and_errors():
    seq = _seq()
    lines = _summary(seq, layer_range=["drop", "l2"])
    assert [l.split(" (")[0] for l in _body(lines)] == ["drop", "l2"]
    with pytest.raises(ValueError, match="`layer_range` names no layer"):
        seq.summary(layer_range=["nope", "l2"], print_fn=lambda s: None)
    with pytest.raises(ValueError, match="`layer_range` must be a list or tuple of two layer names"):
        seq.summary(layer_range="l1", print_fn=lambda s: None)


# ----------------------------------------------------------------------------------------------------------------
# parity with real Keras 3


def _keras_shared_model(keras):
    class KAddPair(keras.layers.Layer):
        def call(self, inputs):
            return keras.ops.add(inputs[0], inputs[1])

    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = keras.layers.Dense(3, activation="relu", name="shared")
    sa, sb = shared(a), shared(b)
    out = keras.layers.Dense(1, name="out")(KAddPair(name="add")([sa, sb]))
    return keras.Model([a, b], [out, sb], name="siamese"), KAddPair


def _graph(config):
    """The graph part of a functional config: layer names and classes, their calls, the model's ends."""
    layers = [(c["name"], c["class_name"], c["inbound_nodes"]) for c in config["layers"]]
    return config["name"], layers, config["input_layers"], config["output_layers"]


def test_outputs_and_config_match_keras3():
    keras = _keras()
    ours, _, _ = _shared_model()
    theirs, KAddPair = _keras_shared_model(keras)
    theirs.set_weights(ours.get_weights())
    for u, v in zip(ours([XA, XB]), theirs([XA, XB])):
        np.testing.assert_allclose(np_(u), np.asarray(v), rtol=1e-5, atol=1e-6)
    ours_cfg, theirs_cfg = ours.get_config(), json.loads(json.dumps(theirs.get_config()))
    ours_graph, theirs_graph = _graph(ours_cfg), _graph(theirs_cfg)
    assert ours_graph[0] == theirs_graph[0] and ours_graph[2:] == theirs_graph[2:]
    assert [(n, c, nodes) for n, c, nodes in ours_graph[1] if c != "AddPair"] == \
        [(n, c, nodes) for n, c, nodes in theirs_graph[1] if c != "KAddPair"]
    # input layers' configs are equal key for key
    assert ours_cfg["layers"][0]["config"] == theirs_cfg["layers"][0]["config"]
    # each side rebuilds the other's config, and the rebuilt models agree with the originals
    from_keras = kshim.Model.from_config(theirs_cfg, custom_objects={"KAddPair": AddPair})
    from_keras.set_weights(ours.get_weights())
    from_kshim = keras.Model.from_config(ours_cfg, custom_objects={"AddPair": KAddPair})
    from_kshim.set_weights(ours.get_weights())
    for u, v, w in zip(ours([XA, XB]), from_keras([XA, XB]), from_kshim([XA, XB])):
        np.testing.assert_array_equal(np_(u), np_(v))
        np.testing.assert_allclose(np_(u), np.asarray(w), rtol=1e-5, atol=1e-6)


def test_summary_rows_match_keras3():
    keras = _keras()
    ours, _, _ = _shared_model()
    theirs, _ = _keras_shared_model(keras)
    captured = []
    theirs.summary(print_fn=captured.append)
    keras_rows, current = [], None
    for line in "\n".join(captured).splitlines():
        if line[:1] in ("├", "┡", "└"):
            current = None
        elif line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            if current is None:
                current = cells
                keras_rows.append(current)
            else:  # rich wraps a long cell onto the next line
                current[:] = [f"{a} {b}".strip() for a, b in zip(current, cells)]
    ours_lines = _summary(ours)
    ours_rows = [_cells(l, ours_lines) for l in _body(ours_lines)]
    assert [r[0] for r in keras_rows] == [r[0].replace("AddPair", "KAddPair") for r in ours_rows]
    assert [r[1:] for r in keras_rows] == [r[1:] for r in ours_rows]
    totals = [l for l in "\n".join(captured).splitlines() if "params" in l]
    assert totals == [l for l in ours_lines if "params" in l]


def test_fit_a_two_input_model_matches_keras3():
    keras = _keras()
    kshim.utils.set_random_seed(6)
    a, b = kshim.Input((4,), name="a"), kshim.Input((4,), name="b")
    shared = L.Dense(5, activation="tanh", name="shared")
    out = L.Dense(1, name="out")(AddPair(name="add")([shared(a), shared(b)]))
    ours = kshim.Model([a, b], out)
    theirs_model, _ = _keras_shared_model(keras)
    ka, kb = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    kshared = keras.layers.Dense(5, activation="tanh", name="shared")
    add = type(theirs_model.get_layer("add"))(name="add")
    theirs = keras.Model([ka, kb], keras.layers.Dense(1, name="out")(add([kshared(ka), kshared(kb)])))
    theirs.set_weights(ours.get_weights())
    rng = np.random.RandomState(0)
    xa, xb = rng.rand(40, 4).astype("float32"), rng.rand(40, 4).astype("float32")
    y = (xa.sum(1) - xb.sum(1))[:, None].astype("float32")
    ours.compile(optimizer=kshim.optimizers.Adam(0.02), loss="mse")
    theirs.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    h1 = ours.fit([xa, xb], y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    h2 = theirs.fit([xa, xb], y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-4)
    assert h1[-1] < h1[0]
    for u, v in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-6)


def _concat_model(module):
    """The Keras functional guide's shape: two inputs, a branch each, Concatenate, two outputs."""
    layers = module.layers
    title, body = module.Input((4,), name="title"), module.Input((4,), name="body")
    t = layers.Dense(3, activation="relu", name="t_proj")(title)
    b = layers.Dense(5, activation="tanh", name="b_proj")(body)
    merged = layers.Concatenate(name="concat")([t, b])
    priority = layers.Dense(1, name="priority")(merged)
    department = layers.Dense(2, activation="softmax", name="department")(merged)
    return module.Model([title, body], [priority, department], name="tickets")


@pytest.mark.skipif(not hasattr(L, "Concatenate"), reason="kshim has no Concatenate yet")
def test_concatenate_graph_matches_keras3():
    keras = _keras()
    kshim.utils.set_random_seed(9)
    ours, theirs = _concat_model(kshim), _concat_model(keras)
    theirs.set_weights(ours.get_weights())
    for u, v in zip(ours([XA, XB]), theirs([XA, XB])):
        np.testing.assert_allclose(np_(u), np.asarray(v), rtol=1e-5, atol=1e-6)
    w = {l.name: l.get_weights() for l in ours.layers if l.weights}
    merged = np.concatenate([_dense(XA, *w["t_proj"], "relu"), _dense(XB, *w["b_proj"], "tanh")], axis=1)
    np.testing.assert_allclose(np_(ours([XA, XB])[0]), _dense(merged, *w["priority"]), rtol=1e-5, atol=1e-6)
    ours_graph = _graph(ours.get_config())
    assert ours_graph == _graph(json.loads(json.dumps(theirs.get_config())))
    rebuilt = kshim.Model.from_config(ours.get_config())
    rebuilt.set_weights(ours.get_weights())
    for u, v in zip(ours([XA, XB]), rebuilt([XA, XB])):
        np.testing.assert_array_equal(np_(u), np_(v))
    lines = _summary(ours)
    concat_row = next(l for l in _body(lines) if l.startswith("concat"))
    assert _cells(concat_row, lines) == ["concat (Concatenate)", "(None, 8)", "0", "t_proj[0][0], b_proj[0][0]"]


@pytest.mark.skipif(not hasattr(L, "Concatenate"), reason="kshim has no Concatenate yet")
def test_summary_wraps_long_cells_instead_of_cutting_them():
    inputs = [kshim.Input((2,), name=f"input_number_{i}") for i in range(5)]
    merged = L.Concatenate(name="a_concatenation_layer_with_a_long_name")(inputs)
    lines = _summary(kshim.Model(inputs, L.Dense(1, name="d")(merged)))
    assert max(len(l) for l in lines) <= 108
    text = "\n".join(lines)
    assert all(f"input_number_{i}[0][0]" in text for i in range(5))
    body = _body(lines)
    start = next(i for i, l in enumerate(body) if l.startswith("a_concatenation"))
    assert "".join(l[:32].strip() for l in body[start:start + 2]) == \
        "a_concatenation_layer_with_a_long_name (Concatenate)"
