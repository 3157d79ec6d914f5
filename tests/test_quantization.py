"""int8 quantization against real Keras 3: the quantizer functions, `model.quantize("int8")` on Dense and
Embedding (int8 weights bit for bit, scales, predictions), `.keras` files of quantized models both ways; int4 on
Dense and Embedding (bit for bit, files both ways)."""

import json
import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops, quantizers

os.environ.setdefault("KERAS_BACKEND", "jax")  # as the other parity tests: one Keras backend per pytest run
keras = pytest.importorskip("keras")


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def test_abs_max_quantize_matches_keras_bit_for_bit():
    x = np.random.default_rng(0).normal(size=(5, 7)).astype("float32") * 3
    for axis, to_numpy in ((-1, False), (0, True), ((0, 1), False)):
        q, s = quantizers.abs_max_quantize(x, axis=axis, to_numpy=to_numpy)
        kq, ks = keras.quantizers.abs_max_quantize(x, axis=axis, to_numpy=to_numpy)
        assert ops.dtype(q) == "int8"
        np.testing.assert_array_equal(ops.convert_to_numpy(q), _np(kq))
        np.testing.assert_allclose(ops.convert_to_numpy(s), _np(ks), rtol=1e-6)
    q, s = quantizers.AbsMaxQuantizer(axis=0)(x)
    np.testing.assert_array_equal(ops.convert_to_numpy(q), _np(keras.quantizers.AbsMaxQuantizer(axis=0)(x)[0]))
    assert quantizers.AbsMaxQuantizer(axis=0).get_config() == keras.quantizers.AbsMaxQuantizer(axis=0).get_config()
    with pytest.raises(ValueError, match="value_range"):
        quantizers.AbsMaxQuantizer(value_range=(-300, 300))


def test_float8_helpers_and_fake_quant_match_keras():
    amax = np.array([0.0, 2.0, np.inf, 10.0], "float32")
    scale = np.array([0.5, 1.0, 2.0, 4.0], "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(quantizers.compute_float8_scale(amax, scale, 448.0, margin=1)),
                               _np(keras.quantizers.compute_float8_scale(amax, scale, 448.0, margin=1)), rtol=1e-6)
    hist = np.array([1.0, 2.0, 3.0], "float32")
    x = np.array([[-5.0, 4.0]], "float32")
    np.testing.assert_array_equal(ops.convert_to_numpy(quantizers.compute_float8_amax_history(x, hist)),
                                  _np(keras.quantizers.compute_float8_amax_history(x, hist)))
    # Off the rounding ties (x = -1.75 sits on one: the backends' fused multiply-adds break it differently).
    x = (np.linspace(-3, 3, 25) + 0.013).astype("float32").reshape(5, 5)
    for kw in ({"num_bits": 4, "narrow_range": True},):
        np.testing.assert_allclose(
            ops.convert_to_numpy(quantizers.fake_quant_with_min_max_vars(x, -2.0, 1.5, **kw)),
            _np(keras.quantizers.fake_quant_with_min_max_vars(x, -2.0, 1.5, **kw)), rtol=1e-6, atol=1e-6)
    mins, maxs = np.array([-1, -2, -3, -1, 0], "float32"), np.array([1, 2, 1, 3, 2], "float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(quantizers.fake_quant_with_min_max_vars(x, mins, maxs, axis=-1)),
        _np(keras.quantizers.fake_quant_with_min_max_vars(x, mins, maxs, axis=-1)), rtol=1e-6, atol=1e-6)


def _models():
    def build(mod):
        inp = mod.Input((4,), dtype="int32")
        x = mod.layers.Flatten()(mod.layers.Embedding(12, 6, name="emb")(inp))
        x = mod.layers.Dense(8, activation="relu", name="d1")(x)
        return mod.Model(inp, mod.layers.Dense(3, name="d2")(x))
    kshim.utils.set_random_seed(5)
    ours, theirs = build(kshim), build(keras)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.fixture(scope="module")
def quantized():
    x = np.random.default_rng(0).integers(0, 12, size=(10, 4)).astype("int32")
    ours, theirs = _models()
    before = ours.predict(x, verbose=0)
    ours.quantize("int8")
    theirs.quantize("int8")
    return ours, theirs, x, before


def test_quantized_weights_match_keras(quantized):
    ours, theirs, _, _ = quantized
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert [w.dtype for w in ours.weights] == [str(w.dtype) for w in theirs.weights]
    for w, a, b in zip(ours.weights, ours.get_weights(), theirs.get_weights()):
        if w.dtype == "int8":
            np.testing.assert_array_equal(a, b)  # integer: bit for bit
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6)
    for name in ("emb", "d1", "d2"):
        assert ours.get_layer(name).dtype_policy.name == theirs.get_layer(name).dtype_policy.name == \
            "int8_from_float32"
        assert ours.get_layer(name).get_config()["dtype"] == theirs.get_layer(name).get_config()["dtype"]


def test_quantized_predictions_match_keras(quantized):
    ours, theirs, x, before = quantized
    got = ours.predict(x, verbose=0)
    np.testing.assert_allclose(got, theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    assert 0 < np.abs(got - before).max() < 0.05  # int8 is close to, not equal to, float32


def test_quantized_keras_files_load_both_ways(quantized, tmp_path):
    ours, theirs, x, _ = quantized
    ours.save(tmp_path / "ours.keras")
    loaded = keras.saving.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    theirs.save(tmp_path / "theirs.keras")
    back = kshim.saving.load_model(tmp_path / "theirs.keras")
    assert back.get_layer("d1").quantization_mode == "int8"
    for a, b in zip(back.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(back.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_quantize_errors_and_skips():
    d = layers.Dense(2)
    with pytest.raises(ValueError, match="isn't built"):
        d.quantize("int8")
    d.build((None, 3))
    with pytest.raises(NotImplementedError, match="int8 or int4 or float8 only. Received: mode='gptq'"):
        d.quantize("gptq")
    with pytest.raises(NotImplementedError, match="int8 or int4 only. Received: mode='float8'"):
        layers.Embedding(4, 2, name="e4").quantize("float8")
    m = kshim.Sequential([kshim.Input((3,)), layers.Dense(2), layers.Activation("relu")])
    with pytest.warns(UserWarning, match="Activation"):
        m.quantize("int8")
    assert m.layers[0].quantization_mode == "int8"
    with pytest.raises(ValueError, match="float16"):
        layers.Dense(2, dtype="int8_from_mixed_float16")


@pytest.fixture(scope="module")
def int4():
    """Dense layers quantized to int4 in both libraries: 200 inputs (two groups of 128 rows, the second padded)
    and an odd number of units (the packed kernel's last byte holds one value)."""
    def build(mod):
        inp = mod.Input((200,))
        x = mod.layers.Dense(5, activation="relu", name="a")(inp)
        return mod.Model(inp, mod.layers.Dense(3, name="b")(x))
    kshim.utils.set_random_seed(6)
    ours, theirs = build(kshim), build(keras)
    theirs.set_weights(ours.get_weights())
    x = np.random.default_rng(1).normal(size=(4, 200)).astype("float32")
    before = ours.predict(x, verbose=0)
    ours.quantize("int4")
    theirs.quantize("int4")
    return ours, theirs, x, before, build


def _same_weights(ours, theirs):
    assert [(w.path, w.dtype, tuple(w.shape)) for w in ours.weights] == \
        [(w.path, str(w.dtype), tuple(w.shape)) for w in theirs.weights]
    for w, a, b in zip(ours.weights, ours.get_weights(), theirs.get_weights()):
        (np.testing.assert_array_equal if w.dtype == "int8" else np.testing.assert_allclose)(a, b)


def test_int4_dense_matches_keras(int4):
    ours, theirs, x, before, _ = int4
    _same_weights(ours, theirs)
    assert [tuple(w.shape) for w in ours.get_layer("a").weights if w.dtype == "int8"] == [(200, 3), (2, 5)]
    for name in ("a", "b"):
        a, b = ours.get_layer(name).get_config(), theirs.get_layer(name).get_config()
        assert json.loads(json.dumps(a["dtype"])) == b["dtype"]  # Int4DTypePolicy "int4/128_from_float32"
        assert json.loads(json.dumps(a["quantization_config"])) == json.loads(json.dumps(b["quantization_config"]))
    got = ours.predict(x, verbose=0)
    np.testing.assert_allclose(got, theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert 0 < np.abs(got - before).max() < 0.5  # int4 is coarse
    unpacked = kshim.quantizers.unpack_int4(ours.get_layer("a")._kernel.value, 5, axis=-1)
    np.testing.assert_array_equal(ops.convert_to_numpy(unpacked), keras.ops.convert_to_numpy(
        keras.quantizers.unpack_int4(theirs.get_layer("a")._kernel, 5, axis=-1)))


def test_int4_files_load_both_ways(int4, tmp_path):
    ours, theirs, x, _, build = int4
    expected = theirs.predict(x, verbose=0)
    theirs.save(tmp_path / "theirs.keras")
    back = kshim.saving.load_model(tmp_path / "theirs.keras")
    assert back.get_layer("a").dtype_policy.name == "int4/128_from_float32"
    _same_weights(back, theirs)
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    ours.save(tmp_path / "ours.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "ours.keras").predict(x, verbose=0), expected,
                               rtol=1e-5, atol=1e-6)
    ours.save_weights(tmp_path / "ours.weights.h5")
    other = build(keras)
    other.quantize("int4")
    other.load_weights(tmp_path / "ours.weights.h5")
    _same_weights(ours, other)


def test_int4_embedding_matches_keras_bit_for_bit_and_files_both_ways(tmp_path):
    """Embedding int4: groups of 128 columns per row (131 columns: the second group holds 3, the packed row's last
    byte one value), the packed table, scales, zero points and lookups equal Keras 3's; files load both ways."""
    def build(mod):
        inp = mod.Input((3,), dtype="int32")
        return mod.Model(inp, mod.layers.Embedding(10, 131, name="emb")(inp))
    rng = np.random.default_rng(2)
    table, idx = rng.normal(size=(10, 131)).astype("float32"), rng.integers(0, 10, (4, 3)).astype("int32")
    ours, theirs = build(kshim), build(keras)
    for m in (ours, theirs):
        m.layers[-1].set_weights([table])
        m.quantize("int4")
    layer = ours.get_layer("emb")
    assert layer.dtype_policy.name == "int4/128_from_float32"
    assert layer.get_config()["quantization_config"] == theirs.get_layer("emb").get_config()["quantization_config"]
    assert [(w.path, tuple(w.shape), str(w.dtype)) for w in ours.weights] == [
        ("emb/embeddings", (10, 66), "int8"), ("emb/embeddings_scale", (10, 2), "float32"),
        ("emb/embeddings_zero", (10, 2), "int8"), ("emb/g_idx", (131,), "float32")]
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    out = ours.predict(idx, verbose=0)
    np.testing.assert_array_equal(out, _np(theirs.predict(idx, verbose=0)))
    assert np.abs(out - table[idx]).max() < 0.3  # int4: 16 levels over each group's range
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    np.testing.assert_array_equal(_np(keras.saving.load_model(tmp_path / "ours.keras").predict(idx, verbose=0)), out)
    np.testing.assert_array_equal(kshim.saving.load_model(tmp_path / "theirs.keras").predict(idx, verbose=0), out)
