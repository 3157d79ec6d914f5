"""Writes keras_lookups.keras and keras_lookups.json with Keras 3 itself (TensorFlow backend: Keras's lookup
layers need TensorFlow). Run with an interpreter that has keras 3 and tensorflow:

    KERAS_BACKEND=tensorflow python tests/reliability/data/make_keras_lookups.py
"""

import json
import os

import numpy as np

import keras

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE_WORDS = ["b", "a", "zzz", "c", ""]
PROBE_INTS = [4, 3, 99, 7, 0]
PROBE_TEXTS = ["x y z", "z z q", "y", "never seen", ""]


def build():
    words = keras.layers.StringLookup(name="words")
    words.adapt(np.array(["a", "b", "b", "c", "c", "c"]))
    ints = keras.layers.IntegerLookup(name="ints")
    ints.adapt(np.array([3, 4, 4, 7, 7, 7, 7]))
    tfidf = keras.layers.TextVectorization(output_mode="tf_idf", name="tfidf")
    tfidf.adapt(np.array(["x y z", "y z", "z", "x x w"]))
    seq = keras.layers.TextVectorization(output_mode="int", output_sequence_length=4, name="seq")
    seq.adapt(np.array(["x y z", "y z", "z", "x x w"]))
    i1 = keras.Input((1,), dtype="string", name="w")
    i2 = keras.Input((1,), dtype="int64", name="i")
    i3 = keras.Input((1,), dtype="string", name="t")
    return keras.Model([i1, i2, i3], [words(i1), ints(i2), tfidf(i3), seq(i3)])


def probe_inputs():
    return [np.array(PROBE_WORDS).reshape(-1, 1), np.array(PROBE_INTS, dtype="int64").reshape(-1, 1),
            np.array(PROBE_TEXTS).reshape(-1, 1)]


if __name__ == "__main__":
    model = build()
    outputs = model(probe_inputs())
    model.save(os.path.join(HERE, "keras_lookups.keras"))
    with open(os.path.join(HERE, "keras_lookups.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "outputs": [np.asarray(o).tolist() for o in outputs]}, f)
