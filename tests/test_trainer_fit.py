"""The training loop's numbers: History, hand-computed SGD steps, evaluate/predict against numpy, validation,
sample/class weights, shuffling, and how compile() resolves losses and metrics.

Keras parity of whole fits lives in test_keras_parity_fit.py; here every expected value is computed in numpy.
"""

import numpy as np
import pytest

import kshim
from kshim import layers, ops


# -- helpers ---------------------------------------------------------------------------------------------------------
def _reg_data(n=20, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    w = np.array([[1.5], [-2.0], [0.5]], "float32")[:d]
    y = (x @ w + 0.3 + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    return x, y


def _clf_data(n=40, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0.5).astype("int32")
    return x, np.minimum(y, classes - 1)


W0 = np.array([[0.5], [-1.0], [2.0]], "float32")


def _linear(kernel=W0, use_bias=False):
    model = kshim.Sequential([kshim.Input((kernel.shape[0],)), layers.Dense(kernel.shape[1], use_bias=use_bias)])
    model.set_weights([kernel] + ([np.zeros(kernel.shape[1], "float32")] if use_bias else []))
    return model


def _mlp(seed=7, d=3, out=1, activation=None):
    kshim.utils.set_random_seed(seed)
    return kshim.Sequential([kshim.Input((d,)), layers.Dense(8, activation="tanh"),
                             layers.Dense(out, activation=activation)])


def _np_forward(model, x):
    """The _mlp model's output computed in numpy from its weights."""
    k1, b1, k2, b2 = model.get_weights()
    z = np.tanh(x @ k1 + b1) @ k2 + b2
    act = model.layers[-1].activation.__name__
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if act == "softmax":
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    assert act == "linear", act
    return z


def _same_weights(a, b, rtol=0.0, atol=0.0):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for u, v in zip(wa, wb):
        np.testing.assert_allclose(u, v, rtol=rtol, atol=atol)


class _EpochLogs(kshim.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []
        self.batches = []

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1] += 1

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append((epoch, dict(logs)))


# -- History ---------------------------------------------------------------------------------------------------------
def test_history_has_one_value_per_epoch_for_every_log():
    x, y = _reg_data()
    model = _mlp()
    model.compile(kshim.optimizers.SGD(0.05), "mse", metrics=[kshim.metrics.MeanAbsoluteError()])
    h = model.fit(x[:15], y[:15], batch_size=5, epochs=3, validation_data=(x[15:], y[15:]), verbose=0)
    assert isinstance(h, kshim.callbacks.History)
    assert model.history is h
    assert set(h.history) == {"loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error"}
    assert h.epoch == [0, 1, 2]
    for k, v in h.history.items():
        assert len(v) == 3, k
        assert all(isinstance(f, float) and np.isfinite(f) for f in v), k
    # The last epoch's val_* are the evaluation of the final weights on the validation data.
    val = model.evaluate(x[15:], y[15:], verbose=0, return_dict=True)
    np.testing.assert_allclose(h.history["val_loss"][-1], val["loss"], rtol=1e-6)
    np.testing.assert_allclose(h.history["val_mean_absolute_error"][-1], val["mean_absolute_error"], rtol=1e-6)


def test_loss_decreases_on_a_learnable_problem():
    x, y = _reg_data(n=64)
    model = _linear(np.zeros((3, 1), "float32"), use_bias=True)
    model.compile(kshim.optimizers.SGD(0.1), "mse")
    h = model.fit(x, y, batch_size=16, epochs=15, shuffle=False, verbose=0)
    loss = h.history["loss"]
    assert all(b < a for a, b in zip(loss[:5], loss[1:6])), loss
    assert loss[-1] < 0.05 * loss[0]
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel[:, 0], [1.5, -2.0, 0.5], atol=0.1)
    np.testing.assert_allclose(bias, [0.3], atol=0.1)


# -- a step computed by hand -----------------------------------------------------------------------------------------
def test_one_sgd_step_matches_numpy():
    lr = 0.03
    x, y = _reg_data(n=8)
    model = _linear()
    model.compile(kshim.optimizers.SGD(lr), "mse")
    h = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    err = x @ W0 - y
    grad = 2.0 * x.T @ err / len(x)
    np.testing.assert_allclose(h.history["loss"], [np.mean(err ** 2)], rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[0], W0 - lr * grad, rtol=1e-6)


def test_two_sgd_steps_in_one_epoch_log_the_sample_weighted_mean_loss():
    x, y = _reg_data(n=12)
    model = _linear()
    model.compile(kshim.optimizers.SGD(0.1), "mse")
    h = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    w, losses = W0.copy(), []
    for sl in (slice(0, 8), slice(8, 12)):
        err = x[sl] @ w - y[sl]
        losses.append((np.mean(err ** 2), len(err)))
        w = w - 0.1 * 2.0 * x[sl].T @ err / len(err)
    expected = sum(l * n for l, n in losses) / 12
    np.testing.assert_allclose(h.history["loss"], [expected], rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-6)


# -- evaluate / predict ----------------------------------------------------------------------------------------------
def test_evaluate_return_forms_and_numpy_values():
    x, y = _reg_data(n=20)
    model = _mlp()
    model.compile("sgd", "mse")
    loss = model.evaluate(x, y, batch_size=6, verbose=0)
    assert isinstance(loss, float)
    pred = model.predict(x, batch_size=20, verbose=0)
    np.testing.assert_allclose(pred, _np_forward(model, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss, np.mean((pred - y) ** 2), rtol=1e-5)

    model.compile("sgd", "mse", metrics=[kshim.metrics.MeanAbsoluteError(name="mae_metric")])
    out = model.evaluate(x, y, batch_size=6, verbose=0)
    assert isinstance(out, list) and len(out) == 2
    np.testing.assert_allclose(out, [np.mean((pred - y) ** 2), np.mean(np.abs(pred - y))], rtol=1e-5)
    d = model.evaluate(x, y, batch_size=6, verbose=0, return_dict=True)
    assert list(d) == ["loss", "mae_metric"]
    np.testing.assert_allclose([d["loss"], d["mae_metric"]], out, rtol=1e-7)


def test_evaluate_with_sample_weight_divides_by_the_number_of_samples():
    x, y = _reg_data(n=20)
    sw = np.linspace(0.0, 2.0, 20).astype("float32")
    model = _mlp()
    model.compile("sgd", "mse")
    pred = _np_forward(model, x)
    got = model.evaluate(x, y, sample_weight=sw, batch_size=20, verbose=0)
    np.testing.assert_allclose(got, np.sum(sw * ((pred - y) ** 2)[:, 0]) / 20, rtol=1e-5)


def test_predict_batches_concatenate_to_the_direct_call():
    x, _ = _reg_data(n=20)
    model = _mlp(out=2)
    got = model.predict(x, batch_size=7, verbose=0)
    assert isinstance(got, np.ndarray) and got.shape == (20, 2)
    direct = ops.convert_to_numpy(model(x))
    np.testing.assert_allclose(got, direct, rtol=1e-6, atol=1e-7)
    kernel1, bias1, kernel2, bias2 = model.get_weights()
    np.testing.assert_allclose(got, np.tanh(x @ kernel1 + bias1) @ kernel2 + bias2, rtol=1e-5, atol=1e-6)


def test_on_batch_methods_numbers():
    x, y = _reg_data(n=8)
    model = _linear()
    model.compile(kshim.optimizers.SGD(0.1), "mse", metrics=[kshim.metrics.MeanAbsoluteError()])
    err = x @ W0 - y
    out = model.train_on_batch(x, y)
    np.testing.assert_allclose(out, [np.mean(err ** 2), np.mean(np.abs(err))], rtol=1e-6)
    w1 = W0 - 0.1 * 2.0 * x.T @ err / 8
    np.testing.assert_allclose(model.get_weights()[0], w1, rtol=1e-6)
    err1 = x @ w1 - y
    d = model.test_on_batch(x, y, return_dict=True)
    assert set(d) == {"loss", "mean_absolute_error"}
    np.testing.assert_allclose([d["loss"], d["mean_absolute_error"]], [np.mean(err1 ** 2), np.mean(np.abs(err1))],
                               rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], w1, rtol=1e-6)  # test_on_batch does not train
    p = model.predict_on_batch(x)
    assert isinstance(p, np.ndarray)
    np.testing.assert_allclose(p, x @ w1, rtol=1e-5, atol=1e-6)


# -- validation ------------------------------------------------------------------------------------------------------
def test_validation_split_equals_validation_data_with_the_last_samples():
    x, y = _reg_data(n=20)
    a = _mlp()
    a.compile(kshim.optimizers.SGD(0.05), "mse", metrics=[kshim.metrics.MeanAbsoluteError()])
    ha = a.fit(x, y, batch_size=5, epochs=2, shuffle=False, validation_split=0.25, verbose=0)
    b = _mlp()
    b.compile(kshim.optimizers.SGD(0.05), "mse", metrics=[kshim.metrics.MeanAbsoluteError()])
    hb = b.fit(x[:15], y[:15], batch_size=5, epochs=2, shuffle=False, validation_data=(x[15:], y[15:]), verbose=0)
    assert set(ha.history) == set(hb.history) == {"loss", "mean_absolute_error", "val_loss",
                                                   "val_mean_absolute_error"}
    for k in ha.history:
        np.testing.assert_allclose(ha.history[k], hb.history[k], rtol=1e-6, err_msg=k)
    _same_weights(a, b)
    pred = _np_forward(b, x[15:])
    np.testing.assert_allclose(hb.history["val_loss"][-1], np.mean((pred - y[15:]) ** 2), rtol=1e-5)


def test_validation_freq():
    x, y = _reg_data(n=20)
    model = _mlp()
    model.compile(kshim.optimizers.SGD(0.05), "mse")
    rec = _EpochLogs()
    h = model.fit(x, y, batch_size=10, epochs=4, validation_data=(x, y), validation_freq=2, callbacks=[rec],
                  verbose=0)
    assert ["val_loss" in logs for _, logs in rec.logs] == [False, True, False, True]
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2
    rec2 = _EpochLogs()
    model.fit(x, y, batch_size=10, epochs=4, validation_data=(x, y), validation_freq=[1, 3], callbacks=[rec2],
              verbose=0)
    assert ["val_loss" in logs for _, logs in rec2.logs] == [True, False, True, False]


def test_validation_data_with_sample_weights():
    x, y = _reg_data(n=20)
    vsw = np.r_[np.full(5, 3.0), np.zeros(5)].astype("float32")
    model = _mlp()
    model.compile(kshim.optimizers.SGD(0.05), "mse")
    h = model.fit(x[:10], y[:10], batch_size=10, epochs=1, validation_data=(x[10:], y[10:], vsw), verbose=0)
    sq = ((_np_forward(model, x[10:]) - y[10:]) ** 2)[:, 0]
    np.testing.assert_allclose(h.history["val_loss"], [np.sum(vsw * sq) / 10], rtol=1e-5)


def test_validation_freq_zero_is_a_value_error():
    x, y = _reg_data(n=20)
    model = _mlp()
    model.compile(kshim.optimizers.SGD(0.05), "mse")
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(x, y, validation_data=(x, y), validation_freq=0, verbose=0)


def test_default_batch_size_is_32():
    x, y = _reg_data(n=40)
    model = _linear()
    model.compile(kshim.optimizers.SGD(0.1), "mse")
    rec = _EpochLogs()
    model.fit(x, y, epochs=1, shuffle=False, callbacks=[rec], verbose=0)
    assert rec.batches == [2]
    ref = _linear()
    ref.compile(kshim.optimizers.SGD(0.1), "mse")
    ref.train_on_batch(x[:32], y[:32])
    ref.train_on_batch(x[32:], y[32:])
    _same_weights(model, ref, rtol=1e-6)


def test_initial_epoch():
    x, y = _reg_data(n=20)
    model = _mlp()
    model.compile(kshim.optimizers.SGD(0.05), "mse")
    rec = _EpochLogs()
    h = model.fit(x, y, batch_size=10, epochs=5, initial_epoch=2, callbacks=[rec], verbose=0)
    assert h.epoch == [2, 3, 4]
    assert [e for e, _ in rec.logs] == [2, 3, 4]
    assert len(h.history["loss"]) == 3


def test_steps_per_epoch_limits_the_batches():
    x, y = _reg_data(n=20)
    model = _linear()
    model.compile(kshim.optimizers.SGD(0.1), "mse")
    rec = _EpochLogs()
    model.fit(x, y, batch_size=4, epochs=1, steps_per_epoch=2, shuffle=False, callbacks=[rec], verbose=0)
    assert rec.batches == [2]
    ref = _linear()
    ref.compile(kshim.optimizers.SGD(0.1), "mse")
    ref.train_on_batch(x[0:4], y[0:4])
    ref.train_on_batch(x[4:8], y[4:8])
    _same_weights(model, ref, rtol=1e-6)


def test_steps_per_epoch_continues_through_the_data_across_epochs_like_keras():
    x, y = _reg_data(n=20)
    model = _linear()
    model.compile(kshim.optimizers.SGD(0.1), "mse")
    model.fit(x, y, batch_size=4, epochs=2, steps_per_epoch=2, shuffle=False, verbose=0)
    ref = _linear()
    ref.compile(kshim.optimizers.SGD(0.1), "mse")
    for i in range(4):  # Keras 3: epoch 1 sees batches 0, 1; epoch 2 sees batches 2, 3
        ref.train_on_batch(x[4 * i:4 * i + 4], y[4 * i:4 * i + 4])
    _same_weights(model, ref, rtol=1e-6)


# -- shuffling and seeds ---------------------------------------------------------------------------------------------
def _seeded_run(shuffle, seed=11):
    x, y = _reg_data(n=20)
    kshim.utils.set_random_seed(seed)
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(8, activation="relu"), layers.Dropout(0.25),
                              layers.Dense(1)])
    model.compile(kshim.optimizers.SGD(0.05, momentum=0.9), "mse")
    h = model.fit(x, y, batch_size=5, epochs=3, shuffle=shuffle, verbose=0)
    return model.get_weights(), h.history["loss"]


def test_seeded_runs_are_reproducible_with_and_without_shuffle():
    w1, l1 = _seeded_run(False)
    w2, l2 = _seeded_run(False)
    assert l1 == l2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    w3, l3 = _seeded_run(True)
    w4, l4 = _seeded_run(True)
    assert l3 == l4
    for a, b in zip(w3, w4):
        np.testing.assert_array_equal(a, b)
    assert any(not np.allclose(a, b) for a, b in zip(w1, w3))  # shuffle=True really changed the batches


def test_shuffle_visits_every_sample_once_per_epoch_in_a_new_order():
    seen = []

    def record_targets(y_true, y_pred):  # run eagerly, so the metric sees concrete batches
        seen.append(ops.convert_to_numpy(y_true)[:, 0].astype(int).tolist())
        return ops.mean(y_pred, axis=-1)

    x = np.arange(12, dtype="float32").reshape(12, 1)
    model = kshim.Sequential([kshim.Input((1,)), layers.Dense(1)])
    model.compile(kshim.optimizers.SGD(0.0), "mse", metrics=[record_targets], run_eagerly=True)
    kshim.utils.set_random_seed(5)
    model.fit(x, x, batch_size=5, epochs=2, shuffle=True, verbose=0)
    assert [len(b) for b in seen] == [5, 5, 2, 5, 5, 2]
    epoch1, epoch2 = sum(seen[:3], []), sum(seen[3:], [])
    assert sorted(epoch1) == sorted(epoch2) == list(range(12))
    assert epoch1 != list(range(12)) and epoch1 != epoch2
    seen.clear()
    model.fit(x, x, batch_size=5, epochs=1, shuffle=False, verbose=0)
    assert sum(seen, []) == list(range(12))


# -- sample_weight and class_weight ----------------------------------------------------------------------------------
def test_zero_sample_weight_on_half_the_data_equals_training_on_the_other_half():
    x, y = _reg_data(n=20)
    # Keras divides the weighted sum by the batch size, so weight 2 on half of the samples equals the plain mean
    # over that half.
    sw = np.r_[np.full(10, 2.0), np.zeros(10)].astype("float32")
    a = _mlp()
    a.compile(kshim.optimizers.SGD(0.1), "mse")
    ha = a.fit(x, y, sample_weight=sw, batch_size=20, epochs=1, shuffle=False, verbose=0)
    b = _mlp()
    b.compile(kshim.optimizers.SGD(0.1), "mse")
    hb = b.fit(x[:10], y[:10], batch_size=10, epochs=1, shuffle=False, verbose=0)
    _same_weights(a, b, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-6)
    # ... and the second half of the data had no effect at all.
    c = _mlp()
    c.compile(kshim.optimizers.SGD(0.1), "mse")
    y2 = y.copy()
    y2[10:] += 100.0
    c.fit(x, y2, sample_weight=sw, batch_size=20, epochs=1, shuffle=False, verbose=0)
    _same_weights(a, c, rtol=1e-6)


def test_class_weight_equals_the_corresponding_sample_weight():
    x, y = _clf_data()
    cw = {0: 1.0, 1: 3.0, 2: 0.25}
    sw = np.array([cw[int(c)] for c in y], "float32")

    def run(**kw):
        m = _mlp(d=4, out=3, activation="softmax")
        m.compile(kshim.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        h = m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, **kw)
        return m, h

    a, ha = run(class_weight=cw)
    b, hb = run(sample_weight=sw)
    c, _ = run()
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-6)
    _same_weights(a, b, rtol=1e-6)
    assert any(not np.allclose(u, v) for u, v in zip(a.get_weights(), c.get_weights()))
    # One-hot targets with categorical_crossentropy pick the class by argmax.
    d = _mlp(d=4, out=3, activation="softmax")
    d.compile(kshim.optimizers.SGD(0.1), "categorical_crossentropy")
    d.fit(x, np.eye(3, dtype="float32")[y], class_weight=cw, batch_size=8, epochs=2, shuffle=False, verbose=0)
    _same_weights(a, d, rtol=1e-5, atol=1e-7)


# -- metrics ---------------------------------------------------------------------------------------------------------
def test_accuracy_string_resolves_binary():
    x, y = _clf_data()
    yb = (y > 0).astype("float32")[:, None]
    model = _mlp(d=4, out=1, activation="sigmoid")
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    d = model.evaluate(x, yb, verbose=0, return_dict=True)
    p = _np_forward(model, x)
    assert list(d) == ["loss", "accuracy"]
    expected = np.mean((p > 0.5).astype("float32") == yb)
    assert 0.0 < expected < 1.0  # a value that distinguishes binary from the categorical accuracies
    np.testing.assert_allclose(d["accuracy"], expected, rtol=1e-6)
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    bce = -np.mean(yb * np.log(pc) + (1 - yb) * np.log(1 - pc))
    np.testing.assert_allclose(d["loss"], bce, rtol=1e-5)


def test_accuracy_string_resolves_sparse_and_categorical():
    x, y = _clf_data()
    model = _mlp(d=4, out=3, activation="softmax")
    p = _np_forward(model, x)
    expected = np.mean(np.argmax(p, -1) == y)
    assert 0.0 < expected < 1.0
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(d["accuracy"], expected, rtol=1e-6)
    np.testing.assert_allclose(d["loss"], -np.mean(np.log(p[np.arange(len(y)), y])), rtol=1e-5)
    # integer labels of shape (n, 1) are sparse too
    d1 = model.evaluate(x, y[:, None], verbose=0, return_dict=True)
    np.testing.assert_allclose(d1["accuracy"], expected, rtol=1e-6)
    model.compile("sgd", "categorical_crossentropy", metrics=["acc"])
    d2 = model.evaluate(x, np.eye(3, dtype="float32")[y], verbose=0, return_dict=True)
    assert list(d2) == ["loss", "acc"]
    np.testing.assert_allclose(d2["acc"], expected, rtol=1e-6)
    np.testing.assert_allclose(d2["loss"], d["loss"], rtol=1e-5)


def test_accuracy_in_fit_history_is_the_running_epoch_value():
    x, y = _clf_data()
    model = _mlp(d=4, out=3, activation="softmax")
    model.compile(kshim.optimizers.SGD(0.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    p = _np_forward(model, x)
    h = model.fit(x, y, batch_size=7, epochs=1, shuffle=False, verbose=0)  # lr 0: weights stay put
    np.testing.assert_allclose(h.history["accuracy"], [np.mean(np.argmax(p, -1) == y)], rtol=1e-6)


def test_metric_given_as_a_function():
    def my_abs_err(y_true, y_pred):
        return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)

    x, y = _reg_data()
    model = _mlp()
    model.compile("sgd", "mse", metrics=[my_abs_err])
    d = model.evaluate(x, y, batch_size=6, verbose=0, return_dict=True)
    assert list(d) == ["loss", "my_abs_err"]
    p = _np_forward(model, x)
    np.testing.assert_allclose(d["my_abs_err"], np.mean(np.abs(p - y)), rtol=1e-5)
    h = model.fit(x, y, epochs=2, batch_size=10, verbose=0)
    assert len(h.history["my_abs_err"]) == 2


def test_metric_given_as_an_instance_keeps_its_name_and_state_class():
    x, y = _reg_data()
    model = _mlp()
    m = kshim.metrics.RootMeanSquaredError(name="rmse")
    model.compile("sgd", "mse", metrics=[m])
    d = model.evaluate(x, y, batch_size=6, verbose=0, return_dict=True)
    assert list(d) == ["loss", "rmse"]
    p = _np_forward(model, x)
    np.testing.assert_allclose(d["rmse"], np.sqrt(np.mean((p - y) ** 2)), rtol=1e-5)
    np.testing.assert_allclose(d["rmse"] ** 2, d["loss"], rtol=1e-5)
    assert m in model.metrics


def test_metric_string_alias_is_logged_under_the_given_string():
    x, y = _reg_data()
    model = _mlp()
    model.compile("sgd", "mse", metrics=["mae", "mean_squared_error"])
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(d) == ["loss", "mae", "mean_squared_error"]  # as Keras 3: the string is the log name
    p = _np_forward(model, x)
    np.testing.assert_allclose([d["mae"], d["mean_squared_error"]], [np.mean(np.abs(p - y)), np.mean((p - y) ** 2)],
                               rtol=1e-5)


def test_metric_string_values():
    x, y = _reg_data()
    model = _mlp()
    model.compile("sgd", "mse", metrics=["mean_absolute_error", "mae"])
    out = model.evaluate(x, y, batch_size=6, verbose=0)
    p = _np_forward(model, x)
    np.testing.assert_allclose(out, [np.mean((p - y) ** 2), np.mean(np.abs(p - y)), np.mean(np.abs(p - y))],
                               rtol=1e-5)


# -- losses ----------------------------------------------------------------------------------------------------------
def test_loss_forms_agree_with_numpy():
    x, y = _reg_data(n=8)
    err = x @ W0 - y
    forms = {
        np.mean(err ** 2): ["mean_squared_error", "mse", "MSE", "MeanSquaredError", kshim.losses.mean_squared_error,
                            kshim.losses.MeanSquaredError()],
        np.mean(np.abs(err)): ["mae", "MAE", "mean_absolute_error", kshim.losses.MeanAbsoluteError()],
    }
    for expected, losses in forms.items():
        for loss in losses:
            model = _linear()
            model.compile(kshim.optimizers.SGD(0.1), loss)
            np.testing.assert_allclose(model.evaluate(x, y, batch_size=8, verbose=0), expected, rtol=1e-6,
                                       err_msg=repr(loss))


@pytest.mark.parametrize("loss", ["mse", kshim.losses.mean_squared_error, kshim.losses.MeanSquaredError()])
def test_mse_loss_forms_train_like_numpy(loss):
    x, y = _reg_data(n=8)
    model = _linear()
    model.compile(kshim.optimizers.SGD(0.1), loss)
    err = x @ W0 - y
    h = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"], [np.mean(err ** 2)], rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[0], W0 - 0.1 * 2.0 * x.T @ err / 8, rtol=1e-6)


def test_mae_loss_trains_like_numpy():
    x, y = _reg_data(n=8)
    model = _linear()
    model.compile(kshim.optimizers.SGD(0.1), "mae")
    err = x @ W0 - y
    h = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"], [np.mean(np.abs(err))], rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[0], W0 - 0.1 * x.T @ np.sign(err) / 8, rtol=1e-6)


def _bce(p, y):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


@pytest.mark.parametrize("loss", ["bce", "binary_crossentropy", kshim.losses.BinaryCrossentropy(),
                                  "crossentropy"])
def test_binary_crossentropy_forms(loss):
    x, y = _clf_data()
    yb = (y > 0).astype("float32")[:, None]
    model = _mlp(d=4, out=1, activation="sigmoid")
    model.compile("sgd", loss)
    p = _np_forward(model, x)
    np.testing.assert_allclose(model.evaluate(x, yb, verbose=0), _bce(p, yb), rtol=1e-5)


def test_custom_loss_subclass():
    class HalfSquares(kshim.losses.Loss):
        def call(self, y_true, y_pred):
            return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1) * 0.5

    x, y = _reg_data(n=8)
    model = _linear()
    model.compile(kshim.optimizers.SGD(0.1), HalfSquares())
    err = x @ W0 - y
    h = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"], [0.5 * np.mean(err ** 2)], rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[0], W0 - 0.1 * x.T @ err / 8, rtol=1e-6)


def test_crossentropy_string_resolves_by_shapes():
    x, y = _clf_data()
    model = _mlp(d=4, out=3, activation="softmax")
    p = _np_forward(model, x)
    expected = -np.mean(np.log(p[np.arange(len(y)), y]))
    model.compile("sgd", loss="crossentropy")
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), expected, rtol=1e-5)  # sparse
    model.compile("sgd", loss="crossentropy")
    np.testing.assert_allclose(model.evaluate(x, np.eye(3, dtype="float32")[y], verbose=0), expected,
                               rtol=1e-5)  # categorical
    # soft targets: only a categorical crossentropy gives this value
    soft = np.full((len(y), 3), 1.0 / 3, "float32")
    model.compile("sgd", loss="ce")
    np.testing.assert_allclose(model.evaluate(x, soft, verbose=0), -np.mean(np.log(p).mean(-1)), rtol=1e-5)
