"""End-to-end preprocessing workflows: a Tokenizer + pad_sequences + Embedding + LSTM classifier on a small real
text corpus, ImageDataGenerator.flow feeding fit on sklearn's digits, and seeded augmentation giving the same
batch on jax and torch."""

import importlib.util
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import kshim
from kshim import layers

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sentiment_sentences.tsv")


def _corpus():
    labels, texts = [], []
    with open(DATA, encoding="utf-8") as f:
        for line in f:
            label, text = line.rstrip("\n").split("\t")
            labels.append(int(label))
            texts.append(text)
    return texts, np.asarray(labels, "int32")


def test_tokenizer_embedding_lstm_learns_sentiment():
    from kshim.preprocessing.text import Tokenizer

    texts, labels = _corpus()
    (train_x, train_y), (val_x, val_y) = kshim.utils.split_dataset((np.array(texts, dtype=object), labels),
                                                                   right_size=0.2, shuffle=True, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tok = Tokenizer(num_words=400, oov_token="<unk>")
    tok.fit_on_texts(list(train_x))
    seq_train = kshim.utils.pad_sequences(tok.texts_to_sequences(list(train_x)), maxlen=14)
    seq_val = kshim.utils.pad_sequences(tok.texts_to_sequences(list(val_x)), maxlen=14)
    assert seq_train.shape == (144, 14) and seq_train.max() < 400
    kshim.utils.set_random_seed(1)
    model = kshim.Sequential([kshim.Input((14,), dtype="int32"), layers.Embedding(400, 16), layers.Dropout(0.5),
                              layers.LSTM(8), layers.Dense(1, activation="sigmoid")])
    model.compile(kshim.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(seq_train, train_y, epochs=15, batch_size=16, verbose=0,
                     validation_data=(seq_val, val_y)).history
    assert hist["loss"][-1] < 0.25 * hist["loss"][0]
    assert hist["accuracy"][-1] >= 0.95
    assert val_y.mean() == 0.5  # the held-out 36 sentences are balanced: chance is 0.5
    assert hist["val_accuracy"][-1] >= 0.6  # (0.67 when written; many held-out words are rare)
    # New sentences made of the corpus's frequent sentiment words are classified right.
    probes = ["a wonderful and excellent film", "a terrible and boring film", "great food and friendly staff",
              "rude staff and awful food"]
    p = model.predict(kshim.utils.pad_sequences(tok.texts_to_sequences(probes), maxlen=14), verbose=0)[:, 0]
    assert p[0] > 0.8 and p[2] > 0.8 and p[1] < 0.2 and p[3] < 0.2


def test_image_data_generator_feeds_fit_on_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    from kshim.preprocessing.image import ImageDataGenerator

    digits = datasets.load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        gen = ImageDataGenerator(rotation_range=8, width_shift_range=0.08, height_shift_range=0.08,
                                 zoom_range=0.05)
    flow = gen.flow(x_train, y_train, batch_size=64, seed=0)
    assert len(flow) == 22
    kshim.utils.set_random_seed(0)
    model = kshim.Sequential([kshim.Input((8, 8, 1)), layers.Flatten(), layers.Dense(64, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    model.compile(kshim.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(flow, epochs=6, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.9


SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import kshim as keras
    from kshim import layers

    assert keras.config.backend() == sys.argv[2]
    x = np.random.default_rng(0).uniform(0, 1, size=(6, 8, 10, 3)).astype("float32")
    model = keras.Sequential([keras.Input((8, 10, 3)), layers.RandomFlip(seed=1), layers.RandomRotation(0.2, seed=2),
                              layers.RandomZoom(0.2, seed=3), layers.RandomContrast(0.3, value_range=(0, 1), seed=4)])
    first = model(x, training=True)
    second = model(x, training=True)
    flips = layers.RandomFlip(seed=1)(x, training=True)
    np.savez(sys.argv[1], first=keras.ops.convert_to_numpy(first), second=keras.ops.convert_to_numpy(second),
             flips=keras.ops.convert_to_numpy(flips), predict=model.predict(x, verbose=0))
""")


@pytest.mark.skipif(any(importlib.util.find_spec(b) is None for b in ("jax", "torch")),
                    reason="needs both jax and torch")
def test_seeded_augmentation_is_the_same_on_jax_and_torch(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = tmp_path / "augment.py"
    script.write_text(SCRIPT)
    results = {}
    for backend in ("jax", "torch"):
        out = tmp_path / f"{backend}.npz"
        env = dict(os.environ, KSHIM_BACKEND=backend, PYTHONPATH=root)
        proc = subprocess.run([sys.executable, str(script), str(out), backend], env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results[backend] = dict(np.load(out))
    jax_r, torch_r = results["jax"], results["torch"]
    np.testing.assert_array_equal(jax_r["flips"], torch_r["flips"])  # flips: bit-identical
    for key in ("first", "second"):
        np.testing.assert_allclose(jax_r[key], torch_r[key], rtol=1e-4, atol=1e-4)
    assert not np.allclose(jax_r["first"], jax_r["second"])  # the seed stream advances
    x = np.random.default_rng(0).uniform(0, 1, size=(6, 8, 10, 3)).astype("float32")
    np.testing.assert_array_equal(jax_r["predict"], x)  # inference: identity
    np.testing.assert_array_equal(torch_r["predict"], x)
