"""Tabular and text preprocessing layers: Normalization, Discretization, CategoryEncoding, Hashing, StringLookup,
IntegerLookup, TextVectorization, against numpy, hand-computed values and (where it runs without TensorFlow)
Keras 3."""

import math
import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


# ----------------------------------------------------------------------------------------------------------------
# Normalization


def test_normalization_adapt_matches_numpy_and_keras():
    x = RNG.normal(3.0, 2.0, size=(50, 4)).astype("float32")
    layer = layers.Normalization()
    layer.adapt(x)
    np.testing.assert_allclose(np_(layer.adapt_mean.value), x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(np_(layer.adapt_variance.value), x.var(axis=0), rtol=1e-5)
    expected = (x - x.mean(0)) / np.sqrt(x.var(0))
    np.testing.assert_allclose(np_(layer(x)), expected, rtol=1e-4, atol=1e-5)
    theirs = keras.layers.Normalization()
    theirs.adapt(x)
    np.testing.assert_allclose(np_(layer(x)), np.asarray(theirs(x)), rtol=1e-4, atol=1e-5)
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert all(not w.trainable for w in layer.weights)
    batches = [x[:20], x[20:35], x[35:]]  # merged per-batch statistics equal the global ones
    merged = layers.Normalization()
    merged.adapt(iter(batches))
    np.testing.assert_allclose(np_(merged.adapt_variance.value), x.var(axis=0), rtol=1e-5)


def test_normalization_axes_given_stats_invert_and_errors():
    x = RNG.normal(size=(6, 3, 2)).astype("float32")
    layer = layers.Normalization(axis=None)
    layer.adapt(x)
    np.testing.assert_allclose(np_(layer(x)), (x - x.mean()) / x.std(), rtol=1e-4, atol=1e-5)
    layer = layers.Normalization(axis=(1, 2))
    layer.adapt(x)
    np.testing.assert_allclose(np_(layer.adapt_mean.value), x.mean(axis=0), rtol=1e-5, atol=1e-6)
    fixed = layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 0.0])
    out = np_(fixed(np.array([[3.0, 2.5]], "float32")))
    assert out[0, 0] == pytest.approx(1.0)
    assert out[0, 1] == pytest.approx(0.5 / kshim.config.epsilon(), rel=1e-5)
    inv = layers.Normalization(mean=2.0, variance=9.0, invert=True)
    np.testing.assert_allclose(np_(inv(np.array([[1.0, -1.0]], "float32"))), [[5.0, -1.0]])
    with pytest.raises(ValueError, match="both"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="fixed"):
        fixed.adapt(x)


def test_normalization_inside_fit_is_frozen():
    x = RNG.normal(5.0, 3.0, size=(64, 3)).astype("float32")
    y = (x[:, :1] - 5.0) / 3.0
    norm = layers.Normalization()
    norm.adapt(x)
    model = kshim.Sequential([kshim.Input((3,)), norm, layers.Dense(1)])
    model.compile(kshim.optimizers.SGD(0.1), "mse")
    before = np_(norm.adapt_mean.value)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    np.testing.assert_array_equal(np_(norm.adapt_mean.value), before)
    assert len(model.trainable_weights) == 2


# ----------------------------------------------------------------------------------------------------------------
# Discretization, CategoryEncoding


def test_discretization_boundaries_and_modes():
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]], "float32")
    layer = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    np.testing.assert_array_equal(np_(layer(x)), np.digitize(x, [0.0, 1.0, 2.0]))
    assert np_(layer(x)).dtype == np.int32
    for mode in ("one_hot", "multi_hot", "count"):
        ours = np_(layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode=mode)(x))
        theirs = np.asarray(keras.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode=mode)(x))
        np.testing.assert_array_equal(ours, theirs)


def test_discretization_adapt_matches_keras_quantiles():
    from keras.src.layers.preprocessing import discretization as kd

    x = RNG.normal(size=(300, 2)).astype("float32")
    layer = layers.Discretization(num_bins=4, epsilon=0.01)
    layer.adapt(x)
    summary = kd.merge_summaries(kd.summarize(x, 0.01), np.array([[], []], "float32"), 0.01)
    np.testing.assert_allclose(layer.bin_boundaries, kd.get_bin_boundaries(summary, 4), rtol=1e-6)
    counts = np.bincount(np_(layer(x)).reshape(-1), minlength=4)
    assert counts.min() > 120 and counts.max() < 180  # quartiles
    with pytest.raises(ValueError, match="num_bins"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(x)
    with pytest.raises(ValueError, match="either"):
        layers.Discretization()


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("inputs", [[[1, 2], [4, 4]], [1, 2, 2], [[3], [0]]])
def test_category_encoding_matches_keras(mode, inputs):
    x = np.array(inputs)
    ours = np_(layers.CategoryEncoding(5, mode)(x))
    theirs = np.asarray(keras.layers.CategoryEncoding(5, mode)(x))
    np.testing.assert_array_equal(ours, theirs)


def test_category_encoding_weights_and_errors():
    layer = layers.CategoryEncoding(4, "count")
    out = layer(np.array([[0, 1, 1]]), count_weights=np.array([[0.5, 1.0, 2.0]], "float32"))
    np.testing.assert_allclose(np_(out), [[0.5, 3.0, 0.0, 0.0]])
    assert layer.compute_output_shape((None, 3)) == (None, 4)
    with pytest.raises(ValueError, match="num_tokens"):
        layers.CategoryEncoding()
    with pytest.raises(ValueError, match="output_mode"):
        layers.CategoryEncoding(3, "tf_idf")


# ----------------------------------------------------------------------------------------------------------------
# Hashing: Keras's own documented outputs (FarmHash Fingerprint64 and SipHash)


def test_hashing_equals_keras_documented_values():
    inp = [["A"], ["B"], ["C"], ["D"], ["E"]]
    np.testing.assert_array_equal(np_(layers.Hashing(3)(inp)), [[1], [0], [1], [1], [2]])
    np.testing.assert_array_equal(np_(layers.Hashing(3, mask_value="")([["A"], ["B"], [""], ["C"], ["D"]])),
                                  [[1], [1], [0], [2], [2]])
    np.testing.assert_array_equal(np_(layers.Hashing(3, salt=[133, 137])(inp)), [[1], [2], [1], [0], [2]])
    np.testing.assert_array_equal(np_(layers.Hashing(3, salt=133)(inp)), [[0], [0], [2], [1], [0]])
    np.testing.assert_array_equal(np_(layers.Hashing(3)(np.array([[0], [1], [2], [3], [4]]))),
                                  [[1], [0], [1], [0], [2]])
    names = [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]]
    np.testing.assert_array_equal(np_(layers.Hashing(2)(names)), [[0], [0], [1], [0], [0]])
    multi = np_(layers.Hashing(3, output_mode="multi_hot")(np.array([["A", "B"], ["C", "C"]])))
    np.testing.assert_array_equal(multi, [[1, 1, 0], [0, 1, 0]])


def test_fingerprint64_and_siphash_reference_values():
    from kshim.layers.preprocessing.hashing import fingerprint64, siphash24

    def signed(v):
        return v - (1 << 64) if v >= 1 << 63 else v

    # BigQuery's FARM_FINGERPRINT documentation (the same Fingerprint64).
    assert signed(fingerprint64("1footrue")) == -1541654101129638711
    assert signed(fingerprint64("2applefalse")) == 2794438866806483259
    assert signed(fingerprint64("3true")) == -4880158226897771312
    assert fingerprint64("") == 0x9AE16A3B2F90404F
    key = (int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)), "little"))
    assert siphash24(key, b"") == 0x726FDB47DD0E0E31  # the SipHash paper's test vectors
    assert siphash24(key, bytes(range(15))) == 0xA129CA6149BE45E5
    long_text = "the quick brown fox jumps over the lazy dog " * 5  # exercises the > 64 byte path
    assert fingerprint64(long_text) == fingerprint64(long_text.encode())


# ----------------------------------------------------------------------------------------------------------------
# StringLookup, IntegerLookup


def test_string_lookup_vocabulary_oov_mask_and_invert():
    layer = layers.StringLookup(vocabulary=["a", "b", "c"])
    np.testing.assert_array_equal(np_(layer([["a", "c", "d"], ["d", "z", "b"]])), [[1, 3, 0], [0, 0, 2]])
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c"] and layer.vocabulary_size() == 4
    masked = layers.StringLookup(vocabulary=["a", "b"], mask_token="")
    np.testing.assert_array_equal(np_(masked(["a", "", "q"])), [2, 0, 1])
    assert masked.get_vocabulary() == ["", "[UNK]", "a", "b"]
    from kshim.layers.preprocessing.hashing import fingerprint64

    two = layers.StringLookup(vocabulary=["a"], num_oov_indices=2)
    out = np_(two(["a", "x", "y"]))
    assert out[0] == 2 and out[1] == fingerprint64("x") % 2 and out[2] == fingerprint64("y") % 2
    inv = layers.StringLookup(vocabulary=["a", "b"], invert=True)
    assert inv(np.array([[1, 2, 0, 7]])).tolist() == [["a", "b", "[UNK]", "[UNK]"]]
    with pytest.raises(ValueError, match="repeated"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="out-of-vocabulary"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["b"])


def test_string_lookup_adapt_order_and_encodings():
    data = np.array([["b", "a", "c"], ["a", "b", "a"], ["d", "c", "a"]])
    layer = layers.StringLookup(max_tokens=4)
    layer.adapt(data)
    # counts: a 4, b 2, c 2, d 1; ties by token in descending order; max_tokens counts the OOV slot
    assert layer.get_vocabulary() == ["[UNK]", "a", "c", "b"]
    count = layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="count")
    np.testing.assert_array_equal(np_(count([["a", "a", "z"], ["c", "b", "c"]])), [[1, 2, 0, 0], [0, 0, 1, 2]])
    multi = layers.StringLookup(vocabulary=["a", "b"], output_mode="multi_hot", pad_to_max_tokens=True,
                                max_tokens=5)
    np.testing.assert_array_equal(np_(multi([["b", "b"]])), [[0, 0, 1, 0, 0]])
    one = layers.StringLookup(vocabulary=["a", "b"], output_mode="one_hot")
    np.testing.assert_array_equal(np_(one(["b", "x"])), [[0, 0, 1], [1, 0, 0]])
    tfidf = layers.StringLookup(output_mode="tf_idf")
    docs = [["a", "b"], ["a", "a"], ["c", "a"]]
    tfidf.adapt(docs)
    idf = {"a": math.log(1 + 3 / 4), "b": math.log(1 + 3 / 2), "c": math.log(1 + 3 / 2)}
    vocab = tfidf.get_vocabulary()
    assert vocab == ["[UNK]", "a", "c", "b"]
    out = np_(tfidf([["a", "a", "c", "q"]]))
    mean_idf = np.mean([idf["a"], idf["c"], idf["b"]])
    np.testing.assert_allclose(out, [[mean_idf, 2 * idf["a"], idf["c"], 0.0]], rtol=1e-6)


def test_integer_lookup_in_and_out_of_compiled_steps():
    layer = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    np.testing.assert_array_equal(np_(layer(np.array([[12, 1138, 42], [42, 1000, 36]]))), [[1, 3, 4], [4, 0, 2]])
    floormod = layers.IntegerLookup(vocabulary=[7], num_oov_indices=3, mask_token=0)
    np.testing.assert_array_equal(np_(floormod(np.array([7, 0, 10, 11]))), [4, 0, 1 + 10 % 3, 1 + 11 % 3])
    inv = layers.IntegerLookup(vocabulary=[12, 36], invert=True)
    np.testing.assert_array_equal(np_(inv(np.array([1, 2, 0, 5]))), [12, 36, -1, -1])
    adapted = layers.IntegerLookup()
    adapted.adapt(np.array([5, 5, 9, 2, 9, 9]))
    assert adapted.get_vocabulary() == [-1, 9, 5, 2]
    encode = layers.IntegerLookup(vocabulary=[3, 4], output_mode="multi_hot")
    np.testing.assert_array_equal(np_(encode(np.array([[4, 4, 8]]))), [[1, 0, 1]])
    with pytest.raises(ValueError, match="out-of-vocabulary"):
        layers.IntegerLookup(vocabulary=[1], num_oov_indices=0)(np.array([2]))
    # In a model, the lookup runs inside the compiled training step.
    x = RNG.choice([10, 20, 30], size=(48, 1))
    y = (x[:, 0] == 20).astype("int32")
    model = kshim.Sequential([kshim.Input((1,), dtype="int32"), layers.IntegerLookup(vocabulary=[10, 20, 30]),
                              layers.CategoryEncoding(4, "one_hot"), layers.Dense(2, activation="softmax")])
    model.compile(kshim.optimizers.Adam(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=15, batch_size=16, verbose=0).history
    assert hist["accuracy"][-1] == 1.0


# ----------------------------------------------------------------------------------------------------------------
# TextVectorization

CORPUS = ["The cat sat on the mat.", "The dog ate my homework!", "A cat, and a dog?"]


def test_text_vectorization_adapt_and_int_output():
    vec = layers.TextVectorization(max_tokens=10, output_sequence_length=5)
    vec.adapt(CORPUS)
    vocab = vec.get_vocabulary()
    assert vocab == ["", "[UNK]", "the", "dog", "cat", "a", "sat", "on", "my", "mat"]
    out = np_(vec(["the cat ate", "Unknown words, here and there: THE end"]))
    np.testing.assert_array_equal(out, [[2, 4, 1, 0, 0], [1, 1, 1, 1, 1]])
    ragged = layers.TextVectorization(vocabulary=["cat", "dog"])
    np.testing.assert_array_equal(np_(ragged(["dog", "cat cat dog x"])), [[3, 0, 0, 0], [2, 2, 3, 1]])
    np.testing.assert_array_equal(np_(ragged(np.array([["dog"], ["cat dog"]]))), [[3, 0], [2, 3]])
    assert vec.compute_output_shape((None,)) == (None, 5)


def test_text_vectorization_bag_modes_ngrams_and_split():
    vec = layers.TextVectorization(output_mode="count", vocabulary=["cat", "dog", "the"])
    np.testing.assert_array_equal(np_(vec(["The cat and the dog", "bird"])), [[1, 1, 1, 2], [1, 0, 0, 0]])
    multi = layers.TextVectorization(output_mode="multi_hot", vocabulary=["cat", "dog"])
    np.testing.assert_array_equal(np_(multi(["cat cat"])), [[0, 1, 0]])
    tfidf = layers.TextVectorization(output_mode="tf_idf")
    tfidf.adapt(["a b", "a a", "c a"])
    vocab = tfidf.get_vocabulary()
    assert vocab == ["[UNK]", "a", "c", "b"]
    idf_a, idf_c = math.log(1 + 3 / 4), math.log(1 + 3 / 2)
    np.testing.assert_allclose(np_(tfidf(["a a c"])), [[0, 2 * idf_a, idf_c, 0]], rtol=1e-6)
    grams = layers.TextVectorization(ngrams=2)
    grams.adapt(["x y z"])
    assert set(grams.get_vocabulary()[2:]) == {"x", "y", "z", "x y", "y z"}
    chars = layers.TextVectorization(split="character", standardize=None)
    chars.adapt(["abba"])
    assert chars.get_vocabulary() == ["", "[UNK]", "b", "a"]
    custom = layers.TextVectorization(standardize=lambda t: np.char.upper(t.astype(str)), split=None,
                                      vocabulary=["HI"])
    np.testing.assert_array_equal(np_(custom(["hi", "ho"])), [2, 1])


def test_text_vectorization_config_errors_and_set_vocabulary():
    vec = layers.TextVectorization(max_tokens=6, output_sequence_length=3)
    vec.adapt(CORPUS)
    clone = layers.TextVectorization.from_config(vec.get_config())
    clone.set_vocabulary(vec.get_vocabulary())
    np.testing.assert_array_equal(np_(clone(CORPUS)), np_(vec(CORPUS)))
    with pytest.raises(ValueError, match="output_sequence_length"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="standardize"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="strings"):
        vec(np.array([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="vocabulary"):
        layers.TextVectorization(output_mode="multi_hot")(["text"])


def test_lookup_assets_and_idf_round_trip(tmp_path):
    vec = layers.TextVectorization(output_mode="tf_idf")
    vec.adapt(["a b", "a a", "c a"])
    store = {}
    vec.save_own_variables(store)
    vec.save_assets(str(tmp_path))
    assert (tmp_path / "vocabulary.txt").read_text().splitlines() == ["[UNK]", "a", "c", "b"]
    clone = layers.TextVectorization.from_config(vec.get_config())
    clone.load_own_variables(store)
    clone.load_assets(str(tmp_path))
    np.testing.assert_allclose(np_(clone(["a c q"])), np_(vec(["a c q"])), rtol=1e-7)
    ints = layers.IntegerLookup()
    ints.adapt(np.array([4, 4, 9]))
    ints.save_assets(str(tmp_path))
    other = layers.IntegerLookup()
    other.load_assets(str(tmp_path))
    assert other.get_vocabulary() == [-1, 4, 9]
