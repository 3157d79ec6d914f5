"""LoRA on Dense, EinsumDense and Embedding against real Keras 3: weights, which weights train, outputs, the
merged weights saved in `.keras` files (both directions)."""

import os

import numpy as np
import pytest

import kshim
from kshim import layers

os.environ.setdefault("KERAS_BACKEND", "jax")  # as the other parity tests: one Keras backend per pytest run
keras = pytest.importorskip("keras")


def _models(lora_rank=None):
    """The same model in kshim and Keras (Embedding -> EinsumDense -> Flatten -> Dense), same weights."""
    def build(mod, **kw):
        inp = mod.Input((3,), dtype="int32")
        x = mod.layers.Embedding(10, 4, name="emb", **kw)(inp)
        x = mod.layers.EinsumDense("abc,cd->abd", (3, 5), bias_axes="d", name="ein", **kw)(x)
        x = mod.layers.Flatten()(x)
        return mod.Model(inp, mod.layers.Dense(2, name="dense", **kw)(x))
    kshim.utils.set_random_seed(4)
    kw = {} if lora_rank is None else {"lora_rank": lora_rank}
    ours, theirs = build(kshim, **kw), build(keras, **kw)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def _data():
    rng = np.random.default_rng(0)
    return rng.integers(0, 10, size=(16, 3)).astype("int32"), rng.normal(size=(16, 2)).astype("float32")


@pytest.fixture(scope="module")
def trained():
    """Both models with LoRA enabled (rank 2, alpha 4), the same LoRA starting values, one SGD epoch."""
    x, y = _data()
    ours, theirs = _models()
    for m in (ours, theirs):
        for name in ("emb", "ein", "dense"):
            m.get_layer(name).enable_lora(2, lora_alpha=4)
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.3 for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    before = ours.get_weights()
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(mod.optimizers.SGD(0.1), "mse")
    h1 = ours.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return ours, theirs, before, h1.history["loss"], h2.history["loss"]


def test_lora_weights_names_and_trainability_match_keras(trained):
    ours, theirs, *_ = trained
    assert [w.path.split("/", 1)[-1] for w in ours.weights] == [w.path.split("/", 1)[-1] for w in theirs.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]
    assert [w.path for w in ours.trainable_weights if "lora" not in w.path] == [
        p for p in (w.path for w in ours.trainable_weights) if "bias" in p]
    assert ours.get_layer("dense").get_config()["lora_rank"] == theirs.get_layer("dense").get_config()["lora_rank"]


def test_only_lora_weights_and_biases_train_and_match_keras(trained):
    ours, theirs, before, loss_o, loss_t = trained
    np.testing.assert_allclose(loss_o, loss_t, rtol=1e-5)
    for w, b, a, t in zip(ours.weights, before, ours.get_weights(), theirs.get_weights()):
        if not w.trainable:
            np.testing.assert_array_equal(a, b)  # the frozen kernels and the embeddings table
        else:
            assert not np.array_equal(a, b)
        np.testing.assert_allclose(a, t, rtol=1e-5, atol=1e-6)
    x, _ = _data()
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    merged = ours.get_layer("dense").kernel
    np.testing.assert_allclose(kshim.ops.convert_to_numpy(merged),
                               keras.ops.convert_to_numpy(theirs.get_layer("dense").kernel), rtol=1e-5, atol=1e-6)


def test_saved_files_hold_the_merged_weights_both_ways(trained, tmp_path):
    ours, theirs, *_ = trained
    x, _ = _data()
    expected = ours.predict(x, verbose=0)
    ours.save(tmp_path / "ours.keras")
    loaded = keras.saving.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert loaded.get_layer("dense").lora_enabled
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.get_layer("dense").lora_kernel_b), 0.0)
    theirs.save(tmp_path / "theirs.keras")
    back = kshim.saving.load_model(tmp_path / "theirs.keras")
    assert back.get_layer("ein").lora_enabled and back.get_layer("emb").lora_rank == 2
    np.testing.assert_allclose(back.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(back.get_layer("emb").lora_embeddings_a.numpy(), 0.0)
    # A merged file loads into a plain model (no LoRA) with the same outputs.
    plain, _ = _models()
    ours.save_weights(tmp_path / "merged.weights.h5")
    plain.load_weights(tmp_path / "merged.weights.h5")
    np.testing.assert_allclose(plain.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_enable_lora_errors_and_lora_rank_argument():
    d = layers.Dense(3)
    with pytest.raises(ValueError, match="isn't built"):
        d.enable_lora(2)
    d.build((None, 4))
    y0 = kshim.ops.convert_to_numpy(d(np.ones((1, 4), "float32")))
    d.enable_lora(2)
    np.testing.assert_array_equal(kshim.ops.convert_to_numpy(d(np.ones((1, 4), "float32"))), y0)  # B is zero
    with pytest.raises(ValueError, match="already enabled"):
        d.enable_lora(2)
    with pytest.raises(ValueError, match="constraint"):
        c = layers.Dense(3, kernel_constraint="non_neg")
        c.build((None, 4))
        c.enable_lora(2)
    e = layers.Dense(3, lora_rank=4)
    e.build((None, 5))
    assert [w.name for w in e.trainable_weights] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    assert e.lora_kernel_a.shape == (5, 4) and e.lora_alpha == 4
    with pytest.raises(ValueError, match="lora_rank"):
        layers.Dense(3, lora_rank=0)
