"""int8 EinsumDense against real Keras 3: `quantize("int8")` on four equations (matmul-shaped ones and general
einsums), the int8 kernel and `kernel_scale` layout bit for bit, predictions, `.keras` and `.weights.h5` files both
ways, and LoRA on a quantized EinsumDense (training, and the re-quantized merged kernel a file holds)."""

import json
import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", "jax")  # as the other parity tests: one Keras backend per pytest run
keras = pytest.importorskip("keras")

_EQUATIONS = (("e1", "abc,cde->abde", (3, 2, 4), "de"), ("e2", "abcd,cde->abe", (3, 6), None),
              ("e3", "abc,dc->abd", (3, 5), "d"), ("e4", "abc,bcd->ad", 4, "d"))


def _build(mod):
    x = inp = mod.Input((3, 5))
    for name, equation, shape, bias in _EQUATIONS:
        x = mod.layers.EinsumDense(equation, shape, bias_axes=bias, activation="tanh", name=name)(x)
    return mod.Model(inp, x)


def _data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(8, 3, 5)).astype("float32"), rng.normal(size=(8, 4)).astype("float32")


def _assert_same_weights(ours, theirs, rtol=1e-6):
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert [w.dtype for w in ours.weights] == [str(w.dtype) for w in theirs.weights]
    for w, a, b in zip(ours.weights, ours.get_weights(), theirs.get_weights()):
        if w.dtype == "int8":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-2)


@pytest.fixture(scope="module")
def quantized():
    kshim.utils.set_random_seed(11)
    ours, theirs = _build(kshim), _build(keras)
    theirs.set_weights(ours.get_weights())
    x, _ = _data()
    before = ours.predict(x, verbose=0)
    ours.quantize("int8")
    theirs.quantize("int8")
    return ours, theirs, x, before


def test_int8_kernels_scales_and_configs_match_keras(quantized):
    ours, theirs, _, _ = quantized
    _assert_same_weights(ours, theirs)
    shapes = {w.path: tuple(w.shape) for w in ours.weights if w.path.endswith("kernel_scale")}
    assert shapes == {"e1/kernel_scale": (1, 1, 2, 4), "e2/kernel_scale": (1, 1, 6), "e3/kernel_scale": (1, 1, 5),
                      "e4/kernel_scale": (1, 4)}
    for name, *_ in _EQUATIONS:
        a, b = ours.get_layer(name), theirs.get_layer(name)
        assert a.dtype_policy.name == b.dtype_policy.name == "int8_from_float32"
        assert json.loads(json.dumps(a.get_config()["quantization_config"])) == \
            json.loads(json.dumps(b.get_config()["quantization_config"]))
        assert a.get_config()["dtype"] == b.get_config()["dtype"]


def test_int8_predictions_match_keras(quantized):
    ours, theirs, x, before = quantized
    got = ours.predict(x, verbose=0)
    np.testing.assert_allclose(got, theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert 0 < np.abs(got - before).max() < 0.05  # int8 is close to, not equal to, float32


def test_int8_files_load_both_ways(quantized, tmp_path):
    ours, theirs, x, _ = quantized
    expected = theirs.predict(x, verbose=0)
    ours.save(tmp_path / "ours.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "ours.keras").predict(x, verbose=0), expected,
                               rtol=1e-5, atol=1e-6)
    theirs.save(tmp_path / "theirs.keras")
    back = kshim.saving.load_model(tmp_path / "theirs.keras")
    _assert_same_weights(back, theirs)
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    # .weights.h5 into a model quantized by `quantize`, both ways
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    fresh = _build(kshim)
    fresh.quantize("int8")
    fresh.load_weights(tmp_path / "theirs.weights.h5")
    _assert_same_weights(fresh, theirs)
    ours.save_weights(tmp_path / "ours.weights.h5")
    other = _build(keras)
    other.quantize("int8")
    other.load_weights(tmp_path / "ours.weights.h5")
    _assert_same_weights(ours, other)


def _lora_pair():
    """Both models quantized, LoRA (rank 2, alpha 4) on ``e2`` with the same nonzero A and B."""
    kshim.utils.set_random_seed(12)
    ours, theirs = _build(kshim), _build(keras)
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 4, 2)).astype("float32") * 0.3, rng.normal(size=(2, 6)).astype("float32") * 0.3
    for model in (ours, theirs):
        model.quantize("int8")
        model.get_layer("e2").enable_lora(2, lora_alpha=4)
        model.get_layer("e2").lora_kernel_a.assign(a)
        model.get_layer("e2").lora_kernel_b.assign(b)
    return ours, theirs


def test_lora_on_int8_einsum_matches_keras_and_saves_the_merged_kernel(tmp_path):
    ours, theirs = _lora_pair()
    trainable = [w.path for w in ours.trainable_weights]
    assert trainable == [w.path for w in theirs.trainable_weights]
    assert "e2/lora_kernel_a" in trainable and not any(p.endswith("/kernel") for p in trainable)
    x, _ = _data()
    np.testing.assert_allclose(ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(theirs(x)), rtol=1e-5,
                               atol=1e-6)
    # A file holds the merged kernel re-quantized (the LoRA matrices are not saved): both files agree bit for bit.
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    files = [_h5_arrays(tmp_path / f"{name}.weights.h5") for name in ("ours", "theirs")]
    assert sorted(files[0]) == sorted(files[1]) and "layers/einsum_dense_1/vars/1" in files[0]  # e2: kernel, scale
    for key, value in files[1].items():
        (np.testing.assert_array_equal if value.dtype == np.int8 else np.testing.assert_allclose)(files[0][key], value)


def _h5_arrays(path):
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


@pytest.mark.slow
def test_lora_on_int8_einsum_trains_like_keras():
    ours, theirs = _lora_pair()
    x, y = _data()
    ours.compile(optimizer=kshim.optimizers.SGD(0.1), loss="mse")
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    frozen = [w.numpy().copy() for w in ours.weights if not w.trainable]
    h_ours = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h_ours, h_theirs, rtol=1e-5)
    for w, before in zip([w for w in ours.weights if not w.trainable], frozen):
        np.testing.assert_array_equal(ops.convert_to_numpy(w.value), before)
    _assert_same_weights(ours, theirs, rtol=1e-5)


def test_int8_einsum_policy_build_and_errors():
    # A layer made with the int8 policy builds the int8 variables directly (what a loaded file does).
    layer = layers.EinsumDense("ab,bc->ac", 3, dtype="int8_from_float32")
    layer.build((None, 4))
    assert [(w.name, tuple(w.shape), w.dtype) for w in layer.weights] == \
        [("kernel", (4, 3), "int8"), ("kernel_scale", (1, 3), "float32")]
    # An ellipsis equation (Keras 3.15 fails on these) quantizes too, close to its float outputs.
    layer = layers.EinsumDense("...b,bc->...c", 4)
    x = np.random.default_rng(5).normal(size=(2, 3, 5)).astype("float32")
    before = ops.convert_to_numpy(layer(x))
    layer.quantize("int8")
    assert tuple(layer.kernel_scale.shape) == (1, 1, 4)
    assert 0 < np.abs(ops.convert_to_numpy(layer(x)) - before).max() < 0.05
    with pytest.raises(ValueError, match="already quantized"):
        layer.quantize("int8")


@pytest.fixture(scope="module")
def int4_quantized():
    kshim.utils.set_random_seed(12)
    ours, theirs = _build(kshim), _build(keras)
    theirs.set_weights(ours.get_weights())
    x, _ = _data()
    before = ours.predict(x, verbose=0)
    ours.quantize("int4")
    theirs.quantize("int4")
    return ours, theirs, x, before


def test_int4_einsum_matches_keras_bit_for_bit(int4_quantized):
    """int4 on the four equations: Keras 3 flattens each kernel to (contracted, other) by a plain reshape (e3's
    kernel (d, c) included), groups rows by 128, packs along the columns; weights bit for bit, predictions."""
    ours, theirs, x, before = int4_quantized
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert {w.path: tuple(w.shape) for w in ours.weights if w.name == "kernel"} == {
        "e1/kernel": (5, 4), "e2/kernel": (8, 3), "e3/kernel": (6, 3), "e4/kernel": (15, 2)}
    for w, a, b in zip(ours.weights, ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b, err_msg=w.path)
    assert ours.get_layer("e1").dtype_policy.name == "int4/128_from_float32"
    out = ours.predict(x, verbose=0)
    np.testing.assert_allclose(out, np.asarray(theirs.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)
    assert 0 < np.abs(out - before).max() < 0.5


@pytest.mark.slow
def test_int4_einsum_files_both_ways(int4_quantized, tmp_path):
    ours, theirs, x, _ = int4_quantized
    out = ours.predict(x, verbose=0)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "ours.keras").predict(x, verbose=0), out,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(kshim.saving.load_model(tmp_path / "theirs.keras").predict(x, verbose=0), out,
                               rtol=1e-5, atol=1e-6)
