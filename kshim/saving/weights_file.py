"""``model.save_weights("x.weights.h5")`` and ``model.load_weights(...)`` in Keras 3's HDF5 layout.

A ``.weights.h5`` file holds the same groups as the ``model.weights.h5`` inside a ``.keras`` archive: the model's
variables and, when it is compiled, its optimizer's. `load_weights` also reads the weights of a ``.keras`` file,
and Keras 2 ``.h5`` weights (``layer_names``/``weight_names`` layout), matched layer by layer in order.
"""

import os

from kshim.saving import atomic, h5_store, legacy_h5
from kshim.saving.keras_file import (WEIGHTS_FILENAME, _open_zip, _prepare_optimizer, _read_member,
                                     load_weights_bytes, weights_bytes)


def save_weights(model, filepath, overwrite=True, **kwargs):
    """Write ``model``'s weights (and optimizer state) to ``filepath``, which must end in ``.weights.h5``."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError("save_weights: the file name must end in `.weights.h5` (Keras 3's format). "
                         f"Received: filepath='{filepath}'")
    if kwargs.get("max_shard_size") is not None:
        raise ValueError("save_weights: sharded weights (max_shard_size) are not supported by kshim.")
    if not model.built:
        raise ValueError(f"save_weights: model '{model.name}' is not built, so it has no weights yet. Call it on "
                         "data or build it first.")
    _prepare_optimizer(model)
    data = weights_bytes(model)
    atomic.atomic_write(filepath, lambda f: f.write(data), overwrite=overwrite)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Load weights from a ``.weights.h5`` file, a ``.keras`` file, or a Keras 2 ``.h5`` file."""
    filepath = atomic.check_readable(filepath, "load_weights")
    if not model.built:
        raise ValueError(f"load_weights: model '{model.name}' is not built, so it has no variables to load into. "
                         "Call it on data or build it first.")
    kind = atomic.sniff(filepath)
    if kind == "zip":
        with _open_zip(filepath) as zf:
            data = _read_member(zf, WEIGHTS_FILENAME, filepath)
        _prepare_for_optimizer_state(model)
        load_weights_bytes(model, data, filepath, skip_mismatch=skip_mismatch)
        return
    if kind != "hdf5":
        raise ValueError(f"load_weights: '{filepath}' is not an HDF5 weights file nor a .keras archive.")
    h5py = h5_store.require_h5py()
    try:
        f = h5py.File(filepath, "r")
    except OSError as e:
        raise ValueError(f"load_weights: '{filepath}' is a corrupt HDF5 file ({e}).") from e
    with f:
        if legacy_h5.is_legacy_weights(f):
            legacy_h5.load_legacy_weights(model, f, filepath, skip_mismatch=skip_mismatch)
            return
        _prepare_for_optimizer_state(model)
        h5_store.read_state(model, f, filepath, skip_mismatch=skip_mismatch)


def _prepare_for_optimizer_state(model):
    """A compiled model gets its optimizer variables now, so saved optimizer state can be restored into them."""
    _prepare_optimizer(model)

