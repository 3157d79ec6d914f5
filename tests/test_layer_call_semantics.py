"""Layer-call semantics of the Functional API (issue 22, items 1-3), compared with real Keras 3:

1. every KerasTensor of a call, nested or by keyword (``LSTM(...)(x, initial_state=[h, c])``), is an input of the
   node, so the layers that produce it are part of the model;
2. layers called with several tensors (``layer(a, b)``) and with the first tensor by keyword
   (``layer(logits=..., targets=...)``, the endpoint-layer pattern of the Keras guides);
3. outputs carry ``_keras_mask``, and a mask-consuming layer receives its mask when built and when called.

Keras 3 is a test extra: each model is built from the same source in a subprocess on the same backend, given
kshim's weights, and its weights, predictions and configs are compared."""

import inspect
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kshim


def seq2seq(keras):
    """An encoder whose final states start the decoder, passed by keyword as a nested list."""
    enc_in = keras.Input((5, 3), name="enc_in")
    dec_in = keras.Input((4, 2), name="dec_in")
    _, h, c = keras.layers.LSTM(6, return_state=True, name="encoder")(enc_in)
    seq = keras.layers.LSTM(6, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    out = keras.layers.Dense(3, name="out")(seq)
    model = keras.Model([enc_in, dec_in], out)
    rs = np.random.RandomState(1)
    return model, [rs.rand(2, 5, 3).astype("float32"), rs.rand(2, 4, 2).astype("float32")]


def endpoint(keras):
    """The endpoint layer of the Keras guides, called with the first tensor by keyword and positionally."""
    class LogisticEndpoint(keras.layers.Layer):
        def call(self, targets, logits):
            self.add_loss(keras.ops.mean(keras.ops.square(targets - keras.ops.sigmoid(logits))))
            return keras.ops.softmax(logits)

    class Blend(keras.layers.Layer):  # two tensors, no compute_output_shape
        def call(self, a, b):
            return keras.ops.concatenate([a * 2.0, b], axis=-1)

    inputs = keras.Input((3,), name="inputs")
    targets = keras.Input((10,), name="targets")
    logits = keras.layers.Dense(10, name="logits")(inputs)
    predictions = LogisticEndpoint(name="predictions")(logits=logits, targets=targets)
    blended = Blend(name="blend")(predictions, inputs)
    model = keras.Model([inputs, targets], [predictions, blended])
    rs = np.random.RandomState(2)
    return model, [rs.rand(4, 3).astype("float32"), rs.rand(4, 10).astype("float32")]


def masking(keras):
    """The masking guide's TemporalSplit and TemporalSoftmax: a mask made by Embedding, split by a layer's
    compute_mask, consumed (and asserted) by a custom layer."""
    ops, layers = keras.ops, keras.layers

    class TemporalSplit(layers.Layer):
        def call(self, inputs):
            return ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            if mask is None:
                return None
            return ops.split(mask, 2, axis=1)

    class TemporalSoftmax(layers.Layer):
        def call(self, inputs, mask=None):
            assert mask is not None
            broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
            inputs_exp = ops.exp(inputs) * broadcast_float_mask
            inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
            return inputs_exp / inputs_sum

    inputs = keras.Input(shape=(None,), dtype="int32", name="tokens")  # the guide's model
    x = layers.Embedding(input_dim=10, output_dim=4, mask_zero=True, name="embed")(inputs)
    x = layers.Dense(1, name="dense")(x)
    outputs = TemporalSoftmax(name="softmax")(x)
    fixed = keras.Input(shape=(6,), dtype="int32", name="fixed")  # a split mask (a known length to split)
    z = layers.Embedding(input_dim=10, output_dim=4, mask_zero=True, name="embed_fixed")(fixed)
    first, second = TemporalSplit(name="temporal_split")(z)
    split_out = TemporalSoftmax(name="softmax_split")(layers.Dense(3, name="dense_split")(first))
    model = keras.Model([inputs, fixed], [outputs, split_out, second])
    tokens = np.array([[1, 2, 0, 3, 0, 0, 5], [4, 0, 5, 6, 7, 8, 0]], dtype="int32")
    fixed_tokens = np.array([[1, 2, 0, 3, 0, 0], [4, 0, 5, 6, 7, 8]], dtype="int32")
    return model, [tokens, fixed_tokens]


_PROGRAM = """
import json, sys, numpy as np, keras
{source}
path = sys.argv[1]
model, inputs = {name}(keras)
saved = np.load(path + ".weights.npz")
model.set_weights([saved[f"arr_{{i}}"] for i in range(len(saved.files))])
out = model.predict(inputs, verbose=0)
out = out if isinstance(out, list) else [out]
np.savez(path + ".out.npz", *out)
model.save(path + ".keras")
info = {{"weights": [[w.path, list(w.shape)] for w in model.weights], "layers": [l.name for l in model.layers],
        "config": model.get_config()}}
print("JSON:" + json.dumps(info))
"""


def keras3(builder, model, tmp_path):
    """Build ``builder`` in real Keras 3 with ``model``'s weights: its predictions and weights/layers/config."""
    path = str(tmp_path / builder.__name__)
    np.savez(path + ".weights.npz", *model.get_weights())
    env = dict(os.environ, KERAS_BACKEND=kshim.config.backend())
    env.pop("PYTHONPATH", None)
    program = _PROGRAM.format(source=inspect.getsource(builder), name=builder.__name__)
    try:
        proc = subprocess.run([sys.executable, "-c", program, path], env=env, capture_output=True, text=True,
                              timeout=300, cwd="/")
    except subprocess.TimeoutExpired:  # pragma: no cover
        pytest.skip("real Keras 3 did not finish in 300 s")
    if "No module named 'keras'" in proc.stderr:  # pragma: no cover - real Keras is a test extra
        pytest.skip("real Keras 3 is not installed")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("JSON:")]
    assert lines, f"Keras 3 failed:\n{proc.stderr[-3000:]}"
    out = np.load(path + ".out.npz")
    return [out[f"arr_{i}"] for i in range(len(out.files))], json.loads(lines[-1][5:])


def kshim_weights(model):
    return [[w.path.split("/")[-1], list(w.shape)] for w in model.weights]


def names_and_shapes(info):
    """Keras 3's weights as (last part of the path, shape): kshim's paths of RNN cell weights differ in the
    prefix (``lstm_cell/kernel`` for ``encoder/lstm_cell/kernel``), a difference this test does not cover."""
    return [[path.split("/")[-1], shape] for path, shape in info["weights"]]


def inbound(config, name):
    """A layer's ``inbound_nodes`` in a model config, tensor references reduced to (layer, tensor index)."""
    def strip(x):
        if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
            history = x["config"]["keras_history"]
            return [history[0], history[2]]
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    layer = next(l for l in config["layers"] if l["name"] == name)
    return strip(layer["inbound_nodes"])


# -- 1. keyword and nested tensors are graph edges -----------------------------------------------------------
def test_initial_state_by_keyword_keeps_the_encoder(tmp_path):
    model, inputs = seq2seq(kshim)
    assert [l.name for l in model.layers] == ["enc_in", "encoder", "dec_in", "decoder", "out"] or \
        {"encoder", "decoder", "out"} <= {l.name for l in model.layers}
    assert len(model.weights) == 8
    ours = model.predict(inputs, verbose=0)
    theirs, info = keras3(seq2seq, model, tmp_path)
    assert kshim_weights(model) == names_and_shapes(info)
    assert [l.name for l in model.layers] == info["layers"]
    np.testing.assert_allclose(ours, theirs[0], rtol=1e-5, atol=1e-6)
    config = model.get_config()
    assert inbound(config, "decoder") == inbound(info["config"], "decoder")
    assert inbound(config, "decoder")[0]["kwargs"]["initial_state"] == [["encoder", 1], ["encoder", 2]]
    loaded = kshim.saving.load_model(str(tmp_path / "seq2seq.keras"))  # saved by Keras 3
    assert len(loaded.weights) == 8
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), theirs[0], rtol=1e-5, atol=1e-6)


def test_initial_state_by_keyword_saves_and_loads(tmp_path):
    model, inputs = seq2seq(kshim)
    model.save(tmp_path / "s2s.keras")
    loaded = kshim.saving.load_model(tmp_path / "s2s.keras")
    assert len(loaded.weights) == 8
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), rtol=1e-6)


# -- 2. several tensors, first tensor by keyword --------------------------------------------------------------
def test_endpoint_layer_first_tensor_by_keyword(tmp_path):
    model, inputs = endpoint(kshim)
    predictions, blended = model.outputs
    assert predictions.shape == (None, 10) and blended.shape == (None, 13)
    ours = model.predict(inputs, verbose=0)
    x, t = inputs
    kernel, bias = model.get_layer("logits").get_weights()
    logits = x @ kernel + bias
    softmax = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(ours[0], softmax, rtol=1e-5)
    np.testing.assert_allclose(ours[1], np.concatenate([softmax * 2, x], axis=-1), rtol=1e-5)
    theirs, info = keras3(endpoint, model, tmp_path)
    for got, want in zip(ours, theirs):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert kshim_weights(model) == names_and_shapes(info)
    for name in ("predictions", "blend"):
        assert inbound(model.get_config(), name) == inbound(info["config"], name)


def test_first_tensor_by_keyword_eagerly_and_missing():
    model, inputs = endpoint(kshim)
    layer = model.get_layer("predictions")
    out = layer(logits=np.zeros((2, 10), "float32"), targets=np.ones((2, 10), "float32"))
    np.testing.assert_allclose(kshim.ops.convert_to_numpy(out), np.full((2, 10), 0.1), rtol=1e-6)
    with pytest.raises(TypeError, match="'targets'"):
        layer(logits=np.zeros((2, 10), "float32"))


# -- 3. masks ------------------------------------------------------------------------------------------------
def test_masks_reach_custom_layers_when_built_and_called(tmp_path):
    model, inputs = masking(kshim)
    guide, split, second = model.outputs
    dense = model.get_layer("dense").output  # Embedding's mask, passed on by Dense
    assert dense._keras_mask is not None and dense._keras_mask.shape == (None, None)
    assert dense._keras_mask.dtype == "bool"
    assert guide._keras_mask is None and split._keras_mask is None  # as in Keras 3: a custom layer's default
    assert second._keras_mask.shape == (None, 3)  # TemporalSplit.compute_mask: one mask per output
    first = model.get_layer("dense_split").input
    assert first._keras_mask.shape == (None, 3) and first._keras_mask is not second._keras_mask
    ours = model.predict(inputs, verbose=0)
    assert ours[0].shape == (2, 7, 1)
    # exp(x) / exp(x) where the mask is on; 0 / 0 where it is off (the guide's formula, one feature)
    np.testing.assert_allclose(ours[0][..., 0], np.where(inputs[0] != 0, 1.0, np.nan), rtol=1e-6)
    mask = (inputs[1] != 0)[:, :3]
    assert np.isnan(ours[1][~mask]).all()  # masked steps: 0 / 0
    np.testing.assert_allclose(ours[1][mask].sum(-1), 1.0, rtol=1e-5)
    theirs, info = keras3(masking, model, tmp_path)
    for got, want in zip(ours, theirs):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # nan where Keras 3 has nan too
    assert [l.name for l in model.layers] == info["layers"]
