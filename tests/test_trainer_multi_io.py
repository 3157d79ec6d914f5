"""fit/evaluate/predict with several inputs and outputs, against real Keras 3 and numpy.

The model has two inputs ("a", "b") and two outputs ("reg": one linear unit, "cls": a 3-way softmax) that share a
hidden layer, so each output's loss (and its weight) moves the shared weights. kshim and Keras start from the same
weights (set_weights) and see the same data unshuffled; history, final weights, evaluate and predict must agree.
"""

import os

import numpy as np
import pytest

import kshim

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

SCE = "sparse_categorical_crossentropy"


def _build(mod, dict_outputs=False, regularize=False):
    layers = mod.layers
    a, b = mod.Input((4,), name="a"), mod.Input((3,), name="b")
    ha = layers.Dense(8, activation="tanh", name="ha",
                      kernel_regularizer=mod.regularizers.L2(0.01) if regularize else None)(a)
    hb = layers.Dense(8, activation="tanh", name="hb")(b)
    shared = layers.Dense(6, activation="tanh", name="shared")
    reg = layers.Dense(1, name="reg")(shared(ha))
    cls = layers.Dense(3, activation="softmax", name="cls")(shared(hb))
    outputs = {"out_reg": reg, "out_cls": cls} if dict_outputs else [reg, cls]
    return mod.Model([a, b], outputs)


def _pair(**kwargs):
    kshim.utils.set_random_seed(5)
    ours = _build(kshim, **kwargs)
    theirs = _build(keras, **kwargs)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    xa = rng.normal(size=(n, 4)).astype("float32")
    xb = rng.normal(size=(n, 3)).astype("float32")
    y_reg = (xa[:, :1] - 0.5 * xa[:, 1:2] + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    y_cls = (np.argmax(xb, axis=-1)).astype("int32")
    return xa, xb, y_reg, y_cls


def _assert_same_run(h1, h2, ours, theirs, x, y, rtol=1e-4):
    assert set(h1.history) == set(h2.history)
    for k in h2.history:
        np.testing.assert_allclose(h1.history[k], h2.history[k], rtol=rtol, atol=1e-6, err_msg=k)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6)
    e1, e2 = ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(e1, e2, rtol=rtol, atol=1e-6)  # the list, in Keras's order
    d1, d2 = ours.evaluate(x, y, verbose=0, return_dict=True), theirs.evaluate(x, y, verbose=0, return_dict=True)
    assert set(d1) == set(d2)
    for k in d2:
        np.testing.assert_allclose(d1[k], d2[k], rtol=rtol, atol=1e-6, err_msg=k)
    assert ours.metrics_names == list(d1) and list(d1.values()) == e1
    p1, p2 = ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
    assert type(p1) is type(p2) and len(p1) == len(p2)
    for k in (p2 if isinstance(p2, dict) else range(len(p2))):
        np.testing.assert_allclose(p1[k], p2[k], rtol=rtol, atol=1e-6)


def test_list_losses_weights_and_list_of_list_metrics_match_keras():
    xa, xb, y_reg, y_cls = _data()
    ours, theirs = _pair()
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(optimizer=mod.optimizers.SGD(0.05, momentum=0.9), loss=["mse", SCE], loss_weights=[0.5, 2.0],
                  metrics=[["mae"], ["accuracy", SCE]])
    kw = dict(batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    h1 = ours.fit([xa, xb], [y_reg, y_cls], **kw)
    h2 = theirs.fit([xa, xb], [y_reg, y_cls], **kw)
    assert set(h1.history) == {"loss", "reg_loss", "cls_loss", "reg_mae", "cls_accuracy",
                               f"cls_{SCE}"} | {f"val_{k}" for k in ("loss", "reg_loss", "cls_loss", "reg_mae",
                                                                     "cls_accuracy", f"cls_{SCE}")}
    _assert_same_run(h1, h2, ours, theirs, [xa, xb], [y_reg, y_cls])
    # The total is the weighted sum of the per-output losses (and the per-output logs are unweighted).
    d = ours.evaluate([xa, xb], [y_reg, y_cls], verbose=0, return_dict=True)
    reg, cls = ours.predict([xa, xb], verbose=0)
    mse = np.mean((reg.astype(np.float64) - y_reg) ** 2)
    sce = np.mean(-np.log(np.clip(cls[np.arange(len(y_cls)), y_cls].astype(np.float64), 1e-7, 1.0)))
    np.testing.assert_allclose([d["reg_loss"], d["cls_loss"], d["loss"]], [mse, sce, 0.5 * mse + 2.0 * sce],
                               rtol=2e-5)
    assert ours.metrics_names == ["loss", "reg_loss", "cls_loss", "cls_accuracy", f"cls_{SCE}", "reg_mae"]


def test_dict_losses_weights_metrics_and_per_output_sample_weights_match_keras():
    xa, xb, y_reg, y_cls = _data(seed=1)
    sw_reg = np.linspace(0.2, 2.0, len(xa)).astype("float32")
    sw_cls = np.where(np.arange(len(xa)) % 3 == 0, 0.0, 1.5).astype("float32")
    ours, theirs = _pair(regularize=True)  # an L2 layer loss joins the total
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(optimizer=mod.optimizers.Adam(0.01), loss={"reg": "mae", "cls": SCE},
                  loss_weights={"cls": 0.3, "reg": 1.5}, metrics={"cls": "accuracy"},
                  weighted_metrics={"reg": ["mse", "mse"], "cls": ["accuracy"]})
    kw = dict(batch_size=20, epochs=3, shuffle=False, verbose=0)
    h1 = ours.fit({"a": xa, "b": xb}, {"reg": y_reg, "cls": y_cls}, sample_weight={"reg": sw_reg, "cls": sw_cls},
                  **kw)
    h2 = theirs.fit({"a": xa, "b": xb}, [y_reg, y_cls], sample_weight=[sw_reg, sw_cls], **kw)
    assert set(h1.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy", "reg_mse", "reg_weighted_mse",
                               "cls_weighted_accuracy"}
    _assert_same_run(h1, h2, ours, theirs, [xa, xb], [y_reg, y_cls])
    r1 = ours.evaluate([xa, xb], [y_reg, y_cls], sample_weight=[sw_reg, sw_cls], verbose=0, return_dict=True)
    r2 = theirs.evaluate([xa, xb], [y_reg, y_cls], sample_weight=[sw_reg, sw_cls], verbose=0, return_dict=True)
    for k in r2:
        np.testing.assert_allclose(r1[k], r2[k], rtol=1e-4, err_msg=k)
    # One array weighs every output, as in Keras.
    r1 = ours.evaluate([xa, xb], [y_reg, y_cls], sample_weight=sw_reg, verbose=0, return_dict=True)
    r2 = theirs.evaluate([xa, xb], [y_reg, y_cls], sample_weight=sw_reg, verbose=0, return_dict=True)
    for k in r2:
        np.testing.assert_allclose(r1[k], r2[k], rtol=1e-4, err_msg=k)


def test_one_loss_for_every_output_and_accuracy_resolved_per_output_match_keras():
    """"crossentropy" and "accuracy" resolve per output from its shapes: binary for the sigmoid output,
    categorical for the one-hot softmax output."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(48, 5)).astype("float32")
    y_bin = (x[:, :1] > 0).astype("float32")
    y_cat = np.eye(3, dtype="float32")[np.argmax(x[:, 2:], axis=-1)]

    def build(mod):
        inp = mod.Input((5,), name="x")
        h = mod.layers.Dense(6, activation="relu", name="h")(inp)
        return mod.Model(inp, [mod.layers.Dense(1, activation="sigmoid", name="bin")(h),
                               mod.layers.Dense(3, activation="softmax", name="cat")(h)])

    kshim.utils.set_random_seed(7)
    ours, theirs = build(kshim), build(keras)
    theirs.set_weights(ours.get_weights())
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(optimizer=mod.optimizers.SGD(0.1), loss="crossentropy", metrics=["accuracy", "accuracy"])
    h1 = ours.fit(x, [y_bin, y_cat], batch_size=12, epochs=2, shuffle=False, verbose=0)
    h2 = theirs.fit(x, [y_bin, y_cat], batch_size=12, epochs=2, shuffle=False, verbose=0)
    assert set(h1.history) == {"loss", "bin_loss", "cat_loss", "bin_accuracy", "cat_accuracy"}
    _assert_same_run(h1, h2, ours, theirs, x, [y_bin, y_cat])
    kinds = {type(m).__name__ for m in ours.metrics}
    assert {"BinaryAccuracy", "CategoricalAccuracy"} <= kinds


def test_dict_outputs_predict_a_dict_and_match_keras():
    xa, xb, y_reg, y_cls = _data(seed=3)
    ours, theirs = _pair(dict_outputs=True)
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(optimizer=mod.optimizers.RMSprop(0.01), loss={"out_reg": "mse", "out_cls": SCE},
                  metrics={"out_cls": ["accuracy"]})
    y = {"out_reg": y_reg, "out_cls": y_cls}
    h1 = ours.fit([xa, xb], y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h2 = theirs.fit([xa, xb], y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert set(h1.history) == {"loss", "out_reg_loss", "out_cls_loss", "out_cls_accuracy"}
    _assert_same_run(h1, h2, ours, theirs, [xa, xb], y)
    pred = ours.predict([xa, xb], batch_size=10, verbose=0)
    assert isinstance(pred, dict) and set(pred) == {"out_reg", "out_cls"}
    assert pred["out_reg"].shape == (64, 1) and pred["out_cls"].shape == (64, 3)


def test_an_output_without_a_loss_logs_no_per_output_losses_like_keras():
    xa, xb, y_reg, y_cls = _data(seed=4)
    ours, theirs = _pair()
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(optimizer=mod.optimizers.SGD(0.05), loss=[None, SCE], metrics=[["mae"], None])
    h1 = ours.fit([xa, xb], [y_reg, y_cls], batch_size=16, epochs=2, shuffle=False, verbose=0)
    h2 = theirs.fit([xa, xb], [y_reg, y_cls], batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert set(h1.history) == {"loss", "reg_mae"}
    _assert_same_run(h1, h2, ours, theirs, [xa, xb], [y_reg, y_cls])


def test_a_dict_loss_may_leave_outputs_out():
    """Keras 3.15 insists on every output name in a loss dict (None for none); kshim reads a missing name as
    None, so both spellings train the same."""
    xa, xb, y_reg, y_cls = _data(seed=5)
    ours, theirs = _pair()
    ours.compile(optimizer=kshim.optimizers.SGD(0.05), loss={"cls": SCE})
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss={"reg": None, "cls": SCE})
    h1 = ours.fit([xa, xb], {"cls": y_cls}, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h2 = theirs.fit([xa, xb], [y_reg, y_cls], batch_size=16, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # The one target may also come alone, or in a list with None for the output without a loss.
    e = ours.evaluate([xa, xb], {"cls": y_cls}, verbose=0)
    assert ours.evaluate([xa, xb], y_cls, verbose=0) == e
    assert ours.evaluate([xa, xb], [None, y_cls], verbose=0) == e


def test_on_batch_methods_match_keras():
    xa, xb, y_reg, y_cls = _data(seed=6)
    ours, theirs = _pair()
    for m, mod in ((ours, kshim), (theirs, keras)):
        m.compile(optimizer=mod.optimizers.SGD(0.1), loss=["mse", SCE], loss_weights=[1.0, 0.5],
                  metrics=[["mae"], ["accuracy"]])
    for _ in range(3):
        r1 = ours.train_on_batch([xa, xb], [y_reg, y_cls], return_dict=True)
        r2 = theirs.train_on_batch([xa, xb], [y_reg, y_cls], return_dict=True)
        assert set(r1) == set(r2)
        for k in r2:
            np.testing.assert_allclose(r1[k], r2[k], rtol=1e-4, err_msg=k)
    t1 = ours.test_on_batch([xa, xb], [y_reg, y_cls], sample_weight=[None, np.arange(64.0)])
    t2 = theirs.test_on_batch([xa, xb], [y_reg, y_cls], sample_weight=[None, np.arange(64.0)])
    np.testing.assert_allclose(t1, t2, rtol=1e-4)
    np.testing.assert_allclose(ours.predict_on_batch([xa, xb])[1], theirs.predict_on_batch([xa, xb])[1],
                               rtol=1e-4, atol=1e-6)


def test_every_form_of_x_y_and_sample_weight_gives_the_same_numbers():
    xa, xb, y_reg, y_cls = _data(seed=7)
    sw = np.linspace(0.0, 1.0, len(xa)).astype("float32")
    kshim.utils.set_random_seed(5)
    model = _build(kshim)
    model.compile(optimizer="sgd", loss=["mse", SCE], metrics=[None, ["accuracy"]], weighted_metrics=[["mae"], None])
    base = model.evaluate([xa, xb], [y_reg, y_cls], sample_weight=[sw, None], verbose=0, return_dict=True)
    forms = [
        dict(x=(xa, xb), y=(y_reg, y_cls), sample_weight=(sw, None)),
        dict(x={"b": xb, "a": xa}, y={"cls": y_cls, "reg": y_reg}, sample_weight={"reg": sw}),
        dict(x=[kshim.ops.convert_to_tensor(xa), xb], y=[y_reg, y_cls.tolist()], sample_weight=[sw, None]),
    ]
    for form in forms:
        got = model.evaluate(verbose=0, return_dict=True, batch_size=13, **form)
        assert list(got) == list(base)
        np.testing.assert_allclose(list(got.values()), list(base.values()), rtol=1e-6)
    # fit accepts the same forms, and a generator of (x, y, sample_weight) batches.
    gen = (((xa[i:i + 16], xb[i:i + 16]), {"reg": y_reg[i:i + 16], "cls": y_cls[i:i + 16]}) for i in range(0, 64, 16))
    hist = model.fit(gen, epochs=1, verbose=0)
    assert set(hist.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy", "reg_mae"}
    assert np.isfinite(hist.history["loss"][0])


# -- errors ----------------------------------------------------------------------------------------------------------
def _compiled(**kwargs):
    kshim.utils.set_random_seed(5)
    model = _build(kshim)
    model.compile(optimizer="sgd", **({"loss": ["mse", SCE]} | kwargs))
    return model


def test_wrong_number_of_losses_or_weights():
    xa, xb, y_reg, y_cls = _data()
    with pytest.raises(ValueError, match=r"2 outputs \['reg', 'cls'\].*list of 3 losses"):
        _compiled(loss=["mse", SCE, "mse"]).fit([xa, xb], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"list of 1 losses"):
        _compiled(loss=["mse"]).fit([xa, xb], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"`loss_weights` is a list of 1 weights"):
        _compiled(loss_weights=[1.0]).fit([xa, xb], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"`loss_weights` must be a list .* Received: loss_weights=0.5"):
        _compiled(loss_weights=0.5).fit([xa, xb], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"none of the outputs a loss"):
        _compiled(loss=[None, None]).fit([xa, xb], [y_reg, y_cls], verbose=0)


def test_dict_keys_that_are_not_output_names_suggest_the_closest():
    xa, xb, y_reg, y_cls = _data()
    with pytest.raises(ValueError, match=r"key='clss'\. Did you mean 'cls'\?"):
        _compiled(loss={"reg": "mse", "clss": SCE}).fit([xa, xb], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"key='rgs'.*Did you mean 'reg'"):
        _compiled(loss_weights={"rgs": 2.0}).fit([xa, xb], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"`metrics`.*key='class'.*Did you mean 'cls'"):
        _compiled(metrics={"class": "accuracy"}).fit([xa, xb], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"`y`.*key='regg'.*Did you mean 'reg'"):
        _compiled().fit([xa, xb], {"regg": y_reg, "cls": y_cls}, verbose=0)
    with pytest.raises(ValueError, match=r"input name in `x`.*key='bb'.*Did you mean 'b'"):
        _compiled().fit({"a": xa, "bb": xb}, [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"Unknown metric.*Did you mean"):
        _compiled(metrics=[["mea"], None])


def test_metrics_that_do_not_line_up_with_the_outputs():
    xa, xb, y_reg, y_cls = _data()
    # As in Keras 3: a flat list must have one entry per output.
    with pytest.raises(ValueError, match=r"2 outputs \['reg', 'cls'\], so `metrics` must be a list with one entry "
                                         r"per output.*Received: metrics=\['mae'\]"):
        _compiled(metrics=["mae"]).fit([xa, xb], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"`weighted_metrics` must be a list"):
        _compiled(weighted_metrics=[["mae"], ["mae"], ["mae"]]).fit([xa, xb], [y_reg, y_cls], verbose=0)


def test_y_of_the_wrong_structure():
    xa, xb, y_reg, y_cls = _data()
    with pytest.raises(ValueError, match=r"`y` must be a list with one target per output .* single array of "
                                         r"shape \(32, 1\)"):
        _compiled().fit([xa, xb], y_reg, verbose=0)
    with pytest.raises(ValueError, match=r"`y` must be a list .* list of 3 entries"):
        _compiled().fit([xa, xb], [y_reg, y_cls, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"no target for output 'cls', which has a loss"):
        _compiled().evaluate([xa, xb], {"reg": y_reg}, verbose=0)
    with pytest.raises(ValueError, match=r"no target for output 'reg', which has metrics"):
        _compiled(loss=[None, SCE], metrics=[["mae"], None]).fit([xa, xb], [None, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy' \(output 'cls'\) expects integer class "
                                         r"labels of shape \(32,\)"):
        _compiled().fit([xa, xb], [y_reg, np.zeros((64, 2), "int32")], verbose=0)
    with pytest.raises(ValueError, match=r"`sample_weight` must be a list .* list of 3 entries"):
        _compiled().fit([xa, xb], [y_reg, y_cls], sample_weight=[None, None, np.ones(64)], verbose=0)
    with pytest.raises(ValueError, match=r"`class_weight` is only supported for models with a single output"):
        _compiled().fit([xa, xb], [y_reg, y_cls], class_weight={0: 1.0, 1: 2.0, 2: 1.0}, verbose=0)
    with pytest.raises(ValueError, match=r"`class_weight` is only supported for models with a single output"):
        _compiled().train_on_batch([xa, xb], [y_reg, y_cls], class_weight={0: 1.0, 1: 2.0, 2: 1.0})


def test_inputs_that_do_not_fit():
    xa, xb, y_reg, y_cls = _data()
    with pytest.raises(ValueError, match=r"All arrays in `x` must have the same number of samples.*\[32, 64\]"):
        _compiled().fit([xa, xb[:32]], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"all inputs must have the same number of samples.*'a': 64, 'b': 32"):
        _compiled().train_on_batch([xa, xb[:32]], [y_reg, y_cls])
    with pytest.raises(ValueError, match=r"expects 2 inputs \['a', 'b'\], but `x` is a list of 1 arrays"):
        _compiled().fit([xa], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"expects 2 inputs \['a', 'b'\], but `x` is a single array of shape"):
        _compiled().predict(xa, verbose=0)
    with pytest.raises(ValueError, match=r"input 'b' of model .* expects shape \(None, 3\), but `x` gives it shape "
                                         r"\(None, 4\)"):
        _compiled().evaluate([xa, xa], [y_reg, y_cls], verbose=0)
    with pytest.raises(ValueError, match=r"`x` has no entry for \['b'\]"):
        _compiled().fit({"a": xa}, [y_reg, y_cls], verbose=0)


def test_one_metric_object_for_two_outputs_keeps_a_state_per_output():
    xa, xb, y_reg, y_cls = _data(seed=8)
    mae = kshim.metrics.MeanAbsoluteError(name="m")
    model = _compiled(loss="mse", metrics=[[mae], [mae]])
    y_onehot = np.eye(3, dtype="float32")[y_cls]
    got = model.evaluate([xa, xb], [y_reg, y_onehot], verbose=0, return_dict=True)
    reg, cls = model.predict([xa, xb], verbose=0)
    expected = [np.mean(np.abs(reg - y_reg)), np.mean(np.abs(cls - y_onehot))]
    np.testing.assert_allclose([got["reg_m"], got["cls_m"]], expected, rtol=1e-5)
    stored = model.get_metrics_result()  # read back from the metrics' own variables
    np.testing.assert_allclose([stored["reg_m"], stored["cls_m"]], expected, rtol=1e-5)
