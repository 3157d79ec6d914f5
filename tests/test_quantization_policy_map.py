"""`DTypePolicyMap` against real Keras 3: lookups, errors, configs both ways, layers following the policy of their
path, and a quantized model whose block writes its sub-layers' int8 policies through a map, saved and loaded
through it in both directions."""

import json
import os

import numpy as np
import pytest

import kshim
from kshim import dtype_policies, layers

os.environ.setdefault("KERAS_BACKEND", "jax")  # as the other parity tests: one Keras backend per pytest run
keras = pytest.importorskip("keras")


def _json(obj):
    return json.loads(json.dumps(obj))


def _filled(mod, default=None):
    dp = mod.dtype_policies
    m = dp.DTypePolicyMap(default_policy=default)
    m["encoder/layer_0/dense"] = dp.DTypePolicy("bfloat16")
    m["encoder/.*"] = dp.DTypePolicy("float16")
    m["decoder"] = "int8_from_float32"
    return m


def test_lookups_fields_and_errors_match_keras():
    ours, theirs = _filled(kshim, "float32"), _filled(keras, "float32")
    for path in ("encoder/layer_0/dense", "encoder/attention/query", "decoder", "decoder/attention", "other"):
        assert ours[path].name == theirs[path].name, path
    assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode) == \
        (theirs.name, theirs.compute_dtype, theirs.variable_dtype, theirs.quantization_mode)
    assert list(ours) == list(theirs) and len(ours) == 3 and "decoder" in ours and "decoder/x" not in ours
    assert dtype_policies.DTypePolicyMap().name == "map_float32"  # the global policy by default
    ours["encoder/attention/.*"] = "bfloat16"
    with pytest.raises(ValueError, match="matches several keys"):
        ours["encoder/attention/query"]
    with pytest.raises(ValueError, match="already in the map"):
        ours["decoder"] = "float32"
    del ours["decoder"]
    assert ours["decoder"].name == "float32"
    with pytest.raises(ValueError, match="must be a dtype policy"):
        ours["x"] = 3.5
    with pytest.raises(ValueError, match="cannot be a DTypePolicyMap"):
        dtype_policies.DTypePolicyMap(default_policy=dtype_policies.DTypePolicyMap())
    with pytest.raises(TypeError, match="must be a dict"):
        dtype_policies.DTypePolicyMap(policy_map=[("a", "float32")])


@pytest.mark.parametrize("default", [None, "mixed_bfloat16"])
def test_configs_match_keras_both_ways(default):
    ours, theirs = _filled(kshim, default), _filled(keras, default)
    written = _json(dtype_policies.serialize(ours))
    assert written == _json(keras.saving.serialize_keras_object(theirs))
    back = dtype_policies.deserialize(written)
    assert isinstance(back, dtype_policies.DTypePolicyMap) and list(back) == list(ours)
    kshim.config.set_dtype_policy("mixed_bfloat16")  # a map without a default follows the loading process's policy
    try:
        again = dtype_policies.deserialize(written)
        assert again["encoder/.*"].name == ("float16" if default else "mixed_bfloat16")
        assert again["decoder"].name == ("int8_from_float32" if default else "int8_from_mixed_bfloat16")
        assert again.default_policy.name == "mixed_bfloat16"
    finally:
        kshim.config.set_dtype_policy(None)
    assert dtype_policies.get(written)["decoder"].quantization_mode == "int8"


def _block_class(mod):
    """A block whose config names its quantized sub-layers through a DTypePolicyMap (Keras 3's documented use)."""
    class MapBlock(mod.layers.Layer):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.d1 = mod.layers.Dense(units, activation="relu", dtype=self.dtype_policy, name="d1")
            self.d2 = mod.layers.Dense(units, dtype=self.dtype_policy, name="d2")

        def build(self, shape):
            self.d1.build(tuple(shape))
            self.d2.build(tuple(shape[:-1]) + (self.units,))

        def call(self, x):
            return self.d2(self.d1(x))

        def get_config(self):
            config = {**super().get_config(), "units": self.units}
            policy_map = mod.dtype_policies.DTypePolicyMap()
            for layer in (self.d1, self.d2):
                if layer.dtype_policy.quantization_mode is not None:
                    policy_map[layer.path] = layer.dtype_policy
            if len(policy_map):
                config["dtype"] = policy_map
            return config

    return mod.saving.register_keras_serializable(package="policy_map_test")(MapBlock)


@pytest.fixture(scope="module")
def quantized():
    models = []
    for mod in (kshim, keras):
        block = _block_class(mod)
        inp = mod.Input((3,))
        models.append(mod.Model(inp, mod.layers.Dense(2, name="head")(block(name="blk")(inp))))
    ours, theirs = models
    kshim.utils.set_random_seed(9)
    theirs.set_weights(ours.get_weights())
    for model in models:
        model.quantize("int8")
    x = np.random.default_rng(2).normal(size=(5, 3)).astype("float32")
    return ours, theirs, x


def test_layers_follow_the_policy_of_their_path(quantized):
    ours, theirs, _ = quantized
    blk = ours.get_layer("blk")
    assert (blk.d1.path, blk.d2.path, blk.path) == (theirs.get_layer("blk").d1.path, "blk/d2", "blk")
    assert _json(kshim.saving.serialize_keras_object(blk.get_config()["dtype"])) == \
        _json(keras.saving.serialize_keras_object(theirs.get_layer("blk").get_config()["dtype"]))
    m = dtype_policies.DTypePolicyMap(default_policy="float32", policy_map={"d.*": "mixed_bfloat16"})
    assert layers.Dense(2, dtype=m, name="dense_x").compute_dtype == "bfloat16"
    assert layers.Dense(2, dtype=m, name="other").compute_dtype == "float32"
    assert layers.Dense(2, dtype=m, name="dq").get_config()["dtype"]["class_name"] == "DTypePolicyMap"


def test_quantized_block_loads_through_the_map_both_ways(quantized, tmp_path):
    ours, theirs, x = quantized
    expected = theirs.predict(x, verbose=0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    theirs.save(tmp_path / "theirs.keras")
    back = kshim.saving.load_model(tmp_path / "theirs.keras")
    blk = back.get_layer("blk")
    assert isinstance(blk.dtype_policy, dtype_policies.DTypePolicyMap)
    assert (blk.d1.quantization_mode, blk.d1.dtype_policy.name) == ("int8", "map_float32")
    reference = keras.saving.load_model(tmp_path / "theirs.keras")
    assert [(w.path, w.dtype) for w in back.weights] == [(w.path, str(w.dtype)) for w in reference.weights]
    assert [w.dtype for w in blk.d1.weights] == ["float32", "int8", "float32"]  # bias, kernel, kernel_scale
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    ours.save(tmp_path / "ours.keras")
    loaded = keras.saving.load_model(tmp_path / "ours.keras")
    assert loaded.get_layer("blk").d2.quantization_mode == "int8"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
