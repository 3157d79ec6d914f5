"""Hostile files: every loading path refuses data that is not stored in the file itself, checks declared shapes
and sizes before reading, and turns hostile archives and configs into clear ValueErrors.

Loading paths: ``.weights.h5`` (load_weights), the weights inside ``.keras`` (load_model and load_weights), and
Keras 2 ``.h5`` files (load_model and load_weights).
"""

import json
import os
import tracemalloc
import zipfile

import h5py
import numpy as np
import pytest

import kshim as keras

SECRET = b"TOP-SECRET-BYTES" * 2  # 32 bytes: exactly a float32 (2, 4) kernel's worth


def _model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="dense")])
    model.build((None, 4))
    return model


def _kernel(model):
    return keras.ops.convert_to_numpy(model.get_layer("dense").kernel).copy()


# -- writing the files ---------------------------------------------------------------------------------------
def _weights_h5(tmp_path):
    path = tmp_path / "m.weights.h5"
    _model().save_weights(path)
    return path, "layers/dense/vars/0"


def _keras_file(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    return path, "layers/dense/vars/0"


def _legacy_h5(tmp_path):
    """A Keras 2 whole-model .h5 file: model_config attribute, model_weights/<layer>/<weight> datasets."""
    model = _model()
    path = tmp_path / "m.h5"
    kernel, bias = (keras.ops.convert_to_numpy(v) for v in model.get_layer("dense").weights)
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = model.to_json()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"dense"]
        layer = group.create_group("dense")
        layer.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        layer.create_dataset("dense/kernel:0", data=kernel)
        layer.create_dataset("dense/bias:0", data=bias)
    return path, "model_weights/dense/dense/kernel:0"


def _edit_h5(path, edit):
    """Apply ``edit(h5file)`` to an HDF5 file, or to the model.weights.h5 inside a .keras archive."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        inner = path.parent / "inner.h5"
        inner.write_bytes(members["model.weights.h5"])
        with h5py.File(inner, "r+") as f:
            edit(f)
        members["model.weights.h5"] = inner.read_bytes()
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    else:
        with h5py.File(path, "r+") as f:
            edit(f)


def _make_hostile(kind, tmp_path):
    """An edit that replaces the kernel dataset at ``name`` with data from outside the file."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(SECRET)
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f.create_dataset("data", data=np.frombuffer(SECRET, dtype="float32").reshape(4, 2))

    def edit(name):
        def apply(f):
            del f[name]
            if kind == "external_storage":
                f.create_dataset(name, shape=(4, 2), dtype="float32", external=[(str(secret), 0, len(SECRET))])
            elif kind == "virtual_dataset":
                layout = h5py.VirtualLayout(shape=(4, 2), dtype="float32")
                layout[...] = h5py.VirtualSource(str(source), "data", shape=(4, 2))
                f.create_virtual_dataset(name, layout)
            elif kind == "external_link":
                f[name] = h5py.ExternalLink(str(source), "data")
            elif kind == "soft_link":
                f["stash"] = np.frombuffer(SECRET, dtype="float32").reshape(4, 2)
                f[name] = h5py.SoftLink("/stash")
        return apply
    return edit


KINDS = {"external_storage": "external storage", "virtual_dataset": "virtual dataset",
         "external_link": "external link", "soft_link": "soft link"}
PATHS = {
    "weights_h5-load_weights": (_weights_h5, "load_weights"),
    "keras-load_model": (_keras_file, "load_model"),
    "keras-load_weights": (_keras_file, "load_weights"),
    "legacy_h5-load_model": (_legacy_h5, "load_model"),
    "legacy_h5-load_weights": (_legacy_h5, "load_weights"),
}


def _load(how, path):
    if how == "load_model":
        return keras.models.load_model(path)
    model = _model()
    before = _kernel(model)
    try:
        model.load_weights(path)
    finally:
        np.testing.assert_array_equal(_kernel(model), before)  # a refused file changes nothing
    return model


@pytest.mark.parametrize("entry", sorted(PATHS))
def test_clean_files_load_on_every_path(tmp_path, entry):
    write, how = PATHS[entry]
    path, _ = write(tmp_path)
    if how == "load_model":
        model = keras.models.load_model(path)
    else:
        model = _model()
        model.get_layer("dense").kernel.assign(np.zeros((4, 2), "float32"))
        model.load_weights(path)
    np.testing.assert_array_equal(_kernel(model), _kernel(_model()))


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("entry", sorted(PATHS))
def test_data_from_outside_the_file_is_refused(tmp_path, entry, kind):
    write, how = PATHS[entry]
    path, name = write(tmp_path)
    _edit_h5(path, _make_hostile(kind, tmp_path)(name))
    with pytest.raises(ValueError) as info:
        _load(how, path)
    message = str(info.value)
    assert KINDS[kind] in message
    assert name.rsplit("/", 1)[-1] in message
    assert "refused" in message


# -- declared shapes and sizes -------------------------------------------------------------------------------
def _shape_bomb(f, name, shape=(3000, 3000)):
    """A dataset that declares ``shape`` but stores only its fill value (a few bytes on disk)."""
    del f[name]
    f.create_dataset(name, shape=shape, dtype="float32", chunks=(500, 500), compression="gzip", fillvalue=1.0)


@pytest.mark.parametrize("entry", sorted(PATHS))
def test_declared_shape_is_checked_before_reading(tmp_path, entry):
    write, how = PATHS[entry]
    path, name = write(tmp_path)
    _edit_h5(path, lambda f: _shape_bomb(f, name))
    assert os.path.getsize(path) < 200_000  # declares 36 MB
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"3000, 3000"):
            _load(how, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, f"the 36 MB dataset was read before its shape was checked (peak {peak} bytes)"


def test_total_declared_size_is_capped(tmp_path, monkeypatch):
    path, name = _weights_h5(tmp_path)
    _edit_h5(path, lambda f: f.create_dataset("padding", shape=(80000, 80000), dtype="float32", chunks=(1000, 1000),
                                              compression="gzip"))
    with pytest.raises(ValueError, match=r"declares 256000000\d\d bytes uncompressed.*KSHIM_MAX_LOAD_BYTES"):
        _model().load_weights(path)  # 25.6 GB declared in a file of a few KB: over the default 16 GiB
    monkeypatch.setenv("KSHIM_MAX_LOAD_BYTES", str(1 << 20))
    clean, _ = _keras_file(tmp_path)
    keras.models.load_model(clean)  # a normal file is well under 1 MiB
    monkeypatch.setenv("KSHIM_MAX_LOAD_BYTES", "100")
    with pytest.raises(ValueError, match=r"more than the limit of 100 bytes.*KSHIM_MAX_LOAD_BYTES"):
        keras.models.load_model(clean)
    monkeypatch.setenv("KSHIM_MAX_LOAD_BYTES", "lots")
    with pytest.raises(ValueError, match="KSHIM_MAX_LOAD_BYTES must be a positive integer"):
        keras.models.load_model(clean)


# -- hostile archives ----------------------------------------------------------------------------------------
def _add_member(path, name, data, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "a", compression=compression) as zf:
        zf.writestr(name, data)


@pytest.mark.parametrize("member", ["../evil.txt", "assets/../../evil.txt", "/tmp/evil.txt",
                                    "assets\\..\\..\\evil.txt"])
def test_zip_path_traversal_is_refused(tmp_path, member):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    path, _ = _keras_file(work)
    _add_member(path, member, b"pwned")
    for how in ("load_model", "load_weights"):
        with pytest.raises(ValueError, match="points outside the archive"):
            _load(how, path)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "a" / "evil.txt").exists()


def test_zip_bomb_is_refused(tmp_path, monkeypatch):
    path, _ = _keras_file(tmp_path)
    _add_member(path, "assets/padding.bin", bytes(70 << 20), zipfile.ZIP_DEFLATED)  # 70 MiB of zeros
    assert os.path.getsize(path) < 1_000_000
    with pytest.raises(ValueError, match="decompression bomb"):
        keras.models.load_model(path)
    (tmp_path / "small").mkdir()
    small, _ = _keras_file(tmp_path / "small")
    _add_member(small, "assets/padding.bin", bytes(4 << 20), zipfile.ZIP_DEFLATED)  # under the ratio floor
    monkeypatch.setenv("KSHIM_MAX_LOAD_BYTES", str(2 << 20))
    with pytest.raises(ValueError, match="the archive declares .* KSHIM_MAX_LOAD_BYTES"):
        keras.models.load_model(small)


# -- hostile configs under safe mode -------------------------------------------------------------------------
def _replace_config(path, config):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["config.json"] = config if isinstance(config, bytes) else json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_lambda_bytecode_is_refused_in_safe_mode(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2.0, name="double")])
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, safe_mode=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(np.ones((1, 4), "float32"))), 2.0)


def test_config_naming_an_arbitrary_callable_is_refused(tmp_path):
    path, _ = _keras_file(tmp_path)
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    config["config"]["layers"][-1]["config"]["activation"] = {
        "module": "os", "class_name": "function", "config": "system", "registered_name": "function"}
    _replace_config(path, config)
    with pytest.raises(ValueError, match="system"):
        keras.models.load_model(path)


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deeply_nested_config_is_a_value_error(tmp_path, depth):
    path, _ = _keras_file(tmp_path)
    nested = b'{"class_name": "Sequential", "config": ' + b'{"a": ' * depth + b'1' + b'}' * depth + b'}'
    _replace_config(path, nested)
    with pytest.raises(ValueError, match="nested more than"):
        keras.models.load_model(path)


def test_deeply_nested_legacy_model_config_is_a_value_error(tmp_path):
    path, _ = _legacy_h5(tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = '{"class_name": "Sequential", "config": ' + '[' * 50_000 + ']' * 50_000 + '}'
    with pytest.raises(ValueError, match="nested more than"):
        keras.models.load_model(path)


def test_real_nested_models_are_well_under_the_depth_limit(tmp_path):
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    for _ in range(6):
        inputs = keras.Input((4,))
        inner = keras.Model(inputs, inner(inputs))
    path = tmp_path / "nested.keras"
    inner.save(path)
    loaded = keras.models.load_model(path)
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(inner(x)))
