"""Keras 2 helpers in kshim.preprocessing (Tokenizer, pad_sequences, ImageDataGenerator, the random image
transforms) against Keras's own legacy implementations (``keras.src.legacy.preprocessing``, which use scipy and
Pillow), and their deprecation warnings."""

import os
import warnings

import numpy as np
import pytest

import kshim
from kshim.preprocessing import image as kimage
from kshim.preprocessing import sequence as ksequence
from kshim.preprocessing import text as ktext

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
pytest.importorskip("scipy")
legacy_text = pytest.importorskip("keras.src.legacy.preprocessing.text")
legacy_image = pytest.importorskip("keras.src.legacy.preprocessing.image")

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "A cat, and a dog? The end.", "Cat cat CAT"]


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return fn(*args, **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# Tokenizer


@pytest.mark.parametrize("kwargs", [{}, {"num_words": 5}, {"num_words": 5, "oov_token": "<OOV>"},
                                    {"char_level": True}, {"lower": False, "filters": "!?"}])
def test_tokenizer_equals_keras_legacy(kwargs):
    with pytest.warns(DeprecationWarning, match="TextVectorization"):
        ours = ktext.Tokenizer(**kwargs)
    theirs = legacy_text.Tokenizer(**kwargs)
    ours.fit_on_texts(TEXTS)
    theirs.fit_on_texts(TEXTS)
    assert ours.word_index == theirs.word_index
    assert dict(ours.word_counts) == dict(theirs.word_counts)
    queries = TEXTS + ["an unseen dog sentence"]
    assert ours.texts_to_sequences(queries) == theirs.texts_to_sequences(queries)
    seqs = theirs.texts_to_sequences(queries)
    assert ours.sequences_to_texts(seqs) == theirs.sequences_to_texts(seqs)
    for mode in ("binary", "count", "freq", "tfidf"):
        np.testing.assert_allclose(ours.texts_to_matrix(queries, mode=mode),
                                   theirs.texts_to_matrix(queries, mode=mode), rtol=1e-12)


def test_tokenizer_hand_values_json_and_errors():
    tok = quiet(ktext.Tokenizer, oov_token="<unk>")
    tok.fit_on_texts(["b a a", "c a b"])
    assert tok.word_index == {"<unk>": 1, "a": 2, "b": 3, "c": 4}
    assert tok.texts_to_sequences(["a z c"]) == [[2, 1, 4]]
    np.testing.assert_array_equal(tok.texts_to_matrix(["a a z"], mode="count"), [[0, 1, 2, 0, 0]])
    again = quiet(ktext.tokenizer_from_json, tok.to_json())
    assert again.word_index == tok.word_index and again.texts_to_sequences(["c b"]) == [[4, 3]]
    assert list(again.word_counts) == list(tok.word_counts)
    theirs = legacy_text.tokenizer_from_json(tok.to_json())
    assert theirs.word_index == tok.word_index
    with pytest.raises(ValueError, match="mode"):
        tok.texts_to_matrix(["a"], mode="bogus")
    with pytest.raises(ValueError, match="num_words"):
        quiet(ktext.Tokenizer).sequences_to_matrix([[1]])
    assert quiet(ktext.text_to_word_sequence, "Hello, World!  x") == ["hello", "world", "x"]
    assert quiet(ktext.hashing_trick, "a b a", 10, hash_function="md5") == \
        legacy_text.hashing_trick("a b a", 10, hash_function="md5")


def test_legacy_pad_sequences_warns_and_equals_utils():
    with pytest.warns(DeprecationWarning, match="kshim.utils.pad_sequences"):
        out = ksequence.pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="post")
    np.testing.assert_array_equal(out, kshim.utils.pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="post"))


# ----------------------------------------------------------------------------------------------------------------
# Image transforms and ImageDataGenerator: Keras 2's numbers, without scipy


RNG = np.random.default_rng(0)
X = RNG.uniform(0, 255, size=(10, 12, 14, 3)).astype("float32")
Y = np.arange(10)


@pytest.mark.parametrize("kwargs", [
    {"rotation_range": 30}, {"width_shift_range": 0.2, "height_shift_range": 3},
    {"shear_range": 20, "zoom_range": 0.3, "fill_mode": "reflect"},
    {"horizontal_flip": True, "vertical_flip": True, "fill_mode": "wrap", "rotation_range": 40},
    {"zoom_range": (0.7, 1.2), "fill_mode": "constant", "cval": 7.0},
    {"brightness_range": (0.5, 1.5)}, {"channel_shift_range": 20.0, "rescale": 1 / 255.0},
    {"width_shift_range": [-2, 0, 2], "samplewise_center": True, "samplewise_std_normalization": True},
])
def test_image_data_generator_flow_equals_keras_legacy(kwargs):
    with pytest.warns(DeprecationWarning, match="RandomRotation"):
        ours = kimage.ImageDataGenerator(**kwargs)
    theirs = quiet(legacy_image.ImageDataGenerator, **kwargs)
    a, b = ours.flow(X, Y, batch_size=4, seed=3), quiet(theirs.flow, X, Y, batch_size=4, seed=3)
    assert len(a) == len(b) == 3
    for _ in range(2):
        for i in range(len(a)):
            (xa, ya), (xb, yb) = a[i], b[i]
            np.testing.assert_array_equal(ya, yb)
            np.testing.assert_allclose(xa, xb, rtol=1e-5, atol=1e-3)
        a.on_epoch_end()
        b.on_epoch_end()


def test_image_data_generator_fit_standardize_and_subsets():
    kw = {"featurewise_center": True, "featurewise_std_normalization": True, "rotation_range": 10}
    ours, theirs = quiet(kimage.ImageDataGenerator, **kw), quiet(legacy_image.ImageDataGenerator, **kw)
    ours.fit(X)
    theirs.fit(X)
    np.testing.assert_allclose(ours.mean, theirs.mean, rtol=1e-6)
    np.testing.assert_allclose(ours.std, theirs.std, rtol=1e-6)
    np.testing.assert_allclose(ours.flow(X, Y, seed=1)[0][0], theirs.flow(X, Y, seed=1)[0][0], rtol=1e-5,
                               atol=1e-4)
    zca = quiet(kimage.ImageDataGenerator, zca_whitening=True)
    zca.fit(X[:, :4, :4])
    ref = quiet(legacy_image.ImageDataGenerator, zca_whitening=True)
    ref.fit(X[:, :4, :4])
    np.testing.assert_allclose(zca.zca_whitening_matrix, ref.zca_whitening_matrix, rtol=1e-4, atol=1e-6)
    split = quiet(kimage.ImageDataGenerator, validation_split=0.3)
    y = np.array([0, 1] * 5)
    train = split.flow(X, y, subset="training", shuffle=False)
    val = split.flow(X, y, subset="validation", shuffle=False)
    assert train.n == 7 and val.n == 3
    np.testing.assert_array_equal(val[0][0], X[:3])
    with pytest.raises(ValueError, match="classes"):
        split.flow(X, np.sort(y), subset="training")
    with pytest.raises(ValueError, match="rank 4"):
        split.flow(X[0])
    with pytest.warns(UserWarning, match="fit"):
        quiet(kimage.ImageDataGenerator, featurewise_center=True).standardize(X[0].copy())


def test_flow_extras_sample_weight_and_next():
    gen = quiet(kimage.ImageDataGenerator, horizontal_flip=True)
    it = gen.flow((X, np.arange(10.0)), Y, sample_weight=np.ones(10), batch_size=4, shuffle=False)
    (xb, extra), yb, sw = it[0]
    assert xb.shape == (4, 12, 14, 3) and extra.tolist() == [0, 1, 2, 3] and sw.shape == (4,)
    nxt = next(gen.flow(X, Y, batch_size=6, seed=0))
    assert nxt[0].shape == (6, 12, 14, 3)


def test_flow_from_directory_equals_keras_legacy(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    for cls, n in (("a", 4), ("b", 3)):
        os.makedirs(tmp_path / cls)
        for i in range(n):
            pil.fromarray(RNG.integers(0, 256, (9 + i, 11, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    kw = {"rotation_range": 15, "zoom_range": 0.1, "validation_split": 0.25}
    ours, theirs = quiet(kimage.ImageDataGenerator, **kw), quiet(legacy_image.ImageDataGenerator, **kw)
    args = {"target_size": (8, 8), "batch_size": 3, "seed": 2, "subset": "training"}
    a, b = ours.flow_from_directory(str(tmp_path), **args), theirs.flow_from_directory(str(tmp_path), **args)
    assert a.filenames == b.filenames and a.class_indices == b.class_indices
    for i in range(len(a)):
        np.testing.assert_allclose(a[i][0], b[i][0], rtol=1e-5, atol=1e-3)
        np.testing.assert_array_equal(a[i][1], b[i][1])
    sparse = ours.flow_from_directory(str(tmp_path), target_size=(8, 8), class_mode="sparse", shuffle=False)
    assert sparse[0][1].tolist() == [0, 0, 0, 0, 1, 1, 1][:sparse.batch_size]


@pytest.mark.parametrize("fill_mode", ["nearest", "reflect", "wrap", "constant"])
@pytest.mark.parametrize("order", [0, 1])
def test_apply_affine_transform_equals_keras_legacy(fill_mode, order):
    x = X[0]
    kw = dict(theta=25, tx=1.5, ty=-2.0, shear=10, zx=0.9, zy=1.2, row_axis=0, col_axis=1, channel_axis=2,
              fill_mode=fill_mode, cval=5.0, order=order)
    with pytest.warns(DeprecationWarning):
        ours = kimage.apply_affine_transform(x, **kw)
    np.testing.assert_allclose(ours, legacy_image.apply_affine_transform(x, **kw), rtol=1e-5, atol=1e-3)


def test_random_transforms_are_seeded_and_brightness_matches_pillow():
    pytest.importorskip("PIL")
    x = X[0]
    with pytest.warns(DeprecationWarning, match="RandomRotation"):
        kshim.utils.set_random_seed(4)
        a = kimage.random_rotation(x, 30, row_axis=0, col_axis=1, channel_axis=2)
    kshim.utils.set_random_seed(4)
    b = quiet(kimage.random_rotation, x, 30, row_axis=0, col_axis=1, channel_axis=2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x)
    for fn, args in ((kimage.random_shift, (0.2, 0.2)), (kimage.random_shear, (20,)),
                     (kimage.random_zoom, ((0.8, 1.2),))):
        out = quiet(fn, x, *args, row_axis=0, col_axis=1, channel_axis=2)
        assert out.shape == x.shape and not np.allclose(out, x)
    for scale in (True, False):
        np.testing.assert_allclose(quiet(kimage.apply_brightness_shift, x, 1.3, scale),
                                   legacy_image.apply_brightness_shift(x, 1.3, scale), rtol=1e-6)
    shifted = quiet(kimage.apply_channel_shift, x, 10.0, channel_axis=2)
    np.testing.assert_allclose(shifted, np.clip(x + 10.0, x.min(), x.max()))
