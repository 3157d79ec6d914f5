"""Bad-input probes for the public entry points (issue 20): each probe is a call that must fail, and fail with a
clear error: raised from a kshim frame, naming the argument or the value received."""

import os
import re
import traceback

import numpy as np

import kshim as keras

L = keras.layers
X = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
Y = np.ones((8, 1), "float32")
KSHIM_DIR = os.path.dirname(os.path.abspath(keras.__file__))
_NAMED = re.compile(r"`[\w\[\]'.]+`|Received|received|\w+=")


def _model(compile=True, **kwargs):
    m = keras.Sequential([keras.Input((3,)), L.Dense(1)])
    if compile:
        m.compile("sgd", "mse", **kwargs)
    return m


def _built(layer, shape):
    layer(np.ones(shape, "float32"))
    return layer


def _call(layer, *shape, dtype="float32"):
    return lambda: layer(np.ones(shape, dtype))


PROBES = {
    # fit / evaluate / predict
    "fit/x_none": lambda: _model().fit(None, Y, verbose=0),
    "fit/epochs_neg": lambda: _model().fit(X, Y, epochs=-1, verbose=0),
    "fit/epochs_str": lambda: _model().fit(X, Y, epochs="3", verbose=0),
    "fit/batch_size_zero": lambda: _model().fit(X, Y, batch_size=0, verbose=0),
    "fit/batch_size_float": lambda: _model().fit(X, Y, batch_size=2.5, verbose=0),
    "fit/verbose_bad": lambda: _model().fit(X, Y, verbose=7),
    "fit/len_mismatch": lambda: _model().fit(X, Y[:5], verbose=0),
    "fit/wrong_features": lambda: _model().fit(np.ones((8, 4), "float32"), Y, verbose=0),
    "fit/strings": lambda: _model().fit(np.array([["a", "b", "c"]] * 8), Y, verbose=0),
    "fit/object_array": lambda: _model().fit(np.array([[None, 1, 2]] * 8, dtype=object), Y, verbose=0),
    "fit/sample_weight_len": lambda: _model().fit(X, Y, sample_weight=np.ones(5), verbose=0),
    "fit/sample_weight_2d": lambda: _model().fit(X, Y, sample_weight=np.ones((8, 5)), verbose=0),
    "fit/class_and_sample_weight": lambda: _model().fit(X, Y, sample_weight=np.ones(8), class_weight={0: 1.0},
                                                        verbose=0),
    "fit/validation_split_str": lambda: _model().fit(X, Y, validation_split="0.2", verbose=0),
    "fit/validation_split_big": lambda: _model().fit(X, Y, validation_split=1.5, verbose=0),
    "fit/validation_data_1": lambda: _model().fit(X, Y, validation_data=(X,), verbose=0),
    "fit/validation_data_4": lambda: _model().fit(X, Y, validation_data=(X, Y, Y, Y), verbose=0),
    "fit/validation_freq_0": lambda: _model().fit(X, Y, validation_freq=0, verbose=0),
    "fit/callbacks_int": lambda: _model().fit(X, Y, callbacks=5, verbose=0),
    "fit/callbacks_junk": lambda: _model().fit(X, Y, callbacks=[object()], verbose=0),
    "fit/steps_per_epoch_neg": lambda: _model().fit(X, Y, steps_per_epoch=-2, verbose=0),
    "fit/not_compiled": lambda: _model(compile=False).fit(X, Y, verbose=0),
    "fit/y_none": lambda: _model().fit(X, None, verbose=0),
    "evaluate/not_compiled": lambda: _model(compile=False).evaluate(X, Y, verbose=0),
    "evaluate/y_none": lambda: _model().evaluate(X, None, verbose=0),
    "evaluate/steps_zero": lambda: _model().evaluate(X, Y, steps=0, verbose=0),
    "evaluate/len_mismatch": lambda: _model().evaluate(X, Y[:3], verbose=0),
    "evaluate/strings": lambda: _model().evaluate(X, np.array([["a"]] * 8), verbose=0),
    "predict/wrong_features": lambda: _model().predict(np.ones((4, 5), "float32"), verbose=0),
    "predict/wrong_rank": lambda: _model().predict(np.ones((4, 3, 2), "float32"), verbose=0),
    "predict/steps_neg": lambda: _model().predict(X, steps=-1, verbose=0),
    "predict/batch_size_neg": lambda: _model().predict(X, batch_size=-4, verbose=0),
    "predict/strings": lambda: _model().predict(np.array([["a", "b", "c"]] * 8), batch_size=4, verbose=0),
    # compile
    "compile/optimizer_unknown": lambda: _model(compile=False).compile("adamm", "mse"),
    "compile/loss_unknown": lambda: _model(compile=False).compile("sgd", "msee"),
    "compile/metric_unknown": lambda: _model(compile=False).compile("sgd", "mse", metrics=["acuracy"]),
    "compile/kwarg_unknown": lambda: _model(compile=False).compile("sgd", "mse", lossweights=[1]),
    "compile/steps_per_execution_0": lambda: _model(compile=False).compile("sgd", "mse", steps_per_execution=0),
    "compile/jit_compile_bad": lambda: _model(compile=False).compile("sgd", "mse", jit_compile="yes"),
    "compile/loss_int": lambda: _model(compile=False).compile("sgd", 5),
    "compile/loss_weights_str": lambda: _model(compile=False).compile("sgd", "mse", loss_weights=["a"]),
    "compile/loss_dict_unknown_key": lambda: _model(loss={"nope": "mse"}).evaluate(X, Y, verbose=0)
    if False else _compiled_eval(loss={"nope": "mse"}),
    "compile/loss_weights_3_for_1": lambda: _compiled_eval(loss="mse", loss_weights=[5, 2, 3]),
    # layers (the 20 most used), constructor and call
    "Dense/units_neg": lambda: L.Dense(-1),
    "Dense/units_float": lambda: L.Dense(2.5),
    "Dense/activation_unknown": lambda: L.Dense(2, activation="relux"),
    "Dense/scalar": lambda: L.Dense(2)(np.float32(1.0)),
    "Dense/huge": lambda: L.Dense(2 ** 40)(np.ones((1, 3), "float32")),
    "Dense/wrong_features_after_build": lambda: _built(L.Dense(2), (2, 3))(np.ones((2, 4), "float32")),
    "Conv2D/filters_zero": lambda: L.Conv2D(0, 3),
    "Conv2D/padding_bad": lambda: L.Conv2D(2, 3, padding="sam"),
    "Conv2D/rank_wrong": _call(L.Conv2D(2, 3), 2, 8, 8),
    "Conv2D/kernel_too_big": _call(L.Conv2D(2, 9), 1, 4, 4, 1),
    "Conv1D/kernel_size_neg": lambda: L.Conv1D(2, -3),
    "MaxPooling2D/pool_zero": lambda: L.MaxPooling2D(0),
    "MaxPooling2D/rank_wrong": _call(L.MaxPooling2D(), 2, 4),
    "AveragePooling2D/padding_bad": lambda: L.AveragePooling2D(2, padding="full"),
    "Flatten/data_format_bad": lambda: L.Flatten(data_format="nchw"),
    "Dropout/rate_big": lambda: L.Dropout(1.5),
    "Dropout/rate_str": lambda: L.Dropout("0.5"),
    "BatchNormalization/axis_out": _call(L.BatchNormalization(axis=4), 2, 3),
    "BatchNormalization/momentum_str": lambda: L.BatchNormalization(momentum="a"),
    "LayerNormalization/axis_out": _call(L.LayerNormalization(axis=3), 2, 3),
    "Embedding/input_dim_zero": lambda: L.Embedding(0, 2),
    "Embedding/out_of_range": lambda: L.Embedding(5, 2)(np.array([[1, 7]])),
    "Embedding/negative": lambda: L.Embedding(5, 2)(np.array([[1, -1]])),
    "LSTM/units_zero": lambda: L.LSTM(0),
    "LSTM/rank_wrong": _call(L.LSTM(2), 2, 3),
    "LSTM/new_feature_size": lambda: _built(L.LSTM(2), (2, 4, 5))(np.ones((2, 4, 6), "float32")),
    "GRU/new_feature_size": lambda: _built(L.GRU(2), (2, 4, 5))(np.ones((2, 4, 6), "float32")),
    "SimpleRNN/rank_wrong": _call(L.SimpleRNN(2), 3),
    "Activation/unknown": lambda: L.Activation("softmaxx"),
    "Softmax/axis_out": _call(L.Softmax(axis=5), 2, 3),
    "Reshape/bad_target": _call(L.Reshape((4, 4)), 2, 3),
    "Reshape/two_unknown": lambda: L.Reshape((-1, -1)),
    "Concatenate/mismatch": lambda: L.Concatenate()([np.ones((2, 3), "float32"), np.ones((3, 3), "float32")]),
    "Add/mismatch": lambda: L.Add()([np.ones((2, 3), "float32"), np.ones((2, 4), "float32")]),
    "Add/one_input": lambda: L.Add()([np.ones((2, 3), "float32")]),
    "Normalization/mean_length": _call(L.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0]), 2, 3),
    "Normalization/mean_only": lambda: L.Normalization(mean=1.0),
    "GlobalAveragePooling2D/rank_wrong": _call(L.GlobalAveragePooling2D(), 2, 3),
    "Input/shape_bad": lambda: keras.Input(shape="abc"),
}


def _compiled_eval(**compile_kwargs):
    m = _model(compile=False)
    m.compile("sgd", **compile_kwargs)
    return m.evaluate(X, Y, verbose=0)


def _loss_probes():
    probes = {}
    for name in ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                 "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh", "hinge",
                 "squared_hinge", "categorical_hinge", "kl_divergence", "poisson", "binary_crossentropy",
                 "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy"]:
        fn = getattr(keras.losses, name)
        probes[f"losses.{name}/shape_mismatch"] = (lambda fn=fn: fn(np.ones((4, 3), "float32"),
                                                                      np.ones((4, 5), "float32")))
        probes[f"losses.{name}/batch_mismatch"] = (lambda fn=fn: fn(np.ones((4, 3), "float32"),
                                                                      np.ones((5, 3), "float32")))
    probes["losses.sparse_categorical_crossentropy/label_out_of_range"] = lambda: (
        keras.losses.sparse_categorical_crossentropy(np.array([0, 5]), np.full((2, 3), 1 / 3, "float32")))
    probes["losses.sparse_categorical_crossentropy/shape"] = lambda: (
        keras.losses.sparse_categorical_crossentropy(np.zeros((2, 4)), np.full((2, 3), 1 / 3, "float32")))
    for cls in ["MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
                "CategoricalCrossentropy", "KLDivergence"]:
        obj = getattr(keras.losses, cls)
        probes[f"losses.{cls}/shape_mismatch"] = (lambda obj=obj: obj()(np.ones((4, 3), "float32"),
                                                                          np.ones((4, 5), "float32")))
        probes[f"losses.{cls}/reduction_bad"] = lambda obj=obj: obj(reduction="average")
    probes["losses.SparseCategoricalCrossentropy/label_out_of_range"] = lambda: (
        keras.losses.SparseCategoricalCrossentropy()(np.array([0, 3]), np.full((2, 3), 1 / 3, "float32")))
    probes["losses.SparseCategoricalCrossentropy/ignore_class_str"] = lambda: (
        keras.losses.SparseCategoricalCrossentropy(ignore_class="x"))
    probes["losses.Huber/delta_neg"] = lambda: keras.losses.Huber(delta=-1.0)
    probes["losses.get/unknown"] = lambda: keras.losses.get("mean_sqared_error")
    return probes


PROBES.update(_loss_probes())


def classify(fn):
    """``("no error" | "clear" | "deep", description)`` for one probe."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every error is classified
        frames = traceback.extract_tb(e.__traceback__)
        inner = frames[-1].filename if frames else ""
        in_kshim = os.path.abspath(inner).startswith(KSHIM_DIR)
        named = bool(_NAMED.search(str(e)))
        where = f"{type(e).__name__} at {os.path.relpath(inner, os.path.dirname(KSHIM_DIR))}:{frames[-1].lineno}"
        if in_kshim and named and isinstance(e, (ValueError, TypeError)):
            return "clear", f"{where}: {str(e)[:160]}"
        return "deep", f"{where}: {str(e)[:160]}"
    return "no error", ""


def counts():
    """``{"probes": n, "clear": n, "deep": n, "no error": n}`` and the descriptions of the failing ones."""
    out = {"probes": len(PROBES), "clear": 0, "deep": 0, "no error": 0}
    bad = {}
    for name, fn in PROBES.items():
        kind, desc = classify(fn)
        out[kind] += 1
        if kind != "clear":
            bad[name] = f"{kind}: {desc}"
    return out, bad


if __name__ == "__main__":
    import json

    c, b = counts()
    print(json.dumps(c))
    for k, v in b.items():
        print(k, "->", v)
