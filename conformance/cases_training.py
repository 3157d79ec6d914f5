"""Cases for a whole seeded training run: ``fit`` (with dropout, shuffling and a validation split), ``evaluate``
and ``predict`` of a small classifier, on fixed numpy data.

``kshim.utils.set_random_seed(1234)`` fixes the initial weights, the dropout masks and the shuffling order, so the
two backends run the same computation; only floating-point rounding differs. The initial weights must be
bit-identical (seeded initializers are), the rest agree to rtol 1e-4: 15 SGD-with-momentum steps through relu,
dropout, softmax and crossentropy accumulate float32 rounding that backends order differently (matmul/reduction
order), and momentum carries it from step to step.
"""

import numpy as np

from conformance.case import case, kshim, rng
from conformance.cases_random import set_seed

SEED = 1234
X = rng(900).normal(size=(100, 10)).astype(np.float32)
_W_TRUE = rng(901).normal(size=(10, 3))
Y = np.argmax(X @ _W_TRUE + 0.5 * rng(902).normal(size=(100, 3)), axis=-1).astype(np.int32)
X_TEST = rng(903).normal(size=(24, 10)).astype(np.float32)
Y_TEST = np.argmax(X_TEST @ _W_TRUE, axis=-1).astype(np.int32)
SHAPES = [(10, 32), (32,), (32, 3), (3,)]


def _model():
    set_seed(SEED)
    layers = kshim.layers
    return kshim.Sequential([kshim.Input((10,)), layers.Dense(32, "relu"), layers.Dropout(0.3),
                             layers.Dense(3, "softmax")])


@case("training.fit.initial_weights", family="training", exact=True,
      reference=lambda: {"shapes": np.array([d for s in SHAPES for d in s])})
def _initial_weights():
    """set_random_seed(1234); Sequential([Input((10,)), Dense(32, relu), Dropout(0.3), Dense(3, softmax)]):
    every initial weight bit-identical across backends."""
    weights = _model().get_weights()
    return {"weights": weights, "shapes": np.array([d for w in weights for d in np.shape(w)])}


def _forward_np(weights, x):
    w0, b0, w1, b1 = [np.asarray(w, np.float64) for w in weights]
    z = np.maximum(x.astype(np.float64) @ w0 + b0, 0.0) @ w1 + b1
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _fit_reference():
    return {"history_keys": np.array(["accuracy", "loss", "val_accuracy", "val_loss"]), "epochs": np.arange(3),
            "predict_matches_numpy": np.array(True), "evaluate_matches_numpy": np.array(True),
            "weights_changed": np.array(True)}


@case("training.fit", family="training", rtol=1e-4, atol=1e-5, reference=_fit_reference)
def _fit():
    """The seeded model compiled with SGD(0.05, momentum=0.9), sparse_categorical_crossentropy and accuracy,
    fit for 3 epochs (batch 16, shuffle, validation_split=0.2): history, final weights, evaluate, predict."""
    return _fit_run("auto")


@case("training.fit.jit_compile", family="training", rtol=1e-4, atol=1e-5, reference=_fit_reference)
def _fit_jit_compile():
    """``training.fit`` compiled with ``jit_compile=True``: the step through the framework's compiler (jax.jit;
    torch.compile, whose fused kernels round differently from eager), within the same tolerance."""
    return _fit_run(True)


def _fit_run(jit_compile):
    model = _model()
    initial = model.get_weights()
    model.compile(optimizer=kshim.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)
    history = model.fit(X, Y, epochs=3, batch_size=16, shuffle=True, validation_split=0.2, verbose=0)
    weights = model.get_weights()
    evaluation = model.evaluate(X_TEST, Y_TEST, batch_size=16, verbose=0, return_dict=True)
    predictions = np.asarray(model.predict(X_TEST, batch_size=16, verbose=0))
    # The numbers from the model's own final weights, in numpy (dropout is off at inference).
    expected = _forward_np(weights, X_TEST)
    expected_loss = np.mean(-np.log(np.clip(expected[np.arange(len(Y_TEST)), Y_TEST], 1e-7, 1 - 1e-7)))
    expected_acc = np.mean(np.argmax(expected, axis=-1) == Y_TEST)
    keys = sorted(history.history)
    return {
        "history_keys": np.array(keys),
        "history": {k: np.asarray(history.history[k], np.float64) for k in keys},
        "epochs": np.asarray(history.epoch),
        "weights": weights,
        "evaluate": {k: np.asarray(v, np.float64) for k, v in evaluation.items()},
        "predict": predictions,
        "predict_matches_numpy": np.array(bool(np.allclose(predictions, expected, rtol=1e-5, atol=1e-6))),
        "evaluate_matches_numpy": np.array(bool(np.isclose(evaluation["loss"], expected_loss, rtol=1e-5)
                                                and np.isclose(evaluation["accuracy"], expected_acc))),
        "weights_changed": np.array(not any(np.array_equal(a, b) for a, b in zip(initial, weights))),
    }


@case("training.fit.dropout_active", family="training", exact=True,
      reference=lambda: {"train_loss_differs_from_eval": np.array(True)})
def _dropout_active():
    """The same data gives a different loss in training mode (dropout on) than in evaluate (off)."""
    model = _model()
    model.compile(optimizer=kshim.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    train_loss = model.train_on_batch(X[:32], Y[:32])  # lr 0: the weights do not move
    eval_loss = model.evaluate(X[:32], Y[:32], batch_size=32, verbose=0)
    return {"train_loss_differs_from_eval": np.array(not np.isclose(float(np.asarray(train_loss)),
                                                                     float(np.asarray(eval_loss)), rtol=1e-6))}


# -- several inputs and outputs --------------------------------------------------------------------------------------
XA = rng(910).normal(size=(60, 4)).astype(np.float32)
XB = rng(911).normal(size=(60, 3)).astype(np.float32)
Y_REG = (XA[:, :1] - 0.5 * XB[:, 1:2] + 0.1 * rng(912).normal(size=(60, 1))).astype(np.float32)
Y_CLS = np.argmax(XB + 0.3 * rng(913).normal(size=(60, 3)), axis=-1).astype(np.int32)
SW_REG = np.linspace(0.25, 1.75, 60).astype(np.float32)


def _multi_io_model():
    set_seed(SEED)
    layers = kshim.layers
    a, b = kshim.Input((4,), name="a"), kshim.Input((3,), name="b")
    shared = layers.Dense(6, activation="tanh", name="shared")
    reg = layers.Dense(1, name="reg")(shared(layers.Dense(8, activation="relu", name="ha")(a)))
    cls = layers.Dense(3, activation="softmax", name="cls")(shared(layers.Dense(8, activation="tanh", name="hb")(b)))
    return kshim.Model([a, b], [reg, cls])


def _fit_multi_io_reference():
    keys = ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae"]
    return {"history_keys": np.array(keys + [f"val_{k}" for k in keys]),
            "evaluate_keys": np.array(["loss", "reg_loss", "cls_loss", "cls_accuracy", "reg_mae"]),
            "total_is_weighted_sum": np.array(True)}


@case("training.fit_multi_io", family="training", rtol=1e-4, atol=1e-5, reference=_fit_multi_io_reference)
def _fit_multi_io():
    """A seeded two-input, two-output functional model (a shared hidden layer) compiled with per-output losses
    (mse, sparse_categorical_crossentropy), loss_weights [0.5, 2.0] and per-output metrics, fit for 3 epochs
    (batch 16, shuffled, per-output sample weights, validation_split=0.2): history, weights, evaluate, predict."""
    model = _multi_io_model()
    model.compile(optimizer=kshim.optimizers.SGD(0.05, momentum=0.9), loss=["mse", "sparse_categorical_crossentropy"],
                  loss_weights=[0.5, 2.0], metrics={"reg": "mae", "cls": ["accuracy"]})
    history = model.fit({"a": XA, "b": XB}, {"reg": Y_REG, "cls": Y_CLS}, sample_weight=[SW_REG, None], epochs=3,
                        batch_size=16, shuffle=True, validation_split=0.2, verbose=0)
    evaluation = model.evaluate([XA, XB], [Y_REG, Y_CLS], batch_size=16, verbose=0, return_dict=True)
    reg, cls = model.predict([XA, XB], batch_size=16, verbose=0)
    keys = sorted(history.history)
    total = 0.5 * evaluation["reg_loss"] + 2.0 * evaluation["cls_loss"]
    return {
        "history_keys": np.array(keys),
        "history": {k: np.asarray(history.history[k], np.float64) for k in keys},
        "weights": model.get_weights(),
        "evaluate_keys": np.array(list(evaluation)),
        "evaluate": {k: np.asarray(v, np.float64) for k, v in evaluation.items()},
        "predict": {"reg": np.asarray(reg), "cls": np.asarray(cls)},
        "total_is_weighted_sum": np.array(bool(np.isclose(evaluation["loss"], total, rtol=1e-5))),
    }
