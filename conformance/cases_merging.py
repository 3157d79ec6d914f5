"""Cases for the merge layers (Add ... Dot, and their functional forms) and the Lambda layer.

Each case calls the layer on fixed float inputs and returns the output, ``loss = weighted_sum(out)`` and its
gradient with respect to every input (`conformance.case.op_case`); the numpy reference computes the same in
float64, with central-difference gradients. Maximum/Minimum inputs are kept apart so no tie sits near a kink;
the masked cases pass fixed boolean masks and check Keras 3's masked-value rules.
"""

import numpy as np

from conformance.case import away_from, kshim, op_case, ops, rng

X = rng(700).normal(size=(4, 3)).astype(np.float32)
Y = rng(701).normal(size=(4, 3)).astype(np.float32)
Z = rng(702).normal(size=(4, 3)).astype(np.float32)
COL = rng(703).normal(size=(4, 1)).astype(np.float32)
T3 = rng(704).normal(size=(4, 2, 3)).astype(np.float32)
U3 = rng(705).normal(size=(4, 5, 3)).astype(np.float32)
# Y_FAR = X + d and Z_FAR = X - 1.5 d with |d| >= 0.3: the three differ pairwise by >= 0.3 (no tie near a kink)
_D = away_from(Y - X, [0.0], 0.3)
Y_FAR = (X + _D).astype(np.float32)
Z_FAR = (X - 1.5 * _D).astype(np.float32)
M1 = np.array([[True, False, True], [False, False, True], [True, True, True], [False, True, False]])
M2 = np.array([[False, False, True], [True, False, False], [True, False, True], [False, True, True]])


def _layer(name, **kw):
    return getattr(kshim.layers, name)(**kw)


def _masks():
    return [ops.convert_to_tensor(M1), ops.convert_to_tensor(M2)]


# -- elementwise ------------------------------------------------------------------------------------------------
op_case("layers.add", lambda a, b, c: _layer("Add")([a, b, c]), lambda a, b, c: a + b + c, [X, Y, COL],
        grad=True, covers=("layers.add",))
op_case("layers.add.functional", lambda a, b: kshim.layers.add([a, b]), lambda a, b: a + b[:, None, :],
        [T3, X], grad=True)
op_case("layers.subtract", lambda a, b: _layer("Subtract")([a, b]), lambda a, b: a - b, [X, Y], grad=True)
op_case("layers.subtract.functional", lambda a, b: kshim.layers.subtract([a, b]), lambda a, b: a - b, [X, COL],
        grad=True)
op_case("layers.multiply", lambda a, b, c: _layer("Multiply")([a, b, c]), lambda a, b, c: a * b * c, [X, Y, Z],
        grad=True)
op_case("layers.multiply.functional", lambda a, b: kshim.layers.multiply([a, b]), lambda a, b: a * b, [X, COL],
        grad=True)
op_case("layers.multiply.masked", lambda a, b: _layer("Multiply")([a, b], mask=_masks()),
        lambda a, b: np.where(M1 | M2, np.where(M1, a, 1.0) * np.where(M2, b, 1.0), 0.0), [X, Y], grad=True)
op_case("layers.average", lambda a, b, c: _layer("Average")([a, b, c]), lambda a, b, c: (a + b + c) / 3.0,
        [X, Y, Z], grad=True)
op_case("layers.average.functional", lambda a, b: kshim.layers.average([a, b]), lambda a, b: (a + b) / 2.0,
        [X, Y], grad=True)
op_case("layers.maximum", lambda a, b, c: _layer("Maximum")([a, b, c]),
        lambda a, b, c: np.maximum(np.maximum(a, b), c), [X, Y_FAR, Z_FAR], grad=True)
op_case("layers.maximum.functional", lambda a, b: kshim.layers.maximum([a, b]), np.maximum, [X, Y_FAR],
        grad=True)
op_case("layers.minimum", lambda a, b, c: _layer("Minimum")([a, b, c]),
        lambda a, b, c: np.minimum(np.minimum(a, b), c), [X, Y_FAR, Z_FAR], grad=True)
op_case("layers.minimum.functional", lambda a, b: kshim.layers.minimum([a, b]), np.minimum, [X, Y_FAR],
        grad=True)


def _masked_extremum(op):
    def np_fn(a, b):
        b = np.where(M2, b, a)  # a masked entry of b takes no part
        a = np.where(M1, a, b)  # nor one of a
        return op(a, b)

    return np_fn


op_case("layers.maximum.masked", lambda a, b: _layer("Maximum")([a, b], mask=_masks()),
        _masked_extremum(np.maximum), [X, Y_FAR], grad=True)
op_case("layers.minimum.masked", lambda a, b: _layer("Minimum")([a, b], mask=_masks()),
        _masked_extremum(np.minimum), [X, Y_FAR], grad=True)

# -- concatenate and dot ---------------------------------------------------------------------------------------
op_case("layers.concatenate", lambda a, b, c: _layer("Concatenate")([a, b, c]),
        lambda a, b, c: np.concatenate([a, b, c], axis=-1), [X, COL, Y], grad=True)
op_case("layers.concatenate.axis1", lambda a, b: _layer("Concatenate", axis=1)([a, b]),
        lambda a, b: np.concatenate([a, b], axis=1), [T3, U3], grad=True, rtol=1e-5)
op_case("layers.concatenate.functional", lambda a, b: kshim.layers.concatenate([a, b], axis=0),
        lambda a, b: np.concatenate([a, b], axis=0), [X, Y], grad=True)


def _np_normalize(x, axis):
    return x / np.maximum(np.sqrt(np.sum(x * x, axis=axis, keepdims=True)), 1e-7)


op_case("layers.dot", lambda a, b: _layer("Dot", axes=1)([a, b]), lambda a, b: np.sum(a * b, 1, keepdims=True),
        [X, Y], grad=True)
op_case("layers.dot.axes_pair", lambda a, b: _layer("Dot", axes=(2, 2))([a, b]),
        lambda a, b: np.einsum("bik,bjk->bij", a, b), [T3, U3], grad=True, rtol=1e-5)
op_case("layers.dot.rank2_rank3", lambda a, b: _layer("Dot", axes=(1, 2))([a, b]),
        lambda a, b: np.einsum("bk,bjk->bj", a, b), [X, U3], grad=True)
op_case("layers.dot.normalize", lambda a, b: _layer("Dot", axes=-1, normalize=True)([a, b]),
        lambda a, b: np.einsum("bik,bjk->bij", _np_normalize(a, -1), _np_normalize(b, -1)), [T3, U3], grad=True,
        rtol=1e-5, ref_rtol=1e-4, ref_atol=1e-5)
op_case("layers.dot.functional", lambda a, b: kshim.layers.dot([a, b], axes=(1, 1), normalize=True),
        lambda a, b: np.sum(_np_normalize(a, 1) * _np_normalize(b, 1), 1, keepdims=True), [X, Y], grad=True,
        ref_rtol=1e-4, ref_atol=1e-5)

# -- Lambda ----------------------------------------------------------------------------------------------------
op_case("layers.lambda", lambda a: _layer("Lambda", function=lambda x: ops.tanh(x) * 2.0 + ops.square(x))(a),
        lambda a: np.tanh(a) * 2.0 + a * a, [X], grad=True)
op_case("layers.lambda.list_arguments",
        lambda a, b: _layer("Lambda", function=lambda xs, scale: ops.multiply(xs[0], xs[1]) * scale,
                            arguments={"scale": 0.5})([a, b]),
        lambda a, b: a * b * 0.5, [X, Y], grad=True)
