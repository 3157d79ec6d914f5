"""Core layers: Dense, Dropout, Flatten, Reshape, Activation, and the Layer machinery they exercise (weights,
names, configs, trainable, get/set_weights, stateless_call, input_spec). Compared with numpy and real Keras 3."""

import os
import re
import warnings

import numpy as np
import pytest

import kshim
from kshim import config, initializers, layers, ops
from kshim import random as krandom

RTOL = 1e-5


def np_(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


RNG = np.random.default_rng(0)
X2 = RNG.normal(size=(5, 4)).astype("float32")
X3 = RNG.normal(size=(2, 3, 4)).astype("float32")


def built_dense(units=3, input_dim=4, **kwargs):
    layer = layers.Dense(units, **kwargs)
    layer.build((None, input_dim))
    return layer


def fixed_weights(layer, seed=1):
    rng = np.random.default_rng(seed)
    ws = [rng.normal(size=w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(ws)
    return ws


# ----------------------------------------------------------------------------------------------------------------
# Dense


def test_dense_weights_shapes_names_order():
    d = built_dense(3, 4, name="my_dense")
    assert [tuple(w.shape) for w in d.weights] == [(4, 3), (3,)]
    assert [w.name for w in d.weights] == ["kernel", "bias"]
    assert [w.path for w in d.weights] == ["my_dense/kernel", "my_dense/bias"]
    assert d.kernel is d.weights[0] and d.bias is d.weights[1]
    assert all(w.trainable for w in d.weights)
    assert d.count_params() == 4 * 3 + 3
    np.testing.assert_array_equal(d.bias.numpy(), np.zeros(3))  # bias_initializer="zeros"
    limit = np.sqrt(6 / (4 + 3))  # glorot_uniform kernel
    assert np.all(np.abs(d.kernel.numpy()) <= limit) and np.abs(d.kernel.numpy()).max() > 0


@pytest.mark.parametrize("activation,ref", [
    (None, lambda z: z), ("relu", lambda z: np.maximum(z, 0)), ("tanh", np.tanh),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
])
def test_dense_forward_matches_numpy(activation, ref):
    d = built_dense(3, 4, activation=activation)
    w, b = fixed_weights(d)
    out = d(X2)
    assert ops.is_tensor(out) and tuple(ops.shape(out)) == (5, 3)
    np.testing.assert_allclose(np_(out), ref(X2.astype(np.float64) @ w + b), rtol=RTOL, atol=1e-6)


def test_dense_builds_on_first_call_and_takes_3d_input():
    d = layers.Dense(6)
    assert not d.built and d.weights == []
    out = d(X3)
    assert d.built
    w, b = d.get_weights()
    assert w.shape == (4, 6) and b.shape == (6,)
    assert tuple(ops.shape(out)) == (2, 3, 6)
    np.testing.assert_allclose(np_(out), X3 @ w + b, rtol=RTOL, atol=1e-6)
    assert d.compute_output_shape((None, 3, 4)) == (None, 3, 6)
    assert d.input_shape == (2, 3, 4)


def test_dense_no_bias():
    d = built_dense(2, 4, use_bias=False)
    assert len(d.weights) == 1 and d.bias is None
    assert d.count_params() == 8
    (w,) = fixed_weights(d)
    np.testing.assert_allclose(np_(d(X2)), X2 @ w, rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("name,check", [
    ("ones", lambda k: np.testing.assert_array_equal(k, np.ones((4, 3)))),
    ("zeros", lambda k: np.testing.assert_array_equal(k, np.zeros((4, 3)))),
    ("identity", lambda k: np.testing.assert_array_equal(k, np.eye(4, 3))),
    ("orthogonal", lambda k: np.testing.assert_allclose(k.T @ k, np.eye(3), atol=1e-5)),
])
def test_dense_kernel_initializer_by_string(name, check):
    d = built_dense(3, 4, kernel_initializer=name, bias_initializer="ones")
    check(d.kernel.numpy().astype(np.float64))
    np.testing.assert_array_equal(d.bias.numpy(), np.ones(3))


def test_dense_seeded_initializer_object():
    a = built_dense(3, 4, kernel_initializer=initializers.HeNormal(seed=3))
    b = built_dense(3, 4, kernel_initializer=initializers.HeNormal(seed=3))
    np.testing.assert_array_equal(a.kernel.numpy(), b.kernel.numpy())
    np.testing.assert_array_equal(a.kernel.numpy(), np_(initializers.HeNormal(seed=3)((4, 3))))


@pytest.mark.parametrize("units", [0, -1, "3", None, 2.5, True])
def test_dense_bad_units(units):
    with pytest.raises(ValueError, match=r"units") as info:
        layers.Dense(units)
    assert "Dense" in str(info.value) and repr(units) in str(info.value)


def test_dense_input_spec_error_names_layer_and_shapes():
    d = layers.Dense(3, name="picky")
    d(X2)  # builds for 4 features
    with pytest.raises(ValueError) as info:
        d(np.ones((5, 6), "float32"))
    msg = str(info.value)
    assert "picky" in msg and "4" in msg and "(5, 6)" in msg
    with pytest.raises(ValueError, match="picky"):
        d(np.ones((4,), "float32"))  # rank 1 < min_ndim 2
    np.testing.assert_array_equal(np_(d(X2)).shape, (5, 3))  # still usable


def test_dense_unknown_kwarg_suggests():
    with pytest.raises(ValueError, match="activaton"):
        layers.Dense(3, activaton="relu")


# ----------------------------------------------------------------------------------------------------------------
# Names


def _counter(name, base):
    m = re.fullmatch(re.escape(base) + r"(?:_(\d+))?", name)
    assert m, name
    return int(m.group(1) or 0)


def test_automatic_names_increment():
    a, b = layers.Dense(1), layers.Dense(1)
    assert _counter(b.name, "dense") == _counter(a.name, "dense") + 1
    c, d = layers.Dropout(0.1), layers.Dropout(0.1)
    assert _counter(d.name, "dropout") == _counter(c.name, "dropout") + 1
    assert layers.Dense(1, name="explicit").name == "explicit"
    assert layers.Flatten().name.startswith("flatten")
    assert layers.Reshape((2,)).name.startswith("reshape")
    assert layers.Activation("relu").name.startswith("activation")
    with pytest.raises(TypeError):
        layers.Dense(1, name=3)


# ----------------------------------------------------------------------------------------------------------------
# trainable, get/set_weights, stateless_call


def test_trainable_false_moves_weights_to_non_trainable():
    d = built_dense(3, 4)
    assert len(d.trainable_weights) == 2 and d.non_trainable_weights == []
    d.trainable = False
    assert d.trainable_weights == [] and [w.name for w in d.non_trainable_weights] == ["kernel", "bias"]
    assert d.count_params() == 15
    d.trainable = True
    assert len(d.trainable_weights) == 2
    frozen = built_dense(3, 4, trainable=False)
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 2
    assert frozen.get_config()["trainable"] is False


def test_get_set_weights_round_trip():
    d = built_dense(3, 4, name="rt")
    ws = [np.arange(12, dtype="float32").reshape(4, 3) / 10, np.array([1.0, -1.0, 0.5], "float32")]
    d.set_weights(ws)
    got = d.get_weights()
    assert all(isinstance(g, np.ndarray) for g in got)
    for g, w in zip(got, ws):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_allclose(np_(d(X2)), X2 @ ws[0] + ws[1], rtol=RTOL, atol=1e-6)
    other = built_dense(3, 4)
    other.set_weights(d.get_weights())
    np.testing.assert_array_equal(np_(other(X2)), np_(d(X2)))


def test_set_weights_wrong_shape_names_layer_and_shapes():
    d = built_dense(3, 4, name="target_layer")
    before = d.get_weights()
    with pytest.raises(ValueError) as info:
        d.set_weights([np.ones((5, 3), "float32"), np.ones(3, "float32")])
    msg = str(info.value)
    assert "target_layer" in msg and "(4, 3)" in msg and "(5, 3)" in msg
    with pytest.raises(ValueError, match="target_layer"):
        d.set_weights([np.ones((4, 3), "float32")])  # wrong count
    for a, b in zip(d.get_weights(), before):  # a failed set_weights changes nothing
        np.testing.assert_array_equal(a, b)


def aligned_array(values):
    """A float32 copy of ``values`` in a freshly allocated, 64-byte aligned buffer that owns its memory (jax on
    CPU adopts such buffers without copying, which makes the aliasing test deterministic on both backends)."""
    keep = []
    while True:
        a = np.array(values, dtype="float32")
        if a.ctypes.data % 64 == 0:
            return a
        keep.append(a)


def test_set_weights_does_not_alias_the_given_arrays():
    d = built_dense(3, 4)
    ws = [aligned_array(np.ones((4, 3))), aligned_array(np.zeros(3))]
    d.set_weights(ws)
    ws[0][0, 0] = 7.0
    ws[1][0] = 5.0
    np.testing.assert_array_equal(d.get_weights()[0], np.ones((4, 3)))
    np.testing.assert_array_equal(d.get_weights()[1], np.zeros(3))


def test_get_weights_result_is_not_a_live_view():
    d = built_dense(3, 4)
    d.set_weights([np.ones((4, 3), "float32"), np.zeros(3, "float32")])
    got = d.get_weights()
    if got[0].flags.writeable:
        got[0][0, 0] = 7.0
    np.testing.assert_array_equal(d.get_weights()[0], np.ones((4, 3)))


def test_weights_argument_sets_initial_weights():
    ws = [np.full((4, 2), 0.5, "float32"), np.array([1.0, 2.0], "float32")]
    d = layers.Dense(2, weights=ws)
    out = d(X2)
    np.testing.assert_allclose(np_(out), X2 @ ws[0] + ws[1], rtol=RTOL, atol=1e-6)


def test_stateless_call_uses_given_values_and_leaves_variables():
    d = built_dense(3, 4, activation="relu")
    orig = d.get_weights()
    rng = np.random.default_rng(7)
    new = [rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(3,)).astype("float32")]
    out, non_trainable = d.stateless_call([ops.convert_to_tensor(v) for v in new], [], X2)
    assert non_trainable == []
    for a, b in zip(d.get_weights(), orig):
        np.testing.assert_array_equal(a, b)
    twin = built_dense(3, 4, activation="relu")
    twin.set_weights(new)
    np.testing.assert_allclose(np_(out), np_(twin(X2)), rtol=1e-6)
    np.testing.assert_allclose(np_(out), np.maximum(X2 @ new[0] + new[1], 0), rtol=RTOL, atol=1e-6)
    # and the layer itself still computes with its own weights
    np.testing.assert_allclose(np_(d(X2)), np.maximum(X2 @ orig[0] + orig[1], 0), rtol=RTOL, atol=1e-6)


def test_stateless_call_dropout_returns_advanced_seed_state():
    drop = layers.Dropout(0.5, seed=42)
    drop(np.ones((2, 2), "float32"))  # builds
    state = drop.non_trainable_variables
    assert len(state) == 1
    np.testing.assert_array_equal(state[0].numpy(), [42, 0])
    x = np.ones((10, 10), "float32")
    out, (new_state,) = drop.stateless_call([], [ops.convert_to_tensor(np.array([42, 5], "int32"))], x,
                                            training=True)
    np.testing.assert_array_equal(np_(new_state), [42, 6])
    np.testing.assert_array_equal(state[0].numpy(), [42, 0])  # the layer's own state is untouched
    expected = krandom.dropout(x, 0.5, seed=ops.convert_to_tensor(np.array([42, 5], "int32")))
    np.testing.assert_array_equal(np_(out), np_(expected))


# ----------------------------------------------------------------------------------------------------------------
# Dropout


def test_dropout_identity_at_inference():
    drop = layers.Dropout(0.5, seed=1)
    np.testing.assert_array_equal(np_(drop(X2)), X2)
    np.testing.assert_array_equal(np_(drop(X2, training=False)), X2)
    np.testing.assert_array_equal(np_(layers.Dropout(0.0)(X2, training=True)), X2)
    np.testing.assert_array_equal(np_(layers.Dropout(1.0)(X2, training=True)), np.zeros_like(X2))


def test_dropout_training_mask_fraction_and_scale():
    x = np.full((200, 500), 2.0, "float32")
    y = np_(layers.Dropout(0.4, seed=9)(x, training=True))
    kept = y != 0
    np.testing.assert_allclose(kept.mean(), 0.6, atol=0.01)
    np.testing.assert_allclose(y[kept], 2.0 / 0.6, rtol=1e-6)


def test_dropout_seeded_determinism_and_stream():
    x = np.ones((50, 40), "float32")
    a, b = layers.Dropout(0.3, seed=5), layers.Dropout(0.3, seed=5)
    first = np_(a(x, training=True))
    np.testing.assert_array_equal(np_(b(x, training=True)), first)
    second = np_(a(x, training=True))
    assert not np.array_equal(second, first)  # each call draws a new mask
    np.testing.assert_array_equal(np_(b(x, training=True)), second)
    # the first mask is the counter-0 draw of the seed: the backend-neutral hash
    expected = krandom.dropout(x, 0.3, seed=ops.convert_to_tensor(np.array([5, 0], "int32")))
    np.testing.assert_array_equal(first, np_(expected))
    c = layers.Dropout(0.3, seed=6)
    assert not np.array_equal(np_(c(x, training=True)), first)


def test_dropout_noise_shape():
    x = np.ones((4, 3, 200), "float32")
    y = np_(layers.Dropout(0.5, noise_shape=(None, 1, 200), seed=2)(x, training=True))
    for i in range(4):
        assert np.all(y[i] == y[i, 0])  # the same mask along axis 1
    assert not np.array_equal(y[0], y[1])


@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.5", None, True])
def test_dropout_rate_validation(rate):
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(rate)


# ----------------------------------------------------------------------------------------------------------------
# Flatten, Reshape, Activation


def test_flatten():
    x = np.arange(2 * 3 * 4 * 5, dtype="float32").reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(np_(layers.Flatten()(x)), x.reshape(2, 60))
    np.testing.assert_array_equal(np_(layers.Flatten(data_format="channels_first")(x)),
                                  x.transpose(0, 2, 3, 1).reshape(2, 60))
    np.testing.assert_array_equal(np_(layers.Flatten()(X2)), X2)
    assert layers.Flatten().compute_output_shape((None, 3, 4, 5)) == (None, 60)
    assert layers.Flatten().compute_output_shape((None, None, 4)) == (None, None)
    with pytest.raises(ValueError, match="data_format"):
        layers.Flatten(data_format="channels_middle")


def test_reshape():
    x = np.arange(2 * 12, dtype="float32").reshape(2, 12)
    np.testing.assert_array_equal(np_(layers.Reshape((3, 4))(x)), x.reshape(2, 3, 4))
    np.testing.assert_array_equal(np_(layers.Reshape((-1, 2))(x)), x.reshape(2, 6, 2))
    np.testing.assert_array_equal(np_(layers.Reshape((2, -1, 3))(x)), x.reshape(2, 2, 2, 3))
    assert layers.Reshape((-1, 2)).compute_output_shape((None, 12)) == (None, 6, 2)
    assert layers.Reshape((-1, 2)).compute_output_shape((None, None)) == (None, None, 2)
    assert layers.Reshape((3, 4)).compute_output_shape((8, 2, 6)) == (8, 3, 4)




@pytest.mark.parametrize("target", [(0, 2), (-1, -1), (3, -2), 5, "ab",
                                    (2.5, 4)])
def test_reshape_bad_target_shape(target):
    with pytest.raises(ValueError, match="target_shape"):
        layers.Reshape(target)


def test_reshape_incompatible_input():
    layer = layers.Reshape((5, 3), name="rs")
    with pytest.raises(ValueError, match=r"rs.*\(2, 12\)"):
        layer(np.ones((2, 12), "float32"))
    with pytest.raises(ValueError, match="rs"):
        layers.Reshape((5, -1), name="rs2")(np.ones((2, 12), "float32"))


def test_activation_layer():
    np.testing.assert_allclose(np_(layers.Activation("relu")(X2)), np.maximum(X2, 0))
    np.testing.assert_allclose(np_(layers.Activation("softmax")(X2)).sum(axis=-1), np.ones(5), rtol=1e-6)
    np.testing.assert_allclose(np_(layers.Activation(kshim.activations.tanh)(X2)), np.tanh(X2), rtol=RTOL)
    act = layers.Activation("relu")
    act(X2)
    assert act.built and act.weights == [] and act.count_params() == 0
    with pytest.raises(ValueError, match="relu"):
        layers.Activation("rellu")


# ----------------------------------------------------------------------------------------------------------------
# Configs


@pytest.mark.parametrize("make", [
    lambda: layers.Dense(7, activation="tanh", use_bias=False, kernel_initializer="he_normal", name="cfg_dense"),
    lambda: layers.Dense(2, kernel_initializer=initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=3),
                         trainable=False),
    lambda: layers.Dropout(0.25, noise_shape=(None, 1), seed=11),
    lambda: layers.Flatten(data_format="channels_first"),
    lambda: layers.Reshape((2, -1)),
    lambda: layers.Activation("gelu"),
    lambda: layers.Dense(4, input_shape=(9,)),
], ids=["dense", "dense_init_obj", "dropout", "flatten", "reshape", "activation", "dense_input_shape"])
def test_config_round_trip(make):
    layer = make()
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg
    assert clone.name == layer.name


def test_config_round_trip_rebuilds_same_function():
    d = layers.Dense(3, activation="relu", kernel_initializer=initializers.GlorotUniform(seed=8))
    clone = layers.Dense.from_config(d.get_config())
    np.testing.assert_array_equal(np_(clone(X2)), np_(d(X2)))
    cfg = d.get_config()
    assert cfg["units"] == 3 and cfg["activation"] == "relu" and cfg["use_bias"] is True
    assert cfg["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert cfg["bias_initializer"] == "zeros"


def test_dense_from_keras3_config():
    cfg = {"name": "d", "trainable": True,
           "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                     "registered_name": None},
           "units": 3, "activation": "relu", "use_bias": True,
           "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                  "config": {"seed": None, "input_axes": None, "output_axes": None},
                                  "registered_name": None},
           "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                                "registered_name": None},
           "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
           "quantization_config": None}
    d = layers.Dense.from_config(cfg)
    d.build((None, 4))
    assert [tuple(w.shape) for w in d.weights] == [(4, 3), (3,)]


# ----------------------------------------------------------------------------------------------------------------
# Against real Keras 3


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("keras")


@pytest.mark.parametrize("activation", [None, "relu", "gelu", "softmax"])
def test_dense_matches_keras(keras, activation):
    ours = built_dense(5, 4, activation=activation)
    ws = fixed_weights(ours, seed=3)
    theirs = keras.layers.Dense(5, activation=activation)
    theirs.build((None, 4))
    assert [tuple(w.shape) for w in theirs.weights] == [tuple(w.shape) for w in ours.weights]
    assert [w.name for w in theirs.weights] == [w.name for w in ours.weights]
    theirs.set_weights(ws)
    for x in (X2, X3):
        np.testing.assert_allclose(np_(ours(x)), np.asarray(theirs(x), np.float64), rtol=RTOL, atol=1e-6)
    assert theirs.count_params() == ours.count_params()


def test_dense_config_loads_in_keras(keras):
    ours = layers.Dense(6, activation="tanh", use_bias=False, kernel_initializer="he_uniform", name="to_keras")
    theirs = keras.layers.Dense.from_config(ours.get_config())
    assert theirs.units == 6 and theirs.use_bias is False and theirs.name == "to_keras"
    assert keras.activations.serialize(theirs.activation) == "tanh"


def test_dropout_flatten_reshape_match_keras(keras):
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_array_equal(np_(layers.Dropout(0.5)(x, training=False)),
                                  np.asarray(keras.layers.Dropout(0.5)(x, training=False)))
    np.testing.assert_array_equal(np_(layers.Flatten()(x)), np.asarray(keras.layers.Flatten()(x)))
    np.testing.assert_array_equal(np_(layers.Flatten(data_format="channels_first")(x)),
                                  np.asarray(keras.layers.Flatten(data_format="channels_first")(x)))
    np.testing.assert_array_equal(np_(layers.Reshape((-1, 2))(x)), np.asarray(keras.layers.Reshape((-1, 2))(x)))
    for layer_cls, arg in ((layers.Dropout, 0.3), (layers.Reshape, (4, 3)), (layers.Activation, "elu")):
        cfg = layer_cls(arg).get_config()
        theirs = getattr(keras.layers, layer_cls.__name__).from_config(cfg)
        back = {k: v for k, v in theirs.get_config().items()}
        assert {k: (list(v) if isinstance(v, tuple) else v) for k, v in back.items()} == \
            {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()}
