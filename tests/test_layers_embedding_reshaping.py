"""Embedding, Masking and the reshaping layers (Permute, RepeatVector, UpSampling1D/2D, ZeroPadding1D/2D,
Cropping1D/2D) against real Keras 3 and numpy: weights, outputs, masks, configs, output shapes and argument
errors."""

import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
X3 = RNG.normal(size=(3, 5, 4)).astype("float32")
X4 = RNG.normal(size=(2, 4, 5, 3)).astype("float32")
IDS = RNG.integers(0, 10, size=(3, 7)).astype("int32")
IDS[0, -2:] = 0


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


# ----------------------------------------------------------------------------------------------------------------
# Embedding


def test_embedding_weight_default_initializer_and_lookup():
    kshim.utils.set_random_seed(0)
    emb = layers.Embedding(10, 4, name="emb")
    assert not emb.built
    out = emb(IDS)
    assert [(w.name, w.path, tuple(w.shape)) for w in emb.weights] == [("embeddings", "emb/embeddings", (10, 4))]
    table = emb.get_weights()[0]
    assert np.all(np.abs(table) <= 0.05) and np.abs(table).max() > 0.03  # RandomUniform(-0.05, 0.05)
    np.testing.assert_array_equal(np_(out), table[IDS])
    assert tuple(ops.shape(out)) == (3, 7, 4) and ops.dtype(out) == "float32"
    np.testing.assert_array_equal(np_(emb(IDS.astype("float32"))), table[IDS])  # float indices are cast


def test_embedding_matches_keras_and_mask_zero():
    ours, theirs = layers.Embedding(10, 4, mask_zero=True), keras.layers.Embedding(10, 4, mask_zero=True)
    ours.build(None)
    theirs.build(None)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_array_equal(np_(ours(IDS)), np.asarray(theirs(IDS)))
    mask = np_(ours.compute_mask(ops.convert_to_tensor(IDS)))
    np.testing.assert_array_equal(mask, IDS != 0)
    np.testing.assert_array_equal(mask, np.asarray(theirs.compute_mask(IDS)))
    assert ours.supports_masking
    plain = layers.Embedding(10, 4)
    assert plain.compute_mask(ops.convert_to_tensor(IDS)) is None and not plain.supports_masking


def test_embedding_mask_flows_through_sequential_to_batchnorm():
    """The Embedding's mask reaches BatchNormalization's masked moments, as in Keras."""
    def model(mod):
        return mod.Sequential([mod.Input((7,), dtype="int32"), mod.layers.Embedding(10, 3, mask_zero=True),
                               mod.layers.BatchNormalization()])

    ours, theirs = model(kshim), model(keras)
    theirs.set_weights(ours.get_weights())
    ids = IDS.copy()
    ids[1, :3] = 0
    np.testing.assert_allclose(np_(ours(ids, training=True)), np.asarray(theirs(ids, training=True)), rtol=2e-4,
                               atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-6)


def test_embedding_input_length_is_keras2_compatible():
    with pytest.warns(DeprecationWarning, match="input_length"):
        emb = layers.Embedding(10, 4, input_length=7)
    model = kshim.Sequential([emb, layers.Flatten(), layers.Dense(1)])
    assert model.input_shape == (None, 7)
    assert model.layers[1].output_shape == (None, 28)
    assert model.output_shape == (None, 1)
    assert tuple(ops.shape(model(IDS))) == (3, 1)


def test_embedding_weights_regularizer_constraint_and_config():
    table = RNG.normal(size=(6, 2)).astype("float32")
    emb = layers.Embedding(6, 2, weights=[table], embeddings_regularizer=kshim.regularizers.L2(0.1),
                           embeddings_constraint="non_neg")
    assert emb.built
    np.testing.assert_array_equal(emb.get_weights()[0], table)
    assert float(np_(emb.losses[0])) == pytest.approx(0.1 * float(np.sum(table.astype(np.float64) ** 2)), rel=1e-5)
    np.testing.assert_array_equal(np_(emb.embeddings.constraint(emb.embeddings)), np.maximum(table, 0))
    emb2 = layers.Embedding(6, 2, weights=table)  # a bare array, as Keras accepts
    np.testing.assert_array_equal(emb2.get_weights()[0], table)
    cfg = emb.get_config()
    keras_cfg = keras.layers.Embedding(6, 2, embeddings_regularizer=keras.regularizers.L2(0.1),
                                       embeddings_constraint="non_neg").get_config()
    for key in ("input_dim", "output_dim", "mask_zero"):
        assert cfg[key] == keras_cfg[key]
    for key in ("embeddings_initializer", "embeddings_regularizer", "embeddings_constraint"):
        assert cfg[key]["class_name"] == keras_cfg[key]["class_name"]
    again = layers.Embedding.from_config(cfg)
    assert again.get_config() == cfg
    assert keras.layers.Embedding.from_config(cfg).output_dim == 2
    assert layers.Embedding(10, 3).compute_output_shape((None, 7)) == (None, 7, 3)


@pytest.mark.parametrize("kwargs,arg", [({"input_dim": 0, "output_dim": 2}, "input_dim"),
                                        ({"input_dim": 3, "output_dim": 2.5}, "output_dim"),
                                        ({"input_dim": True, "output_dim": 2}, "input_dim")])
def test_embedding_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        layers.Embedding(**kwargs)


# ----------------------------------------------------------------------------------------------------------------
# Masking


def test_masking_zeros_masked_timesteps_and_produces_the_mask():
    x = X3.copy()
    x[:, 1, :] = 0.0
    x[0, 3, :] = 0.0
    x[2, 4, 0] = 0.0  # one zero feature does not mask the timestep
    ours, theirs = layers.Masking(), keras.layers.Masking()
    np.testing.assert_array_equal(np_(ours(x)), np.asarray(theirs(x)))
    mask = np_(ours.compute_mask(ops.convert_to_tensor(x)))
    expected = np.any(x != 0, axis=-1)
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(mask, np.asarray(theirs.compute_mask(x)))
    y = x.copy()
    y[:, 2, :] = -1.0
    out = np_(layers.Masking(mask_value=-1.0)(y))
    np.testing.assert_array_equal(out[:, 2], 0.0)
    np.testing.assert_array_equal(out[:, 0], y[:, 0])
    assert layers.Masking(-1.0).get_config()["mask_value"] == -1.0
    with pytest.raises(ValueError, match="`mask_value`"):
        layers.Masking(mask_value="zero")


def test_masking_mask_reaches_batchnorm_in_sequential_as_in_keras():
    x = X3.copy()
    x[:, 0, :] = 0.0
    x[1, 3, :] = 0.0

    def model(mod):
        return mod.Sequential([mod.Input((5, 4)), mod.layers.Masking(), mod.layers.BatchNormalization()])

    ours, theirs = model(kshim), model(keras)
    np.testing.assert_allclose(np_(ours(x, training=True)), np.asarray(theirs(x, training=True)), rtol=2e-4,
                               atol=1e-5)
    bn = ours.layers[1]
    kept = x[np.any(x != 0, axis=-1)].astype(np.float64)  # the moments use the unmasked timesteps only
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * kept.mean(axis=0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.asarray(theirs.layers[1].moving_mean), rtol=1e-4,
                               atol=1e-7)


# ----------------------------------------------------------------------------------------------------------------
# Reshaping layers against Keras 3

CASES = [
    ("Permute", dict(dims=(2, 1)), X3),
    ("Permute", dict(dims=(3, 1, 2)), X4),
    ("RepeatVector", dict(n=3), X3[:, 0]),
    ("UpSampling1D", dict(size=3), X3),
    ("UpSampling2D", dict(size=(2, 3)), X4),
    ("UpSampling2D", dict(size=2, data_format="channels_first"), X4),
    ("UpSampling2D", dict(size=(2, 3), interpolation="bilinear"), X4),
    ("UpSampling2D", dict(size=(3, 2), interpolation="bilinear", data_format="channels_first"), X4),
    ("ZeroPadding1D", dict(padding=2), X3),
    ("ZeroPadding1D", dict(padding=(1, 3), data_format="channels_first"), X3),
    ("ZeroPadding2D", dict(padding=1), X4),
    ("ZeroPadding2D", dict(padding=(1, 2)), X4),
    ("ZeroPadding2D", dict(padding=((1, 0), (2, 3)), data_format="channels_first"), X4),
    ("Cropping1D", dict(cropping=(1, 2)), X3),
    ("Cropping1D", dict(cropping=1), X3),
    ("Cropping2D", dict(cropping=1), X4),
    ("Cropping2D", dict(cropping=((1, 0), (0, 2))), X4),
    ("Cropping2D", dict(cropping=((0, 1), (1, 0)), data_format="channels_first"), X4),
]


@pytest.mark.parametrize("name,kwargs,x", CASES)
def test_reshaping_layer_matches_keras(name, kwargs, x):
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    y1, y2 = np_(ours(x)), np.asarray(theirs(x))
    assert y1.shape == y2.shape
    np.testing.assert_allclose(y1, y2, rtol=2e-4, atol=1e-6)
    assert ours.weights == []
    sym_shape = (None,) + x.shape[1:]
    assert tuple(ours.compute_output_shape(sym_shape)) == tuple(theirs.compute_output_shape(sym_shape))
    assert tuple(ours.compute_output_shape(x.shape)) == y1.shape
    cfg = ours.get_config()
    keras_cfg = theirs.get_config()
    for key in keras_cfg:
        if key not in ("name", "dtype", "trainable"):
            assert tuple(np.ravel(cfg[key])) == tuple(np.ravel(keras_cfg[key])) if not isinstance(
                cfg[key], str) else cfg[key] == keras_cfg[key], key
    again = type(ours).from_config(cfg)
    np.testing.assert_array_equal(np_(again(x)), y1)
    np.testing.assert_allclose(np.asarray(getattr(keras.layers, name).from_config(cfg)(x)), y1, rtol=2e-4, atol=1e-6)


def test_bilinear_upsampling_against_numpy():
    x = np.arange(6, dtype="float32").reshape(1, 2, 3, 1)
    y = np_(layers.UpSampling2D(size=2, interpolation="bilinear")(x))[0, :, :, 0]
    # half-pixel centers: output row i samples input row clip((i + 0.5) / 2 - 0.5, 0, n - 1)
    rows = np.clip((np.arange(4) + 0.5) / 2 - 0.5, 0, 1)
    cols = np.clip((np.arange(6) + 0.5) / 2 - 0.5, 0, 2)
    img = x[0, :, :, 0].astype(np.float64)
    tmp = np.array([[np.interp(r, np.arange(2), img[:, k]) for k in range(3)] for r in rows])
    expected = np.array([[np.interp(c, np.arange(3), tmp[i]) for c in cols] for i in range(4)])
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


def test_reshaping_layers_in_a_symbolic_sequential():
    model = kshim.Sequential([kshim.Input((4, 5, 3)), layers.ZeroPadding2D(1), layers.Cropping2D(((1, 0), (0, 2))),
                              layers.UpSampling2D(2), layers.Permute((3, 1, 2))])
    assert model.output_shape == (None, 3, 10, 10)
    assert tuple(ops.shape(model(X4))) == (2, 3, 10, 10)
    seq = kshim.Sequential([kshim.Input((4,)), layers.RepeatVector(3), layers.UpSampling1D(2),
                            layers.ZeroPadding1D((0, 1)), layers.Cropping1D((2, 0))])
    assert seq.output_shape == (None, 5, 4)
    assert seq.layers[0].compute_output_shape((None, 4)) == (None, 3, 4)


@pytest.mark.parametrize("make,arg", [
    (lambda: layers.Permute((1, 3)), "dims"),
    (lambda: layers.Permute((0, 1)), "dims"),
    (lambda: layers.RepeatVector(0), "n"),
    (lambda: layers.RepeatVector(2.5), "n"),
    (lambda: layers.UpSampling1D(0), "size"),
    (lambda: layers.UpSampling2D((2, 0)), "size"),
    (lambda: layers.UpSampling2D(2, interpolation="cubic"), "interpolation"),
    (lambda: layers.UpSampling2D(2, data_format="nhwc"), "data_format"),
    (lambda: layers.ZeroPadding1D(-1), "padding"),
    (lambda: layers.ZeroPadding1D((1, 2, 3)), "padding"),
    (lambda: layers.ZeroPadding2D((1, 2, 3)), "padding"),
    (lambda: layers.ZeroPadding2D(-2), "padding"),
    (lambda: layers.Cropping1D((1, -1)), "cropping"),
    (lambda: layers.Cropping2D(((1, 2), (3,))), "cropping"),
    (lambda: layers.Cropping2D(-1), "cropping"),
])
def test_bad_arguments_raise_value_error(make, arg):
    with pytest.raises(ValueError, match=f"`{arg}"):
        make()


def test_cropping_too_much_raises():
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping1D((3, 2))(X3)
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping2D(((2, 2), (0, 0))).compute_output_shape((None, 4, 5, 3))
    with pytest.raises(ValueError, match="incompatible"):
        layers.RepeatVector(2)(X3)


def test_keras_files_interoperate_with_keras(tmp_path):
    """A model of these layers saved by kshim loads in Keras 3 with the same outputs, and back."""
    L = layers
    model = kshim.Sequential([
        kshim.Input((6,), dtype="int32"), L.Embedding(10, 4, mask_zero=True), L.BatchNormalization(),
        L.LayerNormalization(), L.PReLU(), L.Permute((2, 1)), L.UpSampling1D(2), L.ZeroPadding1D(1),
        L.Cropping1D(1), L.GaussianNoise(0.1), L.Softmax(), L.Flatten(), L.Dense(2)])
    ids = RNG.integers(0, 10, size=(5, 6))
    model.save(tmp_path / "ours.keras")
    theirs = keras.saving.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(np.asarray(theirs(ids)), np_(model(ids)), rtol=1e-5, atol=1e-6)
    theirs.save(tmp_path / "theirs.keras")
    back = kshim.saving.load_model(tmp_path / "theirs.keras")
    np.testing.assert_allclose(np_(back(ids)), np_(model(ids)), rtol=1e-5, atol=1e-6)
    assert [type(l).__name__ for l in back.layers] == [type(l).__name__ for l in model.layers]
