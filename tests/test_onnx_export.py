"""ONNX export (`Model.export(path, format="onnx")`, `kshim.export.ExportArchive`) on the current backend: the file
runs in onnxruntime with a dynamic batch dimension and matches `predict` at rtol 1e-5."""

import inspect

import numpy as np
import pytest

import kshim as keras
from kshim import layers
from kshim.backends import interface, load_family
from kshim.backends.interface import export as export_contract

ort = pytest.importorskip("onnxruntime")


def cnn():
    x = keras.Input((8, 8, 2), name="image")
    h = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    h = layers.BatchNormalization()(h)
    h = layers.MaxPooling2D()(h)
    h = layers.AveragePooling2D(2)(h)
    return keras.Model(x, layers.Dense(3, activation="softmax")(layers.Flatten()(h)))


def lstm():
    return keras.Sequential([keras.Input((7, 3)), layers.LSTM(6, return_sequences=True), layers.LSTM(4),
                             layers.Dense(2)])


def two_inputs():
    a, b = keras.Input((5,), name="numbers"), keras.Input((3,), name="extra")
    h = layers.Concatenate()([layers.Dense(4, activation="tanh")(a), b])
    return keras.Model([a, b], layers.Dense(2)(h))


def _data(model, batch, seed):
    r = np.random.RandomState(seed)
    return [r.standard_normal((batch,) + tuple(t.shape[1:])).astype("float32") for t in model.inputs]


def _check(path, model, input_names):
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == input_names
    for i in session.get_inputs():
        assert isinstance(i.shape[0], str)  # a named, dynamic batch axis
    for batch in (5, 1):
        data = _data(model, batch, seed=batch)
        expected = model.predict(data if len(data) > 1 else data[0], verbose=0)
        (got,) = session.run(None, dict(zip(input_names, data)))
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("build,names", [(cnn, ["image"]), (lstm, None), (two_inputs, ["numbers", "extra"])],
                         ids=["cnn", "lstm", "two_inputs"])
def test_model_export_matches_predict(tmp_path, build, names):
    keras.utils.set_random_seed(3)
    model = build()
    if build is cnn:  # non-trivial moving statistics, so inference-mode BatchNormalization is checked
        bn = next(l for l in model.layers if isinstance(l, layers.BatchNormalization))
        bn.moving_mean.assign(np.linspace(-0.5, 0.5, 4).astype("float32"))
        bn.moving_variance.assign(np.linspace(0.5, 2.0, 4).astype("float32"))
    path = tmp_path / "model.onnx"
    model.export(path, format="onnx", verbose=False)
    _check(path, model, names or [model.inputs[0].name])


def test_export_archive_endpoint(tmp_path):
    keras.utils.set_random_seed(4)
    model = two_inputs()
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda a, b: model([a, b], training=False),
                         input_signature=[keras.layers.InputSpec(shape=(None, 5), name="numbers"),
                                          keras.layers.InputSpec(shape=(None, 3), name="extra")])
    archive.add_endpoint("double", lambda a, b: 2.0 * model([a, b], training=False),
                         input_signature=[(None, 5), (None, 3)])
    with pytest.raises(ValueError, match="endpoint="):
        archive.write_out(tmp_path / "x.onnx")
    archive.write_out(tmp_path / "serve.onnx", endpoint="serve", verbose=False)
    _check(tmp_path / "serve.onnx", model, ["numbers", "extra"])
    archive.write_out(tmp_path / "double.onnx", endpoint="double", verbose=False)
    session = ort.InferenceSession(str(tmp_path / "double.onnx"))
    data = _data(model, 3, seed=0)
    (got,) = session.run(None, {"input_0": data[0], "input_1": data[1]})
    np.testing.assert_allclose(got, 2.0 * model.predict(data, verbose=0), rtol=1e-5, atol=1e-6)


def test_export_leaves_the_model_as_it_was(tmp_path):
    model = two_inputs()
    weights = [w.copy() for w in model.get_weights()]
    nodes = [len(l._inbound_nodes) for l in model.layers]
    model.export(tmp_path / "m.onnx", verbose=False)
    assert [len(l._inbound_nodes) for l in model.layers] == nodes
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fmt", ["tf_saved_model", "openvino", "litert", "ONNX"])
def test_other_formats_are_refused(tmp_path, fmt):
    with pytest.raises(ValueError, match=r"must be one of \('onnx',\).*Received: format="):
        two_inputs().export(tmp_path / "m", format=fmt)
    archive = keras.export.ExportArchive()
    with pytest.raises(ValueError, match="onnx"):
        archive.write_out(tmp_path / "m", format=fmt)


def test_signature_errors():
    class Net(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="input_signature"):
        Net().export("never.onnx")
    archive = keras.export.ExportArchive()
    with pytest.raises(ValueError, match="not built"):
        archive.track(layers.Dense(2))
    with pytest.raises(ValueError, match="input_signature"):
        archive.add_endpoint("serve", lambda x: x)


def test_backend_export_follows_the_interface():
    assert "export" in interface.LOADED_ON_FIRST_USE  # jax2onnx / torch.onnx load only when exporting
    backend_export = load_family("export")
    for name in ("export_onnx",):
        assert inspect.signature(getattr(backend_export, name)) == inspect.signature(getattr(export_contract, name))
