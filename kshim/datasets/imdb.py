"""IMDB movie reviews: 25,000 + 25,000 reviews as word-index sequences with binary sentiment labels, read from
Keras's ``imdb.npz``; ``get_word_index`` reads ``imdb_word_index.json``."""

import numpy as np

from kshim.datasets import cache, word_sequences as ws


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    """``(x_train, y_train), (x_test, y_test)``: object arrays of lists of word indices and int labels.

    Indices are shifted by ``index_from``, each review starts with ``start_char``; with ``maxlen`` reviews of
    that length or longer are dropped; words outside [skip_top, num_words) become ``oov_char``."""
    if kwargs:
        raise TypeError(f"imdb.load_data: unknown arguments {sorted(kwargs)}.")
    local = cache.fetch("imdb", path, cache.KERAS_ORIGIN + "imdb.npz",
                        "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")
    f = cache.load_npz(local)
    rng = np.random.RandomState(seed)
    x_train, y_train = ws.shuffled(rng, f["x_train"], f["y_train"])
    x_test, y_test = ws.shuffled(rng, f["x_test"], f["y_test"])
    x_train, x_test = ws.offset(x_train, start_char, index_from), ws.offset(x_test, start_char, index_from)
    if maxlen:
        x_train, y_train = ws.drop_long(maxlen, x_train, y_train)
        x_test, y_test = ws.drop_long(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise ValueError(f"imdb.load_data: no sequence is shorter than maxlen={maxlen}. Increase `maxlen`.")
    seqs = ws.cap_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(y_train), np.asarray(y_test)]).astype(np.asarray(f["y_train"]).dtype)
    n = len(x_train)
    return (ws.object_array(seqs[:n]), labels[:n]), (ws.object_array(seqs[n:]), labels[n:])


def get_word_index(path="imdb_word_index.json"):
    """The dict word -> index (before the ``index_from`` offset)."""
    return ws.load_json(cache.fetch("imdb", path, cache.KERAS_ORIGIN + "imdb_word_index.json",
                                    "bfafd718b763782e994055a2d397834f"))
