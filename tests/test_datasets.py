"""kshim.datasets: each loader reads a small fixture written in Keras's own file format into a temporary
KERAS_HOME, and matches what Keras 3's loader (installed as a test extra) returns from the same files; and offline
with nothing cached, each fails at once, naming the file and where to put it."""

import gzip
import io
import json
import os
import pickle
import tarfile
import time

import numpy as np
import pytest

import kshim as keras
from kshim.datasets import cache

os.environ.setdefault("KERAS_BACKEND", "jax")
kd = pytest.importorskip("keras.datasets")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A temporary KERAS_HOME. The fixtures are not the real files, so both kshim's and Keras's checksum checks
    accept any file here (the checksums themselves are checked in test_checksums_match_keras)."""
    from keras.src.backend import config as keras_config
    from keras.src.utils import file_utils as keras_file_utils
    from kshim.utils import file_utils
    monkeypatch.setattr(file_utils, "validate_file", lambda *a, **k: True)
    monkeypatch.setattr(keras_file_utils, "validate_file", lambda *a, **k: True)
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))  # Keras reads KERAS_HOME once, at import
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KSHIM_HOME", raising=False)
    os.makedirs(tmp_path / "datasets", exist_ok=True)
    return tmp_path / "datasets"


@pytest.fixture
def offline(monkeypatch):
    """No network: every connection attempt fails at once."""
    def refuse(*args, **kwargs):
        raise OSError("network is unreachable (test)")
    monkeypatch.setattr(cache.socket, "create_connection", refuse)


def _same(a, b):
    (xa, ya), (xta, yta) = a
    (xb, yb), (xtb, ytb) = b
    for u, v in ((xa, xb), (ya, yb), (xta, xtb), (yta, ytb)):
        assert u.dtype == v.dtype and u.shape == v.shape
        if u.dtype == object:
            assert [list(s) for s in u] == [list(s) for s in v]
        else:
            np.testing.assert_array_equal(u, v)


def _rng():
    return np.random.RandomState(0)


def test_mnist_round_trip(home):
    r = _rng()
    arrays = {"x_train": r.randint(0, 256, (7, 28, 28)).astype("uint8"), "y_train": r.randint(0, 10, 7).astype("uint8"),
              "x_test": r.randint(0, 256, (3, 28, 28)).astype("uint8"), "y_test": r.randint(0, 10, 3).astype("uint8")}
    np.savez(home / "mnist.npz", **arrays)
    got = keras.datasets.mnist.load_data()
    np.testing.assert_array_equal(got[0][0], arrays["x_train"])
    np.testing.assert_array_equal(got[1][1], arrays["y_test"])
    _same(got, kd.mnist.load_data())


def _idx(path, array):
    header = (b"\x00\x00\x08" + bytes([array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape))
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def test_fashion_mnist_round_trip(home):
    r = _rng()
    folder = home / "fashion-mnist"
    folder.mkdir()
    x_train, y_train = r.randint(0, 256, (5, 28, 28)).astype("uint8"), r.randint(0, 10, 5).astype("uint8")
    x_test, y_test = r.randint(0, 256, (2, 28, 28)).astype("uint8"), r.randint(0, 10, 2).astype("uint8")
    _idx(folder / "train-labels-idx1-ubyte.gz", y_train)
    _idx(folder / "train-images-idx3-ubyte.gz", x_train)
    _idx(folder / "t10k-labels-idx1-ubyte.gz", y_test)
    _idx(folder / "t10k-images-idx3-ubyte.gz", x_test)
    got = keras.datasets.fashion_mnist.load_data()
    np.testing.assert_array_equal(got[0][0], x_train)
    np.testing.assert_array_equal(got[1][1], y_test)
    _same(got, kd.fashion_mnist.load_data())


def _cifar_archive(path, top, batches):
    """A tar.gz like the real one: a folder of python pickles of dicts with bytes keys."""
    with tarfile.open(path, "w:gz") as tar:
        for name, batch in batches.items():
            blob = pickle.dumps({k.encode(): v for k, v in batch.items()}, protocol=3)  # bytes as BINBYTES, as a python2 str reads
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def test_cifar10_round_trip(home):
    r = _rng()
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = {"data": r.randint(0, 256, (2, 3072)).astype("uint8"), "labels": [int(v) for v in r.randint(0, 10, 2)],
                         "batch_label": b"x"}
    _cifar_archive(home / "cifar-10-batches-py-target_archive", "cifar-10-batches-py", batches)
    (x, y), (xt, yt) = keras.datasets.cifar10.load_data()
    assert x.shape == (10, 32, 32, 3) and y.shape == (10, 1) and y.dtype == np.uint8
    np.testing.assert_array_equal(x[2], batches["data_batch_2"]["data"][0].reshape(3, 32, 32).transpose(1, 2, 0))
    np.testing.assert_array_equal(yt[:, 0], batches["test_batch"]["labels"])
    # Keras's own cifar10 loader assumes 10,000 images per batch, so the reference here is numpy:
    expected = np.concatenate([batches[f"data_batch_{i}"]["data"] for i in range(1, 6)])
    np.testing.assert_array_equal(x, expected.reshape(10, 3, 32, 32).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y[:, 0], sum((batches[f"data_batch_{i}"]["labels"] for i in range(1, 6)), []))
    assert (x.dtype, xt.dtype, yt.dtype, xt.shape, yt.shape) == (np.uint8, np.uint8, np.uint8, (2, 32, 32, 3), (2, 1))


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_round_trip(home, label_mode):
    r = _rng()
    batches = {name: {"data": r.randint(0, 256, (n, 3072)).astype("uint8"), "fine_labels": [int(v) for v in r.randint(0, 100, n)],
                      "coarse_labels": [int(v) for v in r.randint(0, 20, n)]} for name, n in (("train", 4), ("test", 2))}
    _cifar_archive(home / "cifar-100-python-target_archive", "cifar-100-python", batches)
    (x, y), (xt, yt) = got = keras.datasets.cifar100.load_data(label_mode)
    assert x.shape == (4, 32, 32, 3) and y.shape == (4, 1)
    np.testing.assert_array_equal(yt[:, 0], batches["test"][f"{label_mode}_labels"])
    _same(got, kd.cifar100.load_data(label_mode))


def test_cifar_refuses_code_in_a_pickle(home, tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))
    blob = pickle.dumps({b"data": np.zeros((1, 3072), "uint8"), b"labels": [Boom()]})
    (tmp_path / "batch").write_bytes(blob)
    from kshim.datasets import cifar
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        cifar.load_batch(str(tmp_path / "batch"))
    assert not (tmp_path / "pwned").exists()


def _sequences(r, n, vocab=30):
    seqs = np.empty(n, dtype=object)
    seqs[:] = [[int(w) for w in r.randint(1, vocab, r.randint(2, 12))] for _ in range(n)]
    return seqs


IMDB_ARGS = [dict(), dict(num_words=20, skip_top=2, maxlen=9, seed=5), dict(start_char=None, oov_char=None,
                                                                             index_from=0, num_words=10)]


@pytest.mark.parametrize("kwargs", IMDB_ARGS)
def test_imdb_round_trip(home, kwargs):
    r = _rng()
    np.savez(home / "imdb.npz", x_train=_sequences(r, 12), y_train=r.randint(0, 2, 12),
             x_test=_sequences(r, 8), y_test=r.randint(0, 2, 8))
    got = keras.datasets.imdb.load_data(**kwargs)
    _same(got, kd.imdb.load_data(**kwargs))
    assert got[0][0].dtype == object and len(got[0][0]) == len(got[0][1])
    if not kwargs:
        assert all(s[0] == 1 for s in got[0][0])


def test_word_indexes(home):
    (home / "imdb_word_index.json").write_text(json.dumps({"the": 1, "film": 2}))
    (home / "reuters_word_index.json").write_text(json.dumps({"said": 1}))
    assert keras.datasets.imdb.get_word_index() == {"the": 1, "film": 2} == kd.imdb.get_word_index()
    assert keras.datasets.reuters.get_word_index() == {"said": 1}


@pytest.mark.parametrize("kwargs", IMDB_ARGS[:2] + [dict(test_split=0.5, seed=1)])
def test_reuters_round_trip(home, kwargs):
    r = _rng()
    np.savez(home / "reuters.npz", x=_sequences(r, 15), y=r.randint(0, 46, 15))
    got = keras.datasets.reuters.load_data(**kwargs)
    _same(got, kd.reuters.load_data(**kwargs))
    assert keras.datasets.reuters.get_label_names() == kd.reuters.get_label_names()
    assert len(keras.datasets.reuters.get_label_names()) == 46


@pytest.mark.parametrize("kwargs", [dict(), dict(test_split=0.3, seed=7)])
def test_boston_housing_round_trip(home, kwargs):
    r = _rng()
    np.savez(home / "boston_housing.npz", x=r.rand(20, 13), y=r.rand(20))
    got = keras.datasets.boston_housing.load_data(**kwargs)
    assert got[0][0].shape == (int(20 * (1 - kwargs.get("test_split", 0.2))), 13)
    _same(got, kd.boston_housing.load_data(**kwargs))


@pytest.mark.parametrize("version", ["small", "large"])
def test_california_housing_round_trip(home, version):
    r = _rng()
    np.savez(home / "california_housing.npz", x=r.rand(700, 8).astype("float32"), y=r.rand(700).astype("float32"))
    got = keras.datasets.california_housing.load_data(version=version)
    assert len(got[0][0]) + len(got[1][0]) == (600 if version == "small" else 700)
    _same(got, kd.california_housing.load_data(version=version))


def test_checksums_match_keras(home, monkeypatch):
    """Every loader asks get_file for Keras's file name, origin, cache folder and checksum."""
    from keras.src.datasets import (boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb,
                                    mnist, reuters)
    from kshim.datasets import cache as kcache
    seen = {"kshim": [], "keras": []}

    def recorder(who):
        def get_file(fname=None, origin=None, file_hash=None, cache_subdir="datasets", extract=False, **kwargs):
            seen[who].append((fname, origin, file_hash, cache_subdir, bool(extract)))
            raise LookupError
        return get_file
    monkeypatch.setattr(kcache.file_utils, "get_file", recorder("kshim"))
    monkeypatch.setattr(kcache, "_reachable", lambda origin: None)
    for module in (boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters):
        monkeypatch.setattr(module, "get_file", recorder("keras"))
    calls = [(name, "load_data") for name in ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters",
                                               "boston_housing", "california_housing")]
    calls += [("imdb", "get_word_index"), ("reuters", "get_word_index")]
    for name, function in calls:
        for module in (getattr(keras.datasets, name), locals()[name]):
            with pytest.raises(LookupError):
                getattr(module, function)()
    assert seen["kshim"] == seen["keras"] and len(seen["kshim"]) == len(calls)
    assert seen["kshim"][0] == ("mnist.npz", "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                                "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", "datasets", False)

LOADERS = [
    ("mnist", lambda: keras.datasets.mnist.load_data(), "mnist.npz"),
    ("fashion_mnist", lambda: keras.datasets.fashion_mnist.load_data(), "train-labels-idx1-ubyte.gz"),
    ("cifar10", lambda: keras.datasets.cifar10.load_data(), "cifar-10-batches-py-target_archive"),
    ("cifar100", lambda: keras.datasets.cifar100.load_data(), "cifar-100-python-target_archive"),
    ("imdb", lambda: keras.datasets.imdb.load_data(), "imdb.npz"),
    ("imdb", lambda: keras.datasets.imdb.get_word_index(), "imdb_word_index.json"),
    ("reuters", lambda: keras.datasets.reuters.load_data(), "reuters.npz"),
    ("reuters", lambda: keras.datasets.reuters.get_word_index(), "reuters_word_index.json"),
    ("boston_housing", lambda: keras.datasets.boston_housing.load_data(), "boston_housing.npz"),
    ("california_housing", lambda: keras.datasets.california_housing.load_data(), "california_housing.npz"),
]


@pytest.mark.parametrize("name,load,fname", LOADERS, ids=[f"{n}-{f}" for n, _, f in LOADERS])
def test_offline_error_names_the_file_and_is_fast(home, offline, name, load, fname):
    start = time.monotonic()
    with pytest.raises(FileNotFoundError) as info:
        load()
    assert time.monotonic() - start < 2.0
    message = str(info.value)
    assert f"kshim.datasets.{name}" in message and fname in message and str(home) in message
    assert not any(p.name == fname for p in home.rglob("*"))  # nothing half-written left behind


def test_offline_error_without_monkeypatching_is_fast(home, monkeypatch):
    """The real probe: an unresolvable host fails within the connect timeout."""
    monkeypatch.setattr(cache, "KERAS_ORIGIN", "https://kshim-no-such-host.invalid/")
    start = time.monotonic()
    with pytest.raises(FileNotFoundError, match="mnist.npz"):
        keras.datasets.mnist.load_data()
    assert time.monotonic() - start < cache.CONNECT_TIMEOUT + 2.0


def test_cifar_archive_cannot_write_outside_the_cache(home):
    r = _rng()
    batches = {name: {"data": r.randint(0, 256, (1, 3072)).astype("uint8"), "fine_labels": [1], "coarse_labels": [2]}
               for name in ("train", "test")}
    batches["../../escaped"] = {"data": np.zeros((1, 3072), "uint8")}
    _cifar_archive(home / "cifar-100-python-target_archive", "cifar-100-python", batches)
    with pytest.warns(UserWarning, match="outside"):
        (x, _), _ = keras.datasets.cifar100.load_data()
    assert x.shape == (1, 32, 32, 3)
    assert not any(p.name == "escaped" for p in home.parent.rglob("*"))
