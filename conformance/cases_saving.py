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


XA = rng(1302).normal(size=(10, 4)).astype(np.float32)
XB = rng(1303).normal(size=(10, 4)).astype(np.float32)


def _functional_reference():
    return {"identical_predictions": np.array(True), "identical_weights": np.array(True),
            "config_round_trip": np.array(True)}


@case("saving.functional_roundtrip", family="saving", rtol=1e-5, atol=1e-6, reference=_functional_reference,
      covers=("Model.from_config", "Model.get_config", "Model.save_weights", "Model.load_weights"))
def _functional_roundtrip():
    """A seeded functional model (two inputs, a Dense shared by both, a nested Sequential with BatchNormalization,
    two outputs) saved as .keras and loaded: identical predictions and weights; get_config/from_config rebuilds
    the same config; the weights file alone loads into a fresh copy. Both backends write the same file."""
    set_seed(1302)
    layers = kshim.layers
    a, b = kshim.Input((4,), name="a"), kshim.Input((4,), name="b")
    shared = layers.Dense(5, activation="tanh", name="shared")
    nested = kshim.Sequential([kshim.Input((5,)), layers.Dense(3, name="nested_dense"),
                               layers.BatchNormalization(name="nested_bn")], name="nested")
    nested.get_layer("nested_bn").set_weights([np.full(3, 1.5, np.float32), np.full(3, -0.1, np.float32),
                                               np.array([0.1, -0.2, 0.3], np.float32),
                                               np.array([0.5, 1.0, 2.0], np.float32)])
    model = kshim.Model([a, b], [layers.Dense(2, name="head")(shared(a)), nested(shared(b))], name="graph")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "graph.keras")
        model.save(path)
        loaded = kshim.models.load_model(path)
        model.save_weights(os.path.join(folder, "graph.weights.h5"))
        copy = kshim.Model.from_config(model.get_config())
        copy.load_weights(os.path.join(folder, "graph.weights.h5"))
        with zipfile.ZipFile(path) as zf:
            config_text = zf.read("config.json").decode()
            weights = zf.read("model.weights.h5")
    layout, arrays = _h5_contents(weights)
    ours = [ops.convert_to_numpy(y) for y in model([XA, XB], training=False)]
    theirs = [ops.convert_to_numpy(y) for y in loaded([XA, XB], training=False)]
    copied = [ops.convert_to_numpy(y) for y in copy([XA, XB], training=False)]
    same = all(np.array_equal(u, v) and np.array_equal(u, w) for u, v, w in zip(ours, theirs, copied))
    same_weights = all(np.array_equal(u, v) for u, v in zip(model.get_weights(), loaded.get_weights()))
    return {"predictions": ours, "identical_predictions": np.array(same),
            "identical_weights": np.array(same_weights),
            "config_round_trip": np.array(copy.get_config() == model.get_config()),
            "config_json": json.dumps(json.loads(config_text), sort_keys=True), "h5_layout": layout,
            "h5_arrays": arrays}
