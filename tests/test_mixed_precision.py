"""Dtype policies and mixed precision against real Keras 3: policies and their configs, layers computing in
float16/bfloat16 with float32 variables, a mixed_bfloat16 fit, a mixed_float16 fit with dynamic loss scaling
(skipped steps included), `.keras` files with mixed policies in both directions."""

import contextlib
import os

import numpy as np
import pytest

import kshim
from kshim import dtype_policies, layers, mixed_precision, ops

os.environ.setdefault("KERAS_BACKEND", "jax")  # as the other parity tests: one Keras backend per pytest run
keras = pytest.importorskip("keras")


@contextlib.contextmanager
def global_policy(name):
    """Both libraries' global policy set to ``name`` for the block."""
    kshim.config.set_dtype_policy(name)
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        kshim.config.set_dtype_policy(None)
        keras.config.set_dtype_policy("float32")


# -- policies ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["float32", "float16", "bfloat16", "mixed_float16", "mixed_bfloat16",
                                  "int8_from_float32", "int8_from_mixed_bfloat16", "float8_from_mixed_float16",
                                  "int4_from_bfloat16"])
def test_policy_fields_and_configs_match_keras(name):
    ours, theirs = dtype_policies.get(name), keras.dtype_policies.get(name)
    assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode) == (
        theirs.name, theirs.compute_dtype, theirs.variable_dtype, theirs.quantization_mode)
    assert type(ours).__name__ == type(theirs).__name__
    config = keras.saving.serialize_keras_object(theirs)
    assert dtype_policies.serialize(ours) == config
    assert dtype_policies.deserialize(config) == ours
    assert repr(ours) == repr(theirs)


def test_policy_errors_and_global_policy():
    with pytest.raises(ValueError, match="mixed_float8"):
        dtype_policies.DTypePolicy("mixed_float8")
    with pytest.raises(ValueError, match="float16"):
        dtype_policies.get("int8_from_mixed_float16")
    with pytest.raises(ValueError, match="policy"):
        kshim.config.set_dtype_policy(3)
    assert kshim.config.dtype_policy().name == "float32"
    mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        assert mixed_precision.global_policy().name == "mixed_bfloat16"
        assert layers.Dense(2).dtype_policy == kshim.DTypePolicy("mixed_bfloat16")
        assert mixed_precision.Policy("mixed_float16").compute_dtype == "float16"
    finally:
        mixed_precision.set_global_policy(None)
    assert layers.Dense(2).compute_dtype == "float32"
    kshim.config.set_floatx("float16")
    try:
        assert layers.Dense(2).compute_dtype == "float16", "an unset global policy follows floatx"
    finally:
        kshim.config.set_floatx("float32")


# -- layers -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("policy, tol", [("mixed_bfloat16", 3e-2), ("mixed_float16", 3e-3),
                                         pytest.param("bfloat16", 3e-2, marks=pytest.mark.slow)])
def test_layer_outputs_and_dtypes_match_keras(policy, tol):
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    kshim.utils.set_random_seed(0)
    ours = kshim.Sequential([kshim.Input((6,)), layers.Dense(5, activation="relu", dtype=policy),
                             layers.BatchNormalization(dtype=policy), layers.Dense(3, dtype=policy),
                             layers.Activation("softmax", dtype="float32")])
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu", dtype=policy),
                               keras.layers.BatchNormalization(dtype=policy), keras.layers.Dense(3, dtype=policy),
                               keras.layers.Activation("softmax", dtype="float32")])
    theirs.set_weights(ours.get_weights())
    assert [w.dtype for w in ours.weights] == [str(w.dtype) for w in theirs.weights]
    for lo, lt in zip(ours.layers, theirs.layers):
        assert (lo.compute_dtype, lo.variable_dtype, lo.dtype) == (lt.compute_dtype, lt.variable_dtype, lt.dtype)
    inner_o = kshim.Model(ours.inputs, ours.layers[2].output)
    inner_t = keras.Model(theirs.inputs, theirs.layers[2].output)
    yo, yt = inner_o(x), inner_t(x)
    assert ops.dtype(yo) == keras.ops.dtype(yt) == dtype_policies.get(policy).compute_dtype
    np.testing.assert_allclose(np.asarray(ops.convert_to_numpy(yo), "float32"),
                               np.asarray(keras.ops.convert_to_numpy(yt), "float32"), rtol=tol, atol=tol)
    out_o, out_t = ours(x, training=True), theirs(x, training=True)
    assert ops.dtype(out_o) == "float32"
    np.testing.assert_allclose(ops.convert_to_numpy(out_o), keras.ops.convert_to_numpy(out_t), atol=tol)
    np.testing.assert_allclose(ours.layers[1].moving_mean.numpy(), theirs.layers[1].moving_mean.numpy(), atol=tol)
    assert ours.layers[1].moving_mean.dtype == dtype_policies.get(policy).variable_dtype


def test_float32_layers_are_unchanged():
    """The default policy takes the plain path: no variable casts, float32 in and out."""
    x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    d = layers.Dense(2)
    y = d(x)
    assert ops.dtype(y) == "float32" and d.kernel.dtype == "float32"
    np.testing.assert_allclose(ops.convert_to_numpy(y), x @ d.kernel.numpy() + d.bias.numpy(), rtol=1e-6)
    assert d.dtype_policy.name == "float32" and not d._mixed and not d._adapted


# -- training -----------------------------------------------------------------------------------------------------------
def _data(scale=1.0, n=32):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(n, 6)) * scale).astype("float32")
    y = (x[:, :1] * 0.5 - x[:, 1:2]).astype("float32")
    return x, y


def _pair(policy):
    with global_policy(policy):
        kshim.utils.set_random_seed(2)
        ours = kshim.Sequential([kshim.Input((6,)), layers.Dense(16, activation="relu"),
                                 layers.BatchNormalization(), layers.Dense(1, dtype="float32")])
        theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                                   keras.layers.BatchNormalization(), keras.layers.Dense(1, dtype="float32")])
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def test_mixed_bfloat16_fit_matches_keras():
    x, y = _data()
    ours, theirs = _pair("mixed_bfloat16")
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(mod.optimizers.Adam(0.01), "mse")
    assert type(ours.optimizer).__name__ == type(theirs.optimizer).__name__ == "Adam"
    h1 = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=3e-2)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, atol=3e-2)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=0.1, rtol=3e-2)


def test_mixed_float16_fit_scales_the_loss_and_skips_overflowing_steps_as_keras():
    """Large inputs overflow float16 gradients at the initial scale 2**15: the first steps are skipped (weights
    and the inner optimizer untouched, scale halved), then training proceeds; the scale doubles after
    ``dynamic_growth_steps`` finite steps. Same iterations, scale and counter as Keras; weights within float16
    tolerance."""
    x, y = _data(scale=8.0)
    ours, theirs = _pair("mixed_float16")
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(mod.optimizers.SGD(0.002, momentum=0.5), "mse")
    assert type(ours.optimizer).__name__ == type(theirs.optimizer).__name__ == "LossScaleOptimizer"
    for m in (ours.optimizer, theirs.optimizer):
        m.dynamic_growth_steps = 3
    w0 = ours.get_weights()
    h1 = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    lo, lt = ours.optimizer, theirs.optimizer
    assert int(lo.iterations.numpy()) == int(keras.ops.convert_to_numpy(lt.iterations))
    assert 0 < int(lo.iterations.numpy()) < 12  # some steps were skipped, some applied
    assert float(lo.dynamic_scale.numpy()) == float(keras.ops.convert_to_numpy(lt.dynamic_scale))
    assert int(lo.step_counter.numpy()) == int(keras.ops.convert_to_numpy(lt.step_counter))
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=2e-2)
    for a, b, a0 in zip(ours.get_weights(), theirs.get_weights(), w0):
        np.testing.assert_allclose(a, b, atol=2e-2, rtol=2e-2)
    assert any(not np.array_equal(a, a0) for a, a0 in zip(ours.get_weights(), w0))


def test_loss_scale_optimizer_skips_non_finite_gradients():
    v = kshim.Variable(np.array([1.0, 2.0], "float32"))
    opt = kshim.optimizers.LossScaleOptimizer(kshim.optimizers.SGD(0.5), initial_scale=4.0,
                                              dynamic_growth_steps=2)
    opt.apply([np.array([np.inf, 4.0], "float32")], [v])
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    assert (float(opt.dynamic_scale.numpy()), int(opt.iterations.numpy())) == (2.0, 0)
    opt.apply([np.array([2.0, 4.0], "float32")], [v])  # unscaled: [1, 2]
    np.testing.assert_allclose(v.numpy(), [0.5, 1.0])
    opt.apply([np.array([2.0, 4.0], "float32")], [v])
    assert (float(opt.dynamic_scale.numpy()), int(opt.iterations.numpy()), int(opt.step_counter.numpy())) == (
        4.0, 2, 0)
    config = keras.saving.serialize_keras_object(keras.optimizers.LossScaleOptimizer(
        keras.optimizers.SGD(0.5), initial_scale=4.0, dynamic_growth_steps=2))
    assert kshim.optimizers.serialize(opt)["config"]["inner_optimizer"]["class_name"] == "SGD"
    assert set(kshim.optimizers.serialize(opt)["config"]) == set(config["config"])
    again = kshim.optimizers.deserialize(config)
    assert (again.initial_scale, again.dynamic_growth_steps, type(again.inner_optimizer).__name__) == (4.0, 2, "SGD")
    with pytest.raises(ValueError, match="clipnorm"):
        kshim.optimizers.LossScaleOptimizer(kshim.optimizers.SGD(), clipnorm=1.0)


# -- .keras files ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_keras_files_with_mixed_policies_load_both_ways(tmp_path, policy):
    x, _ = _data(n=4)
    ours, theirs = _pair(policy)
    ours.save(tmp_path / "ours.keras")
    loaded = keras.saving.load_model(tmp_path / "ours.keras")
    assert [lay.dtype_policy.name for lay in loaded.layers] == [lay.dtype_policy.name for lay in ours.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ours.predict(x, verbose=0), atol=2e-2)
    theirs.save(tmp_path / "theirs.keras")
    back = kshim.saving.load_model(tmp_path / "theirs.keras")
    assert [lay.dtype_policy for lay in back.layers] == [kshim.DTypePolicy(lay.dtype_policy.name)
                                                         for lay in theirs.layers]
    np.testing.assert_allclose(back.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=2e-2)
