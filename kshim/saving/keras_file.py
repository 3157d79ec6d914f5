"""The ``.keras`` format: a zip archive of ``metadata.json``, ``config.json`` and ``model.weights.h5``.

The layout is Keras 3's, so files go both ways between kshim and Keras 3:

- ``config.json``: the model's config (`serialize_keras_object`), with its ``compile_config``;
- ``metadata.json``: ``{"keras_version", "date_saved"}`` (kshim adds ``kshim_version`` and ``backend``);
- ``model.weights.h5``: the variables in Keras 3's HDF5 layout (see `object_tree`), optimizer state included;
- ``assets/<path>/...``: files of layers that keep state outside variables (a lookup layer's ``vocabulary.txt``),
  see `archive`.

Saving is atomic (see `atomic`). Loading reads JSON and arrays only; it never imports or runs code from the file.
"""

import datetime
import io
import json
import os
import warnings
import zipfile

import kshim
from kshim.layers.layer import Layer
from kshim.registry import loading_scope
from kshim.saving import archive, atomic, h5_store, legacy_h5
from kshim.serialization import deserialize_keras_object, serialize_keras_object

CONFIG_FILENAME = "config.json"
METADATA_FILENAME = "metadata.json"
WEIGHTS_FILENAME = "model.weights.h5"
FORMAT_KERAS_VERSION = "3.0.0"  # the file format kshim writes is Keras 3's
_MAX_JSON_BYTES = 1 << 30


def model_config_json(model):
    """``config.json``'s text for ``model``."""
    config = serialize_keras_object(model)
    try:
        return json.dumps(config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"The config of model '{model.name}' holds a value JSON cannot store ({e}). Make every "
                         "custom layer's `get_config()` return plain Python values.") from e


def _metadata_json():
    return json.dumps({"keras_version": FORMAT_KERAS_VERSION, "kshim_version": kshim.__version__,
                       "backend": kshim.config.backend(),
                       "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})


def _prepare_optimizer(model):
    """Create a compiled model's optimizer state before saving, so the file holds every optimizer variable."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built and model.built and hasattr(model, "_ensure_optimizer_built"):
        model._ensure_optimizer_built()


def weights_bytes(model, include_optimizer=True):
    """``model.weights.h5`` as bytes."""
    h5py = h5_store.require_h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        h5_store.write_state(model, f, include_optimizer=include_optimizer)
    return buffer.getvalue()


def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True, **kwargs):
    """Save ``model`` (architecture, weights, compile arguments, optimizer state) as a ``.keras`` file."""
    if not isinstance(model, Layer) or not hasattr(model, "compile"):
        raise ValueError(f"save_model: expected a kshim Model. Received: {model!r}")
    filepath = os.fspath(filepath)
    if zipped is False:
        raise ValueError("save_model: zipped=False (a folder instead of a .keras archive) is not supported by kshim.")
    if filepath.endswith(".h5") or filepath.endswith(".hdf5"):
        warnings.warn(
            "You are saving your model as an HDF5 file via `model.save()`. This file format is considered legacy. "
            "We recommend using instead the native Keras format, e.g. `model.save('my_model.keras')` or "
            "`keras.saving.save_model(model, 'my_model.keras')`.", DeprecationWarning, stacklevel=3)
        compile_config = model.get_compile_config() if include_optimizer and getattr(model, "compiled", False) \
            else None
        legacy_h5.save_legacy_model(model, filepath, overwrite=overwrite, keras_version=FORMAT_KERAS_VERSION,
                                    backend=kshim.config.backend(), compile_config=compile_config)
        return
    if not filepath.endswith(".keras"):
        raise ValueError(f"save_model: the file name must end in `.keras`. Received: filepath='{filepath}'")
    if kwargs:
        raise ValueError(f"save_model: unknown argument(s) {sorted(kwargs)}. Accepted: overwrite, zipped, "
                         "include_optimizer.")
    if include_optimizer:
        _prepare_optimizer(model)
    # Everything that can fail on the model's side happens before the file is touched.
    config_json = model_config_json(model)
    weights = weights_bytes(model, include_optimizer=include_optimizer)
    assets = archive.collect_assets(model)
    metadata = _metadata_json()

    def write(f):
        with zipfile.ZipFile(f, "w") as zf:
            zf.writestr(METADATA_FILENAME, metadata)
            zf.writestr(CONFIG_FILENAME, config_json)
            zf.writestr(WEIGHTS_FILENAME, weights)
            for name, data in assets.items():
                zf.writestr(name, data)

    atomic.atomic_write(filepath, write, overwrite=overwrite)


def _read_member(zf, name, filepath):
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ValueError(f"'{filepath}' is not a valid .keras file: the archive has no '{name}'. "
                         f"It holds: {zf.namelist()}") from None
    if name.endswith(".json") and info.file_size > _MAX_JSON_BYTES:
        raise ValueError(f"'{filepath}': '{name}' is unreasonably large ({info.file_size} bytes).")
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise ValueError(f"'{filepath}' is corrupt: '{name}' cannot be read from the archive ({e}).") from e


def _open_zip(filepath):
    """The archive, opened after `archive.check_archive` (member names and declared sizes)."""
    try:
        zf = zipfile.ZipFile(filepath, "r")
    except zipfile.BadZipFile as e:
        raise ValueError(f"'{filepath}' is not a valid .keras file: the zip archive is corrupt ({e}).") from e
    try:
        archive.check_archive(zf, filepath)
    except BaseException:
        zf.close()
        raise
    return zf


def read_config(filepath):
    """The parsed ``config.json`` of a ``.keras`` file."""
    with _open_zip(filepath) as zf:
        text = _read_member(zf, CONFIG_FILENAME, filepath)
    return archive.parse_config(text, filepath)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a ``.keras`` file written by kshim or by Keras 3."""
    filepath = atomic.check_readable(filepath, "load_model")
    kind = atomic.sniff(filepath)
    if kind == "hdf5":
        return legacy_h5.load_legacy_model(filepath, custom_objects=custom_objects, compile=compile,
                                           safe_mode=safe_mode)
    if kind != "zip":
        raise ValueError(f"'{filepath}' is not a .keras file (a zip archive) nor a Keras 2 .h5 file. "
                         "Check the path; a .keras file starts with the bytes 'PK'.")
    with _open_zip(filepath) as zf:
        config_text = _read_member(zf, CONFIG_FILENAME, filepath)
        names = zf.namelist()
        if WEIGHTS_FILENAME not in names:
            extra = " (weights stored as .npz are not supported by kshim)" if "model.weights.npz" in names else ""
            raise ValueError(f"'{filepath}' is not a valid .keras file: it has no {WEIGHTS_FILENAME}{extra}.")
        weights = _read_member(zf, WEIGHTS_FILENAME, filepath)
        config = archive.parse_config(config_text, filepath)
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(f"'{filepath}': config.json does not describe a model (no 'class_name').")
        with loading_scope(custom_objects, safe_mode, compile):
            try:
                model = deserialize_keras_object(config, custom_objects)
            except ValueError as e:
                raise ValueError(f"Cannot load '{filepath}': {e}") from e
            except TypeError as e:
                raise TypeError(f"Cannot load '{filepath}': {e}") from e
            except RecursionError:
                raise archive.too_deep(filepath, "config.json") from None
        load_weights_bytes(model, weights, filepath)
        archive.load_assets(model, zf, filepath)
    return model


def load_weights_bytes(model, data, source, skip_mismatch=False):
    """Assign ``model``'s variables from the bytes of a ``model.weights.h5``."""
    with h5_store.open_checked(io.BytesIO(data), f"{source}: {WEIGHTS_FILENAME}") as f:
        h5_store.read_state(model, f, source, skip_mismatch=skip_mismatch)
