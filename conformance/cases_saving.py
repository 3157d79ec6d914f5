"""Cases for `.keras` files: a seeded, trained model saved and loaded again gives identical predictions, and both
backends write the same file (the same config.json text, the same HDF5 layout, the same arrays).

A file written on one backend and read on the other is tested in tests/test_saving.py (a subprocess runs the other
backend): the runner's backends run in separate processes with no fixed order, so a case cannot rely on the other
backend's file being there.
"""

import json
import os
import tempfile
import zipfile

import numpy as np

from conformance.case import case, kshim, ops, rng
from conformance.cases_random import set_seed

X = rng(1300).normal(size=(24, 6)).astype(np.float32)
Y = np.eye(3, dtype=np.float32)[rng(1301).integers(0, 3, size=24)]


def _model():
    set_seed(1300)
    layers = kshim.layers
    return kshim.Sequential([kshim.Input((6,), name="in"), layers.Dense(8, "tanh", name="hidden"),
                             layers.BatchNormalization(name="norm"), layers.Dropout(0.25, seed=3, name="drop"),
                             layers.Dense(3, "softmax", name="out")], name="saved")


def _predict(model):
    return ops.convert_to_numpy(model(X, training=False))


def _reference():
    return {"identical_predictions": np.array(True), "identical_weights": np.array(True),
            "identical_optimizer_state": np.array(True), "continued_equal": np.array(True)}


@case("saving.keras_roundtrip", family="saving", rtol=1e-4, atol=1e-5, reference=_reference,
      covers=("saving.save_model", "saving.load_model", "models.load_model", "Model.save"))
def _keras_roundtrip():
    """Seeded Sequential (Dense, BatchNormalization, Dropout, Dense) fit 2 epochs with SGD(momentum), saved as
    .keras and loaded: predictions, weights and optimizer state identical; one more epoch on the loaded model
    equals one more epoch on the original. Both backends write the same config.json and HDF5 layout."""
    model = _model()
    model.compile(optimizer=kshim.optimizers.SGD(0.05, momentum=0.9, name="sgd"),
                  loss="categorical_crossentropy")
    model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        loaded = kshim.models.load_model(path)
        with zipfile.ZipFile(path) as zf:
            config_text = zf.read("config.json").decode()
            weights = zf.read("model.weights.h5")
    layout, arrays = _h5_contents(weights)
    before, after = _predict(model), _predict(loaded)
    same_weights = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights()))
    same_state = all(np.array_equal(a.numpy(), b.numpy())
                     for a, b in zip(model.optimizer.variables, loaded.optimizer.variables))
    model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    continued = _predict(loaded)
    return {"predictions": before, "identical_predictions": np.array(np.array_equal(before, after)),
            "identical_weights": np.array(same_weights), "identical_optimizer_state": np.array(same_state),
            "continued": continued, "continued_equal": np.array(np.array_equal(_predict(model), continued)),
            "config_json": json.dumps(json.loads(config_text), sort_keys=True), "h5_layout": layout,
            "h5_arrays": arrays}


def _h5_contents(data):
    """The datasets of a model.weights.h5 as (a layout string 'path shape dtype; ...', the arrays in that order)."""
    import io

    import h5py

    entries = []
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(lambda name, obj: entries.append((name, obj[()])) if isinstance(obj, h5py.Dataset) else None)
    entries.sort(key=lambda e: e[0])
    layout = "; ".join(f"{name} {tuple(np.shape(v))} {np.asarray(v).dtype}" for name, v in entries)
    return layout, [np.asarray(v) for _, v in entries]
