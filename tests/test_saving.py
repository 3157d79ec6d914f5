"""`.keras` files, `.weights.h5` files and configs: round trips in kshim, both directions with real Keras 3, both
directions between kshim's backends, atomic saving, and the errors for bad files.

Real Keras 3 (when installed) and kshim's other backend run in subprocesses: each fixes its backend at import.
"""

import importlib.util
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile

import h5py
import numpy as np
import pytest

import kshim as keras
from kshim import config
from kshim.saving.object_tree import walk

L = keras.layers
BACKEND = config.backend()
OTHER_BACKEND = {"jax": "torch", "torch": "jax"}[BACKEND]


def _keras3_installed():
    try:
        from importlib.metadata import version

        return version("keras").startswith("3.") and importlib.util.find_spec("keras") is not None
    except Exception:  # noqa: BLE001 - not installed
        return False


HAS_KERAS = _keras3_installed()
needs_keras = pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
X6 = np.random.RandomState(0).rand(16, 6).astype("float32")
Y3 = np.eye(3, dtype="float32")[np.arange(16) % 3]
XI = (np.arange(40).reshape(8, 5) * 7) % 10


def _has(*names):
    return all(hasattr(L, n) for n in names)


def _run(script, *args, env=None, timeout=240):
    env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc.stdout


def _keras_env():
    return {"KERAS_BACKEND": "jax" if importlib.util.find_spec("jax") else "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _out(model, x):
    """The model's inference outputs as a list of numpy arrays (a direct call: no compiled predict step)."""
    y = model(x, training=False)
    return [keras.ops.convert_to_numpy(v) for v in (y if isinstance(y, (list, tuple)) else [y])]


def _same_outputs(a, b, x):
    ya, yb = _out(a, x), _out(b, x)
    assert len(ya) == len(yb)
    for u, v in zip(ya, yb):
        np.testing.assert_array_equal(u, v)


def _weights_equal(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


# -- models ------------------------------------------------------------------------------------------------------
def _dense_model(dropout_seed=5):
    return keras.Sequential([keras.Input((6,)), L.Dense(8, activation="tanh"), L.BatchNormalization(),
                             L.Dropout(0.25, seed=dropout_seed), L.Dense(3, activation="softmax")])


def _rnn_model():
    return keras.Sequential([keras.Input((5,), dtype="int32"), L.Embedding(10, 3), L.LSTM(4, return_sequences=True),
                             L.GRU(3), L.Dense(2)])


def _conv_model():
    return keras.Sequential([keras.Input((8, 8, 2)), L.Conv2D(3, 3, activation="relu"), L.BatchNormalization(),
                             L.MaxPooling2D(), L.Flatten(), L.Dense(2)])


def _functional_model():
    """Two inputs, a layer shared by both branches, two outputs, and Dense layers of equal shapes in an order where
    Keras's layer order (by depth) differs from the order of creation: weights must land by Keras's order."""
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = L.Dense(3, activation="relu", name="shared")
    out_b = L.Dense(3, name="head_b")(shared(b))
    h = L.Dense(3, activation="tanh", name="t")(shared(a))
    out_a = L.Dense(3, name="head_a")(L.Dense(3, name="x")(L.Dropout(0.5, name="drop")(h)))
    return keras.Model([a, b], [out_b, out_a])


FUNC_X = [X6[:, :3], X6[:, 3:]]


def _fitted_dense():
    keras.utils.set_random_seed(0)
    model = _dense_model()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=True)  # tiny models: eager steps are faster than compiling one
    model.fit(X6, Y3, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return model


# -- kshim -> kshim --------------------------------------------------------------------------------------------
def _roundtrip(model, x, tmp_path, name="m.keras"):
    path = tmp_path / name
    model.save(path)
    loaded = keras.models.load_model(path)
    _same_outputs(model, loaded, x)
    _weights_equal(model, loaded)
    assert [w.shape for w in loaded.weights] == [w.shape for w in model.weights]
    return loaded


def test_sequential_roundtrip_dense_batchnorm_dropout(tmp_path):
    model = _fitted_dense()
    loaded = _roundtrip(model, X6, tmp_path)
    assert type(loaded) is keras.Sequential
    assert [type(l).__name__ for l in loaded.layers] == ["Dense", "BatchNormalization", "Dropout", "Dense"]
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    # compile state: same optimizer config, loss, metrics; optimizer variables restored
    assert type(loaded.optimizer) is keras.optimizers.Adam
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.get_compile_config()["loss"] == "categorical_crossentropy"
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.optimizer.iterations.numpy()) == 4
    np.testing.assert_allclose(loaded.evaluate(X6, Y3, verbose=0), model.evaluate(X6, Y3, verbose=0), rtol=1e-6)


def test_sequential_roundtrip_embedding_lstm_gru(tmp_path):
    keras.utils.set_random_seed(1)
    model = _rnn_model()
    model.compile(optimizer="rmsprop", loss="mse")  # never fit: saving creates the optimizer's slots
    loaded = _roundtrip(model, XI, tmp_path)
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables) == 2 + len(model.trainable_weights)


@pytest.mark.skipif(not _has("Conv2D", "MaxPooling2D"), reason="kshim has no Conv2D/MaxPooling2D yet")
def test_sequential_roundtrip_conv(tmp_path):
    keras.utils.set_random_seed(2)
    model = _conv_model()
    _roundtrip(model, np.random.RandomState(1).rand(4, 8, 8, 2).astype("float32"), tmp_path)


def test_functional_multi_input_roundtrip(tmp_path):
    keras.utils.set_random_seed(3)
    model = _functional_model()
    loaded = _roundtrip(model, FUNC_X, tmp_path)
    assert type(loaded).__name__ == "Functional"
    assert [t.shape for t in loaded.inputs] == [(None, 3), (None, 3)]
    assert loaded.get_layer("shared") is not None and len(loaded.layers) == len(model.layers)


def test_uncompiled_and_compile_false(tmp_path):
    keras.utils.set_random_seed(4)
    model = _dense_model()
    model.build((None, 6))
    loaded = _roundtrip(model, X6, tmp_path)
    assert not loaded.compiled and loaded.optimizer is None
    fitted = _fitted_dense()
    fitted.save(tmp_path / "c.keras")
    plain = keras.models.load_model(tmp_path / "c.keras", compile=False)
    assert not plain.compiled
    _weights_equal(plain, fitted)


def test_saving_module_functions(tmp_path):
    model = _fitted_dense()
    keras.saving.save_model(model, tmp_path / "s.keras")
    loaded = keras.saving.load_model(tmp_path / "s.keras")
    _weights_equal(model, loaded)
    keras.saving.save_weights(model, tmp_path / "s.weights.h5")
    keras.utils.set_random_seed(9)
    other = _dense_model()
    other.build((None, 6))
    keras.saving.load_weights(other, tmp_path / "s.weights.h5")
    _weights_equal(model, other)


# -- continuing training -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make_optimizer", [lambda: keras.optimizers.SGD(0.05, momentum=0.9),
                                            lambda: keras.optimizers.Adam(0.01)], ids=["sgd_momentum", "adam"])
def test_save_load_continue_fit_equals_uninterrupted(tmp_path, make_optimizer):
    """fit 2 epochs, save, load, fit 2 more == fit 4 epochs: weights, optimizer state and dropout stream."""
    x = np.random.RandomState(5).rand(32, 6).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(32) % 3]

    def fresh():
        keras.utils.set_random_seed(11)
        model = _dense_model(dropout_seed=7)
        model.compile(optimizer=make_optimizer(), loss="categorical_crossentropy", run_eagerly=True)
        return model

    straight = fresh()
    straight.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0)
    first = fresh()
    first.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    first.save(tmp_path / "half.keras")
    resumed = keras.models.load_model(tmp_path / "half.keras")
    resumed.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert int(resumed.optimizer.iterations.numpy()) == 16
    for a, b in zip(straight.optimizer.variables, resumed.optimizer.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


# -- weights files, json, clone ----------------------------------------------------------------------------------
def test_save_and_load_weights(tmp_path):
    model = _fitted_dense()
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    assert "layers/dense/vars/0" in names and "layers/batch_normalization/vars/3" in names
    assert "layers/dense_1/vars/1" in names and "optimizer/vars/0" in names
    keras.utils.set_random_seed(99)
    other = _dense_model()
    other.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
    other.build((None, 6))
    other.load_weights(path)
    _weights_equal(model, other)
    assert int(other.optimizer.iterations.numpy()) == 4
    # the weights inside a .keras file load too
    model.save(tmp_path / "m.keras")
    third = _dense_model()
    third.build((None, 6))
    third.load_weights(tmp_path / "m.keras")
    _weights_equal(model, third)
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / "w.h5")
    with pytest.warns(DeprecationWarning, match=r"\.keras"):  # Keras 3's legacy HDF5 (issue 22 item 10)
        model.save(tmp_path / "m.h5")
    _weights_equal(model, keras.models.load_model(tmp_path / "m.h5"))


def test_to_json_and_model_from_json():
    keras.utils.set_random_seed(6)
    model = _functional_model()
    text = model.to_json()
    config = json.loads(text)
    assert config["class_name"] == "Functional" and config["module"] == "keras.src.models.functional"
    rebuilt = keras.models.model_from_json(text)
    assert rebuilt.get_config() == model.get_config()
    rebuilt.set_weights(model.get_weights())
    _same_outputs(model, rebuilt, FUNC_X)
    seq = _dense_model()
    seq.build((None, 6))
    assert keras.models.model_from_json(seq.to_json()).get_config() == seq.get_config()


@pytest.mark.parametrize("make", [_dense_model, _functional_model], ids=["sequential", "functional"])
def test_clone_model(make):
    keras.utils.set_random_seed(7)
    model = make()
    if isinstance(model, keras.Sequential):
        model.build((None, 6))
    x = X6 if isinstance(model, keras.Sequential) else FUNC_X
    clone = keras.models.clone_model(model)
    assert clone.get_config() == model.get_config()
    assert not {id(l) for l in clone.layers} & {id(l) for l in model.layers}
    assert not {id(v) for v in clone.weights} & {id(v) for v in model.weights}
    assert any(not np.array_equal(a, b) for a, b in zip(clone.get_weights(), model.get_weights()))  # fresh
    clone.set_weights(model.get_weights())
    _same_outputs(model, clone, x)
    calls = []
    keras.models.clone_model(model, clone_function=lambda l: calls.append(l.name) or type(l).from_config(
        l.get_config()))
    assert set(calls) == {l.name for l in model.layers if not isinstance(l, keras.InputLayer)}


def test_functional_weights_paths_follow_keras_layer_order():
    """Keras 3 numbers same-class layers by its depth order: ['b', 'a', 'shared', 't', 'drop', 'x', 'head_b',
    'head_a'] for this graph (checked against Keras 3.15), whatever kshim's own `layers` order is."""
    model = _functional_model()
    paths = {e.path: e.obj.name for e in walk(model) if e.kind == "layer" and e.variables}
    assert paths == {"layers/dense": "shared", "layers/dense_1": "t", "layers/dense_2": "x",
                     "layers/dense_3": "head_b", "layers/dense_4": "head_a"}


# -- custom objects ----------------------------------------------------------------------------------------------
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_uniform", name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="kshim_tests")
class RegisteredScale(Scale):
    pass


class Block(keras.layers.Layer):
    """Sub-layers in attributes and in nested lists, own trainable and non-trainable weights."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.zeta = L.Dense(2)
        self.alpha = [L.Dense(3), [L.Dense(4)]]
        self._priv = L.Dense(5)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(1,), name="w")
        self.m = self.add_weight(shape=(1,), name="m", trainable=False)
        self.v = self.add_weight(shape=(2,), name="v")

    def call(self, x):
        return self.zeta(self.alpha[0](self.alpha[1][0](self._priv(x)))) * self.w


def test_custom_objects_and_registered_class(tmp_path):
    keras.utils.set_random_seed(8)
    model = keras.Sequential([keras.Input((4,)), Scale(3.0, name="scale"), L.Dense(2)])
    model.save(tmp_path / "c.keras")
    with pytest.raises(ValueError, match=r"Unknown layer class 'Scale'.*custom_objects") as err:
        keras.models.load_model(tmp_path / "c.keras")
    assert "c.keras" in str(err.value)
    loaded = keras.models.load_model(tmp_path / "c.keras", custom_objects={"Scale": Scale})
    assert loaded.layers[0].factor == 3.0
    x = X6[:, :4]
    _same_outputs(model, loaded, x)
    with keras.saving.custom_object_scope({"Scale": Scale}):
        _weights_equal(model, keras.models.load_model(tmp_path / "c.keras"))

    reg = keras.Sequential([keras.Input((4,)), RegisteredScale(0.5), L.Dense(2)])
    reg.save(tmp_path / "r.keras")
    with zipfile.ZipFile(tmp_path / "r.keras") as zf:
        layer_cfg = json.loads(zf.read("config.json"))["config"]["layers"][1]
    assert layer_cfg["registered_name"] == "kshim_tests>RegisteredScale"
    loaded = keras.models.load_model(tmp_path / "r.keras")  # no custom_objects needed
    assert type(loaded.layers[0]) is RegisteredScale
    _same_outputs(reg, loaded, x)


@keras.saving.register_keras_serializable(package="kshim_tests")
def _twice(x):
    return x * 2.0


def _thrice(x):
    return x * 3.0


def test_custom_activation_functions(tmp_path):
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation=_twice), L.Dense(2, activation=_thrice)])
    model.save(tmp_path / "a.keras")
    with pytest.raises(ValueError, match=r"a\.keras.*_thrice"):
        keras.models.load_model(tmp_path / "a.keras")
    loaded = keras.models.load_model(tmp_path / "a.keras", custom_objects={"_thrice": _thrice})
    assert loaded.layers[0].activation is _twice and loaded.layers[1].activation is _thrice
    _same_outputs(model, loaded, X6[:, :4])


class OwnStore(keras.layers.Layer):
    """Keras 3's hooks: the layer decides what its weights-file group holds."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="random_uniform", name="scale")

    def call(self, x):
        return x * self.scale

    def save_own_variables(self, store):
        store["scale_halved"] = self.scale.numpy() / 2

    def load_own_variables(self, store):
        self.scale.assign(store["scale_halved"] * 2)


def test_layer_save_and_load_own_variables_hooks(tmp_path):
    model = keras.Sequential([keras.Input((4,)), OwnStore(name="own")])
    model.save_weights(tmp_path / "o.weights.h5")
    with h5py.File(tmp_path / "o.weights.h5", "r") as f:
        np.testing.assert_array_equal(f["layers/own_store/vars/scale_halved"][()], model.layers[0].scale.numpy() / 2)
    other = keras.Sequential([keras.Input((4,)), OwnStore()])
    other.load_weights(tmp_path / "o.weights.h5")
    _weights_equal(model, other)


def test_nested_sublayer_paths_match_keras(tmp_path):
    """The weights-file paths of a custom layer with sub-layers, as real Keras 3.15 writes them."""
    keras.utils.set_random_seed(10)
    model = keras.Sequential([keras.Input((3,)), Block(), L.Dense(1)])
    groups = {e.group: [tuple(v.shape) for v in e.variables] for e in walk(model) if e.variables}
    assert groups == {
        "layers/block/vars": [(1,), (2,), (1,)],  # trainable-created, then non-trainable-created
        "layers/block/zeta/vars": [(3, 2), (2,)],
        "layers/block/alpha/dense/vars": [(4, 3), (3,)],
        "layers/block/alpha/container/dense/vars": [(5, 4), (4,)],
        "layers/block/_priv/vars": [(3, 5), (5,)],
        "layers/dense/vars": [(2, 1), (1,)],
    }
    model.save(tmp_path / "b.keras")
    loaded = keras.models.load_model(tmp_path / "b.keras", custom_objects={"Block": Block})
    _weights_equal(model, loaded)
    _same_outputs(model, loaded, X6[:, :3])


# -- safety ------------------------------------------------------------------------------------------------------
def _listing(folder):
    return sorted(os.listdir(folder))


def test_atomic_save_failure_midway_keeps_previous_file(tmp_path, monkeypatch):
    model = _fitted_dense()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    other = _fitted_dense()
    other.layers[0].kernel.assign(np.zeros((6, 8), "float32"))
    real_writestr = zipfile.ZipFile.writestr

    def failing_writestr(self, name, data, *args, **kwargs):
        if name == "model.weights.h5":
            raise OSError("disk full (simulated)")
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    with pytest.raises(OSError, match="disk full"):
        other.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["m.keras"]  # no temporary file left behind
    # the same for save_weights
    model.save_weights(tmp_path / "w.weights.h5")
    wbefore = (tmp_path / "w.weights.h5").read_bytes()
    import kshim.saving.h5_store as h5_store

    def failing_write(model, f, include_optimizer=True):
        f.create_group("layers")
        raise RuntimeError("interrupted (simulated)")

    monkeypatch.setattr(h5_store, "write_state", failing_write)
    with pytest.raises(RuntimeError, match="interrupted"):
        other.save_weights(tmp_path / "w.weights.h5")
    assert (tmp_path / "w.weights.h5").read_bytes() == wbefore
    assert _listing(tmp_path) == ["m.keras", "w.weights.h5"]


def test_atomic_save_get_config_failure_keeps_previous_file(tmp_path):
    class Broken(Scale):
        def get_config(self):
            raise RuntimeError("get_config failed (simulated)")

    model = _fitted_dense()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    broken = keras.Sequential([keras.Input((6,)), Broken()])
    with pytest.raises(RuntimeError, match="get_config failed"):
        broken.save(path)
    assert path.read_bytes() == before and _listing(tmp_path) == ["m.keras"]
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)


def _rewrite(src, dst, config=None, weights=None):
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    if config is not None:
        members["config.json"] = json.dumps(config).encode()
    if weights is not None:
        members["model.weights.h5"] = weights
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_load_errors_name_the_file_and_the_problem(tmp_path):
    model = _fitted_dense()
    good = tmp_path / "good.keras"
    model.save(good)
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        keras.models.load_model(tmp_path / "missing.keras")
    (tmp_path / "text.keras").write_text("hello")
    with pytest.raises(ValueError, match=r"text\.keras.*not a \.keras file"):
        keras.models.load_model(tmp_path / "text.keras")
    data = good.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.keras.*corrupt"):
        keras.models.load_model(tmp_path / "cut.keras")
    (tmp_path / "garbage.keras").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(ValueError, match=r"garbage\.keras"):
        keras.models.load_model(tmp_path / "garbage.keras")
    # an unknown layer class
    with zipfile.ZipFile(good) as zf:
        config = json.loads(zf.read("config.json"))
    config["config"]["layers"][2]["class_name"] = "FancyNorm"
    _rewrite(good, tmp_path / "unknown.keras", config=config)
    with pytest.raises(ValueError, match=r"unknown\.keras.*Unknown layer class 'FancyNorm'"):
        keras.models.load_model(tmp_path / "unknown.keras")
    # weights whose shapes do not match the config: nothing is loaded
    wide = keras.Sequential([keras.Input((6,)), L.Dense(5, activation="tanh"), L.BatchNormalization(),
                             L.Dropout(0.25), L.Dense(3, activation="softmax")])
    wide.save(tmp_path / "wide.keras")
    with zipfile.ZipFile(tmp_path / "wide.keras") as zf:
        wide_weights = zf.read("model.weights.h5")
    _rewrite(good, tmp_path / "mismatch.keras", weights=wide_weights)
    with pytest.raises(ValueError, match=r"mismatch\.keras.*layer 'dense.*shape \(6, 8\).*\(6, 5\)"):
        keras.models.load_model(tmp_path / "mismatch.keras")
    wide.save_weights(tmp_path / "wide.weights.h5")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"wide\.weights\.h5.*shape"):
        model.load_weights(tmp_path / "wide.weights.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # a failed load changes nothing
    # missing members
    with zipfile.ZipFile(tmp_path / "nocfg.keras", "w") as zf:
        zf.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match=r"nocfg\.keras.*config\.json"):
        keras.models.load_model(tmp_path / "nocfg.keras")
    with pytest.raises(ValueError, match="not built"):
        keras.Sequential([L.Dense(2)]).load_weights(tmp_path / "wide.weights.h5")
    with pytest.raises(ValueError, match=r"wide\.weights\.h5.*weights only.*load_weights"):
        keras.models.load_model(tmp_path / "wide.weights.h5")


def test_lambda_layers_are_refused_in_safe_mode(tmp_path):
    model = _fitted_dense()
    model.save(tmp_path / "good.keras")
    with zipfile.ZipFile(tmp_path / "good.keras") as zf:
        config = json.loads(zf.read("config.json"))
    config["config"]["layers"].insert(2, {
        "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
        "config": {"name": "lam", "function": {"class_name": "__lambda__",
                                               "config": {"code": "4wEAAAAAAAAA", "defaults": None,
                                                          "closure": None}}}})
    _rewrite(tmp_path / "good.keras", tmp_path / "lambda.keras", config=config)
    with pytest.raises(ValueError, match=r"lambda\.keras.*safe_mode=False"):
        keras.models.load_model(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.saving.deserialize_keras_object({"class_name": "__lambda__", "config": {"code": "x"}})


# -- Keras 2 .h5 files -------------------------------------------------------------------------------------------
def _keras2_h5(path, layers_cfg, weights, training_config=None):
    """A whole-model .h5 file in tf.keras 2.x's layout."""
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers_cfg}}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        if training_config:
            f.attrs["training_config"] = json.dumps(training_config)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [n.encode() for n in weights]
        for name, arrays in weights.items():
            lg = g.create_group(name)
            lg.attrs["weight_names"] = [f"{name}/{w}:0".encode() for w in arrays]
            for w, value in arrays.items():
                lg.create_dataset(f"{name}/{w}:0", data=value)


def test_keras2_h5_dense_model_loads_and_unknown_layers_explain_conversion(tmp_path):
    rs = np.random.RandomState(3)
    k0, b0, k1, b1 = (rs.rand(4, 3).astype("float32"), rs.rand(3).astype("float32"),
                      rs.rand(3, 2).astype("float32"), rs.rand(2).astype("float32"))
    init = {"class_name": "GlorotUniform", "config": {"seed": None}}
    layers_cfg = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "dense_input"}},
        {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 3,
                                           "activation": "relu", "use_bias": True, "kernel_initializer": init,
                                           "bias_initializer": {"class_name": "Zeros", "config": {}},
                                           "kernel_regularizer": None, "bias_regularizer": None,
                                           "activity_regularizer": None, "kernel_constraint": None,
                                           "bias_constraint": None}},
        {"class_name": "Dense", "config": {"name": "dense_1", "trainable": True, "dtype": "float32", "units": 2,
                                           "activation": "linear", "use_bias": True}},
    ]
    path = tmp_path / "k2.h5"
    training = {"loss": "mse", "metrics": ["mae"], "optimizer_config": {
        "class_name": "Adam", "config": {"name": "Adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                                         "epsilon": 1e-07, "amsgrad": False, "jit_compile": True,
                                         "is_legacy_optimizer": False}}}
    _keras2_h5(path, layers_cfg, {"dense": {"kernel": k0, "bias": b0}, "dense_1": {"kernel": k1, "bias": b1}},
               training)
    model = keras.models.load_model(path)
    x = X6[:, :4]
    np.testing.assert_allclose(_out(model, x)[0], np.maximum(x @ k0 + b0, 0) @ k1 + b1, rtol=1e-5)
    assert model.compiled and type(model.optimizer).__name__ == "Adam"
    # a weights-only Keras 2 file (layer_names at the root) through load_weights
    with h5py.File(tmp_path / "k2w.h5", "w") as f:
        f.attrs["layer_names"] = [b"dense", b"dense_1"]
        for name, arrays in {"dense": (k0, b0), "dense_1": (k1, b1)}.items():
            g = f.create_group(name)
            g.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            g.create_dataset(f"{name}/kernel:0", data=arrays[0])
            g.create_dataset(f"{name}/bias:0", data=arrays[1])
    fresh = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2)])
    fresh.load_weights(tmp_path / "k2w.h5")
    np.testing.assert_allclose(_out(fresh, x)[0], np.maximum(x @ k0 + b0, 0) @ k1 + b1, rtol=1e-5)
    # a layer kshim does not have: the error says how to convert the file
    layers_cfg[2] = {"class_name": "DenseFeatures", "config": {"name": "df"}}
    _keras2_h5(tmp_path / "bad.h5", layers_cfg, {"dense": {"kernel": k0, "bias": b0}})
    with pytest.raises(ValueError, match=r"bad\.h5.*DenseFeatures.*keras\.models\.load_model\('model\.h5'\)"):
        keras.models.load_model(tmp_path / "bad.h5")


# -- real Keras 3, both directions (one Keras subprocess for the module) ----------------------------------------
_KERAS_SCRIPT = """
    import json, sys
    import numpy as np
    import keras
    L = keras.layers
    out = sys.argv[1]
    x6 = np.load(f"{out}/x6.npy")
    y3 = np.load(f"{out}/y3.npy")
    xi = np.load(f"{out}/xi.npy")
    xc = np.load(f"{out}/xc.npy")

    def call(model, x):
        y = model(x, training=False)
        return [np.asarray(v) for v in (y if isinstance(y, (list, tuple)) else [y])]

    # Keras -> kshim: files written by Keras, with the outputs Keras computes
    keras.utils.set_random_seed(0)
    seq = keras.Sequential([keras.Input((6,)), L.Dense(8, activation="tanh"), L.BatchNormalization(),
                            L.Dense(3, activation="softmax")])
    seq.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"],
                run_eagerly=True)
    seq.fit(x6, y3, batch_size=8, epochs=2, shuffle=False, verbose=0)
    seq.save(f"{out}/k_seq.keras")
    seq.save_weights(f"{out}/k_seq.weights.h5")
    seq.save(f"{out}/k_seq_legacy.h5")
    np.save(f"{out}/k_seq_out.npy", call(seq, x6)[0])
    seq.fit(x6, y3, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.save(f"{out}/k_seq_cont.npy", call(seq, x6)[0])
    rnn = keras.Sequential([keras.Input((5,), dtype="int32"), L.Embedding(10, 3), L.LSTM(4, return_sequences=True),
                           L.GRU(3), L.Dropout(0.3), L.Dense(2)])
    rnn.save(f"{out}/k_rnn.keras")
    np.save(f"{out}/k_rnn_out.npy", call(rnn, xi)[0])
    conv = keras.Sequential([keras.Input((8, 8, 2)), L.Conv2D(3, 3, activation="relu"), L.BatchNormalization(),
                             L.MaxPooling2D(), L.Flatten(), L.Dense(2)])
    conv.save(f"{out}/k_conv.keras")
    np.save(f"{out}/k_conv_out.npy", call(conv, xc)[0])
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = L.Dense(3, activation="relu", name="shared")
    out_b = L.Dense(3, name="head_b")(shared(b))
    h = L.Dense(3, activation="tanh", name="t")(shared(a))
    out_a = L.Dense(3, name="head_a")(L.Dense(3, name="x")(L.Dropout(0.5, name="drop")(h)))
    func = keras.Model([a, b], [out_b, out_a])
    func.compile(optimizer="sgd", loss="mse")
    func.save(f"{out}/k_func.keras")
    for i, y in enumerate(call(func, [x6[:, :3], x6[:, 3:]])):
        np.save(f"{out}/k_func_out{i}.npy", y)

    # kshim -> Keras: load the files kshim wrote and compute their outputs here
    report = {}
    for job in json.loads(open(f"{out}/jobs.json").read()):
        model = keras.models.load_model(f"{out}/{job['file']}")
        x = np.load(f"{out}/{job['x']}")
        for i, y in enumerate(call(model, list(x) if job.get("multi") else x)):
            np.save(f"{out}/keras_of_{job['file']}_{i}.npy", y)
        info = {"compiled": bool(model.compiled)}
        if model.compiled:
            info["iterations"] = int(np.asarray(model.optimizer.iterations))
            info["optimizer"] = type(model.optimizer).__name__
            info["optimizer_state"] = [np.asarray(v).tolist() for v in model.optimizer.variables[2:4]]
        report[job["file"]] = info
    twin = keras.Sequential([keras.Input((6,)), L.Dense(8, activation="tanh"), L.BatchNormalization(),
                             L.Dropout(0.25), L.Dense(3, activation="softmax")])
    twin.load_weights(f"{out}/dense.weights.h5")
    np.save(f"{out}/keras_of_dense.weights.h5.npy", call(twin, x6)[0])
    open(f"{out}/report.json", "w").write(json.dumps(report))
"""
XC = np.random.RandomState(1).rand(4, 8, 8, 2).astype("float32")


@pytest.fixture(scope="module")
def keras_exchange(tmp_path_factory):
    """kshim writes its files, then one real-Keras subprocess writes its own and reads kshim's."""
    if not HAS_KERAS:
        pytest.skip("real Keras 3 is not installed")
    out = tmp_path_factory.mktemp("keras_exchange")
    for name, value in {"x6": X6, "y3": Y3, "xi": XI, "xc": XC, "xf": np.stack(FUNC_X)}.items():
        np.save(out / f"{name}.npy", value)
    dense = _fitted_dense()
    dense.save(out / "dense.keras")
    dense.save_weights(out / "dense.weights.h5")
    keras.utils.set_random_seed(1)
    rnn = _rnn_model()
    rnn.compile(optimizer="adam", loss="mse", run_eagerly=True)
    rnn.fit(XI, np.ones((8, 2), "float32"), epochs=1, verbose=0)
    rnn.save(out / "rnn.keras")
    func = _functional_model()
    func.save(out / "func.keras")
    jobs = [{"file": "dense.keras", "x": "x6.npy"}, {"file": "rnn.keras", "x": "xi.npy"},
            {"file": "func.keras", "x": "xf.npy", "multi": True}]
    expected = {"dense.keras": _out(dense, X6), "rnn.keras": _out(rnn, XI), "func.keras": _out(func, FUNC_X),
                "dense.weights.h5": _out(dense, X6)}
    if _has("Conv2D", "MaxPooling2D"):
        keras.utils.set_random_seed(2)
        conv = _conv_model()
        conv.save(out / "conv.keras")
        jobs.append({"file": "conv.keras", "x": "xc.npy"})
        expected["conv.keras"] = _out(conv, XC)
    (out / "jobs.json").write_text(json.dumps(jobs))
    _run(_KERAS_SCRIPT, out, env=_keras_env())
    state = [v.numpy().tolist() for v in dense.optimizer.variables[2:4]]
    return out, expected, state


@needs_keras
def test_keras3_sequential_file_loads_and_continues_training(keras_exchange):
    out, _, _ = keras_exchange
    model = keras.models.load_model(out / "k_seq.keras")
    np.testing.assert_allclose(_out(model, X6)[0], np.load(out / "k_seq_out.npy"), rtol=1e-4, atol=1e-6)
    assert type(model.optimizer).__name__ == "Adam" and int(model.optimizer.iterations.numpy()) == 4
    assert model.get_compile_config()["loss"] == "categorical_crossentropy"
    # one more epoch in kshim == one more epoch in Keras (Adam's moments and step count came from the file)
    model.fit(X6, Y3, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(_out(model, X6)[0], np.load(out / "k_seq_cont.npy"), rtol=1e-4, atol=1e-5)


@needs_keras
def test_keras3_weights_file_and_legacy_h5_load(keras_exchange):
    out, _, _ = keras_exchange
    keras.utils.set_random_seed(12)
    model = keras.Sequential([keras.Input((6,)), L.Dense(8, activation="tanh"), L.BatchNormalization(),
                              L.Dense(3, activation="softmax")])
    model.load_weights(out / "k_seq.weights.h5")
    np.testing.assert_allclose(_out(model, X6)[0], np.load(out / "k_seq_out.npy"), rtol=1e-4, atol=1e-6)
    legacy = keras.models.load_model(out / "k_seq_legacy.h5")
    np.testing.assert_allclose(_out(legacy, X6)[0], np.load(out / "k_seq_out.npy"), rtol=1e-4, atol=1e-6)


@needs_keras
def test_keras3_rnn_and_functional_files_load(keras_exchange):
    out, _, _ = keras_exchange
    rnn = keras.models.load_model(out / "k_rnn.keras")
    np.testing.assert_allclose(_out(rnn, XI)[0], np.load(out / "k_rnn_out.npy"), rtol=1e-4, atol=1e-6)
    func = keras.models.load_model(out / "k_func.keras")
    for i, y in enumerate(_out(func, FUNC_X)):
        np.testing.assert_allclose(y, np.load(out / f"k_func_out{i}.npy"), rtol=1e-4, atol=1e-6)
    assert func.compiled and type(func.optimizer).__name__ == "SGD"


@needs_keras
def test_keras3_conv_file(keras_exchange):
    out, _, _ = keras_exchange
    if not _has("Conv2D", "MaxPooling2D"):
        with pytest.raises(ValueError, match=r"k_conv\\.keras.*Unknown layer class 'Conv2D'"):
            keras.models.load_model(out / "k_conv.keras")
        return
    conv = keras.models.load_model(out / "k_conv.keras")
    np.testing.assert_allclose(_out(conv, XC)[0], np.load(out / "k_conv_out.npy"), rtol=1e-4, atol=1e-6)


@needs_keras
def test_kshim_files_load_in_keras3(keras_exchange):
    out, expected, state = keras_exchange
    report = json.loads((out / "report.json").read_text())
    for name, outputs in expected.items():
        for i, y in enumerate(outputs):
            suffix = f"_{i}" if name.endswith(".keras") else ""
            np.testing.assert_allclose(np.load(out / f"keras_of_{name}{suffix}.npy"), y, rtol=1e-4, atol=1e-6,
                                       err_msg=name)
    assert {k: v for k, v in report["dense.keras"].items() if k != "optimizer_state"} == {
        "compiled": True, "iterations": 4, "optimizer": "Adam"}
    for a, b in zip(report["dense.keras"]["optimizer_state"], state):  # Adam's first moments, as kshim saved them
        np.testing.assert_array_equal(np.asarray(a, "float32"), np.asarray(b, "float32"))
    assert report["rnn.keras"]["iterations"] == 1 and not report["func.keras"]["compiled"]


# -- kshim backend -> the other kshim backend ----------------------------------------------------------------------
_OTHER_BACKEND = """
    import sys
    import numpy as np
    import kshim as keras
    L = keras.layers
    folder = sys.argv[1]
    x6, xi = np.load(f"{folder}/x6.npy"), np.load(f"{folder}/xi.npy")

    def call(model, x):
        return keras.ops.convert_to_numpy(model(x, training=False))

    model = keras.models.load_model(f"{folder}/mine.keras")
    np.save(f"{folder}/theirs_of_mine.npy", call(model, x6))
    model.fit(x6, np.load(f"{folder}/y3.npy"), batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.save(f"{folder}/theirs_of_mine_cont.npy", call(model, x6))
    keras.utils.set_random_seed(21)
    own = keras.Sequential([keras.Input((5,), dtype="int32"), L.Embedding(10, 3), L.LSTM(4), L.Dense(2)])
    own.compile(optimizer="adam", loss="mse", run_eagerly=True)
    own.fit(xi, np.ones((8, 2), "float32"), epochs=1, verbose=0)
    own.save(f"{folder}/theirs.keras")
    np.save(f"{folder}/theirs_out.npy", call(own, xi))
"""


@pytest.mark.skipif(importlib.util.find_spec(OTHER_BACKEND) is None, reason=f"{OTHER_BACKEND} is not installed")
def test_files_move_between_backends(tmp_path):
    """A file saved under this backend loads (and trains on) under the other one, and the other way round."""
    mine = _fitted_dense()
    mine.save(tmp_path / "mine.keras")
    for name, value in {"x6": X6, "y3": Y3, "xi": XI}.items():
        np.save(tmp_path / f"{name}.npy", value)
    _run(_OTHER_BACKEND, tmp_path, env={"KSHIM_BACKEND": OTHER_BACKEND})
    np.testing.assert_allclose(np.load(tmp_path / "theirs_of_mine.npy"), _out(mine, X6)[0], rtol=1e-5, atol=1e-6)
    mine.fit(X6, Y3, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(np.load(tmp_path / "theirs_of_mine_cont.npy"), _out(mine, X6)[0], rtol=1e-4,
                               atol=1e-5)
    theirs = keras.models.load_model(tmp_path / "theirs.keras")
    np.testing.assert_allclose(_out(theirs, XI)[0], np.load(tmp_path / "theirs_out.npy"), rtol=1e-5, atol=1e-6)
    assert int(theirs.optimizer.iterations.numpy()) == 1


def test_config_json_is_keras_shaped(tmp_path):
    model = _fitted_dense()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert zf.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
        metadata = json.loads(zf.read("metadata.json"))
        with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
            assert f["vars"].attrs["name"] == model.name
            assert f["layers/dense/vars"].attrs["name"] == model.layers[0].name
            assert f["optimizer/vars"].attrs["name"] == model.optimizer.name
            assert len(f["optimizer/vars"]) == len(model.optimizer.variables)
    assert metadata["keras_version"].startswith("3.") and metadata["backend"] == BACKEND
    assert (config["module"], config["class_name"]) == ("keras", "Sequential")
    assert config["build_config"] == {"input_shape": [None, 6]}
    compile_config = config["compile_config"]
    assert compile_config["optimizer"]["class_name"] == "Adam"
    assert compile_config["loss"] == "categorical_crossentropy" and compile_config["metrics"] == ["accuracy"]


# -- every layer kind of the issue in one model, both directions with real Keras 3 ---------------------------------
# The builder runs in this process (kshim) and in the Keras subprocess, from the same source text.
_ALL_KINDS_SRC = """
def build(module):
    # Embedding, LSTM, GRU, Conv2D, BatchNormalization, pooling, Dropout and Dense in one Sequential model
    layers = module.layers
    return module.Sequential([
        module.Input((8,), dtype="int32"), layers.Embedding(12, 4, name="emb"),
        layers.LSTM(6, return_sequences=True, name="lstm"), layers.GRU(6, return_sequences=True, name="gru"),
        layers.Reshape((8, 6, 1), name="to_image"),
        layers.Conv2D(3, 3, padding="same", activation="relu", name="conv"), layers.BatchNormalization(name="bn"),
        layers.MaxPooling2D(2, name="pool"), layers.AveragePooling2D((2, 1), name="avg"),
        layers.Dropout(0.3, name="drop"), layers.Flatten(name="flat"), layers.Dense(4, activation="tanh",
                                                                                  name="dense"),
        layers.Dense(2, name="out")], name="all_kinds")
"""
XK = (np.arange(16 * 8).reshape(16, 8) * 5) % 12
YK = np.stack([XK.mean(1) / 12, (XK[:, 0] > 5)], axis=1).astype("float32")

_ALL_KINDS_SCRIPT = """
    import sys
    import numpy as np
    import keras
    folder = sys.argv[1]
    xk, yk = np.load(f"{folder}/xk.npy"), np.load(f"{folder}/yk.npy")
    exec(open(f"{folder}/build.py").read())

    def call(model):
        return np.asarray(model(xk, training=False))

    # kshim's files in Keras
    np.save(f"{folder}/keras_of_kshim.npy", call(keras.models.load_model(f"{folder}/kshim.keras")))
    twin = build(keras)
    twin.load_weights(f"{folder}/kshim.weights.h5")
    np.save(f"{folder}/keras_of_kshim_weights.npy", call(twin))
    # Keras's own files, fitted so BatchNormalization's statistics and the optimizer's slots are not initial
    keras.utils.set_random_seed(3)
    model = build(keras)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(xk, yk, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model.save(f"{folder}/keras.keras")
    model.save_weights(f"{folder}/keras.weights.h5")
    np.save(f"{folder}/keras_out.npy", call(model))
"""


@needs_keras
def test_all_layer_kinds_move_both_ways_with_keras3(tmp_path):
    namespace = {}
    exec(_ALL_KINDS_SRC, namespace)
    build = namespace["build"]
    keras.utils.set_random_seed(13)
    ours = build(keras)
    ours.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    ours.fit(XK, YK, batch_size=8, epochs=2, shuffle=False, verbose=0)
    ours.save(tmp_path / "kshim.keras")
    ours.save_weights(tmp_path / "kshim.weights.h5")
    np.save(tmp_path / "xk.npy", XK)
    np.save(tmp_path / "yk.npy", YK)
    (tmp_path / "build.py").write_text(_ALL_KINDS_SRC)
    _run(_ALL_KINDS_SCRIPT, tmp_path, env=_keras_env())
    expected = _out(ours, XK)[0]
    np.testing.assert_allclose(np.load(tmp_path / "keras_of_kshim.npy"), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "keras_of_kshim_weights.npy"), expected, rtol=1e-4, atol=1e-5)
    theirs_out = np.load(tmp_path / "keras_out.npy")
    loaded = keras.models.load_model(tmp_path / "keras.keras")
    assert [l.name for l in loaded.layers] == [l.name for l in ours.layers]
    np.testing.assert_allclose(_out(loaded, XK)[0], theirs_out, rtol=1e-4, atol=1e-5)
    assert int(loaded.optimizer.iterations.numpy()) == 4
    twin = build(keras)
    twin.load_weights(tmp_path / "keras.weights.h5")
    np.testing.assert_allclose(_out(twin, XK)[0], theirs_out, rtol=1e-4, atol=1e-5)


def test_functional_save_load_continue_fit_equals_uninterrupted(tmp_path):
    """The compiled (default) step on a functional model with a shared layer, BatchNormalization and Dropout."""
    def fresh():
        keras.utils.set_random_seed(14)
        a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
        shared = L.Dense(4, activation="tanh", name="shared")
        h = L.BatchNormalization(name="bn")(shared(a))
        h = L.Dense(4, name="mix")(L.Dropout(0.3, seed=2, name="drop")(h))
        out = L.Dense(3, activation="softmax", name="out")(_AddPair(name="add")([h, shared(b)]))
        model = keras.Model([a, b], out)
        model.compile(optimizer=keras.optimizers.Adam(0.02), loss="categorical_crossentropy")
        return model

    x = [X6[:, :3], X6[:, 3:]]
    straight = fresh()
    straight.fit(x, Y3, batch_size=4, epochs=4, shuffle=False, verbose=0)
    first = fresh()
    first.fit(x, Y3, batch_size=4, epochs=2, shuffle=False, verbose=0)
    first.save(tmp_path / "half.keras")
    resumed = keras.models.load_model(tmp_path / "half.keras")
    resumed.fit(x, Y3, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert int(resumed.optimizer.iterations.numpy()) == 16
    for u, v in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)


@keras.saving.register_keras_serializable(package="kshim_tests")
class _AddPair(keras.layers.Layer):
    """Adds its two inputs (a two-input node that needs no merge layer)."""

    def call(self, inputs):
        return keras.ops.add(inputs[0], inputs[1])

    def compute_output_shape(self, input_shape):
        return input_shape[0]
