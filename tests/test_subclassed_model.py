"""Subclassed models: ``class M(kshim.Model)`` with layers made in ``__init__`` and a ``call(x, training=False)``.

They train (3 epochs equal real Keras 3's with the same weights and data), summarize like Keras 3, save and load
their weights, and save and load as ``.keras`` files through ``get_config`` and registration, in kshim and across
to real Keras 3 both ways. Real Keras 3 runs in this process on its jax backend.
"""

import os

import numpy as np
import pytest

import kshim
from kshim import layers as L
from kshim import ops

RNG = np.random.RandomState(0)
X = RNG.rand(32, 4).astype("float32")
Y = np.stack([X.sum(1), X[:, 0] - X[:, 1]], axis=1).astype("float32")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


@kshim.saving.register_keras_serializable(package="kshim_subclass_tests")
class Net(kshim.Model):
    """Dense -> BatchNormalization -> Dense, with ``hidden`` in the config."""

    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.d1 = L.Dense(hidden, activation="relu", name="d1")
        self.bn = L.BatchNormalization(name="bn")
        self.out = L.Dense(2, name="out")

    def call(self, x, training=False):
        return self.out(self.bn(self.d1(x), training=training))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


class Unregistered(kshim.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = L.Dense(units, name="dense")
        self.drop = L.Dropout(0.5, seed=4, name="drop")

    def call(self, x, training=False):
        return self.drop(self.dense(x), training=training)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _net(seed=0, hidden=5, name="net"):
    kshim.utils.set_random_seed(seed)
    model = Net(hidden=hidden, name=name)
    model(X[:1])
    return model


def _forward(model, x):
    """numpy: Dense(relu) -> BatchNormalization (moving statistics) -> Dense."""
    k1, b1, gamma, beta, mean, var, k2, b2 = model.get_weights()
    h = np.maximum(x.astype(np.float64) @ k1 + b1, 0)
    h = (h - mean) / np.sqrt(var + 1e-3) * gamma + beta
    return h @ k2 + b2


_KERAS = {}


@pytest.fixture(scope="module")
def keras3():
    """Real Keras 3 and its twin of `Net` (registered under the same package and name)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if "Net" not in _KERAS:
        @keras.saving.register_keras_serializable(package="kshim_subclass_tests")
        class Net(keras.Model):  # noqa: F811 - Keras's twin, in Keras's own registry
            def __init__(self, hidden=8, **kwargs):
                super().__init__(**kwargs)
                self.hidden = hidden
                self.d1 = keras.layers.Dense(hidden, activation="relu", name="d1")
                self.bn = keras.layers.BatchNormalization(name="bn")
                self.out = keras.layers.Dense(2, name="out")

            def call(self, x, training=False):
                return self.out(self.bn(self.d1(x), training=training))

            def get_config(self):
                return {**super().get_config(), "hidden": self.hidden}

        _KERAS["Net"] = Net
    return keras, _KERAS["Net"]


# ----------------------------------------------------------------------------------------------------------------


def test_layers_weights_and_the_training_flag():
    model = _net()
    assert [l.name for l in model.layers] == ["d1", "bn", "out"]
    # Keras 3's paths: a subclassed model's layers start with the model's name (tests/test_layer_paths.py)
    assert [w.path for w in model.weights] == [f"net/{p}" for p in (
        "d1/kernel", "d1/bias", "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance", "out/kernel",
        "out/bias")]
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    np.testing.assert_allclose(np_(model(X)), _forward(model, X), rtol=1e-5, atol=1e-5)
    # training=True normalizes with the batch statistics instead
    k1, b1, gamma, beta, _, _, k2, b2 = model.get_weights()
    h = np.maximum(X.astype(np.float64) @ k1 + b1, 0)
    h = (h - h.mean(0)) / np.sqrt(h.var(0) + 1e-3) * gamma + beta
    np.testing.assert_allclose(np_(model(X, training=True)), h @ k2 + b2, rtol=1e-4, atol=1e-5)


def test_fit_decreases_the_loss_and_matches_keras3(keras3):
    keras, KerasNet = keras3
    ours = _net(seed=1)
    theirs = KerasNet(hidden=5, name="net")
    theirs(X[:1])
    theirs.set_weights(ours.get_weights())
    ours.compile(optimizer=kshim.optimizers.Adam(0.05), loss="mse", metrics=["mae"])
    theirs.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse", metrics=["mae"])
    h1 = ours.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    h2 = theirs.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    assert h1["loss"][-1] < h1["loss"][0]
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-4)
    np.testing.assert_allclose(h1["mae"], h2["mae"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):  # BN's moving statistics included
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np_(ours.predict(X, verbose=0)), np.asarray(theirs.predict(X, verbose=0)),
                               rtol=1e-4, atol=1e-5)


def _summary(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


def test_summary_lists_layers_and_counts():
    kshim.utils.set_random_seed(2)
    model = Net(hidden=5, name="fresh")
    rows = [l for l in _summary(model) if l.startswith(("d1 ", "bn ", "out "))]
    assert [r.split()[:2] + r.split()[-3:] for r in rows] == [
        ["d1", "(Dense)", "?", "0", "(unbuilt)"], ["bn", "(BatchNormalization)", "?", "0", "(unbuilt)"],
        ["out", "(Dense)", "?", "0", "(unbuilt)"]]
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    lines = _summary(model)
    rows = {l.split()[0]: l for l in lines if l.startswith(("d1 ", "bn ", "out "))}
    assert "(8, 5)" in rows["d1"] and rows["d1"].split()[-1] == "25"
    assert "(8, 5)" in rows["bn"] and rows["bn"].split()[-1] == "20"
    assert "(8, 2)" in rows["out"] and rows["out"].split()[-1] == "12"
    totals = [l.strip() for l in lines if "params" in l]
    # Adam: iteration, learning rate, then two slots per trainable weight (47 trainable numbers)
    assert totals == ["Total params: 153 (612.00 B)", "Trainable params: 47 (188.00 B)",
                      "Non-trainable params: 10 (40.00 B)", "Optimizer params: 96 (384.00 B)"]


def test_summary_matches_keras3(keras3):
    keras, KerasNet = keras3
    kshim.utils.set_random_seed(3)
    ours = Net(hidden=5, name="net")  # built by fit, as Keras's twin: its layers record the batch's shape
    theirs = KerasNet(hidden=5, name="net")
    for model, module in ((ours, kshim), (theirs, keras)):
        model.compile(optimizer=module.optimizers.Adam(), loss="mse")
        model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    captured = []
    theirs.summary(print_fn=captured.append)
    keras_lines = "\n".join(captured).splitlines()
    keras_rows = [[c.strip() for c in l.strip("│").split("│")] for l in keras_lines if l.startswith("│")]
    merged = []
    for cells in keras_rows:
        if cells[0] or not merged:
            merged.append(cells)
        else:
            merged[-1] = [f"{a} {b}".strip() for a, b in zip(merged[-1], cells)]
    ours_lines = _summary(ours)
    ours_rows = [l for l in ours_lines if l.startswith(("d1 ", "bn ", "out "))]
    assert len(merged) == len(ours_rows) == 3
    for theirs_cells, row in zip(merged, ours_rows):
        name, shape, params = theirs_cells
        assert row.startswith(name) and shape in row and row.split()[-1] == params
    assert [l for l in keras_lines if "params" in l] == [l for l in ours_lines if "params" in l]


def test_save_weights_and_load_weights(tmp_path):
    model = _net(seed=4)
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
    model.save_weights(tmp_path / "net.weights.h5")
    fresh = _net(seed=5)
    assert not np.array_equal(fresh.get_weights()[0], model.get_weights()[0])
    fresh.load_weights(tmp_path / "net.weights.h5")
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np_(fresh(X)), np_(model(X)))
    wrong = _net(seed=5, hidden=6)
    with pytest.raises(ValueError, match="net.weights.h5"):
        wrong.load_weights(tmp_path / "net.weights.h5")


def test_keras_file_round_trip_through_get_config_and_registration(tmp_path):
    model = _net(seed=6, hidden=7)
    model.compile(optimizer=kshim.optimizers.Adam(0.01), loss="mse")
    model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model.save(tmp_path / "net.keras")
    loaded = kshim.models.load_model(tmp_path / "net.keras")
    assert type(loaded) is Net and loaded.hidden == 7 and loaded.name == model.name
    np.testing.assert_array_equal(np_(loaded(X)), np_(model(X)))
    assert int(loaded.optimizer.iterations.numpy()) == 8
    # training resumes where it stopped: one more epoch on each gives the same weights
    model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_unregistered_class_needs_custom_objects(tmp_path):
    kshim.utils.set_random_seed(7)
    model = Unregistered(units=3, name="plain")
    model(X[:2])
    model.save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match=r"plain\.keras.*Unregistered.*custom_objects"):
        kshim.models.load_model(tmp_path / "plain.keras")
    loaded = kshim.models.load_model(tmp_path / "plain.keras", custom_objects={"Unregistered": Unregistered})
    assert type(loaded) is Unregistered and loaded.units == 3
    np.testing.assert_array_equal(np_(loaded(X)), np_(model(X)))
    # the dropout stream continues identically too
    np.testing.assert_array_equal(np_(loaded(X, training=True)), np_(model(X, training=True)))


def test_files_move_between_kshim_and_keras3(tmp_path, keras3):
    keras, KerasNet = keras3
    ours = _net(seed=8)
    ours.compile(optimizer="adam", loss="mse")
    ours.fit(X, Y, batch_size=8, epochs=2, verbose=0)
    ours.save(tmp_path / "ours.keras")
    ours.save_weights(tmp_path / "ours.weights.h5")
    in_keras = keras.models.load_model(tmp_path / "ours.keras")
    assert type(in_keras) is KerasNet and in_keras.hidden == 5
    assert int(np.asarray(in_keras.optimizer.iterations)) == 8
    np.testing.assert_allclose(np.asarray(in_keras(X)), np_(ours(X)), rtol=1e-5, atol=1e-6)
    twin = KerasNet(hidden=5)
    twin(X[:1])
    twin.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_allclose(np.asarray(twin(X)), np_(ours(X)), rtol=1e-5, atol=1e-6)

    theirs = KerasNet(hidden=5, name="theirs")
    theirs.compile(optimizer="adam", loss="mse")
    theirs.fit(X, Y, batch_size=8, epochs=2, verbose=0)
    theirs.save(tmp_path / "theirs.keras")
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    in_kshim = kshim.models.load_model(tmp_path / "theirs.keras")
    assert type(in_kshim) is Net and int(in_kshim.optimizer.iterations.numpy()) == 8
    np.testing.assert_allclose(np_(in_kshim(X)), np.asarray(theirs(X)), rtol=1e-5, atol=1e-6)
    fresh = _net(seed=9)
    fresh.load_weights(tmp_path / "theirs.weights.h5")
    np.testing.assert_allclose(np_(fresh(X)), np.asarray(theirs(X)), rtol=1e-5, atol=1e-6)


@kshim.saving.register_keras_serializable(package="kshim_subclass_tests")
class GraphModel(kshim.Model):
    """A subclass that passes ``(inputs, outputs)`` up: it becomes a functional model, as in Keras 3."""

    def __init__(self, inputs, outputs, **kwargs):
        super().__init__(inputs, outputs, **kwargs)


def test_subclass_with_a_functional_init(tmp_path):
    kshim.utils.set_random_seed(10)
    x = kshim.Input((4,), name="x")
    y = L.Dense(2, name="out")(L.Dense(3, activation="relu", name="hidden")(x))
    model = GraphModel(x, y, name="graph")
    assert isinstance(model, GraphModel) and isinstance(model, kshim.models.functional.Functional)
    assert [l.name for l in model.layers] == ["x", "hidden", "out"]
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(np_(model(X)), np.maximum(X @ k1 + b1, 0) @ k2 + b2, rtol=1e-5, atol=1e-6)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(X, Y, batch_size=8, epochs=3, verbose=0).history["loss"]
    assert history[-1] < history[0]
    model.save(tmp_path / "graph.keras")
    loaded = kshim.models.load_model(tmp_path / "graph.keras")
    assert type(loaded) is GraphModel
    np.testing.assert_array_equal(np_(loaded(X)), np_(model(X)))


class NoConfig(kshim.Model):
    """Its ``__init__`` needs ``units``, but it does not add ``units`` to its config."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.dense = L.Dense(units, name="dense")

    def call(self, x):
        return self.dense(x)


def test_missing_get_config_gives_a_clear_error(tmp_path):
    model = NoConfig(3, name="no_config")
    model(X[:1])
    model.save(tmp_path / "no_config.keras")
    with pytest.raises(TypeError, match=r"no_config\.keras.*NoConfig\(\*\*config\).*'units'.*get_config\(\)"):
        kshim.models.load_model(tmp_path / "no_config.keras", custom_objects={"NoConfig": NoConfig})
