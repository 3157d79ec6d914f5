"""Control flow (cond, while_loop, fori_loop, switch, map, vectorized_map, associative_scan, scan,
custom_gradient, stop_gradient): Keras 3 parity, gradients, and training inside ``fit`` in a custom layer."""

import numpy as np
import pytest

import kshim as keras
from kshim import ops
from tests.keras_ops_parity import leaves, parity_tests

from conformance.table_ops_control_flow import *  # noqa: F401,F403  (the table and its inputs)
from conformance.table_ops_control_flow import CASES


keras_results, test_matches_keras = parity_tests(__name__, CASES, ops)


def _grad(fn, x):
    return ops.convert_to_numpy(ops.value_and_grad(lambda p: fn(p[0]))([ops.convert_to_tensor(x)])[1][0])


def test_gradients_flow_through_scan_fori_loop_and_cond():
    x = X[:, 0]
    g = _grad(lambda p: ops.scan(lambda c, v: (c * v + v, c), 1.0, p)[0], x)
    # carry c_t = c_{t-1} * v_t + v_t: d/dv_t = c_{t-1} + 1 times the product of later v's
    c, cs = 1.0, []
    for v in x:
        cs.append(c)
        c = c * v + v
    expected = [(cs[t] + 1.0) * np.prod(x[t + 1:]) for t in range(len(x))]
    np.testing.assert_allclose(g, expected, rtol=1e-5)
    g = _grad(lambda p: ops.sum(ops.fori_loop(0, 3, lambda i, v: v * p, ops.ones_like(p))), x)
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-5)
    g = _grad(lambda p: ops.sum(ops.cond(ops.sum(p) < 100.0, lambda: p * p, lambda: p)), x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-5)
    g = _grad(lambda p: ops.sum(ops.stop_gradient(p) * p), x)
    np.testing.assert_allclose(g, x, rtol=1e-6)


def test_custom_gradient_replaces_the_gradient():
    @ops.custom_gradient
    def clipped_identity(x):
        def grad(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            return ops.clip(upstream, -0.5, 0.5)

        return x * 1.0, grad

    x = np.array([1.0, -2.0, 3.0], "float32")
    w = np.array([2.0, 0.1, -3.0], "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(clipped_identity(x)), x)
    g = _grad(lambda p: ops.sum(ops.multiply(clipped_identity(p), w)), x)
    np.testing.assert_allclose(g, [0.5, 0.1, -0.5])


class LoopLayer(keras.layers.Layer):
    """A layer whose call runs scan, fori_loop, while_loop and cond (the kind a user writes)."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        w = self.w

        def step(carry, row):
            carry = carry * 0.5 + row * w
            return carry, carry

        _, ys = ops.scan(step, ops.zeros_like(x[0]), x)  # over the batch axis: a running mix of the rows
        ys = ops.fori_loop(0, 2, lambda i, v: v + 0.1 * ops.tanh(v * w), ys)
        count = ops.while_loop(lambda i: i < 3, lambda i: i + 1, 0)  # a loop that does not carry gradients
        ys = ys * ops.cast(count, "float32") / 3.0
        return ops.cond(ops.sum(w) > -1e6, lambda: ys, lambda: -ys)


def test_scan_of_a_function_without_outputs_returns_none():
    carry, ys = ops.scan(lambda c, r: (c + r, None), ops.zeros((3,)), X)
    assert ys is None
    np.testing.assert_allclose(ops.convert_to_numpy(carry), X.sum(axis=0), rtol=1e-6)


def test_a_layer_with_loops_and_branches_trains_in_fit():
    # jit_compile="auto": jax.jit on jax; on torch the recorded step, which stays eager here (cond and while_loop
    # read tensors on the host)
    keras.utils.set_random_seed(1)
    x = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    model = keras.Sequential([keras.Input((4,)), LoopLayer(), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", jit_compile="auto")
    before = model.layers[0].get_weights()[0].copy()
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert not np.allclose(model.layers[0].get_weights()[0], before)  # the loop layer's weight learned
    out = model.predict(x[:8], verbose=0)
    np.testing.assert_allclose(out, ops.convert_to_numpy(model(x[:8])), rtol=1e-5, atol=1e-6)


def test_leaves_of_nested_outputs():
    assert [a.tolist() for a in leaves((np.ones(2), [np.zeros(1)], None))] == [[1.0, 1.0], [0.0]]


def test_saturate_cast_stays_in_range_where_a_float_bound_rounds_past_it():
    x = np.array([-3e9, 3e9, 1.5e9, -7.7], "float32")
    out = ops.convert_to_numpy(ops.saturate_cast(x, "int32"))
    np.testing.assert_array_equal(out, [-2147483648, 2147483520, 1500000000, -7])
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.saturate_cast(np.array([-5, 300], "int32"), "uint8")),
                                  [0, 255])
