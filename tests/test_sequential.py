"""Sequential: construction (list, add, pop, Keras 2 first-layer arguments), building (eager, deferred, explicit),
the graph views, get_layer, weights, summary, seeded reproducibility, and bit-identical weights and dropout masks
across the jax and torch backends (one subprocess per backend)."""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kshim
from kshim import KerasTensor, Sequential, layers, ops
from kshim.utils import set_random_seed

RTOL = 1e-5


def np_(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def guide_model():
    return Sequential([
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ])


def numpy_forward(weights, x, activations):
    x = np.asarray(x, np.float64)
    for (w, b), act in zip(zip(weights[::2], weights[1::2]), activations):
        x = x @ w + b
        if act == "relu":
            x = np.maximum(x, 0)
    return x


# ----------------------------------------------------------------------------------------------------------------
# The Keras 3 guide's first example


def test_guide_first_example():
    model = guide_model()
    x = ops.ones((3, 3))
    y = model(x)
    assert ops.is_tensor(y) and tuple(ops.shape(y)) == (3, 4)
    layer1, layer2, layer3 = (model.get_layer(n) for n in ("layer1", "layer2", "layer3"))
    assert [l.name for l in model.layers] == ["layer1", "layer2", "layer3"]
    np.testing.assert_array_equal(np_(layer3(layer2(layer1(x)))), np_(y))
    np.testing.assert_allclose(np_(y), numpy_forward(model.get_weights(), np.ones((3, 3)), ["relu", "relu", None]),
                               rtol=RTOL, atol=1e-6)
    assert [tuple(w.shape) for w in model.weights] == [(3, 2), (2,), (2, 3), (3,), (3, 4), (4,)]


def test_list_and_add_give_the_same_model():
    a = Sequential([layers.Dense(5, activation="tanh"), layers.Dense(2)])
    b = Sequential()
    b.add(layers.Dense(5, activation="tanh"))
    b.add(layers.Dense(2))
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(np_(a(x)), np_(b(x)))
    assert len(a.layers) == len(b.layers) == 2


def test_name_and_explicit_name():
    assert Sequential(name="my_model").name == "my_model"
    m1, m2 = Sequential(), Sequential()
    assert m1.name.startswith("sequential") and m2.name.startswith("sequential") and m1.name != m2.name


def test_pop():
    model = Sequential([kshim.Input((4,)), layers.Dense(3, name="p1"), layers.Dense(2, name="p2")])
    assert model.output_shape == (None, 2)
    popped = model.pop()
    assert popped.name == "p2"
    assert [l.name for l in model.layers] == ["p1"]
    assert model.output_shape == (None, 3)
    assert len(model.weights) == 2
    np.testing.assert_allclose(np_(model(np.ones((1, 4), "float32"))), numpy_forward(model.get_weights(),
                               np.ones((1, 4)), [None]), rtol=RTOL, atol=1e-6)
    model.pop()
    with pytest.raises(IndexError):
        model.pop()


def test_get_layer_by_name_and_index():
    model = guide_model()
    assert model.get_layer("layer2") is model.layers[1]
    assert model.get_layer(name="layer3") is model.layers[2]
    assert model.get_layer(index=0) is model.layers[0]
    assert model.get_layer(index=-1) is model.layers[2]
    with pytest.raises(ValueError) as info:
        model.get_layer("layr1")
    assert "Did you mean 'layer1'" in str(info.value)
    with pytest.raises(ValueError, match="index"):
        model.get_layer(index=3)
    with pytest.raises(ValueError):
        model.get_layer()
    with pytest.raises(ValueError):
        model.get_layer(name="layer1", index=0)


def test_duplicate_layer_names_rejected():
    model = Sequential([layers.Dense(2, name="same")])
    with pytest.raises(ValueError, match="same"):
        model.add(layers.Dense(3, name="same"))
    assert len(model.layers) == 1


# ----------------------------------------------------------------------------------------------------------------
# Building


def test_deferred_build_on_first_call():
    model = guide_model()
    assert not model.built
    assert model.weights == []
    with pytest.raises(AttributeError):
        model.inputs
    model(np.ones((7, 5), "float32"))
    assert model.built
    assert [tuple(w.shape) for w in model.weights] == [(5, 2), (2,), (2, 3), (3,), (3, 4), (4,)]
    assert model.input_shape == (None, 5)  # the batch size of the first call is not fixed
    assert model.output_shape == (None, 4)
    assert tuple(ops.shape(model(np.ones((2, 5), "float32")))) == (2, 4)


def test_build_with_input_shape():
    model = Sequential([layers.Dense(3), layers.Dense(6)])
    model.build((None, 7))
    assert model.built
    assert [tuple(w.shape) for w in model.weights] == [(7, 3), (3,), (3, 6), (6,)]
    assert model.count_params() == 7 * 3 + 3 + 3 * 6 + 6
    assert model.input_shape == (None, 7) and model.output_shape == (None, 6)


def test_graph_views_on_a_built_model():
    model = Sequential([kshim.Input((8,)), layers.Dense(4, name="g1"), layers.Dropout(0.5), layers.Dense(2)])
    assert model.built
    assert isinstance(model.input, KerasTensor) and model.input.shape == (None, 8)
    assert isinstance(model.output, KerasTensor) and model.output.shape == (None, 2)
    assert [t.shape for t in model.inputs] == [(None, 8)]
    assert [t.shape for t in model.outputs] == [(None, 2)]
    assert model.input_shape == (None, 8) and model.output_shape == (None, 2)
    assert model.get_layer("g1").output.shape == (None, 4)
    assert model.get_layer("g1").input.shape == (None, 8)
    assert model.compute_output_shape((None, 8)) == (None, 2)
    assert str(model.output.dtype) == "float32"
    assert len(model.layers) == 3  # the InputLayer is not one of `layers`


def test_weights_get_set_weights():
    model = Sequential([kshim.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    assert len(model.weights) == 4 and len(model.trainable_weights) == 4
    rng = np.random.default_rng(5)
    new = [rng.normal(size=w.shape).astype("float32") for w in model.weights]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    x = rng.normal(size=(6, 3)).astype("float32")
    np.testing.assert_allclose(np_(model(x)), numpy_forward(new, x, ["relu", None]), rtol=RTOL, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        model.set_weights(new[:3] + [np.zeros((5,), "float32")])
    with pytest.raises(ValueError):
        model.set_weights(new[:2])
    for got, want in zip(model.get_weights(), new):  # unchanged by the failed calls
        np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------------------------------------------
# Keras 2 first-layer arguments


def test_first_layer_input_shape():
    model = Sequential([layers.Dense(4, input_shape=(8,)), layers.Dense(2)])
    assert model.built and model.input_shape == (None, 8) and model.output_shape == (None, 2)
    assert [tuple(w.shape) for w in model.weights] == [(8, 4), (4,), (4, 2), (2,)]


def test_first_layer_input_dim():
    model = Sequential([layers.Dense(4, input_dim=8)])
    assert model.input_shape == (None, 8) and model.output_shape == (None, 4)
    assert tuple(model.weights[0].shape) == (8, 4)


def test_first_layer_batch_input_shape_warns():
    with pytest.warns(DeprecationWarning, match="batch_input_shape"):
        layer = layers.Dense(4, batch_input_shape=(None, 8))
    model = Sequential([layer])
    assert model.input_shape == (None, 8) and model.output_shape == (None, 4)


def test_first_layer_batch_size_with_input_shape():
    model = Sequential([layers.Dense(4, input_shape=(8,), batch_size=16)])
    assert model.input_shape == (16, 8)
    assert model.output_shape == (16, 4)


def test_input_layer_first():
    model = Sequential([kshim.Input(shape=(6,)), layers.Dense(3)])
    assert model.input_shape == (None, 6) and tuple(model.weights[0].shape) == (6, 3)
    with pytest.raises(ValueError, match="InputLayer"):
        model.add(kshim.InputLayer(shape=(3,)))


# ----------------------------------------------------------------------------------------------------------------
# add() errors


def test_add_incompatible_layer_raises_and_leaves_model_unchanged():
    model = Sequential([kshim.Input((3,)), layers.Dense(4, name="four")])
    before_weights = model.get_weights()
    prebuilt = layers.Dense(2, name="wants_five")
    prebuilt.build((None, 5))
    with pytest.raises(ValueError) as info:
        model.add(prebuilt)
    msg = str(info.value)
    assert "wants_five" in msg and "5" in msg and "(None, 4)" in msg
    assert [l.name for l in model.layers] == ["four"]
    assert model.output_shape == (None, 4)
    assert len(model.weights) == 2
    for a, b in zip(model.get_weights(), before_weights):
        np.testing.assert_array_equal(a, b)
    assert tuple(ops.shape(model(np.ones((2, 3), "float32")))) == (2, 4)
    model.add(layers.Dense(2, name="fits"))  # a compatible layer is still accepted
    assert model.output_shape == (None, 2)


@pytest.mark.parametrize("bad", ["dense", 3, np.ones(3), None])
def test_add_non_layer_is_type_error(bad):
    model = Sequential()
    with pytest.raises(TypeError, match="Layer"):
        model.add(bad)
    assert model.layers == []


# ----------------------------------------------------------------------------------------------------------------
# summary


def _summary(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def _row(lines, name):
    rows = [l for l in lines if l.startswith(name + " (")]
    assert len(rows) == 1, lines
    return rows[0]


def test_summary_table():
    model = Sequential([kshim.Input((3,)), layers.Dense(2, activation="relu", name="layer1"),
                        layers.Dense(3, activation="relu", name="layer2"), layers.Dense(4, name="layer3")],
                       name="guide")
    lines = _summary(model)
    text = "\n".join(lines)
    assert 'Model: "guide"' in text
    header = [l for l in lines if "Layer (type)" in l]
    assert len(header) == 1 and "Output Shape" in header[0] and "Param #" in header[0]
    for name, shape, params in [("layer1", "(None, 2)", 8), ("layer2", "(None, 3)", 9), ("layer3", "(None, 4)", 16)]:
        row = _row(lines, name)
        assert "(Dense)" in row and shape in row
        assert row.split()[-1] == str(params)
    assert re.search(r"Total params: 33\b", text)
    assert re.search(r"Trainable params: 33\b", text)
    assert re.search(r"Non-trainable params: 0\b", text)


def test_summary_with_frozen_layer_and_thousands():
    model = Sequential([kshim.Input((100,)), layers.Dense(20, name="big"), layers.Dense(5, name="frozen"),
                        layers.Dropout(0.1, name="drop"), layers.Flatten(name="flat")])
    model.get_layer("frozen").trainable = False
    lines = _summary(model)
    text = "\n".join(lines)
    assert _row(lines, "big").split()[-1] == "2,020"
    assert _row(lines, "frozen").split()[-1] == "105"
    assert _row(lines, "drop").split()[-1] == "0" and "(Dropout)" in _row(lines, "drop")
    assert "(None, 5)" in _row(lines, "flat")
    assert re.search(r"Total params: 2,125\b", text)
    assert re.search(r"Trainable params: 2,020\b", text)
    assert re.search(r"Non-trainable params: 105\b", text)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    assert model.count_params() == 2125


# ----------------------------------------------------------------------------------------------------------------
# Seeded reproducibility


def _seeded_model(seed):
    set_random_seed(seed)
    model = Sequential([kshim.Input((6,)), layers.Dense(5, activation="relu"), layers.Dropout(0.5),
                        layers.Dense(3, kernel_initializer="he_normal", bias_initializer="random_normal")])
    return model


def test_same_seed_same_weights_and_masks():
    a, b = _seeded_model(17), _seeded_model(17)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    x = np.ones((4, 6), "float32")
    np.testing.assert_array_equal(np_(a(x, training=True)), np_(b(x, training=True)))
    c = _seeded_model(18)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_training_flag_reaches_dropout():
    set_random_seed(3)
    model = Sequential([kshim.Input((400,)), layers.Dropout(0.5)])
    x = np.ones((5, 400), "float32")
    np.testing.assert_array_equal(np_(model(x)), x)
    np.testing.assert_array_equal(np_(model(x, training=False)), x)
    y = np_(model(x, training=True))
    np.testing.assert_allclose((y != 0).mean(), 0.5, atol=0.03)
    assert set(np.unique(y)) == {0.0, 2.0}


# ---- across backends: the same seeded program in a jax process and a torch process

_CROSS_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import kshim
    from kshim import layers, ops
    kshim.utils.set_random_seed(1234)
    model = kshim.Sequential([
        kshim.Input((6,)),
        layers.Dense(8, activation="relu"),
        layers.Dense(8, kernel_initializer="orthogonal", bias_initializer="random_uniform"),
        layers.Dense(4, kernel_initializer="he_normal", bias_initializer=kshim.initializers.TruncatedNormal()),
    ])
    drop = kshim.Sequential([kshim.Input((50,)), layers.Dropout(0.35)])
    x = (np.arange(4 * 50, dtype="float32").reshape(4, 50) + 1) / 7
    first = ops.convert_to_numpy(drop(x, training=True))
    second = ops.convert_to_numpy(drop(x, training=True))
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update(drop1=first, drop2=second, backend=np.array(kshim.config.backend()))
    np.savez(sys.argv[1], **arrays)
""")


@pytest.fixture(scope="module")
def cross_backend(tmp_path_factory):
    out = tmp_path_factory.mktemp("cross")
    procs = {}
    for backend in ("jax", "torch"):
        env = dict(os.environ, KSHIM_BACKEND=backend)
        procs[backend] = subprocess.Popen([sys.executable, "-c", _CROSS_SCRIPT, str(out / f"{backend}.npz")],
                                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    for backend, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{backend} run failed:\n{err}"
        results[backend] = dict(np.load(out / f"{backend}.npz"))
    return results


def test_seeded_weights_bit_identical_across_backends(cross_backend):
    j, t = cross_backend["jax"], cross_backend["torch"]
    assert str(j["backend"]) == "jax" and str(t["backend"]) == "torch"
    names = sorted(k for k in j if k.startswith("w"))
    assert names == sorted(k for k in t if k.startswith("w")) and len(names) == 6
    for k in names:
        assert j[k].dtype == t[k].dtype == np.float32
        assert np.array_equal(j[k], t[k]), k
        if k != "w1":  # w1 is the first Dense's zeros bias
            assert np.abs(j[k]).max() > 0  # real draws, not zeros


def test_dropout_masks_bit_identical_across_backends(cross_backend):
    j, t = cross_backend["jax"], cross_backend["torch"]
    for k in ("drop1", "drop2"):
        bad = np.argwhere(j[k] != t[k])
        assert bad.size == 0, (k, bad[:5].tolist(), j[k][j[k] != t[k]][:5], t[k][j[k] != t[k]][:5])
        np.testing.assert_allclose((j[k] != 0).mean(), 0.65, atol=0.05)
    assert not np.array_equal(j["drop1"] != 0, j["drop2"] != 0)  # the seed stream advanced
