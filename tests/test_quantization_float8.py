"""float8 training (`quantize("float8")`) of Dense and EinsumDense against real Keras 3: the six scale/amax
variables (names, order, values), predictions and a few Adam steps (every weight, the overwritten scales and
histories included, and the optimizer's slots), the ``float8_from_<policy>`` policy, and `.keras` files both ways;
plus the optimizer's ``overwrite_with_gradient`` rule under gradient accumulation (the elementwise maximum)."""

import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops

os.environ.setdefault("KERAS_BACKEND", "jax")  # as the other parity tests: one Keras backend per pytest run
keras = pytest.importorskip("keras")

_F8 = ("inputs_scale", "inputs_amax_history", "kernel_scale", "kernel_amax_history", "outputs_grad_scale",
       "outputs_grad_amax_history")


def _build(mod):
    inp = mod.Input((5,))
    x = mod.layers.Dense(4, activation="tanh", name="d")(inp)
    x = mod.layers.EinsumDense("ab,bc->ac", 3, bias_axes="c", name="e")(x)
    return mod.Model(inp, x)


def _data():
    rng = np.random.default_rng(5)
    return rng.normal(size=(8, 5)).astype("float32") * 3, rng.normal(size=(8, 3)).astype("float32")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    kshim.utils.set_random_seed(7)
    ours, theirs = _build(kshim), _build(keras)
    theirs.set_weights(ours.get_weights())
    ours.quantize("float8")
    theirs.quantize("float8")
    x, y = _data()
    first = (ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)))
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(optimizer=mod.optimizers.Adam(0.05), loss="mse")
    hist = [m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"] for m in (ours, theirs)]
    folder = tmp_path_factory.mktemp("float8")
    return ours, theirs, x, first, hist, folder


def test_float8_variables_training_and_policy_match_keras(trained):
    ours, theirs, x, first, hist, _ = trained
    names = [w.path for w in ours.weights]
    assert names == [w.path for w in theirs.weights]
    assert names[:8] == ["d/kernel", "d/bias"] + [f"d/{n}" for n in _F8]
    assert [str(w.dtype) for w in ours.weights] == [str(w.dtype) for w in theirs.weights]
    assert ours.get_layer("d").dtype_policy.name == "float8_from_float32"
    assert ours.get_layer("e").dtype_policy.get_config() == theirs.get_layer("e").dtype_policy.get_config()
    np.testing.assert_allclose(first[0], first[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hist[0], hist[1], rtol=1e-5)
    for w, a, b in zip(ours.weights, ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=w.path)
    h = ours.get_layer("d").inputs_amax_history.numpy()
    # four steps wrote four amaxes (newest first, then the rolled rest); the scale lags one step behind
    np.testing.assert_allclose(h[0], np.abs(x[4:]).max(), rtol=1e-6)
    assert np.count_nonzero(h) == 4 and h.shape == (1024,)
    assert ours.get_layer("d").inputs_scale.numpy() != 1.0
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # the scales and histories are set to their "gradient": the optimizer keeps no slots for them, as Keras 3
    assert len(ours.optimizer.variables) == len(theirs.optimizer.variables) == 2 + 2 * 4


def test_float8_keras_files_both_ways_and_policy_built_layers(trained):
    ours, theirs, x, _, _, folder = trained
    ours.save(folder / "ours.keras")
    theirs.save(folder / "theirs.keras")
    in_keras = keras.saving.load_model(folder / "ours.keras")
    in_ours = kshim.saving.load_model(folder / "theirs.keras")
    assert in_ours.get_layer("e").quantization_mode == "float8"
    # loaded, the layers are built from the float8 policy: its variables come first, in both libraries
    assert [w.path for w in in_ours.weights] == [w.path for w in in_keras.weights]
    assert [w.path for w in in_ours.weights][:8] == [f"d/{n}" for n in _F8] + ["d/kernel", "d/bias"]
    saved = {w.path: v for w, v in zip(ours.weights, ours.get_weights())}
    for loaded in (in_keras, in_ours):
        for w, v in zip(loaded.weights, loaded.get_weights()):
            np.testing.assert_allclose(v, saved[w.path], rtol=1e-5, atol=1e-6, err_msg=w.path)
    np.testing.assert_allclose(in_ours.predict(x, verbose=0), np.asarray(in_keras.predict(x, verbose=0)),
                               rtol=1e-5, atol=1e-6)
    # built from the policy, the float8 variables come first (Keras 3's order); the history length is the policy's
    policy = kshim.dtype_policies.QuantizedFloat8DTypePolicy("float8", "float32", amax_history_length=4)
    built = layers.Dense(2, dtype=policy)
    built.build((None, 3))
    assert [w.name for w in built.weights] == list(_F8) + ["kernel", "bias"]
    assert tuple(built.inputs_amax_history.shape) == (4,)


def test_float8_rejects_lora_and_overwrite_rule_under_accumulation():
    layer = layers.Dense(2)
    layer.build((None, 3))
    layer.quantize("float8")
    layer.enable_lora(1)
    with pytest.raises(NotImplementedError, match="LoRA"):
        layer(np.ones((1, 3), "float32"))
    v = kshim.Variable(np.zeros(3, "float32"))
    v.overwrite_with_gradient = True
    w = kshim.Variable(np.zeros(3, "float32"))
    opt = kshim.optimizers.SGD(1.0, gradient_accumulation_steps=2)
    opt.apply([ops.convert_to_tensor(np.array([1.0, 5.0, -2.0], "float32"))] * 2, [v, w])
    np.testing.assert_array_equal(v.numpy(), [0, 0, 0])  # not an update step: only accumulated
    opt.apply([ops.convert_to_tensor(np.array([3.0, 2.0, -4.0], "float32"))] * 2, [v, w])
    np.testing.assert_array_equal(v.numpy(), [3.0, 5.0, 0.0])  # the maximum of the two (with the zeroed start)
    np.testing.assert_allclose(w.numpy(), [-2.0, -3.5, 3.0])  # the plain variable: mean gradient, lr 1
