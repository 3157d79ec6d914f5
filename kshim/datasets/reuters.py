"""Reuters newswires: 11,228 newswires as word-index sequences labelled with 46 topics, read from Keras's
``reuters.npz``; ``get_word_index`` reads ``reuters_word_index.json``; ``get_label_names`` names the topics."""

import numpy as np

from kshim.datasets import cache, word_sequences as ws

_LABELS = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3):
    """``(x_train, y_train), (x_test, y_test)``: object arrays of lists of word indices and int topic labels;
    the last ``test_split`` of the shuffled newswires is the test set."""
    local = cache.fetch("reuters", path, cache.KERAS_ORIGIN + "reuters.npz",
                        "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916")
    f = cache.load_npz(local)
    xs, labels = ws.shuffled(np.random.RandomState(seed), f["x"], f["y"])
    if start_char is not None or index_from:
        xs = ws.offset(xs, start_char, index_from)
    if maxlen:
        xs, labels = ws.drop_long(maxlen, xs, labels)
    xs = ws.cap_vocabulary(list(xs), num_words, skip_top, oov_char)
    n = int(len(xs) * (1 - test_split))
    return ((ws.object_array(xs[:n]), np.array(labels[:n])), (ws.object_array(xs[n:]), np.array(labels[n:])))


def get_word_index(path="reuters_word_index.json"):
    """The dict word -> index (before the ``index_from`` offset)."""
    return ws.load_json(cache.fetch("reuters", path, cache.KERAS_ORIGIN + "reuters_word_index.json",
                                    "4d44cc38712099c9e383dc6e5f11a921"))


def get_label_names():
    """The 46 topic names, in label order."""
    return _LABELS
