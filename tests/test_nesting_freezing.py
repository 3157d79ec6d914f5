"""Models used as layers, and freezing (``trainable = False``), with Keras 3's semantics.

A model nests inside a Sequential and inside a functional model; freezing a layer or a nested model freezes all its
weights; BatchNormalization inside a frozen model runs in inference mode, also during ``fit``; recompiling after a
change of ``trainable`` takes effect; ``summary()`` shows nested models and the trainable / non-trainable counts of
Keras 3. And the two transfer-learning blueprints of the Keras Sequential guide. Real Keras 3 runs in this process
on its jax backend.
"""

import os

import numpy as np
import pytest

import kshim
from kshim import layers as L
from kshim import ops

RNG = np.random.RandomState(3)
X = RNG.rand(32, 6).astype("float32")
Y = np.eye(3, dtype="float32")[(X[:, 0] * 3).astype(int) % 3]
XI = RNG.rand(24, 8, 8, 1).astype("float32")
YI = (XI.mean(axis=(1, 2, 3)) > 0.5).astype("int32")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


@pytest.fixture(scope="module")
def keras3():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def _base(module=kshim, name="base"):
    """Dense -> BatchNormalization -> ReLU: 6 -> 8, with the moving statistics away from their initial values."""
    return module.Sequential([module.Input((6,)), module.layers.Dense(8, name="base_dense"),
                              module.layers.BatchNormalization(name="base_bn"), module.layers.ReLU(name="base_relu")],
                             name=name)


def _snapshot(model):
    return [np.array(w) for w in model.get_weights()]


def _bn_stats(base):
    bn = base.get_layer("base_bn")
    return [np_(bn.moving_mean.value), np_(bn.moving_variance.value)]


# ----------------------------------------------------------------------------------------------------------------
# nesting


def test_model_as_a_layer_in_sequential_and_functional():
    kshim.utils.set_random_seed(0)
    base = _base()
    seq = kshim.Sequential([kshim.Input((6,)), base, L.Dense(3, name="head")], name="outer_seq")
    x = kshim.Input((6,), name="x")
    func = kshim.Model(x, L.Dense(2, name="fhead")(base(x)), name="outer_func")
    # the nested model's weights are the same objects in every model using it
    assert [id(w) for w in seq.weights[:6]] == [id(w) for w in base.weights]
    assert [id(w) for w in func.weights[:6]] == [id(w) for w in base.weights]
    assert [l.name for l in seq.layers] == ["base", "head"]
    assert [l.name for l in func.layers] == ["x", "base", "fhead"]
    h = np_(base(X))
    np.testing.assert_allclose(np_(seq(X)), np_(seq.get_layer("head")(h)), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np_(func(X)), np_(func.get_layer("fhead")(h)), rtol=1e-6, atol=1e-6)
    # a model nested two levels deep
    deeper = kshim.Sequential([kshim.Input((6,)), seq, L.Dense(1, name="top")])
    assert len(deeper.weights) == len(seq.weights) + 2
    np.testing.assert_allclose(np_(deeper(X)), np_(deeper.get_layer("top")(seq(X))), rtol=1e-6, atol=1e-6)


def test_nested_models_train_and_round_trip(tmp_path):
    kshim.utils.set_random_seed(1)
    base = _base()
    x = kshim.Input((6,), name="x")
    model = kshim.Model(x, L.Dense(3, activation="softmax", name="head")(base(x)))
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    history = model.fit(X, Y, batch_size=8, epochs=4, shuffle=False, verbose=0).history["loss"]
    assert history[-1] < history[0]
    model.save(tmp_path / "nested.keras")
    loaded = kshim.models.load_model(tmp_path / "nested.keras")
    assert type(loaded.get_layer("base")) is kshim.Sequential
    np.testing.assert_array_equal(np_(loaded(X)), np_(model(X)))


def test_nested_frozen_model_files_move_between_kshim_and_keras3(tmp_path, keras3):
    """A functional model holding a frozen Sequential (with BatchNormalization): each side loads the other's
    .keras file with equal outputs, the same frozen weights and the same trainable counts."""
    keras = keras3

    def build(module):
        base = _base(module)
        x = module.Input((6,), name="x")
        model = module.Model(x, module.layers.Dense(3, activation="softmax", name="head")(base(x)), name="outer")
        base.trainable = False
        return model

    kshim.utils.set_random_seed(9)
    ours, theirs = build(kshim), build(keras)
    stats = [np.full(8, 1.5, "float32"), np.full(8, 0.2, "float32"), np.linspace(-1, 1, 8).astype("float32"),
             np.linspace(0.5, 2, 8).astype("float32")]
    ours.get_layer("base").get_layer("base_bn").set_weights(stats)
    theirs.set_weights(ours.get_weights())
    for model, module in ((ours, kshim), (theirs, keras)):
        model.compile(optimizer=module.optimizers.Adam(0.01), loss="categorical_crossentropy")
        model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        model.save(tmp_path / f"{module.__name__}.keras")
    from_keras = kshim.models.load_model(tmp_path / "keras.keras")
    from_kshim = keras.models.load_model(tmp_path / "kshim.keras")
    np.testing.assert_allclose(np_(from_keras(X)), keras.ops.convert_to_numpy(theirs(X)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(from_kshim(X)), np_(ours(X)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np_(ours(X)), keras.ops.convert_to_numpy(theirs(X)), rtol=1e-4, atol=1e-5)
    assert not from_keras.get_layer("base").trainable
    # Keras 3 reads the nested Sequential's own flag back as True (even from its own files), but its layers, and
    # so its weights, stay frozen
    assert all(not layer.trainable for layer in from_kshim.get_layer("base").layers)
    assert [w.path for w in from_keras.trainable_weights] == ["head/kernel", "head/bias"]
    assert len(from_kshim.trainable_weights) == 2
    for a, b in zip(_bn_stats(from_keras.get_layer("base")), stats[2:]):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------------------------------------
# freezing


def test_freezing_a_layer_and_a_nested_model():
    kshim.utils.set_random_seed(2)
    base = _base()
    model = kshim.Sequential([kshim.Input((6,)), base, L.Dense(3, name="head")])
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    model.get_layer("head").trainable = False
    assert model.get_layer("head").trainable_weights == []
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 4
    base.trainable = False
    assert model.trainable_weights == [] and base.trainable_weights == []
    assert all(not l.trainable for l in base.layers)
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == model.count_params() == 6 * 8 + 8 + \
        4 * 8 + 8 * 3 + 3
    # Keras 3: setting trainable on a container sets it on every sub-layer, both ways
    model.trainable = True
    assert len(model.trainable_weights) == 6 and all(l.trainable for l in base.layers)


def test_frozen_layers_survive_the_config(tmp_path):
    kshim.utils.set_random_seed(3)
    base = _base()
    model = kshim.Sequential([kshim.Input((6,)), base, L.Dense(3, name="head")])
    base.trainable = False
    model.save(tmp_path / "frozen.keras")
    loaded = kshim.models.load_model(tmp_path / "frozen.keras")
    assert not loaded.get_layer("base").trainable
    # Keras 3's paths: a Sequential prefixes its layers' with its name
    assert [w.path for w in loaded.trainable_weights] == [f"{model.name}/head/kernel", f"{model.name}/head/bias"]


def test_batchnorm_in_a_frozen_model_runs_in_inference_mode():
    kshim.utils.set_random_seed(4)
    base = _base()
    bn = base.get_layer("base_bn")
    bn.set_weights([np.full(8, 1.5, "float32"), np.full(8, 0.2, "float32"), np.linspace(-1, 1, 8).astype("float32"),
                    np.linspace(0.5, 2, 8).astype("float32")])
    trainable_out = np_(base(X, training=True))
    inference_out = np_(base(X, training=False))
    assert not np.allclose(trainable_out, inference_out)
    base.trainable = False
    np.testing.assert_array_equal(np_(base(X, training=True)), inference_out)
    # inside a model that trains, the frozen base still normalizes with its moving statistics
    model = kshim.Sequential([kshim.Input((6,)), base, L.Dense(3, activation="softmax", name="head")])
    model.compile(optimizer=kshim.optimizers.SGD(0.1), loss="categorical_crossentropy")
    stats = _bn_stats(base)
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
    for a, b in zip(stats, _bn_stats(base)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np_(base(X, training=True)), inference_out)


def test_recompiling_after_changing_trainable_takes_effect():
    kshim.utils.set_random_seed(5)
    model = kshim.Sequential([kshim.Input((6,)), L.Dense(5, activation="tanh", name="a"), L.Dense(3, name="b")])
    model.compile(optimizer=kshim.optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    model.get_layer("a").trainable = False
    model.compile(optimizer=kshim.optimizers.SGD(0.1), loss="mse")
    a0, b0 = _snapshot(model.get_layer("a")), _snapshot(model.get_layer("b"))
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert all(np.array_equal(u, v) for u, v in zip(a0, _snapshot(model.get_layer("a"))))
    assert not np.array_equal(b0[0], model.get_layer("b").get_weights()[0])
    model.get_layer("a").trainable = True
    model.compile(optimizer=kshim.optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert not np.array_equal(a0[0], model.get_layer("a").get_weights()[0])


def test_frozen_base_fit_matches_keras3(keras3):
    """A frozen base (with BatchNormalization) and a trained head: the same losses and weights as Keras 3."""
    keras = keras3
    kshim.utils.set_random_seed(6)
    ours_base = _base()
    theirs_base = _base(keras)
    ours = kshim.Sequential([kshim.Input((6,)), ours_base, L.Dense(3, activation="softmax", name="head")])
    theirs = keras.Sequential([keras.Input((6,)), theirs_base,
                               keras.layers.Dense(3, activation="softmax", name="head")])
    bn = [np.full(8, 1.5, "float32"), np.full(8, 0.2, "float32"), np.linspace(-1, 1, 8).astype("float32"),
          np.linspace(0.5, 2, 8).astype("float32")]
    ours_base.get_layer("base_bn").set_weights(bn)
    theirs.set_weights(ours.get_weights())
    for base in (ours_base, theirs_base):
        base.trainable = False
    ours.compile(optimizer=kshim.optimizers.Adam(0.05), loss="categorical_crossentropy", metrics=["accuracy"])
    theirs.compile(optimizer=keras.optimizers.Adam(0.05), loss="categorical_crossentropy", metrics=["accuracy"])
    h1 = ours.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    h2 = theirs.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-4)
    np.testing.assert_allclose(h1["accuracy"], h2["accuracy"], rtol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(_bn_stats(ours_base), bn[2:]):  # frozen: the moving statistics never moved
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------------------------------------
# summary


def _summary(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def _keras_rows(model, **kwargs):
    """Keras 3's rich table as rows of cells (a cell rich wrapped onto several lines is joined back)."""
    captured = []
    model.summary(print_fn=captured.append, **kwargs)
    lines = "\n".join(captured).splitlines()
    rows, current = [], None
    for line in lines:
        if line[:1] in ("├", "┡", "└"):
            current = None
        elif line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            if current is None:
                current = cells
                rows.append(current)
            else:
                current[:] = [f"{a} {b}".strip() for a, b in zip(current, cells)]
    return rows, [l for l in lines if "params" in l]


def _our_rows(lines, n_columns):
    header = next(l for l in lines if l.startswith("Layer (type)"))
    starts = [header.index(h) for h in ("Output Shape", "Param #", "Trainable") if h in header]
    body = []
    for line in lines[lines.index(header) + 2:]:
        if line.startswith(" Total params"):
            break
        if line.strip("_="):
            body.append(line)
    rows = []
    for line in body:
        name, shape = line[:starts[0]].strip(), line[starts[0]:starts[1]].strip()
        rows.append([name, shape] + line[starts[1]:].split())
    return [r[:n_columns] for r in rows], [l for l in lines if "params" in l]


def test_summary_of_nested_frozen_models_matches_keras3(keras3):
    keras = keras3
    ours_base, theirs_base = _base(), _base(keras)
    ours = kshim.Sequential([kshim.Input((6,)), ours_base, L.Dense(3, name="head")], name="outer")
    theirs = keras.Sequential([keras.Input((6,)), theirs_base, keras.layers.Dense(3, name="head")], name="outer")
    for base in (ours_base, theirs_base):
        base.trainable = False
    rows, totals = _keras_rows(theirs)
    assert (rows, totals) == _our_rows(_summary(ours), 3)
    assert rows == [["base (Sequential)", "(None, 8)", "88"], ["head (Dense)", "(None, 3)", "27"]]
    assert totals == [" Total params: 115 (460.00 B)", " Trainable params: 27 (108.00 B)",
                      " Non-trainable params: 88 (352.00 B)"]
    rows, totals = _keras_rows(theirs, expand_nested=True, show_trainable=True)
    assert (rows, totals) == _our_rows(_summary(ours, expand_nested=True, show_trainable=True), 4)
    assert [r[0] for r in rows][1:4] == ["└ base_dense (Dense)", "└ base_bn (BatchNormalization)",
                                         "└ base_relu (ReLU)"]
    assert [r[3] for r in rows] == ["N", "N", "N", "-", "Y"]
    # and a functional model holding a nested model, compiled (the optimizer's variables are counted too)
    x, kx = kshim.Input((6,), name="x"), keras.Input((6,), name="x")
    ours_f = kshim.Model(x, L.Dense(2, name="h")(ours_base(x)), name="f")
    theirs_f = keras.Model(kx, keras.layers.Dense(2, name="h")(theirs_base(kx)), name="f")
    for model, module in ((ours_f, kshim), (theirs_f, keras)):
        model.compile(optimizer=module.optimizers.Adam(), loss="mse")
        model.fit(X, np.ones((32, 2), "float32"), epochs=1, verbose=0)
    rows, totals = _keras_rows(theirs_f)
    assert (rows, totals) == _our_rows(_summary(ours_f), 3)
    assert totals[-1] == " Optimizer params: 38 (152.00 B)"


# ----------------------------------------------------------------------------------------------------------------
# the Keras Sequential guide's transfer-learning blueprints


def test_blueprint_freeze_all_layers_but_the_last():
    kshim.utils.set_random_seed(7)
    model = kshim.Sequential([kshim.Input((6,)), L.Dense(16, activation="relu"), L.Dense(16, activation="relu"),
                              L.Dense(16, activation="relu"), L.Dense(3)])
    for layer in model.layers[:-1]:
        layer.trainable = False
    before = [_snapshot(layer) for layer in model.layers]
    model.compile(optimizer="adam", loss=kshim.losses.CategoricalCrossentropy(from_logits=True))
    history = model.fit(X, Y, batch_size=8, epochs=3, verbose=0).history["loss"]
    assert history[-1] < history[0]
    for layer, weights in zip(model.layers[:-1], before[:-1]):
        assert all(np.array_equal(a, b) for a, b in zip(weights, layer.get_weights())), layer.name
    assert all(not np.array_equal(a, b) for a, b in zip(before[-1], model.layers[-1].get_weights()))
    assert len(model.trainable_weights) == 2


def _conv_base(functional):
    layers = [L.Conv2D(4, 3, activation="relu", name="conv"), L.BatchNormalization(name="conv_bn"),
              L.MaxPooling2D(name="pool"), L.Conv2D(6, 3, name="conv2"), L.GlobalAveragePooling2D(name="gap")]
    if not functional:
        return kshim.Sequential([kshim.Input((8, 8, 1))] + layers, name="conv_base")
    x = inputs = kshim.Input((8, 8, 1), name="image")
    for layer in layers:
        x = layer(x)
    return kshim.Model(inputs, x, name="conv_base")


@pytest.mark.parametrize("functional", [False, True], ids=["sequential_base", "functional_base"])
def test_blueprint_frozen_base_with_a_new_head(functional):
    kshim.utils.set_random_seed(8)
    base = _conv_base(functional)
    # pretrain the base a little (with its own head), so its BatchNormalization statistics have moved
    pre = kshim.Sequential([base, L.Dense(2, activation="softmax", name="pre_head")])
    pre.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    pre.fit(XI, YI, batch_size=8, epochs=1, verbose=0)
    stats = [np_(w.value) for w in base.get_layer("conv_bn").non_trainable_weights]
    assert not np.allclose(stats[0], 0)
    base.trainable = False
    frozen = _snapshot(base)
    model = kshim.Sequential([base, L.Dense(2, activation="softmax", name="head")])  # no Input: built by fit
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(XI, YI, batch_size=8, epochs=3, verbose=0).history
    assert len(history["loss"]) == 3 and np.isfinite(history["loss"]).all()
    assert len(model.trainable_weights) == 2 and model.trainable_weights[0] is model.get_layer("head").kernel
    head_before = _snapshot(model.get_layer("head"))
    model.fit(XI, YI, batch_size=8, epochs=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(head_before, model.get_layer("head").get_weights()))
    for a, b in zip(frozen, _snapshot(base)):  # bit-unchanged, BatchNormalization's moving statistics included
        np.testing.assert_array_equal(a, b)
    # unfreeze for fine-tuning: recompile, and the base's weights move again
    base.trainable = True
    model.compile(optimizer=kshim.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(XI, YI, batch_size=8, epochs=1, verbose=0)
    assert not np.array_equal(frozen[0], base.get_weights()[0])
