"""Adapted lookup vocabularies live in the .keras file as Keras 3 keeps them (``assets/<path>/vocabulary.txt``),
both ways with Keras 3; a vocabulary path in a loaded config is refused in safe mode (CVE-2025-12058 class).

``data/keras_lookups.keras`` and its outputs ``data/keras_lookups.json`` were written by Keras 3.15.1 itself
(``data/make_keras_lookups.py``; Keras's lookup layers need TensorFlow). The check that Keras 3 reads kshim's
file runs when an interpreter with keras and tensorflow is at hand: this one, or ``$KSHIM_KERAS_TF_PYTHON``.
"""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import kshim as keras

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
WORDS = ["b", "a", "zzz", "c", ""]
INTS = [4, 3, 99, 7, 0]
TEXTS = ["x y z", "z z q", "y", "never seen", ""]


def _probe():
    return [np.array(WORDS).reshape(-1, 1), np.array(INTS, dtype="int64").reshape(-1, 1),
            np.array(TEXTS).reshape(-1, 1)]


def _outputs(model):
    return [np.asarray(keras.ops.convert_to_numpy(o), dtype="float64") for o in model(_probe())]


def _expected():
    with open(os.path.join(DATA, "keras_lookups.json")) as f:
        return [np.asarray(o, dtype="float64") for o in json.load(f)["outputs"]]


def _adapted_model():
    """The model of ``data/make_keras_lookups.py``, built and adapted with kshim."""
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


def _assert_all_close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


def test_adapted_model_matches_keras_before_saving():
    _assert_all_close(_outputs(_adapted_model()), _expected())


def test_adapted_vocabularies_survive_a_keras_file_round_trip(tmp_path):
    model = _adapted_model()
    path = tmp_path / "lookups.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert zf.read("assets/layers/string_lookup/vocabulary.txt").decode().split("\n") == \
            ["[UNK]", "c", "b", "a"]
    assert {"assets/layers/integer_lookup/vocabulary.txt", "assets/layers/text_vectorization/vocabulary.txt",
            "assets/layers/text_vectorization/_lookup_layer/vocabulary.txt",
            "assets/layers/text_vectorization_1/vocabulary.txt"} <= names
    loaded = keras.models.load_model(path)
    _assert_all_close(_outputs(loaded), _expected())
    assert loaded.get_layer("words").get_vocabulary() == ["[UNK]", "c", "b", "a"]
    assert loaded.get_layer("ints").get_vocabulary() == [-1, 7, 4, 3]


def test_keras_saved_lookups_load_in_kshim():
    model = keras.models.load_model(os.path.join(DATA, "keras_lookups.keras"))
    _assert_all_close(_outputs(model), _expected())


def test_file_without_vocabulary_warns(tmp_path):
    model = _adapted_model()
    path = tmp_path / "lookups.keras"
    model.save(path)
    stripped = tmp_path / "stripped.keras"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(stripped, "w") as dst:
        for name in src.namelist():
            if name != "assets/layers/string_lookup/vocabulary.txt":
                dst.writestr(name, src.read(name))
    with pytest.warns(UserWarning, match="layer 'words' has no saved vocabulary"):
        keras.models.load_model(stripped)


def _keras_tf_python():
    try:
        import tensorflow  # noqa: F401

        return sys.executable
    except ImportError:
        return os.environ.get("KSHIM_KERAS_TF_PYTHON")


_KERAS_SIDE = """
import json, sys
import numpy as np
import keras
model = keras.saving.load_model(sys.argv[1])
x = [np.array(json.loads(sys.argv[2])).reshape(-1, 1), np.array(json.loads(sys.argv[3]), dtype="int64").reshape(-1, 1),
     np.array(json.loads(sys.argv[4])).reshape(-1, 1)]
print(json.dumps([np.asarray(o).tolist() for o in model(x)]))
"""


def test_kshim_saved_lookups_load_in_keras(tmp_path):
    python = _keras_tf_python()
    if not python:
        pytest.skip("needs an interpreter with keras and tensorflow (Keras's lookup layers need TensorFlow): "
                    "set KSHIM_KERAS_TF_PYTHON")
    path = tmp_path / "lookups.keras"
    _adapted_model().save(path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([python, "-c", _KERAS_SIDE, str(path), json.dumps(WORDS), json.dumps(INTS),
                          json.dumps(TEXTS)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = [np.asarray(o, dtype="float64") for o in json.loads(out.stdout.strip().splitlines()[-1])]
    _assert_all_close(got, _expected())


# -- a vocabulary path in a config (CVE-2025-12058 class) ------------------------------------------------------
def _model_with_path_vocabulary(tmp_path, layer_class):
    secret = tmp_path / "secret.txt"
    secret.write_text("alpha\nbeta\n")
    layer = getattr(keras.layers, layer_class)(vocabulary=["alpha", "beta"], name="lookup")
    inputs = keras.Input((1,), dtype="string")
    model = keras.Model(inputs, layer(inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    for layer_config in config["config"]["layers"]:
        if layer_config["config"].get("name") == "lookup":
            layer_config["config"]["vocabulary"] = str(secret)
    members["config.json"] = json.dumps(config).encode()
    hostile = tmp_path / "hostile.keras"
    with zipfile.ZipFile(hostile, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return hostile, secret


@pytest.mark.parametrize("layer_class", ["StringLookup", "TextVectorization"])
def test_vocabulary_path_in_config_is_refused_in_safe_mode(tmp_path, layer_class):
    hostile, secret = _model_with_path_vocabulary(tmp_path, layer_class)
    with pytest.raises(ValueError, match="vocabulary file outside of the model archive") as info:
        keras.models.load_model(hostile)
    assert str(secret) in str(info.value)
    model = keras.models.load_model(hostile, safe_mode=False)  # the user trusts the file
    assert model.get_layer("lookup").get_vocabulary()[-2:] == ["alpha", "beta"]


def test_vocabulary_path_is_still_accepted_in_code(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("alpha\nbeta\n")
    layer = keras.layers.StringLookup(vocabulary=str(vocab))
    assert layer.get_vocabulary() == ["[UNK]", "alpha", "beta"]
