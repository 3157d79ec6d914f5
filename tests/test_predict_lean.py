"""``predict(x, verbose=0)`` on one small array takes a lean path (no data adapter, no callbacks, one compiled
call), as ``predict_on_batch`` does. It must give what the batched path gives, with the same checks."""

import numpy as np
import pytest

import kshim
from kshim import layers, ops

X = np.random.default_rng(0).normal(size=(8, 5)).astype("float32")


def _model():
    kshim.utils.set_random_seed(0)
    return kshim.Sequential([kshim.Input((5,)), layers.Dense(6, activation="relu"), layers.Dropout(0.5),
                             layers.Dense(3)])


def test_lean_path_equals_the_batched_path_and_the_direct_call():
    model = _model()
    lean = model.predict(X, verbose=0)
    batched = model.predict(X, verbose=0, callbacks=[])  # callbacks: the data-adapter path
    in_twos = model.predict(X, batch_size=2, verbose=0)
    assert isinstance(lean, np.ndarray) and lean.dtype == np.float32 and lean.shape == (8, 3)
    np.testing.assert_array_equal(lean, batched)
    np.testing.assert_allclose(lean, in_twos, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(lean, ops.convert_to_numpy(model(X)), rtol=1e-6, atol=1e-7)  # dropout is off
    np.testing.assert_array_equal(model.predict_on_batch(X), lean)
    np.testing.assert_array_equal(model.predict(ops.convert_to_tensor(X), verbose=0), lean)
    np.testing.assert_array_equal(model.predict(X.astype("float64"), verbose=0), lean)


def test_outputs_are_arrays_of_their_own():
    model = _model()
    out = model.predict(X, verbose=0)
    out[:] = 123.0  # writable, and writing to it changes nothing else
    again = model.predict(X, verbose=0)
    assert not np.any(again == 123.0)
    ident = kshim.Sequential([kshim.Input((5,)), layers.Activation("linear")])
    t = ops.convert_to_tensor(X)
    res = ident.predict_on_batch(t)
    res[:] = 0.0
    np.testing.assert_array_equal(ops.convert_to_numpy(t), X)


def test_bad_shapes_are_still_reported_after_a_good_call():
    model = _model()
    model.predict(X, verbose=0)
    for bad in (np.zeros((8, 4), "float32"), np.zeros((2, 8, 5), "float32")):
        with pytest.raises(ValueError, match="expects inputs of shape"):
            model.predict(bad, verbose=0)
        with pytest.raises(ValueError, match="expects inputs of shape"):
            model.predict_on_batch(bad)
    assert model.predict(X[:3], verbose=0).shape == (3, 3)  # another good shape


def test_an_unbuilt_model_builds_on_the_lean_path():
    kshim.utils.set_random_seed(0)
    model = kshim.Sequential([layers.Dense(4), layers.Dense(2)])
    out = model.predict(X, verbose=0)
    assert model.built and out.shape == (8, 2)
    np.testing.assert_allclose(out, ops.convert_to_numpy(model(X)), rtol=1e-6, atol=1e-7)


def test_multi_output_models_and_large_inputs():
    inputs = kshim.Input((5,))
    a = layers.Dense(2)(inputs)
    b = layers.Dense(3)(inputs)
    model = kshim.Model(inputs, [a, b])
    lean = model.predict(X, verbose=0)
    batched = model.predict(X, batch_size=3, verbose=0)
    assert isinstance(lean, list) and [o.shape for o in lean] == [(8, 2), (8, 3)]
    for p, q in zip(lean, batched):
        np.testing.assert_allclose(p, q, rtol=1e-6, atol=1e-7)
    big = np.tile(X, (10, 1))  # 80 samples: more than one default batch, the batched path
    np.testing.assert_allclose(model.predict(big, verbose=0)[1], np.tile(lean[1], (10, 1)), rtol=1e-6, atol=1e-7)


def test_predict_with_verbose_still_prints_its_progress_bar(capsys):
    model = _model()
    model.predict(X)
    assert "1/1" in capsys.readouterr().out
