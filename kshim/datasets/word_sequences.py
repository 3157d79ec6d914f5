"""The word-index sequence processing shared by imdb and reuters: offsets, start and out-of-vocabulary marks,
length filtering and vocabulary capping, exactly as Keras applies them."""

import json

import numpy as np


def shuffled(rng, *arrays):
    order = np.arange(len(arrays[0]))
    rng.shuffle(order)
    return [a[order] for a in arrays]


def offset(seqs, start_char, index_from):
    """Shift every word index by ``index_from`` and put ``start_char`` in front (when not None)."""
    head = [] if start_char is None else [start_char]
    return [head + [w + index_from for w in s] for s in seqs]


def drop_long(maxlen, seqs, labels):
    """Keep the sequences shorter than ``maxlen`` (and their labels)."""
    kept = [(s, y) for s, y in zip(seqs, labels) if len(s) < maxlen]
    return [s for s, _ in kept], [y for _, y in kept]


def cap_vocabulary(seqs, num_words, skip_top, oov_char):
    """Words outside [skip_top, num_words) become ``oov_char``, or are dropped when it is None."""
    if not num_words:
        num_words = max(max(s) for s in seqs)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in s] for s in seqs]
    return [[w for w in s if skip_top <= w < num_words] for s in seqs]


def object_array(seqs):
    """A 1-D object array of lists (never a 2-D int array, even when all lengths agree)."""
    out = np.empty(len(seqs), dtype="object")
    out[:] = seqs
    return out


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
