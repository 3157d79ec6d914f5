"""Convolution layers (Conv1D/2D/3D, Conv*Transpose, DepthwiseConv*, SeparableConv*) against real Keras 3: weight
names, shapes and order; outputs and gradients (wrt the input and every weight) with identical weights;
compute_output_shape; argument validation; get_config/from_config. Also the ops they rest on, against numpy."""

import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
jax = pytest.importorskip("jax")

RTOL, ATOL = 2e-4, 2e-5


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _weights_for(layer, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=tuple(w.shape)).astype("float32") for w in layer.weights]


def _kshim_grads(layer, x, w):
    def loss(params):
        y, _ = layer.stateless_call(params[1:], [], params[0])
        return ops.sum(ops.multiply(y, w))

    params = [ops.convert_to_tensor(x)] + [ops.convert_to_tensor(v) for v in layer.get_weights()]
    grads = ops.compile_step(lambda p: ops.value_and_grad(loss)(p)[1])(params)  # jax: one compile, not many
    return [_np(g) for g in grads]


def _keras_grads(layer, x, w):
    import jax.numpy as jnp

    def loss(x, tv):
        y, _ = layer.stateless_call(tv, [], x)
        return jnp.sum(y * w)

    gx, gw = jax.jit(jax.grad(loss, argnums=(0, 1)))(jnp.asarray(x), [v.value for v in layer.trainable_variables])
    return [np.asarray(gx)] + [np.asarray(g) for g in gw]


def check_against_keras(name, kwargs, input_shape, seed=0):
    """Build kshim's and Keras's layer, copy kshim's weights into Keras's, compare everything."""
    ours = getattr(layers, name)(**kwargs)
    # Keras's weights are overwritten below; zeros initializers spare jax a random-number compile per shape.
    fast = {k: "zeros" for k in ("kernel_initializer", "depthwise_initializer", "pointwise_initializer")
            if k in ours.get_config()}
    theirs = getattr(keras.layers, name)(**kwargs, **fast)
    ours.build((None,) + input_shape[1:])
    theirs.build((None,) + input_shape[1:])
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    ours.set_weights(_weights_for(ours, seed))
    theirs.set_weights(ours.get_weights())
    x = np.random.default_rng(seed + 100).normal(size=input_shape).astype("float32")
    out, ref = _np(ours(x)), np.asarray(theirs(x))
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
    assert tuple(ours.compute_output_shape(input_shape)) == out.shape
    assert tuple(ours.compute_output_shape((None,) + input_shape[1:])) == (None,) + out.shape[1:]
    assert tuple(ours.compute_output_shape((None,) + input_shape[1:])) == tuple(
        theirs.compute_output_shape((None,) + input_shape[1:]))
    w = np.random.default_rng(seed + 200).normal(size=out.shape).astype("float32")
    mine, keras_g = _kshim_grads(ours, x, w), _keras_grads(theirs, x, w)
    assert len(mine) == len(keras_g) == 1 + len(ours.weights)
    for g, r in zip(mine, keras_g):
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL * max(1.0, np.abs(r).max()))
    return ours, out


CASES = [
    # Conv1D: strides, dilation, same/valid/causal, channels_first, groups, odd sizes
    ("Conv1D", dict(filters=4, kernel_size=3), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 10, 3)),
    ("Conv1D", dict(filters=4, kernel_size=5, strides=3, padding="same", activation="tanh"), (2, 11, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, dilation_rate=2, padding="causal"), (2, 9, 3)),
    ("Conv1D", dict(filters=6, kernel_size=2, padding="causal", data_format="channels_first"), (2, 4, 9)),
    ("Conv1D", dict(filters=6, kernel_size=3, groups=2, use_bias=False), (2, 9, 4)),
    # Conv2D
    ("Conv2D", dict(filters=4, kernel_size=3), (2, 7, 8, 3)),
    ("Conv2D", dict(filters=4, kernel_size=(3, 2), strides=(2, 1), padding="same"), (2, 7, 9, 3)),
    ("Conv2D", dict(filters=4, kernel_size=4, strides=3, padding="same"), (2, 10, 11, 2)),
    ("Conv2D", dict(filters=4, kernel_size=3, dilation_rate=2, padding="same"), (2, 9, 8, 3)),
    ("Conv2D", dict(filters=4, kernel_size=3, dilation_rate=(2, 1)), (2, 9, 8, 3)),
    ("Conv2D", dict(filters=6, kernel_size=3, strides=2, groups=3, data_format="channels_first",
                    activation="relu"), (2, 6, 9, 7)),
    ("Conv2D", dict(filters=5, kernel_size=1, use_bias=False), (2, 5, 5, 3)),
    # Conv3D
    ("Conv3D", dict(filters=4, kernel_size=2), (2, 4, 5, 6, 3)),
    ("Conv3D", dict(filters=4, kernel_size=3, strides=2, padding="same", data_format="channels_first"),
     (2, 3, 5, 6, 7)),
    ("Conv3D", dict(filters=4, kernel_size=(1, 2, 3), groups=2), (2, 3, 4, 5, 2)),
    # Transposed
    ("Conv1DTranspose", dict(filters=4, kernel_size=3), (2, 6, 3)),
    ("Conv1DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 6, 3)),
    ("Conv1DTranspose", dict(filters=4, kernel_size=4, strides=3, output_padding=1), (2, 5, 3)),
    ("Conv1DTranspose", dict(filters=4, kernel_size=3, dilation_rate=2, padding="same"), (2, 6, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same", output_padding=1), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=(3, 4), strides=(2, 3), padding="same",
                             data_format="channels_first"), (2, 3, 5, 4)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=2, strides=3), (2, 4, 5, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=5, strides=2, padding="same", output_padding=0,
                             activation="sigmoid"), (2, 5, 5, 2)),
    ("Conv3DTranspose", dict(filters=3, kernel_size=2, strides=2), (2, 3, 4, 3, 2)),
    ("Conv3DTranspose", dict(filters=3, kernel_size=3, strides=(1, 2, 2), padding="same",
                             data_format="channels_first"), (2, 2, 3, 4, 3)),
    # Depthwise
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2), (2, 9, 3)),
    ("DepthwiseConv1D", dict(kernel_size=3, strides=2, padding="same", data_format="channels_first"), (2, 3, 9)),
    ("DepthwiseConv2D", dict(kernel_size=3), (2, 7, 7, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 7, 8, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, dilation_rate=2, padding="same", data_format="channels_first"),
     (2, 3, 9, 8)),
    # Separable
    ("SeparableConv1D", dict(filters=5, kernel_size=3, depth_multiplier=2), (2, 9, 3)),
    ("SeparableConv1D", dict(filters=5, kernel_size=3, strides=2, padding="same"), (2, 10, 3)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3), (2, 7, 8, 3)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3, strides=2, padding="same", depth_multiplier=2,
                             data_format="channels_first"), (2, 3, 9, 8)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3, dilation_rate=2, activation="relu"), (2, 9, 9, 3)),
]


@pytest.mark.parametrize("name,kwargs,input_shape", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(name, kwargs, input_shape):
    check_against_keras(name, kwargs, input_shape)


def test_weight_names_paths_and_order():
    conv = layers.Conv2D(8, 3, name="c")
    conv.build((None, 10, 10, 3))
    assert [w.path for w in conv.weights] == ["c/kernel", "c/bias"]
    assert conv.kernel is conv.weights[0] and conv.bias is conv.weights[1]
    sep = layers.SeparableConv2D(8, 3, depth_multiplier=2, name="s")
    sep.build((None, 10, 10, 3))
    assert [(w.path, tuple(w.shape)) for w in sep.weights] == [
        ("s/depthwise_kernel", (3, 3, 3, 2)), ("s/pointwise_kernel", (1, 1, 6, 8)), ("s/bias", (8,))]
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2)
    dw.build((None, 10, 10, 3))
    assert [w.name for w in dw.weights] == ["kernel", "bias"] and dw.depthwise_kernel is dw.kernel
    assert dw.count_params() == 3 * 3 * 3 * 2 + 6


def test_default_initializers_are_glorot_uniform_over_the_receptive_field_and_zeros():
    conv = layers.Conv2D(16, 3)
    conv.build((None, 8, 8, 4))
    kernel, bias = conv.get_weights()
    limit = np.sqrt(6 / (9 * 4 + 9 * 16))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.8 * limit
    np.testing.assert_array_equal(bias, 0)


def test_conv2d_matches_a_direct_numpy_convolution():
    layer = layers.Conv2D(2, (2, 3), strides=(1, 2), use_bias=False)
    layer.build((None, 5, 7, 3))
    (w,) = _weights_for(layer, 3)
    layer.set_weights([w])
    x = np.random.default_rng(4).normal(size=(1, 5, 7, 3)).astype("float32")
    out = _np(layer(x))
    ref = np.zeros((1, 4, 3, 2))
    for i in range(4):
        for j in range(3):
            ref[0, i, j] = np.einsum("hwc,hwco->o", x[0, i:i + 2, 2 * j:2 * j + 3], w)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_causal_conv1d_output_depends_only_on_the_past():
    layer = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = np.random.default_rng(5).normal(size=(1, 12, 2)).astype("float32")
    base = _np(layer(x))
    x2 = x.copy()
    x2[0, 7:] += 10.0
    changed = np.abs(_np(layer(x2)) - base).max(axis=-1)[0] > 0
    assert base.shape == (1, 12, 2)
    assert not changed[:7].any() and changed[7:].all()


def test_grouped_conv_groups_do_not_mix():
    layer = layers.Conv2D(4, 3, groups=2, use_bias=False)
    x = np.random.default_rng(6).normal(size=(2, 6, 6, 4)).astype("float32")
    base = _np(layer(x))
    x2 = x.copy()
    x2[..., 2:] = 0.0  # the second group's inputs
    out = _np(layer(x2))
    np.testing.assert_allclose(out[..., :2], base[..., :2], rtol=1e-6, atol=1e-6)
    assert np.abs(out[..., 2:] - base[..., 2:]).max() > 0


@pytest.mark.parametrize("padding,output_padding,strides,kernel,expected", [
    ("valid", None, 2, 3, 11), ("valid", None, 3, 2, 15), ("valid", 1, 2, 3, 12),
    ("same", None, 2, 3, 10), ("same", 0, 2, 3, 9), ("same", 1, 2, 4, 9), ("same", None, 3, 5, 15),
])
def test_conv_transpose_output_length_formula(padding, output_padding, strides, kernel, expected):
    layer = layers.Conv1DTranspose(2, kernel, strides=strides, padding=padding, output_padding=output_padding)
    out = layer(np.ones((1, 5, 1), "float32"))
    assert tuple(ops.shape(out)) == (1, expected, 2)
    assert layer.compute_output_shape((None, 5, 1)) == (None, expected, 2)
    assert layer.compute_output_shape((None, None, 1)) == (None, None, 2)


def test_symbolic_shapes_with_unknown_spatial_dims():
    x = kshim.Input((None, None, 3))
    y = layers.Conv2D(4, 3, strides=2, padding="same")(x)
    assert tuple(y.shape) == (None, None, None, 4)
    y = layers.Conv2DTranspose(2, 3, strides=2)(y)
    assert tuple(y.shape) == (None, None, None, 2)
    assert layers.Conv2D(4, 3).compute_output_shape((None, 5, None, 3)) == (None, 3, None, 4)
    assert layers.DepthwiseConv2D(3, depth_multiplier=2, data_format="channels_first").compute_output_shape(
        (None, 3, 8, 8)) == (None, 6, 6, 6)


def test_cnn_in_a_sequential_model_matches_keras():
    def build(mod):
        return mod.Sequential([
            mod.Input((12, 12, 1)), mod.layers.Conv2D(4, 3, activation="relu"), mod.layers.MaxPooling2D(),
            mod.layers.SeparableConv2D(6, 3, padding="same"), mod.layers.GlobalAveragePooling2D(),
            mod.layers.Dense(3)])

    ours, theirs = build(kshim), build(keras)
    assert ours.count_params() == theirs.count_params()
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    x = np.random.default_rng(7).normal(size=(4, 12, 12, 1)).astype("float32")
    np.testing.assert_allclose(_np(ours(x)), np.asarray(theirs(x)), rtol=RTOL, atol=ATOL)


def test_regularizers_and_constraints_are_applied():
    layer = layers.Conv2D(3, 2, kernel_regularizer=kshim.regularizers.L2(0.1), bias_regularizer="l1")
    layer.build((None, 4, 4, 2))
    layer.set_weights(_weights_for(layer, 8))
    kernel, bias = layer.get_weights()
    losses = [float(_np(v)) for v in layer.losses]
    np.testing.assert_allclose(sorted(losses), sorted([0.1 * np.sum(kernel ** 2), 0.01 * np.sum(np.abs(bias))]),
                               rtol=1e-5)
    assert layer.kernel.constraint is None
    layer = layers.Conv1D(2, 2, kernel_constraint="non_neg")
    layer.build((None, 5, 2))
    assert layer.kernel.constraint is not None


# ----------------------------------------------------------------------------------------------------------------
# Argument validation (Keras 3 raises ValueError for each of these; kshim names the argument and the value)


@pytest.mark.parametrize("make,match", [
    (lambda: layers.Conv2D(4, 0), r"`kernel_size`.*kernel_size=0"),
    (lambda: layers.Conv2D(0, 3), r"`filters`.*filters=0"),
    (lambda: layers.Conv2D(-2, 3), r"`filters`.*filters=-2"),
    (lambda: layers.Conv2D(4, 3, padding="sme"), r"`padding`.*padding='sme'"),
    (lambda: layers.Conv2D(4, 3, padding="causal"), r"`padding`.*padding='causal'"),
    (lambda: layers.Conv2D(4, (3, 3, 3)), r"`kernel_size`.*kernel_size=\(3, 3, 3\)"),
    (lambda: layers.Conv2D(4, 3, strides=0), r"`strides`.*strides=0"),
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), r"`strides`.*`dilation_rate`"),
    (lambda: layers.Conv2D(4, 3, groups=3), r"`filters`.*`groups`"),
    (lambda: layers.Conv2D(4, 3, groups=0), r"`groups`.*groups=0"),
    (lambda: layers.Conv2D(4, 3, data_format="channels_middle"), r"`data_format`.*channels_middle"),
    (lambda: layers.Conv2D(4, 3.5), r"`kernel_size`.*kernel_size=3.5"),
    (lambda: layers.Conv1D(4, 3, padding="full"), r"`padding`.*padding='full'"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2), r"`output_padding`"),
    (lambda: layers.Conv2DTranspose(4, 3, padding="causal"), r"`padding`.*padding='causal'"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), r"`depth_multiplier`.*depth_multiplier=0"),
    (lambda: layers.SeparableConv2D(0, 3), r"`filters`.*filters=0"),
    (lambda: layers.Conv2D(4, 3, kernel_initializer="glorot_unifrom"), r"glorot_unifrom"),
])
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="divisible by `groups`"):
        layers.Conv2D(4, 3, groups=2).build((None, 8, 8, 3))
    with pytest.raises(ValueError, match="zero or negative"):
        layers.Conv2D(4, 5)(np.zeros((1, 3, 3, 1), "float32"))
    with pytest.raises(ValueError, match="channel dimension"):
        layers.Conv2D(4, 3).build((None, 8, 8, None))
    conv = layers.Conv2D(4, 3)
    conv(np.zeros((1, 5, 5, 2), "float32"))
    with pytest.raises(ValueError, match="incompatible"):
        conv(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="ndim=4"):
        conv(np.zeros((5, 5, 2), "float32"))


# ----------------------------------------------------------------------------------------------------------------
# Configs


CONFIG_CASES = [
    ("Conv1D", dict(filters=3, kernel_size=2, padding="causal", dilation_rate=2, activation="relu")),
    ("Conv2D", dict(filters=4, kernel_size=(3, 2), strides=2, padding="same", groups=2, use_bias=False,
                    kernel_regularizer="l2", kernel_initializer="he_normal")),
    ("Conv3D", dict(filters=2, kernel_size=2, data_format="channels_first")),
    ("Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2, output_padding=1)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same")),
    ("Conv3DTranspose", dict(filters=3, kernel_size=2)),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=3, depthwise_regularizer="l1")),
    ("SeparableConv1D", dict(filters=3, kernel_size=3, depth_multiplier=2)),
    ("SeparableConv2D", dict(filters=3, kernel_size=3, pointwise_initializer="zeros", activation="tanh")),
]


@pytest.mark.parametrize("name,kwargs", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_round_trip_and_keys_match_keras(name, kwargs):
    layer = getattr(layers, name)(**kwargs)
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg
    theirs = getattr(keras.layers, name)(**kwargs).get_config()
    assert set(cfg) == set(theirs)
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
                "depth_multiplier", "output_padding", "activation", "use_bias"):
        if key in theirs:
            assert cfg[key] == theirs[key], key
    # Keras's own config builds a kshim layer, and the reverse.
    assert type(layer).from_config({k: v for k, v in theirs.items() if k != "name"}).get_config().keys() == cfg.keys()
    getattr(keras.layers, name).from_config({k: v for k, v in cfg.items() if k != "name"})


def test_aliases_are_the_same_classes():
    assert layers.Convolution2D is layers.Conv2D and layers.Convolution1DTranspose is layers.Conv1DTranspose
    assert layers.SeparableConvolution2D is layers.SeparableConv2D


# ----------------------------------------------------------------------------------------------------------------
# The ops


def test_ops_conv_accepts_upper_case_padding_and_default_data_format():
    x = np.random.default_rng(9).normal(size=(1, 6, 6, 2)).astype("float32")
    k = np.random.default_rng(10).normal(size=(3, 3, 2, 4)).astype("float32")
    a = _np(ops.conv(x, k, 2, "SAME"))
    b = _np(ops.conv(x, k, strides=(2, 2), padding="same", data_format="channels_last"))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1, 3, 3, 4)
    with pytest.raises(ValueError, match="`padding`"):
        ops.conv(x, k, padding="full")
    with pytest.raises(ValueError, match="multiple"):
        ops.conv(x, np.zeros((3, 3, 3, 4), "float32"))


def test_ops_separable_conv_is_depthwise_then_pointwise():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(2, 7, 7, 3)).astype("float32")
    dk = rng.normal(size=(3, 3, 3, 2)).astype("float32")
    pk = rng.normal(size=(1, 1, 6, 4)).astype("float32")
    y = _np(ops.separable_conv(x, dk, pk, 2, "same"))
    ref = np.einsum("bhwc,co->bhwo", _np(ops.depthwise_conv(x, dk, 2, "same")), pk[0, 0])
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_ops_fused_bias_equals_adding_it_afterwards(data_format):
    rng = np.random.default_rng(12)
    first = data_format == "channels_first"
    x = rng.normal(size=(2, 3, 5, 4) if first else (2, 5, 4, 3)).astype("float32")
    b = rng.normal(size=(6,)).astype("float32")
    shape_b = (6, 1, 1) if first else (6,)
    cases = [
        (lambda bias: ops.conv(x, rng_k((3, 3, 3, 6)), 2, "same", data_format, bias=bias)),
        (lambda bias: ops.depthwise_conv(x, rng_k((2, 2, 3, 2)), 1, "valid", data_format, bias=bias)),
        (lambda bias: ops.conv_transpose(x, rng_k((2, 2, 6, 3)), 3, "valid", None, data_format, bias=bias)),
        (lambda bias: ops.conv_transpose(x, rng_k((3, 3, 6, 3)), 2, "same", 1, data_format, bias=bias)),
        (lambda bias: ops.separable_conv(x, rng_k((3, 3, 3, 1)), rng_k((1, 1, 3, 6)), 1, "same", data_format,
                                         bias=bias)),
    ]
    for fn in cases:
        np.testing.assert_allclose(_np(fn(b)), _np(fn(None)) + b.reshape(shape_b), rtol=1e-5, atol=1e-5)


def rng_k(shape):
    """Fixed kernel values for ``shape`` (the same array for the fused and the separate call)."""
    return np.random.default_rng(int(np.prod(shape))).normal(size=shape).astype("float32")
