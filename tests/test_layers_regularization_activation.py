"""Regularization layers (SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout,
ActivityRegularization), activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax), and weight regularizers and
constraints during fit, against real Keras 3 and numpy."""

import math
import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
X3 = RNG.normal(size=(3, 5, 4)).astype("float32")
BIG = (RNG.uniform(0.5, 1.5, size=(64, 6, 6, 32))).astype("float32")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


# ----------------------------------------------------------------------------------------------------------------
# Spatial dropout


@pytest.mark.parametrize("cls,shape,data_format,channel_axis", [
    ("SpatialDropout1D", (32, 10, 16), None, 2),
    ("SpatialDropout2D", (16, 6, 6, 16), None, 3),
    ("SpatialDropout2D", (16, 16, 6, 6), "channels_first", 1),
    ("SpatialDropout3D", (8, 3, 4, 5, 16), None, 4),
])
def test_spatial_dropout_drops_whole_channels(cls, shape, data_format, channel_axis):
    x = np.random.default_rng(1).uniform(0.5, 1.5, size=shape).astype("float32")
    kwargs = {} if data_format is None else {"data_format": data_format}
    layer = getattr(layers, cls)(0.4, seed=7, **kwargs)
    np.testing.assert_array_equal(np_(layer(x)), x)  # inference: identity
    y = np_(layer(x, training=True))
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.6, rtol=1e-6)
    # one decision per (sample, channel): all-kept or all-dropped over the other axes
    other = tuple(i for i in range(1, len(shape)) if i != channel_axis)
    per_channel = kept.mean(axis=other)
    assert set(np.unique(per_channel)) <= {0.0, 1.0}
    assert 0.25 < 1 - per_channel.mean() < 0.55
    # seeded: a new layer with the same seed draws the same masks; successive calls differ
    again = getattr(layers, cls)(0.4, seed=7, **kwargs)
    np.testing.assert_array_equal(np_(again(x, training=True)), y)
    assert not np.array_equal(np_(again(x, training=True)), y)


def test_spatial_dropout_config_and_errors():
    cfg = layers.SpatialDropout2D(0.3, data_format="channels_first", seed=3).get_config()
    keras_cfg = keras.layers.SpatialDropout2D(0.3, data_format="channels_first", seed=3).get_config()
    for key in ("rate", "seed", "data_format"):
        assert cfg[key] == keras_cfg[key]
    assert layers.SpatialDropout2D.from_config(cfg).get_config() == cfg
    assert "data_format" not in layers.SpatialDropout1D(0.2).get_config()
    for bad in (1.5, -0.1, "half"):
        with pytest.raises(ValueError, match="`rate`"):
            layers.SpatialDropout1D(bad)
    with pytest.raises(ValueError, match="incompatible"):
        layers.SpatialDropout2D(0.5)(X3, training=True)


# ----------------------------------------------------------------------------------------------------------------
# Gaussian noise / dropout, alpha dropout


def test_gaussian_noise_statistics_identity_and_seed():
    layer = layers.GaussianNoise(0.5, seed=3)
    np.testing.assert_array_equal(np_(layer(BIG)), BIG)
    noise = np_(layer(BIG, training=True)) - BIG
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.5) < 0.01
    np.testing.assert_array_equal(np_(layers.GaussianNoise(0.5, seed=3)(BIG, training=True)), BIG + noise)
    assert layers.GaussianNoise(0.0)(BIG, training=True) is not None
    cfg = layers.GaussianNoise(0.5, seed=3).get_config()
    assert (cfg["stddev"], cfg["seed"]) == (0.5, 3)
    with pytest.raises(ValueError, match="`stddev`"):
        layers.GaussianNoise(-0.1)


def test_gaussian_dropout_statistics_identity_and_seed():
    layer = layers.GaussianDropout(0.2, seed=5)
    np.testing.assert_array_equal(np_(layer(BIG)), BIG)
    factor = np_(layer(BIG, training=True)) / BIG
    assert abs(factor.mean() - 1) < 0.01 and abs(factor.std() - math.sqrt(0.2 / 0.8)) < 0.01
    np.testing.assert_allclose(np_(layers.GaussianDropout(0.2, seed=5)(BIG, training=True)), BIG * factor,
                               rtol=1e-6)
    cfg = layers.GaussianDropout(0.2, seed=5).get_config()
    assert (cfg["rate"], cfg["seed"]) == (0.2, 5)
    for bad in (1.0, 2, -0.5):
        with pytest.raises(ValueError, match="`rate`"):
            layers.GaussianDropout(bad)


def test_alpha_dropout_keeps_mean_and_variance():
    x = np.random.default_rng(2).normal(size=(200000,)).astype("float32")
    layer = layers.AlphaDropout(0.2, seed=1)
    np.testing.assert_array_equal(np_(layer(x)), x)
    y = np_(layer(x, training=True)).astype(np.float64)
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * 0.2
    dropped = np.isclose(y, a * alpha_p + b, atol=1e-6)
    assert 0.18 < dropped.mean() < 0.22
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="`rate`"):
        layers.AlphaDropout(1.2)


def test_random_layers_inside_fit_are_seeded():
    """Two runs from the same seeds train to the same weights (the seed state travels through the step)."""
    x = RNG.normal(size=(32, 4)).astype("float32")
    y = RNG.normal(size=(32, 1)).astype("float32")

    def run():
        kshim.utils.set_random_seed(4)
        model = kshim.Sequential([kshim.Input((4,)), layers.Dense(8), layers.GaussianNoise(0.3),
                                  layers.GaussianDropout(0.2), layers.AlphaDropout(0.1), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        return model.get_weights()

    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------------------------------------
# ActivityRegularization and weight regularizers


def test_activity_regularization_matches_keras():
    ours, theirs = layers.ActivityRegularization(l1=0.1, l2=0.05), keras.layers.ActivityRegularization(l1=0.1,
                                                                                                        l2=0.05)
    np.testing.assert_array_equal(np_(ours(X3)), X3)
    theirs(X3)
    assert len(ours.losses) == 1
    x = X3.astype(np.float64)
    expected = (0.1 * np.abs(x).sum() + 0.05 * (x ** 2).sum()) / x.shape[0]  # Keras 3 divides by the batch size
    assert float(np_(ours.losses[0])) == pytest.approx(expected, rel=1e-5)
    assert float(np_(ours.losses[0])) == pytest.approx(float(theirs.losses[0]), rel=1e-5)
    cfg = ours.get_config()
    assert (cfg["l1"], cfg["l2"]) == (0.1, 0.05) and "activity_regularizer" not in cfg
    assert layers.ActivityRegularization.from_config(cfg).get_config() == cfg


def _dense_pair(mod, **kwargs):
    kshim.utils.set_random_seed(2)
    return mod.Sequential([mod.Input((4,)), mod.layers.Dense(3, activation="tanh", **kwargs), mod.layers.Dense(1)])


REG_CASES = [
    dict(kernel_regularizer="l2"),
    dict(kernel_regularizer="l1", bias_regularizer="l2", bias_initializer="ones"),
    dict(kernel_regularizer="L1L2", activity_regularizer="l2"),
    dict(kernel_regularizer=("L1L2", dict(l1=0.02, l2=0.03)), bias_regularizer=("L1", dict(l1=0.2)),
         activity_regularizer=("L2", dict(l2=0.05)), bias_initializer="ones"),
]


def _resolve(mod, kwargs):
    out = {}
    for k, v in kwargs.items():
        out[k] = getattr(mod.regularizers, v[0])(**v[1]) if isinstance(v, tuple) else v
    return out


@pytest.mark.parametrize("kwargs", REG_CASES)
def test_weight_and_activity_regularizers_in_losses_and_fit_match_keras(kwargs):
    x = RNG.normal(size=(40, 4)).astype("float32")
    y = RNG.normal(size=(40, 1)).astype("float32")
    ours = _dense_pair(kshim, **_resolve(kshim, kwargs))
    theirs = _dense_pair(keras, **_resolve(keras, kwargs))
    theirs.set_weights(ours.get_weights())
    ours(x[:8]), theirs(x[:8])
    expected_n = sum(k in kwargs for k in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"))
    assert len(ours.losses) == expected_n == len(theirs.losses)
    np.testing.assert_allclose(sorted(float(np_(l)) for l in ours.losses),
                               sorted(float(l) for l in theirs.losses), rtol=1e-5)
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(optimizer=mod.optimizers.SGD(0.1), loss="mse")
    e1, e2 = ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0)
    plain = float(np.mean((ours.predict(x, verbose=0) - y) ** 2))
    assert e1 > plain  # the regularization is part of the reported loss
    assert e1 == pytest.approx(e2, rel=1e-4)
    h1 = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


CONSTRAINTS = [
    ("MaxNorm", dict(max_value=0.5), lambda w: np.all(np.sqrt((w ** 2).sum(axis=0)) <= 0.5 + 1e-5)),
    ("NonNeg", {}, lambda w: np.all(w >= 0)),
    ("UnitNorm", {}, lambda w: np.allclose(np.sqrt((w ** 2).sum(axis=0)), 1.0, atol=1e-5)),
    ("MinMaxNorm", dict(min_value=0.8, max_value=0.9), lambda w: np.all(
        (np.sqrt((w ** 2).sum(axis=0)) >= 0.8 - 1e-5) & (np.sqrt((w ** 2).sum(axis=0)) <= 0.9 + 1e-5))),
]


@pytest.mark.parametrize("name,kwargs,holds", CONSTRAINTS)
def test_constraints_are_applied_after_each_update_during_fit(name, kwargs, holds):
    x = RNG.normal(size=(24, 4)).astype("float32")
    y = RNG.normal(size=(24, 1)).astype("float32")
    ours = _dense_pair(kshim, kernel_constraint=getattr(kshim.constraints, name)(**kwargs),
                       bias_constraint="non_neg")
    theirs = _dense_pair(keras, kernel_constraint=getattr(keras.constraints, name)(**kwargs),
                         bias_constraint="non_neg")
    theirs.set_weights(ours.get_weights())
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(optimizer=mod.optimizers.SGD(0.2), loss="mse")
    seen = []

    class Check(kshim.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(bool(holds(self.model.layers[0].kernel.numpy())) and
                        bool(np.all(self.model.layers[0].bias.numpy() >= 0)))

    ours.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0, callbacks=[Check()])
    theirs.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    assert seen and all(seen)  # after every single update
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------------------------
# Activation layers


ACT_CASES = [
    ("ReLU", {}),
    ("ReLU", dict(max_value=1.0)),
    ("ReLU", dict(negative_slope=0.1, threshold=0.5)),
    ("ReLU", dict(max_value=2.0, negative_slope=0.2, threshold=0.3)),
    ("LeakyReLU", {}),
    ("LeakyReLU", dict(negative_slope=0.05)),
    ("ELU", {}),
    ("ELU", dict(alpha=0.5)),
    ("Softmax", {}),
    ("Softmax", dict(axis=1)),
    ("Softmax", dict(axis=(1, 2))),
]


@pytest.mark.parametrize("name,kwargs", ACT_CASES)
def test_activation_layers_match_keras(name, kwargs):
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    np.testing.assert_allclose(np_(ours(X3)), np.asarray(theirs(X3)), rtol=2e-4, atol=1e-6)
    assert ours.weights == [] and ours.supports_masking
    assert tuple(ours.compute_output_shape((None, 5, 4))) == (None, 5, 4)
    cfg = ours.get_config()
    for key, value in theirs.get_config().items():
        if key not in ("name", "dtype"):
            assert cfg[key] == (list(value) if isinstance(value, tuple) else value), key
    np.testing.assert_array_equal(np_(type(ours).from_config(cfg)(X3)), np_(ours(X3)))


def test_leaky_relu_default_and_keras2_alpha():
    assert layers.LeakyReLU().negative_slope == 0.3
    x = np.array([-2.0, 0.0, 3.0], "float32")
    np.testing.assert_allclose(np_(layers.LeakyReLU()(x)), [-0.6, 0.0, 3.0], rtol=1e-6)
    with pytest.warns(DeprecationWarning, match="alpha"):
        old = layers.LeakyReLU(alpha=0.1)
    assert old.negative_slope == 0.1
    np.testing.assert_allclose(np_(old(x)), [-0.2, 0.0, 3.0], rtol=1e-6)


def test_relu_formula_against_numpy():
    x = np.linspace(-3, 3, 25).astype("float32")
    y = np_(layers.ReLU(max_value=2.0, negative_slope=0.25, threshold=1.0)(x))
    expected = np.where(x >= 2.0, 2.0, np.where(x > 1.0, x, 0.25 * (x - 1.0)))
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shared_axes,alpha_shape", [(None, (5, 4)), ([1], (1, 4)), (1, (1, 4)), ([1, 2], (1, 1))])
def test_prelu_weights_and_values_match_keras(shared_axes, alpha_shape):
    ours, theirs = layers.PReLU(shared_axes=shared_axes), keras.layers.PReLU(shared_axes=shared_axes)
    ours.build(X3.shape)
    theirs.build(X3.shape)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [("alpha", alpha_shape)]
    assert [(w.name, tuple(w.shape)) for w in theirs.weights] == [("alpha", alpha_shape)]
    np.testing.assert_array_equal(ours.get_weights()[0], 0.0)  # alpha_initializer="Zeros"
    alpha = RNG.uniform(0.1, 0.5, size=alpha_shape).astype("float32")
    ours.set_weights([alpha])
    theirs.set_weights([alpha])
    y = np_(ours(X3))
    np.testing.assert_allclose(y, np.asarray(theirs(X3)), rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(y, np.where(X3 > 0, X3, alpha * X3), rtol=1e-6, atol=1e-7)


def test_prelu_regularizer_constraint_and_config():
    layer = layers.PReLU(alpha_initializer=kshim.initializers.Constant(0.25), alpha_regularizer="l2",
                         alpha_constraint="non_neg", shared_axes=[1])
    layer.build((None, 5, 4))
    np.testing.assert_array_equal(layer.get_weights()[0], np.full((1, 4), 0.25))
    assert float(np_(layer.losses[0])) == pytest.approx(0.01 * 4 * 0.0625, rel=1e-6)
    cfg = layer.get_config()
    keras_cfg = keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25), alpha_regularizer="l2",
                                   alpha_constraint="non_neg", shared_axes=[1]).get_config()
    assert cfg["shared_axes"] == keras_cfg["shared_axes"] == [1]
    for key in ("alpha_initializer", "alpha_regularizer", "alpha_constraint"):
        assert cfg[key]["class_name"] == keras_cfg[key]["class_name"]
    again = layers.PReLU.from_config(cfg)
    again.build((None, 5, 4))
    np.testing.assert_array_equal(again.get_weights()[0], np.full((1, 4), 0.25))


def test_softmax_mask_matches_keras():
    mask = RNG.uniform(size=X3.shape) > 0.3
    mask[0, 0] = False  # a fully masked row gives zeros
    ours, theirs = layers.Softmax(), keras.layers.Softmax()
    y = np_(ours(X3, mask=mask))
    np.testing.assert_allclose(y, np.asarray(theirs(X3, mask=mask)), rtol=2e-4, atol=1e-7)
    np.testing.assert_array_equal(y[~mask], 0.0)
    np.testing.assert_allclose(y[1:].sum(axis=-1), np.where(mask[1:].any(-1), 1.0, 0.0), rtol=1e-5)
    small = mask[:, :, :1]  # broadcasts over the last axis
    np.testing.assert_allclose(np_(ours(X3, mask=small)), np.asarray(theirs(X3, mask=small)), rtol=2e-4, atol=1e-7)
    with pytest.raises(ValueError, match="mask"):
        ours(X3, mask=np.ones((3, 5), bool))


@pytest.mark.parametrize("make,arg", [
    (lambda: layers.ReLU(max_value=-1.0), "max_value"),
    (lambda: layers.ReLU(negative_slope=-0.1), "negative_slope"),
    (lambda: layers.ReLU(negative_slope=None), "negative_slope"),
    (lambda: layers.ReLU(threshold=-1.0), "threshold"),
    (lambda: layers.LeakyReLU(negative_slope=-0.2), "negative_slope"),
    (lambda: layers.LeakyReLU(negative_slope=None), "negative_slope"),
    (lambda: layers.ELU(alpha="one"), "alpha"),
    (lambda: layers.PReLU(shared_axes=[0]), "shared_axes"),
    (lambda: layers.Softmax(axis="last"), "axis"),
    (lambda: layers.ActivityRegularization(l1=-1.0), "l1"),
])
def test_bad_arguments_raise_value_error(make, arg):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        make()
