"""Normalization layers (BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization) against
real Keras 3: weight names/shapes/order, outputs in inference and training, BatchNormalization's moving statistics
(direct calls and inside fit), trainable=False, masks, configs, output shapes and argument errors."""

import os
import warnings

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RTOL, ATOL = 2e-4, 1e-5
RNG = np.random.default_rng(0)
X4 = (RNG.normal(size=(3, 5, 6, 4)) * 2 + 1).astype("float32")
X3 = (RNG.normal(size=(4, 5, 6)) * 1.5 - 0.5).astype("float32")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


def random_weights(layer, seed=1):
    """Random values for every weight of a built layer (variances positive)."""
    rng = np.random.default_rng(seed)
    ws = []
    for w in layer.weights:
        if "variance" in w.name or "stddev" in w.name:
            ws.append(rng.uniform(0.5, 2.0, size=w.shape).astype("float32"))
        else:
            ws.append(rng.normal(size=w.shape).astype("float32"))
    layer.set_weights(ws)
    return ws


def pair(name, input_shape, seed=1, **kwargs):
    """(kshim layer, Keras layer), both built for ``input_shape``, sharing random weights."""
    ours = getattr(layers, name)(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(keras.layers, name)(**kwargs)
    ours.build(input_shape)
    theirs.build(input_shape)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]
    theirs.set_weights(random_weights(ours, seed))
    return ours, theirs


def assert_close(a, b, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np_(a) if not isinstance(a, np.ndarray) else a, np.asarray(b), rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------------------------------------------
# BatchNormalization


def test_batchnorm_weights_names_shapes_order_and_defaults():
    bn = layers.BatchNormalization(name="bn")
    bn.build((None, 7))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.path for w in bn.weights] == ["bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    assert all(tuple(w.shape) == (7,) for w in bn.weights)
    np.testing.assert_array_equal(bn.get_weights()[0], np.ones(7))
    np.testing.assert_array_equal(bn.get_weights()[1], np.zeros(7))
    np.testing.assert_array_equal(bn.get_weights()[2], np.zeros(7))
    np.testing.assert_array_equal(bn.get_weights()[3], np.ones(7))
    assert (bn.momentum, bn.epsilon) == (0.99, 1e-3)
    no_affine = layers.BatchNormalization(center=False, scale=False)
    no_affine.build((None, 3, 5))
    assert [w.name for w in no_affine.weights] == ["moving_mean", "moving_variance"]


@pytest.mark.parametrize("kwargs,shape", [
    ({}, X4.shape), ({"axis": 1, "center": False}, X4.shape), ({"axis": -2}, X3.shape),
    ({"scale": False, "momentum": 0.5, "epsilon": 0.1}, X3.shape),
])
def test_batchnorm_matches_keras_inference_and_training(kwargs, shape):
    x = X4 if shape == X4.shape else X3
    ours, theirs = pair("BatchNormalization", shape, **kwargs)
    assert_close(ours(x), theirs(x))  # inference: moving statistics
    assert_close(ours(x, training=False), theirs(x, training=False))
    y1, y2 = ours(x, training=True), theirs(x, training=True)
    assert_close(y1, y2)
    assert_close(ours.moving_mean.numpy(), theirs.moving_mean.numpy())
    assert_close(ours.moving_variance.numpy(), theirs.moving_variance.numpy())
    # a second training call keeps following Keras's moving averages
    ours(x * 0.5, training=True), theirs(x * 0.5, training=True)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert_close(a, b)


def test_batchnorm_training_formula_against_numpy():
    ours = layers.BatchNormalization(momentum=0.8, epsilon=0.01)
    ours.build(X3.shape)
    gamma, beta, mm, mv = random_weights(ours, 3)
    x = X3.astype(np.float64)
    mean, var = x.mean(axis=(0, 1)), x.var(axis=(0, 1))
    out = ours(X3, training=True)
    np.testing.assert_allclose(np_(out), (x - mean) / np.sqrt(var + 0.01) * gamma + beta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.moving_mean.numpy(), mm * 0.8 + mean * 0.2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.moving_variance.numpy(), mv * 0.8 + var * 0.2, rtol=1e-5, atol=1e-6)
    # inference uses the (updated) moving statistics and leaves them alone
    mm2, mv2 = ours.moving_mean.numpy(), ours.moving_variance.numpy()
    np.testing.assert_allclose(np_(ours(X3)), (x - mm2) / np.sqrt(mv2 + 0.01) * gamma + beta, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ours.moving_mean.numpy(), mm2)


def test_batchnorm_masked_moments_match_keras():
    ours, theirs = pair("BatchNormalization", X3.shape)
    mask = RNG.uniform(size=X3.shape[:2]) > 0.3
    assert_close(ours(X3, training=True, mask=mask), theirs(X3, training=True, mask=mask))
    assert_close(ours.moving_mean.numpy(), theirs.moving_mean.numpy())
    assert_close(ours.moving_variance.numpy(), theirs.moving_variance.numpy())
    with pytest.raises(ValueError, match="mask"):
        ours(X3, training=True, mask=np.ones(X3.shape, bool))


def test_batchnorm_renorm_matches_keras():
    kwargs = dict(renorm=True, renorm_clipping={"rmax": 1.5, "rmin": 0.7, "dmax": 0.4}, renorm_momentum=0.8)
    ours, theirs = pair("BatchNormalization", X4.shape, **kwargs)
    assert [w.name for w in ours.weights][4:] == ["moving_stddev", "renorm_mean", "renorm_stddev"]
    for scale in (1.0, 0.3):
        assert_close(ours(X4 * scale, training=True), theirs(X4 * scale, training=True))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert_close(a, b)
    assert_close(ours(X4), theirs(X4))


def test_batchnorm_trainable_false_runs_in_inference_mode():
    ours, theirs = pair("BatchNormalization", X3.shape)
    ours.trainable = theirs.trainable = False
    before = ours.get_weights()
    y = ours(X3, training=True)
    assert_close(y, ours(X3, training=False), rtol=0, atol=0)
    assert_close(y, theirs(X3, training=True))
    for a, b in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert ours.trainable_weights == [] and len(ours.non_trainable_weights) == 4
    ours.trainable = True
    ours(X3, training=True)
    assert not np.array_equal(before[2], ours.moving_mean.numpy())
    # constructed non-trainable
    frozen = layers.BatchNormalization(trainable=False)
    frozen.build(X3.shape)
    assert frozen.trainable_weights == [] and [w.name for w in frozen.weights][:2] == ["gamma", "beta"]


def _bn_model(mod, trainable=True):
    return mod.Sequential([mod.Input((5,)), mod.layers.Dense(4), mod.layers.BatchNormalization(
        momentum=0.9, trainable=trainable), mod.layers.Dense(1)])


@pytest.mark.parametrize("trainable", [True, False])
def test_batchnorm_in_sequential_fit_matches_keras(trainable):
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(64, 5)) * 3 + 2).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    kshim.utils.set_random_seed(1)
    ours, theirs = _bn_model(kshim, trainable), _bn_model(keras, trainable)
    theirs.set_weights(ours.get_weights())
    bn = ours.layers[1]
    start = [w.numpy() for w in bn.weights]
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="mse")
    h1 = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    moved = [not np.array_equal(a, w.numpy()) for a, w in zip(start, bn.weights)]
    assert moved == ([True] * 4 if trainable else [False] * 4)
    # predict uses the moving statistics
    h = x @ ours.layers[0].kernel.numpy() + ours.layers[0].bias.numpy()
    gamma, beta, mm, mv = bn.get_weights()
    expected = ((h - mm) / np.sqrt(mv + 1e-3) * gamma + beta) @ ours.layers[2].kernel.numpy() + \
        ours.layers[2].bias.numpy()
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=RTOL, atol=ATOL)


def test_batchnorm_gamma_regularizer_and_constraint():
    bn = layers.BatchNormalization(gamma_regularizer=kshim.regularizers.L2(0.5), beta_constraint="non_neg")
    bn.build((None, 3))
    bn.set_weights([np.array([1.0, 2.0, -1.0], "float32"), np.zeros(3, "float32"), np.zeros(3, "float32"),
                    np.ones(3, "float32")])
    assert len(bn.losses) == 1 and float(np_(bn.losses[0])) == pytest.approx(0.5 * 6.0)
    assert isinstance(bn.beta.constraint, kshim.constraints.NonNeg)


# ----------------------------------------------------------------------------------------------------------------
# LayerNormalization, GroupNormalization, UnitNormalization


@pytest.mark.parametrize("kwargs", [{}, {"axis": 1}, {"axis": [1, 2]}, {"center": False}, {"scale": False},
                                    {"epsilon": 0.5}, {"rms_scaling": True}])
def test_layernorm_matches_keras(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = pair("LayerNormalization", X3.shape, **kwargs)
    assert_close(ours(X3), theirs(X3))
    assert_close(ours(X3, training=True), theirs(X3, training=True))


def test_layernorm_weights_and_formula():
    ln = layers.LayerNormalization(axis=[1, 2])
    ln.build((None, 5, 6))
    assert [(w.name, tuple(w.shape)) for w in ln.weights] == [("gamma", (5, 6)), ("beta", (5, 6))]
    assert ln.epsilon == 1e-3 and ln.axis == [1, 2]
    gamma, beta = random_weights(ln)
    x = X3.astype(np.float64)
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(np_(ln(X3)), (x - mean) / np.sqrt(var + 1e-3) * gamma + beta, rtol=1e-4, atol=1e-5)
    with pytest.warns(UserWarning, match="rms_scaling"):
        rms = layers.LayerNormalization(rms_scaling=True)
    rms.build((None, 6))
    assert [w.name for w in rms.weights] == ["gamma"]


@pytest.mark.parametrize("kwargs,x", [({"groups": 2}, X4), ({"groups": 5, "axis": 1, "center": False}, X4),
                                      ({"groups": -1, "epsilon": 0.2}, X4)])
def test_groupnorm_matches_keras(kwargs, x):
    ours, theirs = pair("GroupNormalization", x.shape, **kwargs)
    assert_close(ours(x), theirs(x))


def test_groupnorm_formula_and_instance_norm():
    gn = layers.GroupNormalization(groups=3)
    gn.build((None, 5, 6))
    assert [(w.name, tuple(w.shape)) for w in gn.weights] == [("gamma", (6,)), ("beta", (6,))]
    gamma, beta = random_weights(gn)
    x = X3.astype(np.float64).reshape(4, 5, 3, 2)
    mean, var = x.mean(axis=(1, 3), keepdims=True), x.var(axis=(1, 3), keepdims=True)
    expected = ((x - mean) / np.sqrt(var + 1e-3)).reshape(4, 5, 6) * gamma + beta
    np.testing.assert_allclose(np_(gn(X3)), expected, rtol=1e-4, atol=1e-5)
    inst = layers.GroupNormalization(groups=-1)
    inst.build((None, 5, 6))
    assert inst.groups == 6


@pytest.mark.parametrize("axis", [-1, 1, [1, 2]])
def test_unitnorm_matches_keras_and_has_unit_norm(axis):
    ours, theirs = layers.UnitNormalization(axis=axis), keras.layers.UnitNormalization(axis=axis)
    y = ours(X3)
    assert_close(y, theirs(X3))
    ax = tuple(axis) if isinstance(axis, list) else axis
    np.testing.assert_allclose(np.sqrt(np.sum(np_(y) ** 2, axis=ax)), 1.0, rtol=1e-5)
    assert ours.weights == []


# ----------------------------------------------------------------------------------------------------------------
# Configs, shapes, errors

CONFIGS = [
    ("BatchNormalization", dict(axis=1, momentum=0.9, epsilon=0.01, center=False, gamma_initializer="he_normal",
                                gamma_regularizer="l2", gamma_constraint="non_neg")),
    ("LayerNormalization", dict(axis=[1, 2], epsilon=0.1, beta_initializer="ones", beta_regularizer="l1")),
    ("GroupNormalization", dict(groups=4, axis=-1, epsilon=0.01, scale=False)),
    ("UnitNormalization", dict(axis=[1, 2])),
]


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_config_round_trips_and_interoperates_with_keras(name, kwargs):
    ours = getattr(layers, name)(**kwargs)
    cfg = ours.get_config()
    again = getattr(layers, name).from_config(cfg)
    assert again.get_config() == {**cfg, "name": again.name} or again.get_config() == cfg
    theirs = getattr(keras.layers, name)(**kwargs)
    keras_cfg = theirs.get_config()
    assert set(cfg) >= set(keras_cfg) - {"renorm", "renorm_clipping", "renorm_momentum"}
    for key in keras_cfg:
        if key in ("name", "dtype") or key not in cfg:
            continue
        if isinstance(cfg[key], dict):  # serialized objects: same class, our config a subset of Keras's
            assert cfg[key]["class_name"] == keras_cfg[key]["class_name"], key
            for k, v in cfg[key]["config"].items():
                assert keras_cfg[key]["config"][k] == (pytest.approx(v) if isinstance(v, float) else v), key
        else:
            assert cfg[key] == keras_cfg[key], key
    # each side reads the other's config
    keras_from_ours = getattr(keras.layers, name).from_config(cfg)
    ours_from_keras = getattr(layers, name).from_config(keras_cfg)
    assert keras_from_ours.get_config()["epsilon" if "epsilon" in cfg else "axis"] == \
        ours_from_keras.get_config()["epsilon" if "epsilon" in cfg else "axis"]


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_compute_output_shape_matches_keras(name, kwargs):
    shape = (None, 6, 8)
    ours = getattr(layers, name)(**{**kwargs, "axis": kwargs["axis"] if name != "BatchNormalization" else -1})
    theirs = getattr(keras.layers, name)(**{**kwargs, "axis": kwargs["axis"] if name != "BatchNormalization" else -1})
    assert tuple(ours.compute_output_shape(shape)) == tuple(theirs.compute_output_shape(shape))
    model = kshim.Sequential([kshim.Input((6, 8)), ours])
    assert model.output_shape == (None, 6, 8)


@pytest.mark.parametrize("make,arg", [
    (lambda: layers.BatchNormalization(momentum=1.5), "momentum"),
    (lambda: layers.BatchNormalization(epsilon=-1), "epsilon"),
    (lambda: layers.BatchNormalization(axis="x"), "axis"),
    (lambda: layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 1, "rmin": 2}), "renorm_clipping"),
    (lambda: layers.BatchNormalization(renorm=True, renorm_clipping={"bad": 1}), "renorm_clipping"),
    (lambda: layers.LayerNormalization(axis=1.5), "axis"),
    (lambda: layers.LayerNormalization(epsilon="small"), "epsilon"),
    (lambda: layers.GroupNormalization(groups=0), "groups"),
    (lambda: layers.GroupNormalization(groups=2.0), "groups"),
    (lambda: layers.UnitNormalization(axis="last"), "axis"),
])
def test_bad_arguments_raise_value_error(make, arg):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        make()


def test_bad_shapes_raise_value_error():
    with pytest.raises(ValueError, match="groups"):
        layers.GroupNormalization(groups=4).build((None, 6))
    with pytest.raises(ValueError, match="out of bounds"):
        layers.BatchNormalization(axis=3).build((None, 6))
    with pytest.raises(ValueError, match="out of bounds"):
        layers.LayerNormalization(axis=4).compute_output_shape((None, 6))
    bn = layers.BatchNormalization()
    bn.build((None, 6))
    with pytest.raises(ValueError, match="incompatible"):
        bn(np.zeros((2, 5), "float32"))
