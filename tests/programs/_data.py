"""Offline stand-ins for the data sets the corpus programs download: the same shapes and dtypes, learnable
signal, small sizes. ``KSHIM_PROGRAM_FAST=1`` (set by tests/test_programs.py) makes them smaller still.

Not a program: tests/test_programs.py runs every other ``*.py`` file in this folder (``custom_steps.py`` and
``guides/`` belong to other tests)."""

import os

import numpy as np

FAST = os.environ.get("KSHIM_PROGRAM_FAST") == "1"


def size(full, fast):
    return fast if FAST else full


def _digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    return d.images.astype("float32") / 16.0, d.target.astype("uint8")


def mnist(n_train=None, n_test=None):
    """``keras.datasets.mnist.load_data()``'s shapes and dtypes: uint8 (n, 28, 28) images, uint8 labels (the
    8x8 scikit-learn digits, scaled up)."""
    n_train = n_train or size(1024, 256)
    n_test = n_test or size(256, 64)
    images, labels = _digits()
    big = np.kron(images, np.ones((3, 3), "float32"))  # 24x24
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))
    x = (big * 255).astype("uint8")
    return (x[:n_train], labels[:n_train]), (x[n_train:n_train + n_test], labels[n_train:n_train + n_test])


def cifar10(n_train=None, n_test=None):
    """``cifar10.load_data()``'s shapes: uint8 (n, 32, 32, 3), labels uint8 (n, 1)."""
    (x, y), (xt, yt) = mnist(n_train, n_test)
    def color(a):
        a = np.pad(a, ((0, 0), (2, 2), (2, 2)))
        return np.stack([a, a[:, ::-1], a[:, :, ::-1]], axis=-1)
    return (color(x), y.reshape(-1, 1)), (color(xt), yt.reshape(-1, 1))


def imdb(num_words=20000, n_train=None, n_test=None, seed=0):
    """``imdb.load_data(num_words=...)``: object arrays of int lists (variable lengths), labels int64 0/1; the
    label decides which of two word groups the reviews draw more from."""
    n_train = n_train or size(512, 128)
    n_test = n_test or size(128, 64)
    rng = np.random.default_rng(seed)

    def make(n):
        labels = rng.integers(0, 2, n)
        seqs = []
        for label in labels:
            length = int(rng.integers(20, 120))
            common = rng.integers(20, num_words, length)
            marked = rng.random(length) < 0.3
            signal = rng.integers(4, 12, length) + (8 if label else 0)
            seqs.append([1] + list(np.where(marked, signal, common)))
        out = np.empty(n, dtype=object)
        out[:] = seqs
        return out, labels.astype("int64")

    return make(n_train), make(n_test)


TEXT = ("the quick brown fox jumps over the lazy dog. a journey of a thousand miles begins with a single step. "
        "to be or not to be, that is the question. all that glitters is not gold. ") * 8


def timeseries_classes(n=None, length=100, seed=0):
    """Univariate series of two classes (sine vs. noisy square wave), shaped like FordA: (n, length) float."""
    n = n or size(256, 96)
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, length)
    y = rng.integers(0, 2, n)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = np.where(y[:, None] == 0, np.sin(t + phase), np.sign(np.sin(t + phase))) + 0.2 * rng.normal(size=(n, length))
    return x.astype("float32"), y


def translation_pairs():
    """Tab-separated ``english\\tfrench`` lines like the fra.txt of the seq2seq example."""
    pairs = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("Wow!", "Ça alors !"),
             ("Fire!", "Au feu !"), ("Help!", "À l'aide !"), ("Stop!", "Arrête-toi !"), ("Wait!", "Attends !"),
             ("I see.", "Je comprends."), ("I try.", "J'essaye."), ("Hello!", "Bonjour !"), ("Attack!", "Attaque !")]
    return [f"{a}\t{b}" for a, b in pairs] * size(4, 2)
