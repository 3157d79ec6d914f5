"""What real Keras programs rely on (issue 22, items 4-10), compared with real Keras 3 where it can run the same:

4. model inputs are converted as Keras 3 converts them: to the Input's dtype (bools for a float Input: the
   char-RNN examples), with a missing trailing axis of 1 added (``(N, 28, 28)`` for ``Input((28, 28, 1))``);
5. the loss pre-check treats an unknown (None) prediction dim as matching any target dim;
6. ``layer.losses`` holds the losses of the last forward pass only;
7. callbacks get ``logs={}``, never None;
8. registered custom functions and objects serialize and read back (`activations.serialize`, `clone_model`,
   regularizers, ``keras.layers.serialize``/``deserialize``);
9. ``Conv*.convolution_op`` is the hook a custom convolution overrides (the guides' weight-standardized conv);
10. Keras 2 spellings work with a DeprecationWarning: ``fit_generator`` & co, ``predict_classes``/``predict_proba``,
    ``model.save("m.h5")`` (legacy HDF5 that Keras 3 reads), numpy integers as layer sizes.

The Keras 3 side is one subprocess per module (same backend), running `_KERAS_SIDE` on the same source."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import kshim

# -- the programs both libraries run (source shared with the Keras 3 side) ---------------------------------------
_SHARED = r'''
import numpy as np


def input_dtype_and_rank(keras):
    seen = {}

    class Probe(keras.layers.Layer):
        def call(self, x):
            seen["dtype"] = str(x.dtype).split(".")[-1]
            return x * 2.0

    inp = keras.Input((3, 2))
    m = keras.Model(inp, Probe()(inp))
    out_bool = np.asarray(m.predict(np.array([[[True, False], [False, True], [True, True]]]), verbose=0))
    dtype = seen["dtype"]
    img = keras.Input((4, 4, 1))
    m2 = keras.Model(img, keras.layers.Dense(2, kernel_initializer="ones")(keras.layers.Flatten()(img)))
    x = np.arange(32, dtype="float32").reshape(2, 4, 4) / 10.0
    out_rank = np.asarray(m2.predict(x, verbose=0))
    vec = keras.Input((3,))
    m3 = keras.Model(vec, keras.layers.Dense(1, kernel_initializer="ones")(vec))
    out_squeeze = np.asarray(m3.predict(np.ones((2, 3, 1), "float32"), verbose=0))
    char = keras.Sequential([keras.Input((5, 4)), keras.layers.LSTM(3, kernel_initializer="ones",
                             recurrent_initializer="zeros"), keras.layers.Dense(4, activation="softmax",
                             kernel_initializer="ones")])
    char.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.01))
    xs = np.zeros((4, 5, 4), dtype=bool)
    xs[np.arange(4), np.arange(4) % 5, np.arange(4)] = True
    ys = np.eye(4, dtype=bool)
    loss = char.fit(xs, ys, batch_size=2, epochs=1, verbose=0, shuffle=False).history["loss"][0]
    return {"dtype": dtype, "out_bool": out_bool.tolist(), "out_rank": out_rank.tolist(),
            "out_squeeze": out_squeeze.tolist(), "char_loss": float(loss)}


def unknown_time_dim(keras):
    inp = keras.Input((None, 4))
    m = keras.Model(inp, keras.layers.Dense(4, kernel_initializer="ones")(inp))
    m.compile(optimizer="sgd", loss="mse")
    x = np.linspace(0, 1, 8 * 3 * 4, dtype="float32").reshape(8, 3, 4)
    return {"loss": m.fit(x, x, batch_size=8, epochs=1, verbose=0).history["loss"][0]}


def last_pass_losses(keras):
    class L(keras.layers.Layer):
        def call(self, x):
            self.add_loss(keras.ops.sum(x))
            return x

    layer = L()
    layer(np.ones((2, 2), "float32"))
    layer(np.full((2, 2), 3.0, "float32"))
    return {"losses": [float(v) for v in layer.losses]}


def callback_logs(keras):
    seen = {}

    class Recorder(keras.callbacks.Callback):
        pass

    hooks = ["on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
             "on_predict_end", "on_train_batch_begin", "on_test_batch_begin", "on_predict_batch_begin",
             "on_epoch_begin"]
    for hook in hooks:
        def record(self, *args, _hook=hook, **kwargs):
            logs = kwargs.get("logs", args[-1] if args else None)
            seen[_hook] = sorted(logs.keys()) if _hook.endswith("begin") and logs is not None else (
                None if logs is None else "dict")
        setattr(Recorder, hook, record)
    m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32")
    m.fit(x, y, verbose=0, callbacks=[Recorder()])
    m.evaluate(x, y, verbose=0, callbacks=[Recorder()])
    m.predict(x, verbose=0, callbacks=[Recorder()])
    return seen


def registered_objects(keras):
    @keras.saving.register_keras_serializable(package="issue22")
    def doubled_relu(x):
        return keras.ops.relu(x) * 2.0

    config = keras.activations.serialize(doubled_relu)
    back = keras.activations.get(config)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=doubled_relu,
                                                                kernel_initializer="ones")])
    clone = keras.models.clone_model(m)
    clone.set_weights(m.get_weights())
    x = np.array([[1.0, -2.0, 0.5]], "float32")
    reg = keras.saving.serialize_keras_object(keras.regularizers.L1(0.25))
    reg_back = keras.saving.deserialize_keras_object(reg)
    dense = keras.layers.serialize(keras.layers.Dense(3, name="d"))
    dense_back = keras.layers.deserialize(dense)
    return {"config": config, "same_fn": back is doubled_relu, "clone": np.asarray(clone.predict(x, verbose=0)).tolist(),
            "orig": np.asarray(m.predict(x, verbose=0)).tolist(), "reg": [reg["module"], reg["class_name"]],
            "reg_back": [type(reg_back).__name__, float(reg_back.l1)],
            "dense": [dense["module"], dense["class_name"], dense["config"]["units"]],
            "dense_back": [type(dense_back).__name__, dense_back.units, dense_back.name]}


def standardized_conv(keras):
    ops = keras.ops

    class StandardizedConv2D(keras.layers.Conv2D):
        def convolution_op(self, inputs, kernel):
            kernel = ops.convert_to_tensor(kernel)  # Keras 3.15 on jax cannot take the moments of a Variable
            mean, var = ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
            return ops.conv(inputs, (kernel - mean) / ops.sqrt(var + 1e-10), padding="valid",
                            strides=list(self.strides), data_format=self.data_format)

    layer = StandardizedConv2D(2, 2, bias_initializer="ones", activation="relu")
    x = np.arange(18, dtype="float32").reshape(1, 3, 3, 2) / 10.0
    layer.build(x.shape)
    rs = np.random.RandomState(0)
    layer.set_weights([rs.rand(2, 2, 2, 2).astype("float32"), np.array([1.0, -0.5], "float32")])
    return {"out": keras.ops.convert_to_numpy(layer(x)).tolist()}


def numpy_sizes(keras):
    d = keras.layers.Dense(np.int64(46))
    c = keras.layers.Conv2D(np.int32(3), (np.int64(2), 2))
    lstm = keras.layers.LSTM(np.int64(4))
    m = keras.Sequential([keras.Input((np.int64(5),)), d])
    return {"units": [d.units, c.filters, list(c.kernel_size), lstm.units], "out": list(m.output_shape),
            "config_units": m.get_config()["layers"][1]["config"]["units"]}
'''
exec(compile(_SHARED, "programs", "exec"))  # defines the builders above in this module

_KERAS_SIDE = _SHARED + r'''
import json, sys, traceback, keras
out = {}
for name in sys.argv[2:]:
    try:
        out[name] = globals()[name](keras)
    except Exception:
        out[name] = {"error": traceback.format_exc()[-2000:]}
h5 = sys.argv[1]
if h5:
    m = keras.models.load_model(h5)
    out["h5_predict"] = np.asarray(m.predict(np.load(h5 + ".x.npy"), verbose=0)).tolist()
    out["h5_compiled"] = bool(m.compiled)
print("JSON:" + json.dumps(out))
'''

_BUILDERS = ["input_dtype_and_rank", "unknown_time_dim", "last_pass_losses", "callback_logs", "registered_objects",
             "standardized_conv"]  # not `numpy_sizes`: Keras 3 refuses `Dense(np.int64(46))`, a Keras 2 spelling


def _h5_model():
    inp = kshim.Input((4,))
    x = kshim.layers.Dense(5, activation="relu", name="hidden")(inp)
    x = kshim.layers.BatchNormalization(name="bn")(x)
    out = kshim.layers.Dense(3, activation="softmax", name="out")(x)
    model = kshim.Model(inp, out)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rs = np.random.RandomState(3)
    model.fit(rs.rand(16, 4), rs.randint(0, 3, 16), verbose=0)
    return model, rs.rand(3, 4).astype("float32")


@pytest.fixture(scope="module")
def h5_saved(tmp_path_factory):
    model, x = _h5_model()
    path = str(tmp_path_factory.mktemp("h5") / "m.h5")
    with pytest.warns(DeprecationWarning, match=r"model\.save\('my_model\.keras'\)"):
        model.save(path)
    np.save(path + ".x.npy", x)
    return model, x, path


@pytest.fixture(scope="module")
def keras3(h5_saved):
    """Every builder's result in real Keras 3 (and its reading of kshim's legacy .h5 file)."""
    env = dict(os.environ, KERAS_BACKEND=kshim.config.backend())
    env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.run([sys.executable, "-c", _KERAS_SIDE, h5_saved[2], *_BUILDERS], env=env,
                              capture_output=True, text=True, timeout=300, cwd="/")
    except subprocess.TimeoutExpired:  # pragma: no cover
        pytest.skip("real Keras 3 did not finish in 300 s")
    if "No module named 'keras'" in proc.stderr:  # pragma: no cover - real Keras is a test extra
        pytest.skip("real Keras 3 is not installed")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("JSON:")]
    assert lines, f"Keras 3 failed:\n{proc.stderr[-3000:]}"
    results = json.loads(lines[-1][5:])
    return {k: _ok(k, v) for k, v in results.items()}


class _Failed(dict):
    def __getitem__(self, key):
        raise AssertionError(f"Keras 3 failed on this program:\n{self['error']}")


def _ok(name, value):
    return _Failed(value) if isinstance(value, dict) and "error" in value else value


# -- 4. input conversion -----------------------------------------------------------------------------------------
def test_inputs_take_the_input_dtype_and_trailing_axis(keras3):
    ours = input_dtype_and_rank(kshim)
    assert ours["dtype"] == keras3["input_dtype_and_rank"]["dtype"] == "float32"
    for key in ("out_bool", "out_rank", "out_squeeze"):
        np.testing.assert_allclose(ours[key], keras3["input_dtype_and_rank"][key], rtol=1e-6)
    np.testing.assert_allclose(ours["out_rank"], [[12.0] * 2, [37.6] * 2], rtol=1e-5)  # sums of 16 inputs
    np.testing.assert_allclose(ours["char_loss"], keras3["input_dtype_and_rank"]["char_loss"], rtol=1e-4)


def test_a_string_input_gets_its_trailing_axis():
    vectorize = kshim.layers.TextVectorization(max_tokens=10, output_sequence_length=3)
    vectorize.adapt(np.array(["a b c", "b c d"]))
    inp = kshim.Input((1,), dtype="string")
    model = kshim.Model(inp, vectorize(inp))
    flat = np.asarray(model(np.array(["a b", "c d"])))
    np.testing.assert_array_equal(flat, np.asarray(model(np.array([["a b"], ["c d"]]))))
    np.testing.assert_array_equal(flat, np.asarray(vectorize(np.array([["a b"], ["c d"]]))))


def test_other_rank_mismatches_still_raise():
    model = kshim.Sequential([kshim.Input((4, 4, 1)), kshim.layers.Flatten(), kshim.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 4, 4, 1\)"):
        model.fit(np.zeros((2, 16), "float32"), np.zeros((2, 1), "float32"), verbose=0)


# -- 5. unknown dims in the loss pre-check -----------------------------------------------------------------------
def test_loss_check_treats_none_as_unknown(keras3):
    np.testing.assert_allclose(unknown_time_dim(kshim)["loss"], keras3["unknown_time_dim"]["loss"], rtol=1e-5)
    inp = kshim.Input((None, 4))
    model = kshim.Model(inp, kshim.layers.Dense(4)(inp))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="do not match predictions"):  # a known dim that differs still raises
        model.fit(np.zeros((2, 3, 4), "float32"), np.zeros((2, 3, 5), "float32"), verbose=0)


# -- 6. layer.losses ---------------------------------------------------------------------------------------------
def test_layer_losses_are_the_last_pass(keras3):
    assert last_pass_losses(kshim) == keras3["last_pass_losses"] == {"losses": [12.0]}


# -- 7. callbacks' logs ------------------------------------------------------------------------------------------
def test_callbacks_get_dict_logs(keras3):
    ours = callback_logs(kshim)
    assert all(v is not None for v in ours.values()), ours
    assert ours == keras3["callback_logs"]


# -- 8. registered objects ---------------------------------------------------------------------------------------
def test_registered_objects_round_trip(keras3):
    ours, theirs = registered_objects(kshim), keras3["registered_objects"]
    assert ours["config"] == theirs["config"] == {"module": "builtins", "class_name": "function",
                                                  "config": "issue22>doubled_relu", "registered_name": "function"}
    assert ours["same_fn"] and theirs["same_fn"]
    np.testing.assert_allclose(ours["clone"], ours["orig"])
    np.testing.assert_allclose(ours["clone"], theirs["clone"], rtol=1e-6)
    assert ours["reg"] == theirs["reg"] == ["keras.regularizers", "L1"]
    assert ours["reg_back"][0] == theirs["reg_back"][0] == "L1"
    np.testing.assert_allclose(ours["reg_back"][1], theirs["reg_back"][1], rtol=1e-6)
    assert ours["dense"] == theirs["dense"] == ["keras.layers", "Dense", 3]
    assert ours["dense_back"] == theirs["dense_back"] == ["Dense", 3, "d"]


def test_layers_deserialize_refuses_a_non_config():
    with pytest.raises(ValueError, match="class_name"):
        kshim.layers.deserialize("Dense")


# -- 9. convolution_op -------------------------------------------------------------------------------------------
def test_convolution_op_override(keras3):
    ours = np.asarray(standardized_conv(kshim)["out"])
    np.testing.assert_allclose(ours, keras3["standardized_conv"]["out"], rtol=1e-5, atol=1e-6)
    plain = kshim.layers.Conv2D(2, 2, activation="relu")  # the same weights without standardization differ
    x = np.arange(18, dtype="float32").reshape(1, 3, 3, 2) / 10.0
    plain.build(x.shape)
    rs = np.random.RandomState(0)
    plain.set_weights([rs.rand(2, 2, 2, 2).astype("float32"), np.array([1.0, -0.5], "float32")])
    numpy = kshim.ops.convert_to_numpy
    assert np.abs(numpy(plain(x)) - ours).max() > 0.1
    bare = numpy(plain.convolution_op(x, plain.kernel))  # the default hook: no bias, no activation
    np.testing.assert_allclose(np.maximum(bare + [1.0, -0.5], 0), numpy(plain(x)), rtol=1e-5, atol=1e-6)


# -- 10. Keras 2 spellings ---------------------------------------------------------------------------------------
def test_numpy_integers_as_sizes():
    ours = numpy_sizes(kshim)
    assert ours == {"units": [46, 3, [2, 2], 4], "out": [None, 46], "config_units": 46}
    assert all(type(u) is int for u in ours["units"][:2])
    json.dumps(ours)  # plain Python ints in configs


def test_legacy_h5_is_read_by_keras3_and_kshim(h5_saved, keras3):
    model, x, path = h5_saved
    ours = model.predict(x, verbose=0)
    np.testing.assert_allclose(keras3["h5_predict"], ours, rtol=1e-5, atol=1e-6)
    assert keras3["h5_compiled"]
    loaded = kshim.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ours, rtol=1e-6)
    assert loaded.compiled


def _keras2_model():
    kshim.utils.set_random_seed(4)
    model = kshim.Sequential([kshim.Input((3,)), kshim.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_generator_methods_warn_and_match_fit():
    rs = np.random.RandomState(5)
    x, y = rs.rand(8, 3).astype("float32"), np.eye(4, dtype="float32")[rs.randint(0, 4, 8)]

    def batches():
        while True:
            for i in (0, 4):
                yield x[i:i + 4], y[i:i + 4]

    a, b = _keras2_model(), _keras2_model()
    with pytest.warns(DeprecationWarning, match=r"write `model\.fit\(generator, \.\.\.\)`"):
        hist = a.fit_generator(batches(), steps_per_epoch=2, epochs=2, verbose=0, workers=4)
    ref = b.fit(batches(), steps_per_epoch=2, epochs=2, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], ref.history["loss"], rtol=1e-6)
    with pytest.warns(DeprecationWarning, match=r"model\.evaluate\(generator"):
        ev = a.evaluate_generator(batches(), steps=2)
    np.testing.assert_allclose(ev, b.evaluate(batches(), steps=2, verbose=0), rtol=1e-6)
    with pytest.warns(DeprecationWarning, match=r"model\.predict\(generator"):
        pred = a.predict_generator((xb for xb, _ in batches()), steps=2)
    np.testing.assert_allclose(pred, b.predict(x, verbose=0), rtol=1e-6)


def test_predict_classes_and_proba():
    model = _keras2_model()
    x = np.random.RandomState(6).rand(5, 3).astype("float32")
    proba = model.predict(x, verbose=0)
    with pytest.warns(DeprecationWarning, match=r"np\.argmax\(model\.predict\(x\), axis=-1\)"):
        np.testing.assert_array_equal(model.predict_classes(x), proba.argmax(-1))
    with pytest.warns(DeprecationWarning, match=r"write `model\.predict\(x\)`"):
        np.testing.assert_allclose(model.predict_proba(x), proba)
    binary = kshim.Sequential([kshim.Input((3,)), kshim.layers.Dense(1, activation="sigmoid")])
    p = binary.predict(x, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        classes = binary.predict_classes(x)
    np.testing.assert_array_equal(classes, (p > 0.5).astype("int32"))
    assert classes.dtype == np.int32 and classes.shape == (5, 1)


# -- found by the corpus (tests/programs/) ----------------------------------------------------------------------
def test_eager_outputs_carry_masks_to_mask_taking_calls():
    """masking_and_padding.py: an eager Embedding output has `_keras_mask`, and a layer whose `call` takes `mask`
    receives it without being passed one (Keras 3 does both)."""
    seen = {}

    class TakesMask(kshim.layers.Layer):
        def call(self, inputs, mask=None):
            seen["mask"] = None if mask is None else kshim.ops.convert_to_numpy(mask)
            return inputs

    tokens = np.array([[1, 0, 2], [0, 3, 0]])
    embedded = kshim.layers.Embedding(5, 2, mask_zero=True)(tokens)
    np.testing.assert_array_equal(kshim.ops.convert_to_numpy(embedded._keras_mask), tokens != 0)
    TakesMask()(embedded)
    np.testing.assert_array_equal(seen["mask"], tokens != 0)
    TakesMask()(embedded, mask=np.ones((2, 3), bool))  # an explicit mask wins
    assert seen["mask"].all()


def test_compile_without_loss_trains_on_added_losses():
    """making_new_layers.py / training_with_built_in_methods.py: `compile(optimizer)` with no loss trains on the
    losses the layers add."""
    class ActivityRegularizationLayer(kshim.layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * kshim.ops.mean(inputs))
            return inputs

    inputs = kshim.Input((3,))
    outputs = ActivityRegularizationLayer()(kshim.layers.Dense(2, kernel_initializer="ones")(inputs))
    model = kshim.Model(inputs, outputs)
    model.compile(optimizer="sgd")
    x = np.arange(12, dtype="float32").reshape(4, 3)
    history = model.fit(x, np.zeros((4, 2), "float32"), batch_size=4, epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], 1e-2 * (x @ np.ones((3, 2))).mean(), rtol=1e-5)
    bare = kshim.Sequential([kshim.Input((3,)), kshim.layers.Dense(2)])
    bare.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="compiled without a `loss`"):  # nothing to train on still raises
        bare.fit(x, np.zeros((4, 2), "float32"), verbose=0)
