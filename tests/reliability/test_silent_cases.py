"""Silent wrong results and vague messages (issue 20, defects 8, 9 (data) and 11): each now raises a clear error
at the API boundary (argument named, value received, what was expected) or behaves as Keras 3 does."""

import numpy as np
import pytest

import kshim as keras

X = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
Y = np.ones((8, 1), "float32")


def _model(**compile_kwargs):
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    m.compile("sgd", **compile_kwargs)
    return m


# -- defect 8: silent wrong results ------------------------------------------------------------------------------
def test_loss_dict_with_an_unknown_key_on_a_single_output_raises():
    m = _model(loss={"nope": "mse"})
    with pytest.raises(ValueError, match="nope"):
        m.evaluate(X, Y, verbose=0)


def test_loss_dict_keyed_by_the_output_name_still_works():
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)], name="net")
    m.compile("sgd", loss={"net": "mse"})
    ref = _model(loss="mse")
    ref.set_weights(m.get_weights())
    np.testing.assert_allclose(m.evaluate(X, Y, verbose=0), ref.evaluate(X, Y, verbose=0), rtol=1e-6)


def test_loss_weights_longer_than_the_outputs_raise():
    m = _model(loss="mse", loss_weights=[5, 2, 3])
    with pytest.raises(ValueError, match=r"loss_weights.*\[5, 2, 3\]"):
        m.evaluate(X, Y, verbose=0)


def test_one_loss_weight_in_a_list_scales_the_loss():
    a = _model(loss="mse")
    b = _model(loss="mse", loss_weights=[2.0])
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(b.evaluate(X, Y, verbose=0), 2 * a.evaluate(X, Y, verbose=0), rtol=1e-6)


def _classifier():
    keras.utils.set_random_seed(1)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy")
    return m


@pytest.mark.parametrize("bad", [4, -1, 1000])
@pytest.mark.parametrize("entry", ["evaluate", "fit", "train_on_batch_free"])
def test_sparse_labels_out_of_range_raise_in_evaluate_and_fit(bad, entry):
    y = np.array([0, 1, 2, 3, 0, 1, 2, bad])
    m = _classifier()
    with pytest.raises(ValueError, match=rf"labels must be integers in \[0, 4\).*{bad}"):
        if entry == "evaluate":
            m.evaluate(X, y, verbose=0)  # gave loss 0.0 for the bad rows before
        elif entry == "fit":
            m.fit(X, y, batch_size=4, verbose=0)
        else:
            keras.losses.SparseCategoricalCrossentropy()(y, np.full((8, 4), 0.25, "float32"))


def test_sparse_labels_in_range_and_ignore_class_are_accepted():
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    m = _classifier()
    loss = m.evaluate(X, y, verbose=0)
    probs = m.predict(X, verbose=0)
    np.testing.assert_allclose(loss, -np.mean(np.log(probs[np.arange(8), y])), rtol=1e-5)
    yi = np.array([0, 1, 2, 3, -1, -1, 2, 3])
    value = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)(yi, np.full((8, 4), 0.25, "float32"))
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(value)), np.log(4.0), rtol=1e-6)


# -- defect 9 (at the data boundary) -----------------------------------------------------------------------------
def test_string_arrays_into_fit_raise_naming_the_argument():
    with pytest.raises(ValueError, match=r"`x` must hold numbers.*<U1"):
        _model(loss="mse").fit(np.array([["a", "b", "c"]] * 8), Y, verbose=0)
    with pytest.raises(ValueError, match=r"`y` must hold numbers"):
        _model(loss="mse").fit(X, np.array([["a"]] * 8), verbose=0)


def test_string_arrays_into_predict_raise_naming_the_argument():
    """A model with a string Input runs when called, but a compiled step cannot take strings: predict (its lean
    one-batch path included) and evaluate say so at the boundary instead of failing inside the backend."""
    inp = keras.Input((1,), dtype="string")
    ids = keras.layers.StringLookup(vocabulary=["a", "b"])(inp)
    model = keras.Model(inp, keras.layers.Flatten()(keras.layers.Embedding(3, 2)(ids)))
    x = np.array(["a", "b", "c", "a"])
    assert tuple(model(x).shape) == (4, 2)  # the eager call adds the trailing axis and looks the strings up
    for kwargs in ({"verbose": 0}, {"verbose": 0, "batch_size": 2}):
        with pytest.raises(ValueError, match=r"`x` must hold numbers.*StringLookup"):
            model.predict(x, **kwargs)


def test_a_2d_sample_weight_of_the_wrong_shape_raises():
    with pytest.raises(ValueError, match=r"sample_weight.*\(8, 5\).*\(8, 1\)"):
        _model(loss="mse").fit(X, Y, sample_weight=np.ones((8, 5)), verbose=0)


def test_a_2d_sample_weight_matching_y_is_accepted():
    x = np.random.default_rng(1).normal(size=(8, 4, 3)).astype("float32")
    y = np.ones((8, 4, 1), "float32")
    m = keras.Sequential([keras.Input((4, 3)), keras.layers.Dense(1)])
    m.compile("sgd", "mse")
    sw = np.zeros((8, 4), "float32")
    sw[:, 0] = 1.0
    got = m.evaluate(x, y, sample_weight=sw, verbose=0)
    pred = m.predict(x, verbose=0)
    np.testing.assert_allclose(got, np.sum((pred[..., 0] - 1.0) ** 2 * sw) / sw.size, rtol=1e-5)


# -- defect 11: messages -----------------------------------------------------------------------------------------
def test_validation_data_with_one_element_says_what_is_wrong():
    with pytest.raises(ValueError, match=r"`validation_data` must be a tuple `\(x_val, y_val\)`.*1 element"):
        _model(loss="mse").fit(X, Y, validation_data=(X,), verbose=0)


def test_one_callback_not_in_a_list_is_accepted():
    seen = []
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    _model(loss="mse").fit(X, Y, epochs=2, callbacks=cb, verbose=0)
    assert seen == [0, 1]


def test_callbacks_of_the_wrong_kind_raise_a_clear_type_error():
    with pytest.raises(TypeError, match=r"`callbacks` must be a list.*callbacks=5"):
        _model(loss="mse").fit(X, Y, callbacks=5, verbose=0)


def test_validation_split_as_a_string_raises_a_clear_type_error():
    with pytest.raises(TypeError, match=r"`validation_split` must be a float.*'0.2'.*str"):
        _model(loss="mse").fit(X, Y, validation_split="0.2", verbose=0)


def test_lstm_on_integer_sequences_runs_as_on_the_same_floats():
    x = np.random.default_rng(3).integers(0, 5, size=(2, 4, 3))
    keras.utils.set_random_seed(2)
    layer = keras.layers.LSTM(3)
    got = keras.ops.convert_to_numpy(layer(x.astype("int32")))  # torch raised "expected scalar type Int"
    np.testing.assert_array_equal(got, keras.ops.convert_to_numpy(layer(x.astype("float32"))))
