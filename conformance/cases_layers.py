"""Cases for layers and models: Dense (forward and gradients), Dropout masks, seeded Sequential weights.

Everything kshim-side is imported inside the case functions, so a missing layer fails only its own cases.
Gradients with respect to a layer's weights bind the differentiated values to the layer's Variables with
`kshim.variables.swap_values`, the same stateless mechanism the trainer's step uses.
"""

import numpy as np

from conformance.case import case, kshim, ops, rng, weights_for
from conformance.cases_random import set_seed

DENSE_X = rng(500).uniform(-1, 1, size=(5, 3)).astype(np.float32)
DENSE_W = rng(501).uniform(-1, 1, size=(3, 4)).astype(np.float32)
DENSE_B = np.array([0.3, -0.2, 0.1, 0.05], np.float32)


def _relu_dense_np(x, w, b):
    return np.maximum(x @ w + b, 0.0)


def _numgrads():
    from conformance.case import numeric_grad

    args = [DENSE_X.astype(np.float64), DENSE_W.astype(np.float64), DENSE_B.astype(np.float64)]
    wts = weights_for((5, 4)).astype(np.float64)

    def loss(x, w, b):
        return float(np.sum(_relu_dense_np(x, w, b) * wts))

    return {"out": _relu_dense_np(*args), "loss": loss(*args),
            "grad_x": numeric_grad(loss, args, 0), "grad_kernel": numeric_grad(loss, args, 1),
            "grad_bias": numeric_grad(loss, args, 2)}


def _call_with(layer, values, *args, **kwargs):
    """``layer(*args)`` with ``values`` bound to ``layer.weights`` for the call (stateless execution)."""
    from kshim.variables import swap_values

    old = swap_values(layer.weights, values)
    try:
        return layer(*args, **kwargs)
    finally:
        swap_values(layer.weights, old)


@case("layers.dense", family="layers", rtol=2e-6, atol=1e-6, ref_rtol=2e-5, ref_atol=2e-6, reference=_numgrads)
def _dense():
    """Dense(4, activation='relu') with set weights: the output and the gradients wrt input, kernel and bias."""
    layer = kshim.layers.Dense(4, activation="relu")
    layer.build((None, 3))
    layer.set_weights([DENSE_W, DENSE_B])
    x = ops.convert_to_tensor(DENSE_X)
    out = layer(x)
    w = weights_for((5, 4))

    def loss_fn(params):
        xt, kernel, bias = params
        return ops.sum(ops.multiply(_call_with(layer, [kernel, bias], xt), w))

    loss, grads = ops.value_and_grad(loss_fn)([x, ops.convert_to_tensor(DENSE_W), ops.convert_to_tensor(DENSE_B)])
    return {"out": out, "loss": loss, "grad_x": grads[0], "grad_kernel": grads[1], "grad_bias": grads[2]}


@case("layers.dense.weights", family="layers", exact=True, reference=lambda: {
    "shapes": np.array([3, 4, 4]), "names": np.array(["kernel", "bias"]), "roundtrip[0]": DENSE_W,
    "roundtrip[1]": DENSE_B})
def _dense_weights():
    """Weight order, shapes and names match Keras 3 (kernel (in, out), then bias); set/get round-trips."""
    layer = kshim.layers.Dense(4)
    layer.build((None, 3))
    layer.set_weights([DENSE_W, DENSE_B])
    ws = layer.weights
    return {"shapes": np.array([*ws[0].shape, *ws[1].shape]),
            "names": np.array([v.name.split("/")[-1] for v in ws]), "roundtrip": layer.get_weights()}


@case("layers.dense.seeded_init", family="layers", exact=True)
def _dense_seeded():
    """A Dense layer built after set_random_seed(3) has the same kernel on both backends (bias zeros)."""
    set_seed(3)
    layer = kshim.layers.Dense(6)
    layer.build((None, 4))
    return {"weights": layer.get_weights()}


X_DROP = rng(502).uniform(0.5, 2.0, size=(8, 10)).astype(np.float32)


@case("layers.dropout", family="layers", exact=True,
      reference=lambda: {"inference": X_DROP, "kept_scaled": np.array(True), "calls_differ": np.array(True)})
def _dropout_layer():
    """Dropout(0.4) in training mode after set_random_seed(3): bit-identical masks; identity at inference."""
    set_seed(3)
    layer = kshim.layers.Dropout(0.4)
    x = ops.convert_to_tensor(X_DROP)
    y1 = layer(x, training=True)
    y2 = layer(x, training=True)
    n1, n2 = ops.convert_to_numpy(y1), ops.convert_to_numpy(y2)
    kept = n1 != 0
    return {"mask1": n1 != 0, "mask2": n2 != 0, "train1": y1, "train2": y2, "inference": layer(x),
            "kept_scaled": np.array(bool(np.allclose(n1[kept], X_DROP[kept] / 0.6, rtol=1e-6, atol=0))),
            "calls_differ": np.array(not np.array_equal(n1, n2))}


def _seeded_sequential():
    set_seed(1)
    return kshim.Sequential([kshim.Input((5,)), kshim.layers.Dense(8), kshim.layers.Dense(3)])


@case("layers.sequential.seeded_weights", family="layers", exact=True,
      reference=lambda: {"shapes": np.array([5, 8, 8, 8, 3, 3])})
def _sequential_weights():
    """set_random_seed(1); Sequential([Input((5,)), Dense(8), Dense(3)]): every weight bit-identical."""
    weights = _seeded_sequential().get_weights()
    return {"weights": weights, "shapes": np.array([d for w in weights for d in np.shape(w)])}


X_SEQ = rng(503).uniform(-1, 1, size=(4, 5)).astype(np.float32)


@case("layers.sequential.forward", family="layers", rtol=1e-5, atol=2e-6,
      reference=lambda: {"numpy_agrees": np.array(True)})
def _sequential_forward():
    """The seeded Sequential's output on a fixed batch agrees across backends and with numpy on its weights."""
    model = _seeded_sequential()
    out = model(ops.convert_to_tensor(X_SEQ))
    w0, b0, w1, b1 = [np.asarray(w, np.float64) for w in model.get_weights()]
    expected = (X_SEQ @ w0 + b0) @ w1 + b1
    agrees = np.allclose(ops.convert_to_numpy(out), expected, rtol=1e-5, atol=1e-6)
    return {"out": out, "numpy_agrees": np.array(bool(agrees))}


# ----------------------------------------------------------------------------------------------------------------
# Weightless core layers: forward and input gradient against numpy

X4 = rng(504).uniform(-2, 2, size=(2, 3, 4)).astype(np.float32)


def _layer_case(name, make, np_fn, x=X4):
    from conformance.case import op_case

    op_case(f"layers.{name}", lambda t: make()(t), np_fn, [x], grad=True, family="layers", rtol=2e-6,
            module=__name__)


_layer_case("activation", lambda: kshim.layers.Activation("tanh"), np.tanh)
_layer_case("activation.softmax", lambda: kshim.layers.Activation("softmax"),
            lambda a: np.exp(a) / np.sum(np.exp(a), axis=-1, keepdims=True))
_layer_case("flatten", lambda: kshim.layers.Flatten(), lambda a: a.reshape(a.shape[0], -1))
_layer_case("reshape", lambda: kshim.layers.Reshape((4, 3)), lambda a: a.reshape(a.shape[0], 4, 3))
_layer_case("reshape.minus_one", lambda: kshim.layers.Reshape((-1, 2)), lambda a: a.reshape(a.shape[0], -1, 2))
_layer_case("identity", lambda: kshim.layers.Identity(), lambda a: a)


@case("layers.dense.stateless_call", family="layers", rtol=2e-6, atol=1e-6,
      reference=lambda: {"out": DENSE_X.astype(np.float64) @ (2 * DENSE_W) + DENSE_B,
                         "own_weights_kept": np.array(True)})
def _dense_stateless():
    """Dense.stateless_call with given weight values leaves the layer's own weights untouched."""
    layer = kshim.layers.Dense(4)
    layer.build((None, 3))
    layer.set_weights([DENSE_W, DENSE_B])
    out, _ = layer.stateless_call([2 * DENSE_W, DENSE_B], [], ops.convert_to_tensor(DENSE_X))
    return {"out": out, "own_weights_kept": np.array(np.array_equal(layer.get_weights()[0], DENSE_W))}
