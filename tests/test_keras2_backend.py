"""The Keras 2 ``keras.backend`` functions (``import kshim.backend as K``): each one against numpy, eagerly and
inside the compiled training/evaluation step, a Keras 2 custom metric in ``compile(metrics=...)``, and
``K.set_value`` on the optimizer's learning rate."""

import os

import numpy as np
import pytest

import kshim
import kshim.backend as K
from kshim import layers, ops

# The Keras 2 functions warn once each (DeprecationWarning); that is tested in the last test.
pytestmark = pytest.mark.filterwarnings("ignore:kshim.backend.:DeprecationWarning")

RNG = np.random.default_rng(12)
A = RNG.normal(size=(4, 3)).astype("float32")
B = RNG.normal(size=(4, 3)).astype("float32")
P = RNG.uniform(0.05, 0.95, size=(4, 3)).astype("float32")
T = (RNG.uniform(size=(4, 3)) > 0.5).astype("float32")


def _np(x):
    return ops.convert_to_numpy(x) if ops.is_tensor(x) else np.asarray(x)


def _t(x):
    return ops.convert_to_tensor(x)


def _bce_keras2(t, p, eps=1e-7):
    p = np.clip(p.astype(np.float64), eps, 1 - eps)
    return -(t * np.log(p + eps) + (1 - t) * np.log(1 - p + eps))


def _cce_keras2(t, p, eps=1e-7):
    p = p.astype(np.float64) / p.sum(axis=-1, keepdims=True)
    return -(t * np.log(np.clip(p, eps, 1 - eps))).sum(axis=-1)


# name -> (K call, numpy reference)
CASES = {
    "mean": (lambda: K.mean(_t(A)), lambda: A.mean()),
    "mean_axis_keepdims": (lambda: K.mean(_t(A), axis=1, keepdims=True), lambda: A.mean(axis=1, keepdims=True)),
    "mean_bool": (lambda: K.mean(_t(A > 0)), lambda: (A > 0).mean()),
    "sum_axes": (lambda: K.sum(_t(A), axis=[0, 1]), lambda: A.sum()),
    "sum_axis": (lambda: K.sum(_t(A), axis=0), lambda: A.sum(axis=0)),
    "square": (lambda: K.square(_t(A)), lambda: A ** 2),
    "sqrt": (lambda: K.sqrt(_t(P)), lambda: np.sqrt(P)),
    "abs": (lambda: K.abs(_t(A)), lambda: np.abs(A)),
    "clip": (lambda: K.clip(_t(A), -0.5, 0.5), lambda: np.clip(A, -0.5, 0.5)),
    "clip_max_below_min": (lambda: K.clip(_t(A), 0.5, 0.2), lambda: np.full_like(A, 0.5)),
    "clip_none": (lambda: K.clip(_t(A), None, 0.3), lambda: np.minimum(A, 0.3)),
    "log": (lambda: K.log(_t(P)), lambda: np.log(P)),
    "exp": (lambda: K.exp(_t(A)), lambda: np.exp(A)),
    "maximum": (lambda: K.maximum(_t(A), _t(B)), lambda: np.maximum(A, B)),
    "minimum": (lambda: K.minimum(_t(A), 0.1), lambda: np.minimum(A, 0.1)),
    "round_half_even": (lambda: K.round(_t(np.array([0.5, 1.5, 2.5, -0.5, 1.4], "float32"))),
                        lambda: np.array([0.0, 2.0, 2.0, -0.0, 1.0])),
    "argmax": (lambda: K.argmax(_t(A)), lambda: np.argmax(A, axis=-1)),
    "argmax_axis0": (lambda: K.argmax(_t(A), axis=0), lambda: np.argmax(A, axis=0)),
    "cast": (lambda: K.cast(_t(A > 0), "float32"), lambda: (A > 0).astype("float32")),
    "dot_2d": (lambda: K.dot(_t(A), _t(B.T)), lambda: A @ B.T),
    "dot_nd": (lambda: K.dot(_t(A[:2]), _t(np.stack([B.T] * 5))),  # (2, 3) . (5, 3, 4) -> (2, 5, 4)
               lambda: np.einsum("ik,jkl->ijl", A[:2], np.stack([B.T] * 5))),
    "dot_3d_2d": (lambda: K.dot(_t(np.stack([A, B])), _t(B.T)), lambda: np.stack([A, B]) @ B.T),
    "batch_dot_2d": (lambda: K.batch_dot(_t(A), _t(B), axes=1), lambda: (A * B).sum(axis=1, keepdims=True)),
    "batch_dot_3d": (lambda: K.batch_dot(_t(np.stack([A] * 2, 1)), _t(np.stack([B] * 2, 1)), axes=(2, 2)),
                     lambda: np.einsum("bik,bjk->bij", np.stack([A] * 2, 1), np.stack([B] * 2, 1))),
    "batch_dot_default": (lambda: K.batch_dot(_t(A), _t(np.stack([B] * 2, -1))),  # (4, 3) . (4, 3, 2) -> (4, 2)
                          lambda: np.einsum("bk,bkj->bj", A, np.stack([B] * 2, -1))),
    "concatenate": (lambda: K.concatenate([_t(A), _t(B)]), lambda: np.concatenate([A, B], -1)),
    "concatenate_axis0": (lambda: K.concatenate([_t(A), _t(B)], axis=0), lambda: np.concatenate([A, B], 0)),
    "reshape": (lambda: K.reshape(_t(A), (3, 4)), lambda: A.reshape(3, 4)),
    "reshape_minus1": (lambda: K.reshape(_t(A), (-1,)), lambda: A.reshape(-1)),
    "reshape_by_shape": (lambda: K.reshape(_t(B.reshape(3, 4)), K.shape(_t(A))), lambda: B),
    "shape": (lambda: K.shape(_t(A)), lambda: np.array([4, 3], "int32")),
    "ones_like": (lambda: K.ones_like(_t(A)), lambda: np.ones_like(A)),
    "zeros_like": (lambda: K.zeros_like(_t(A)), lambda: np.zeros_like(A)),
    "binary_crossentropy": (lambda: K.binary_crossentropy(_t(T), _t(P)), lambda: _bce_keras2(T, P)),
    "binary_crossentropy_logits": (lambda: K.binary_crossentropy(_t(T), _t(A), from_logits=True),
                                   lambda: np.maximum(A, 0) - A * T + np.log1p(np.exp(-np.abs(A)))),
    "categorical_crossentropy": (lambda: K.categorical_crossentropy(_t(T), _t(P)), lambda: _cce_keras2(T, P)),
    "categorical_crossentropy_logits": (
        lambda: K.categorical_crossentropy(_t(T), _t(A), from_logits=True),
        lambda: -(T * (A - np.log(np.exp(A).sum(-1, keepdims=True)))).sum(-1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_function_matches_numpy(name):
    fn, ref = CASES[name]
    got, want = _np(fn()), np.asarray(ref())
    assert got.shape == want.shape, (got.shape, want.shape)
    if np.issubdtype(want.dtype, np.integer):
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=2e-6, atol=1e-6)


def test_configuration_and_values():
    assert K.backend() == kshim.config.backend()
    assert K.backend() == os.environ.get("KSHIM_BACKEND", K.backend())
    assert K.epsilon() == 1e-7 and K.floatx() == "float32"
    assert K.int_shape(_t(A)) == (4, 3)
    assert K.int_shape(kshim.Input((5, 2))) == (None, 5, 2)
    v = K.variable(np.ones((2, 2)))
    K.set_value(v, [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(K.get_value(v), [[1.0, 2.0], [3.0, 4.0]])
    assert K.get_value(v).dtype == np.float32
    kshim.layers.Dense(2)
    K.clear_session()
    assert kshim.layers.Dense(2).name == "dense"


def mean_pred(y_true, y_pred):
    return K.mean(y_pred)


def test_keras2_custom_metric_in_history():
    x = RNG.normal(size=(32, 3)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy", mean_pred])
    before = model.predict(x, verbose=0)
    # One batch per epoch: the metric is computed on the forward pass, before the weights are updated.
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert "mean_pred" in history.history
    np.testing.assert_allclose(history.history["mean_pred"][0], before.mean(), rtol=1e-5)
    logs = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["mean_pred"], model.predict(x, verbose=0).mean(), rtol=1e-5)


W = RNG.normal(size=(3, 2)).astype("float32")

# Keras 2 metrics built only from K functions; each runs inside the compiled test step.
METRICS = {
    "k_mse": lambda yt, yp: K.mean(K.square(yp - yt), axis=-1),
    "k_sum_abs_sqrt": lambda yt, yp: K.sum(K.sqrt(K.abs(yp - yt) + K.epsilon()), axis=-1),
    "k_clip_log_exp": lambda yt, yp: K.mean(K.log(K.clip(yp, K.epsilon(), 1.0)) + K.exp(-yt), axis=-1),
    "k_max_min_round": lambda yt, yp: K.mean(K.maximum(yp, 0.3) - K.minimum(yt, 0.2) + K.round(yp * 4.0), -1),
    "k_accuracy": lambda yt, yp: K.cast(K.equal(K.argmax(yt, axis=-1), K.argmax(yp, axis=-1)), K.floatx()),
    "k_dot": lambda yt, yp: K.sum(K.dot(yp, K.constant(W)), axis=-1),
    "k_batch_dot": lambda yt, yp: K.batch_dot(yp, yt, axes=1)[:, 0],
    "k_shapes": lambda yt, yp: K.sum(K.reshape(K.concatenate([yp, yt], axis=-1),
                                               (-1, 2 * K.int_shape(yp)[-1])), axis=-1)
    + K.cast(K.shape(yp)[0], K.floatx()) * 0.0 + K.sum(K.ones_like(yp), -1) + K.sum(K.zeros_like(yp), -1),
    "k_bce": lambda yt, yp: K.mean(K.binary_crossentropy(yt, yp), axis=-1),
    "k_cce": lambda yt, yp: K.categorical_crossentropy(yt, yp),
}


def _metric_reference(name, yt, yp):
    yt, yp = yt.astype(np.float64), yp.astype(np.float64)
    per_sample = {
        "k_mse": lambda: ((yp - yt) ** 2).mean(-1),
        "k_sum_abs_sqrt": lambda: np.sqrt(np.abs(yp - yt) + 1e-7).sum(-1),
        "k_clip_log_exp": lambda: (np.log(np.clip(yp, 1e-7, 1.0)) + np.exp(-yt)).mean(-1),
        "k_max_min_round": lambda: (np.maximum(yp, 0.3) - np.minimum(yt, 0.2) + np.round(yp * 4.0)).mean(-1),
        "k_accuracy": lambda: (yt.argmax(-1) == yp.argmax(-1)).astype(np.float64),
        "k_dot": lambda: (yp @ W).sum(-1),
        "k_batch_dot": lambda: (yp * yt).sum(-1),
        "k_shapes": lambda: np.concatenate([yp, yt], -1).sum(-1) + yp.shape[-1],
        "k_bce": lambda: _bce_keras2(yt, yp).mean(-1),
        "k_cce": lambda: _cce_keras2(yt, yp),
    }[name]()
    return per_sample.mean()


def test_k_functions_inside_the_compiled_step():
    x = RNG.normal(size=(24, 5)).astype("float32")
    labels = RNG.integers(0, 3, size=24)
    y = np.eye(3, dtype="float32")[labels]
    kshim.utils.set_random_seed(4)
    model = kshim.Sequential([kshim.Input((5,)), layers.Dense(3, activation="softmax")])
    metrics = []
    for name, fn in METRICS.items():
        fn.__name__ = name
        metrics.append(fn)
    model.compile(kshim.optimizers.SGD(0.1), "categorical_crossentropy", metrics=metrics)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert all(np.isfinite(history.history[name]).all() for name in METRICS)
    logs = model.evaluate(x, y, batch_size=24, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    for name in METRICS:
        np.testing.assert_allclose(logs[name], _metric_reference(name, y, pred), rtol=2e-5, atol=1e-6,
                                   err_msg=name)


def test_k_loss_inside_the_compiled_train_step():
    """A Keras 2 custom loss written with K functions trains exactly like the built-in loss."""
    x = RNG.normal(size=(16, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")

    def k_bce(y_true, y_pred):
        y_pred = K.clip(y_pred, K.epsilon(), 1.0 - K.epsilon())
        return -K.mean(y_true * K.log(y_pred) + (1.0 - y_true) * K.log(1.0 - y_pred), axis=-1)

    results = []
    for loss in (k_bce, "binary_crossentropy"):
        kshim.utils.set_random_seed(9)
        model = kshim.Sequential([kshim.Input((4,)), layers.Dense(1, activation="sigmoid")])
        model.compile(kshim.optimizers.SGD(0.5), loss)
        history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
        results.append((history.history["loss"], model.get_weights()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_set_value_on_the_learning_rate():
    x = RNG.normal(size=(8, 2)).astype("float32")
    y = RNG.normal(size=(8, 1)).astype("float32")
    w0 = np.array([[0.5], [-0.25]], "float32")
    model = kshim.Sequential([kshim.Input((2,)), layers.Dense(1, use_bias=False)])
    model.set_weights([w0])
    model.compile(kshim.optimizers.SGD(0.5), "mse")
    K.set_value(model.optimizer.learning_rate, 0.01)
    assert K.get_value(model.optimizer.learning_rate) == np.float32(0.01)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    grad = 2.0 / 8 * x.astype(np.float64).T @ (x @ w0 - y)
    np.testing.assert_allclose(model.get_weights()[0], w0 - 0.01 * grad, rtol=1e-5)
    # And again mid-training, from a callback, as Keras 2 code did.
    cb = kshim.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: K.set_value(model.optimizer.learning_rate, 0.1 * (epoch + 1)))
    seen = []
    rec = kshim.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(float(K.get_value(model.optimizer.lr))))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[cb, rec])
    np.testing.assert_allclose(seen, [0.1, 0.2], rtol=1e-6)


def test_keras2_functions_name_their_keras3_replacement(monkeypatch):
    monkeypatch.setattr(K, "_warned", set())
    with pytest.warns(DeprecationWarning, match=r"kshim.backend.mean is a Keras 2 function; .* kshim.ops.mean"):
        K.mean(_t(A))
    with pytest.warns(DeprecationWarning, match=r"kshim.ops.convert_to_tensor"):
        K.constant(1.0)
