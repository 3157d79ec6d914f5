"""kshim.utils data helpers: to_categorical, normalize, pad_sequences, PyDataset, timeseries_dataset_from_array,
split_dataset, get_file, and the image/text helpers and directory datasets, against hand-computed values."""

import io
import os
import tarfile
import zipfile

import numpy as np
import pytest

import kshim
from kshim import layers, utils


# ----------------------------------------------------------------------------------------------------------------
# to_categorical, normalize


def test_to_categorical_shapes_and_values():
    np.testing.assert_array_equal(utils.to_categorical([0, 2, 1]), [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    out = utils.to_categorical(np.array([[1, 0], [2, 2]]), num_classes=4)
    assert out.shape == (2, 2, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[1, 0], [0, 0, 1, 0])
    np.testing.assert_array_equal(utils.to_categorical(np.array([[3], [0]])), [[0, 0, 0, 1], [1, 0, 0, 0]])
    np.testing.assert_array_equal(utils.to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])


@pytest.mark.parametrize("labels,num_classes,match", [
    ([0, -1, 2], None, "non-negative"),
    ([0, 3], 3, "num_classes=3"),
    ([0.5, 1.0], None, "integer"),
    ([0, 1], 0, "positive integer"),
])
def test_to_categorical_errors(labels, num_classes, match):
    with pytest.raises(ValueError, match=match):
        utils.to_categorical(labels, num_classes=num_classes)


def test_normalize_axis_and_order():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], "float32")
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(utils.normalize(x, order=1), [[3 / 7, 4 / 7], [0, 0]], rtol=1e-6)
    np.testing.assert_allclose(utils.normalize(x, axis=0), [[1.0, 1.0], [0.0, 0.0]], rtol=1e-6)


# ----------------------------------------------------------------------------------------------------------------
# pad_sequences


def test_pad_sequences_keras_examples():
    seqs = [[1], [2, 3], [4, 5, 6]]
    np.testing.assert_array_equal(utils.pad_sequences(seqs), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(utils.pad_sequences(seqs, value=-1), [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(utils.pad_sequences(seqs, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(utils.pad_sequences(seqs, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    np.testing.assert_array_equal(utils.pad_sequences(seqs, maxlen=2, truncating="post"), [[0, 1], [2, 3], [4, 5]])
    assert utils.pad_sequences(seqs).dtype == np.int32


def test_pad_sequences_ragged_float_strings_and_vectors():
    out = utils.pad_sequences([[0.5, 1.5], [], [2.25]], dtype="float32", padding="post", value=-1.0)
    np.testing.assert_array_equal(out, [[0.5, 1.5], [-1, -1], [2.25, -1]])
    out = utils.pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert out.tolist() == [["a", "b"], ["<pad>", "c"]]
    out = utils.pad_sequences([np.ones((2, 3)), np.zeros((1, 3))], maxlen=3, dtype="float32")
    assert out.shape == (2, 3, 3) and out[0, 0].tolist() == [0, 0, 0] and out[0, 1].tolist() == [1, 1, 1]
    assert utils.pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    np.testing.assert_array_equal(utils.pad_sequences([[1, 2, 3]], maxlen=2.0), [[2, 3]])


@pytest.mark.parametrize("kwargs,match", [
    ({"maxlen": 2.5}, "maxlen"), ({"maxlen": "3"}, "maxlen"), ({"maxlen": -1}, "maxlen"),
    ({"padding": "middle"}, "padding"), ({"truncating": "mid"}, "truncating"),
    ({"value": "x"}, "dtype=object"),
])
def test_pad_sequences_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        utils.pad_sequences([[1, 2], [3]], **kwargs)
    with pytest.raises(ValueError, match="iterables"):
        utils.pad_sequences([[1], 5])


# ----------------------------------------------------------------------------------------------------------------
# PyDataset / Sequence


class _Squares(utils.PyDataset):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.epochs_ended = 0

    def __len__(self):
        return 3

    def __getitem__(self, i):
        x = np.arange(4 * i, 4 * i + 4, dtype="float32").reshape(4, 1)
        return x, 2 * x

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_py_dataset_fit_calls_on_epoch_end_and_accepts_workers():
    ds = _Squares(workers=4, use_multiprocessing=True, max_queue_size=5)
    assert ds.workers == 4 and ds.use_multiprocessing and len(list(ds)) == 3
    model = kshim.Sequential([kshim.Input((1,)), layers.Dense(1, kernel_initializer="zeros")])
    model.compile(kshim.optimizers.SGD(0.001), "mse")
    model.fit(ds, epochs=3, verbose=0)
    assert ds.epochs_ended == 3
    with pytest.raises(ValueError, match="workers"):
        _Squares(workers=0)


# ----------------------------------------------------------------------------------------------------------------
# timeseries_dataset_from_array


def test_timeseries_windows_targets_and_batches():
    data = np.arange(20)
    ds = utils.timeseries_dataset_from_array(data[:-3], data[3:], sequence_length=3, sequence_stride=2,
                                             sampling_rate=2, batch_size=2)
    batches = list(ds)
    x0, y0 = batches[0]
    np.testing.assert_array_equal(x0, [[0, 2, 4], [2, 4, 6]])
    np.testing.assert_array_equal(y0, [3, 5])
    xs = np.concatenate([b[0] for b in batches])
    # windows start at 0, 2, ..., while start + 4 <= 16
    np.testing.assert_array_equal(xs[:, 0], [0, 2, 4, 6, 8, 10, 12])
    assert len(ds) == 4 and batches[-1][0].shape == (1, 3)


def test_timeseries_start_end_unbatched_and_no_targets():
    data = np.arange(10, dtype="float32").reshape(10, 1)
    ds = utils.timeseries_dataset_from_array(data, None, sequence_length=4, batch_size=None, start_index=2,
                                             end_index=9)
    items = list(ds)
    assert len(items) == 4 and items[0].shape == (4, 1)
    np.testing.assert_array_equal(items[-1][:, 0], [5, 6, 7, 8])


def test_timeseries_shuffle_is_seeded_and_reshuffles():
    data = np.arange(50)
    a = utils.timeseries_dataset_from_array(data, data, 5, batch_size=8, shuffle=True, seed=3)
    b = utils.timeseries_dataset_from_array(data, data, 5, batch_size=8, shuffle=True, seed=3)
    first = np.concatenate([x[:, 0] for x, _ in a])
    np.testing.assert_array_equal(first, np.concatenate([x[:, 0] for x, _ in b]))
    assert sorted(first.tolist()) == list(range(46)) and first.tolist() != list(range(46))
    for x, y in a:
        np.testing.assert_array_equal(x[:, 0], y)
    a.on_epoch_end()
    assert np.concatenate([x[:, 0] for x, _ in a]).tolist() != first.tolist()


def test_timeseries_feeds_fit():
    t = np.arange(200, dtype="float32") / 200.0
    series = np.sin(12 * t).astype("float32")[:, None]
    ds = utils.timeseries_dataset_from_array(series[:-4], series[4:, 0], sequence_length=4, batch_size=32)
    model = kshim.Sequential([kshim.Input((4, 1)), layers.Flatten(), layers.Dense(1)])
    model.compile(kshim.optimizers.Adam(0.05), "mse")
    hist = model.fit(ds, epochs=30, verbose=0).history["loss"]
    assert hist[-1] < 0.2 * hist[0]


@pytest.mark.parametrize("kwargs,match", [
    ({"sequence_length": 0}, "sequence_length"), ({"sampling_rate": 0}, "sampling_rate"),
    ({"sequence_stride": 30}, "sequence_stride"), ({"start_index": -1}, "start_index"),
    ({"start_index": 5, "end_index": 5}, "end_index"),
])
def test_timeseries_errors(kwargs, match):
    args = {"sequence_length": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        utils.timeseries_dataset_from_array(np.arange(20), None, **args)


# ----------------------------------------------------------------------------------------------------------------
# split_dataset


def test_split_dataset_arrays_and_tuples():
    x = np.arange(10)
    left, right = utils.split_dataset(x, left_size=0.8)
    np.testing.assert_array_equal(left, np.arange(8))
    np.testing.assert_array_equal(right, [8, 9])
    (lx, ly), (rx, ry) = utils.split_dataset((x, x * 10), right_size=3)
    np.testing.assert_array_equal(rx, [7, 8, 9])
    np.testing.assert_array_equal(ly, lx * 10)
    (sl, _), (sr, _) = utils.split_dataset((x, x), left_size=4, right_size=4, shuffle=True, seed=1)
    assert len(sl) == 4 and len(sr) == 4 and not set(sl) & set(sr)
    (sl2, _), _ = utils.split_dataset((x, x), left_size=4, right_size=4, shuffle=True, seed=1)
    np.testing.assert_array_equal(sl, sl2)
    d_left, d_right = utils.split_dataset({"a": x, "b": x + 1}, left_size=5)
    np.testing.assert_array_equal(d_right["b"], [6, 7, 8, 9, 10])


def test_split_dataset_pydataset_and_errors():
    left, right = utils.split_dataset(_Squares(), left_size=2)
    assert len(left) == 2 and len(right) == 1
    np.testing.assert_array_equal(right[0][0][:, 0], [8, 9, 10, 11])
    with pytest.raises(ValueError, match="left_size"):
        utils.split_dataset(np.arange(10), left_size=1.5)
    with pytest.raises(ValueError, match="neither|left_size=None"):
        utils.split_dataset(np.arange(10))
    with pytest.raises(ValueError, match="same length"):
        utils.split_dataset((np.arange(3), np.arange(4)), left_size=1)
    with pytest.raises(TypeError, match="left_size"):
        utils.split_dataset(np.arange(10), left_size="half")


# ----------------------------------------------------------------------------------------------------------------
# get_file


def test_get_file_local_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KSHIM_HOME", str(tmp_path / "home"))
    src = tmp_path / "data.csv"
    src.write_text("a,b\n1,2\n")
    path = utils.get_file(origin=src.as_uri())
    assert path == str(tmp_path / "home" / "datasets" / "data.csv")
    assert open(path).read() == "a,b\n1,2\n"
    src.write_text("changed\n")  # the cached copy is used while it exists
    assert open(utils.get_file(origin=src.as_uri())).read() == "a,b\n1,2\n"
    import hashlib

    digest = hashlib.sha256(b"changed\n").hexdigest()
    path = utils.get_file("data.csv", origin=str(src), file_hash=digest)  # stale hash: fetched again
    assert open(path).read() == "changed\n"
    with pytest.raises(ValueError, match="hash"):
        utils.get_file("other.csv", origin=str(src), file_hash="0" * 64)
    with pytest.raises(ValueError, match="origin"):
        utils.get_file("x.csv")
    with pytest.raises(FileNotFoundError):
        utils.get_file(origin=(tmp_path / "missing.txt").as_uri())


def test_get_file_extracts_zip_and_tar(tmp_path):
    zpath = tmp_path / "bundle.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("bundle/one.txt", "1")
        z.writestr("../escape.txt", "no")
    with pytest.warns(UserWarning, match="outside"):
        out = utils.get_file("bundle.zip", origin=zpath.as_uri(), extract=True, cache_dir=str(tmp_path / "c"))
    assert out.endswith("bundle_extracted")
    assert open(os.path.join(out, "bundle", "one.txt")).read() == "1"
    assert not (tmp_path / "c" / "datasets" / "escape.txt").exists()
    tpath = tmp_path / "arch.tar.gz"
    with tarfile.open(tpath, "w:gz") as t:
        data = b"hello"
        info = tarfile.TarInfo("inner/hello.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    out = utils.get_file("arch", origin=str(tpath), untar=True, cache_dir=str(tmp_path / "c"))
    assert out.endswith(os.path.join("datasets", "arch"))
    assert open(os.path.join(out, "inner", "hello.txt")).read() == "hello"


# ----------------------------------------------------------------------------------------------------------------
# image helpers (Pillow)


def test_array_img_round_trip_and_save_load(tmp_path):
    pytest.importorskip("PIL")
    x = np.zeros((4, 5, 3), "float32")
    x[1, 2] = [10, 20, 30]
    img = utils.array_to_img(x, scale=False)
    assert img.size == (5, 4) and img.mode == "RGB"
    np.testing.assert_array_equal(utils.img_to_array(img), x)
    scaled = utils.img_to_array(utils.array_to_img(x))  # stretched to [0, 255]
    assert scaled.max() == 255.0 and scaled[1, 2, 0] == 85.0
    assert utils.img_to_array(img, data_format="channels_first").shape == (3, 4, 5)
    gray = utils.array_to_img(np.arange(6, dtype="float32").reshape(2, 3, 1), scale=False)
    assert gray.mode == "L"
    path = tmp_path / "im.png"
    utils.save_img(str(path), x, scale=False)
    np.testing.assert_array_equal(utils.img_to_array(utils.load_img(str(path))), x)
    assert utils.img_to_array(utils.load_img(str(path), color_mode="grayscale")).shape == (4, 5, 1)
    small = utils.load_img(str(path), target_size=(2, 3))
    assert small.size == (3, 2)
    with pytest.raises(ValueError, match="rank 3"):
        utils.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="color_mode"):
        utils.load_img(str(path), color_mode="cmyk")


def _write_image_tree(root, sizes):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, count in (("cats", 3), ("dogs", 2)):
        os.makedirs(root / cls, exist_ok=True)
        for i in range(count):
            h, w = sizes[i % len(sizes)]
            arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / f"{i}.png")
    (root / "cats" / "notes.txt").write_text("not an image")


def test_image_dataset_from_directory(tmp_path):
    pytest.importorskip("PIL")
    _write_image_tree(tmp_path, [(6, 8), (10, 10)])
    ds = utils.image_dataset_from_directory(str(tmp_path), image_size=(4, 4), batch_size=2, shuffle=False,
                                            verbose=False)
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 3
    x, y = ds[0]
    assert x.shape == (2, 4, 4, 3) and x.dtype == np.float32 and y.tolist() == [0, 0]
    assert np.concatenate([b[1] for b in ds]).tolist() == [0, 0, 0, 1, 1]
    from kshim.numerics.image_weights import resize_numpy

    first = np.asarray(utils.load_img(ds.file_paths[0]), "float32")
    np.testing.assert_allclose(x[0], resize_numpy(first, (4, 4)), rtol=1e-5, atol=1e-4)
    gray = utils.image_dataset_from_directory(str(tmp_path), image_size=5, color_mode="grayscale",
                                              label_mode="categorical", shuffle=False, verbose=False)
    gx, gy = gray[0]
    assert gx.shape == (5, 5, 5, 1) and gy.shape == (5, 2)
    train, val = utils.image_dataset_from_directory(str(tmp_path), image_size=(4, 4), validation_split=0.4,
                                                    subset="both", seed=7, verbose=False)
    assert len(train.file_paths) == 3 and len(val.file_paths) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    again = utils.image_dataset_from_directory(str(tmp_path), image_size=(4, 4), validation_split=0.4,
                                               subset="training", seed=7, verbose=False)
    assert again.file_paths == train.file_paths
    with pytest.raises(ValueError, match="seed"):
        utils.image_dataset_from_directory(str(tmp_path), validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="binary"):
        utils.image_dataset_from_directory(str(tmp_path), label_mode="binary", class_names=["cats"],
                                           verbose=False)


def test_text_dataset_from_directory_feeds_text_vectorization(tmp_path):
    texts = {"neg": ["bad movie", "awful plot", "boring and bad"], "pos": ["great film", "loved it"]}
    for cls, items in texts.items():
        os.makedirs(tmp_path / cls)
        for i, t in enumerate(items):
            (tmp_path / cls / f"{i}.txt").write_text(t)
    ds = utils.text_dataset_from_directory(str(tmp_path), batch_size=4, shuffle=False, verbose=False)
    assert ds.class_names == ["neg", "pos"] and len(ds) == 2
    x, y = ds[0]
    assert x.tolist() == ["bad movie", "awful plot", "boring and bad", "great film"]
    assert y.tolist() == [0, 0, 0, 1]
    short = utils.text_dataset_from_directory(str(tmp_path), max_length=3, label_mode="binary", shuffle=False,
                                              verbose=False)
    sx, sy = short[0]
    assert sx.tolist()[0] == "bad" and sy.shape == (5, 1) and sy.dtype == np.float32
    vec = layers.TextVectorization(output_mode="multi_hot")
    vec.adapt(np.concatenate([b[0] for b in ds]))
    mapped = ds.map(lambda t, lab: (vec(t), lab))
    mx, my = mapped[1]
    assert kshim.ops.convert_to_numpy(mx).shape == (1, vec.vocabulary_size())
    shuffled = utils.text_dataset_from_directory(str(tmp_path), seed=3, verbose=False)
    assert sorted(shuffled[0][0].tolist()) == sorted(sum(texts.values(), []))
