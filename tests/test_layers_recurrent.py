"""Recurrent layers (SimpleRNN, LSTM, GRU, their cells, RNN, Bidirectional, TimeDistributed) against Keras 3.

Each Keras comparison copies kshim's weights into the matching Keras 3 layer (JAX backend) and compares the outputs.
The fused kernels (``kshim.ops.lstm``/``gru``) are checked against the generic loop, stateful layers against one
call on the concatenated sequence, and dropout masks against a numpy reference built from kshim's generator.
"""

import os

import numpy as np
import pytest

import kshim
from kshim import layers, ops
from kshim import random as krandom

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RTOL, ATOL = 2e-4, 2e-6
RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 6, 4)).astype("float32")
RIGHT = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], bool)
LEFT = RIGHT[:, ::-1].copy()
MASKS = {None: None, "right": RIGHT, "left": LEFT}


def _ref(keras_layer, *args, **kwargs):
    """A Keras call, run op by op: its eager ``lax.scan`` would compile the loop body on every call."""
    import jax

    with jax.disable_jit():
        out = keras_layer(*args, **kwargs)
    return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else np.asarray(out)


def _np(x):
    return ops.convert_to_numpy(x)


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _random_weights(layer, seed=1, scale=0.5):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=v.shape) * scale).astype("float32") for v in layer.weights]


def _pair(ours, theirs, shape=X.shape, seed=1):
    """Build both layers, give them the same random weights, and return the weights."""
    ours.build(shape)
    theirs.build(shape)
    assert [tuple(v.shape) for v in ours.weights] == [tuple(v.shape) for v in theirs.weights]
    w = _random_weights(ours, seed)
    ours.set_weights(w)
    theirs.set_weights(w)
    return w


def _assert_outputs_equal(ours, theirs, rtol=RTOL, atol=ATOL):
    ours, theirs = _as_list(ours), _as_list(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(_np(a), np.asarray(b), rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------------------------------------------
# Numbers against Keras 3

CONFIGS = [
    ("SimpleRNN", {"return_sequences": True, "return_state": True}, "right"),
    ("SimpleRNN", {"go_backwards": True}, "left"),
    ("SimpleRNN", {"return_sequences": True, "unroll": True, "activation": "relu"}, "left"),
    ("LSTM", {"return_sequences": True, "return_state": True}, None),
    ("LSTM", {"return_sequences": True, "go_backwards": True}, None),
    ("LSTM", {"return_sequences": True, "return_state": True}, "right"),
    ("LSTM", {"return_state": True, "go_backwards": True}, "left"),
    ("LSTM", {"return_sequences": True, "unroll": True, "go_backwards": True}, "left"),
    ("LSTM", {"activation": "relu", "recurrent_activation": "hard_sigmoid", "use_bias": False,
              "return_sequences": True}, None),
    ("GRU", {"return_sequences": True, "return_state": True, "go_backwards": True}, None),
    ("GRU", {"return_sequences": True}, "right"),
    ("GRU", {"return_state": True}, "left"),
    ("GRU", {"reset_after": False, "return_sequences": True}, None),
    ("GRU", {"reset_after": False, "return_state": True, "go_backwards": True}, "left"),
    ("GRU", {"return_sequences": True, "unroll": True, "use_bias": False}, "right"),
]


@pytest.mark.parametrize("name,kwargs,mask", CONFIGS, ids=[f"{n}-{'-'.join(k) or 'default'}-{m}"
                                                           for n, k, m in CONFIGS])
def test_layer_matches_keras(name, kwargs, mask):
    ours, theirs = getattr(layers, name)(5, **kwargs), getattr(keras.layers, name)(5, **kwargs)
    _pair(ours, theirs)
    call = {} if mask is None else {"mask": MASKS[mask]}
    _assert_outputs_equal(ours(X, **call), _ref(theirs, X, **call))


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_initial_state_matches_keras(name):
    ours, theirs = getattr(layers, name)(5, return_state=True), getattr(keras.layers, name)(5, return_state=True)
    _pair(ours, theirs)
    n_states = 2 if name == "LSTM" else 1
    states = [RNG.normal(size=(3, 5)).astype("float32") for _ in range(n_states)]
    _assert_outputs_equal(ours(X, initial_state=states), _ref(theirs, X, initial_state=states))


def test_bidirectional_matches_keras():
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), merge_mode=None)
    theirs.build(X.shape)
    w = _random_weights(theirs)
    theirs.set_weights(w)
    for mask in (None, LEFT):
        call = {} if mask is None else {"mask": mask}
        y, y_rev = _ref(theirs, X, **call)
        # Keras's merge formulas, applied to its own two halves.
        merged = {"concat": np.concatenate([y, y_rev], -1), "sum": y + y_rev, "mul": y * y_rev,
                  "ave": (y + y_rev) / 2, None: [y, y_rev]}
        for mode, expected in merged.items():
            if mask is not None and mode not in ("concat", None):
                continue
            ours = layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode=mode)
            ours.build(X.shape)
            ours.set_weights(w)
            _assert_outputs_equal(ours(X, **call), expected)


def test_bidirectional_gru_states_and_backward_layer_match_keras():
    ours = layers.Bidirectional(layers.GRU(3, return_state=True))
    theirs = keras.layers.Bidirectional(keras.layers.GRU(3, return_state=True))
    _pair(ours, theirs)
    out = ours(X, mask=RIGHT)
    assert len(out) == 3
    _assert_outputs_equal(out, _ref(theirs, X, mask=RIGHT))
    ours = layers.Bidirectional(layers.SimpleRNN(3), backward_layer=layers.SimpleRNN(2, go_backwards=True),
                                merge_mode="concat")
    theirs = keras.layers.Bidirectional(keras.layers.SimpleRNN(3),
                                        backward_layer=keras.layers.SimpleRNN(2, go_backwards=True))
    _pair(ours, theirs)
    assert ours.compute_output_shape((None, 6, 4)) == (None, 6) and tuple(_np(ours(X)).shape) == (3, 5)
    _assert_outputs_equal(ours(X), _ref(theirs, X))


def test_weights_shapes_order_and_names_match_keras():
    cases = [(layers.SimpleRNN(5), keras.layers.SimpleRNN(5)), (layers.LSTM(5), keras.layers.LSTM(5)),
             (layers.GRU(5), keras.layers.GRU(5)), (layers.GRU(5, reset_after=False),
                                                     keras.layers.GRU(5, reset_after=False)),
             (layers.Bidirectional(layers.LSTM(5)), keras.layers.Bidirectional(keras.layers.LSTM(5))),
             (layers.TimeDistributed(layers.Dense(5)), keras.layers.TimeDistributed(keras.layers.Dense(5)))]
    for ours, theirs in cases:
        ours.build(X.shape)
        theirs.build(X.shape)
        assert [(v.path.split("/")[-1], tuple(v.shape)) for v in ours.weights] == \
            [(v.path.split("/")[-1], tuple(v.shape)) for v in theirs.weights]
    assert [tuple(v.shape) for v in cases[1][0].weights] == [(4, 20), (5, 20), (20,)]
    assert [tuple(v.shape) for v in cases[2][0].weights] == [(4, 15), (5, 15), (2, 15)]
    assert [tuple(v.shape) for v in cases[3][0].weights] == [(4, 15), (5, 15), (15,)]


def test_default_initializers_as_keras():
    lstm = layers.LSTM(5)
    lstm.build(X.shape)
    kernel, recurrent, bias = lstm.get_weights()
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])  # unit_forget_bias
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(5), atol=1e-5)  # orthogonal
    assert np.abs(kernel).max() <= np.sqrt(6 / (4 + 20)) + 1e-6  # glorot_uniform on (4, 20)
    lstm = layers.LSTM(5, unit_forget_bias=False, bias_initializer="ones")
    lstm.build(X.shape)
    np.testing.assert_array_equal(lstm.get_weights()[2], np.ones(20))


def test_time_distributed_matches_keras():
    ours, theirs = layers.TimeDistributed(layers.Dense(2)), keras.layers.TimeDistributed(keras.layers.Dense(2))
    _pair(ours, theirs)
    _assert_outputs_equal(ours(X), _ref(theirs, X))
    assert ours.compute_output_shape((None, 6, 4)) == (None, 6, 2)
    kshim.utils.set_random_seed(4)
    drop = layers.TimeDistributed(layers.Dropout(0.5))  # stateful (seeded) layer: one draw per timestep
    y = _np(drop(X, training=True))
    assert y.shape == X.shape and np.array_equal(_np(drop(X)), X)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 2 * X[kept], rtol=1e-6)


def test_rnn_wrapper_over_cells():
    for cell, ref in ((layers.LSTMCell(5), layers.LSTM(5, return_sequences=True)),
                      (layers.GRUCell(5, reset_after=False), layers.GRU(5, reset_after=False,
                                                                         return_sequences=True)),
                      (layers.SimpleRNNCell(5), layers.SimpleRNN(5, return_sequences=True))):
        rnn = layers.RNN(cell, return_sequences=True)
        rnn.build(X.shape)
        ref.build(X.shape)
        ref.set_weights(rnn.get_weights())
        np.testing.assert_allclose(_np(rnn(X, mask=LEFT)), _np(ref(X, mask=LEFT)), rtol=1e-6, atol=1e-7)
    ours, theirs = layers.RNN(layers.GRUCell(3), go_backwards=True), keras.layers.RNN(keras.layers.GRUCell(3),
                                                                                       go_backwards=True)
    _pair(ours, theirs)
    _assert_outputs_equal(ours(X, mask=RIGHT), _ref(theirs, X, mask=RIGHT))
    # A cell called by itself: one step.
    cell = layers.LSTMCell(5)
    cell.build((None, 4))
    h, (h2, c) = cell.call(X[:, 0], [np.zeros((3, 5), "float32"), np.zeros((3, 5), "float32")])
    assert np.array_equal(_np(h), _np(h2)) and _np(c).shape == (3, 5)


def test_masking_flows_through_sequential_like_keras():
    xm = X.copy()
    xm[~LEFT] = 0.0
    ours = kshim.Sequential([kshim.Input((6, 4)), layers.Masking(0.0), layers.LSTM(3, return_sequences=True),
                             layers.GRU(2)])
    theirs = keras.Sequential([keras.Input((6, 4)), keras.layers.Masking(0.0),
                               keras.layers.LSTM(3, return_sequences=True), keras.layers.GRU(2)])
    theirs.set_weights(ours.get_weights())
    expected = _ref(theirs, xm)
    np.testing.assert_allclose(ours.predict(xm, verbose=0), expected, rtol=RTOL, atol=ATOL)
    tokens = np.array([[3, 4, 5, 0, 0, 0], [0, 0, 2, 7, 1, 9]])
    ours = kshim.Sequential([kshim.Input((6,), dtype="int32"), layers.Embedding(10, 4, mask_zero=True),
                             layers.Bidirectional(layers.SimpleRNN(3)), layers.Dense(1)])
    theirs = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(10, 4, mask_zero=True),
                               keras.layers.Bidirectional(keras.layers.SimpleRNN(3)), keras.layers.Dense(1)])
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(tokens, verbose=0), _ref(theirs, tokens), rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------------------------------------------
# Fused kernels against the generic loop


def _loss_and_grads(layer, x, **call):
    weights = [ops.convert_to_tensor(w) for w in layer.get_weights()]
    rng = np.random.default_rng(3)
    target = [rng.normal(size=np.shape(_np(o))).astype("float32") for o in _as_list(layer(x, **call))]

    def loss_fn(params):
        from kshim.variables import swap_values

        old = swap_values(layer.weights, params[1:])
        try:
            out = _as_list(layer(params[0], **call))
        finally:
            swap_values(layer.weights, old)
        total = None
        for o, t in zip(out, target):
            term = ops.sum(ops.multiply(o, t))
            total = term if total is None else ops.add(total, term)
        return total

    return ops.value_and_grad(loss_fn)([ops.convert_to_tensor(x)] + weights)


@pytest.mark.parametrize("name,kwargs", [
    ("LSTM", {"return_sequences": True, "return_state": True}),
    ("LSTM", {"go_backwards": True, "return_sequences": True}),
    ("GRU", {"return_sequences": True, "return_state": True}),
    ("GRU", {"go_backwards": True, "stateful": False}),
])
def test_fused_path_equals_generic_path(name, kwargs, monkeypatch):
    fused = getattr(layers, name)(5, **kwargs)
    generic = getattr(layers, name)(5, use_cudnn=False, **kwargs)
    fused.build(X.shape)
    generic.build(X.shape)
    w = _random_weights(fused)
    fused.set_weights(w)
    generic.set_weights(w)
    calls = []
    kernel = getattr(ops, name.lower())
    monkeypatch.setattr(ops, name.lower(), lambda *a, **k: calls.append(1) or kernel(*a, **k))
    assert fused.fused_ok() and not generic.fused_ok()
    loss_f, grads_f = _loss_and_grads(fused, X)
    assert calls, "the fused kernel was not used"
    n = len(calls)
    loss_g, grads_g = _loss_and_grads(generic, X)
    assert len(calls) == n, "the generic path called the fused kernel"
    np.testing.assert_allclose(_np(loss_f), _np(loss_g), rtol=1e-5)
    for gf, gg in zip(grads_f, grads_g):
        assert np.all(np.isfinite(_np(gf)))
        np.testing.assert_allclose(_np(gf), _np(gg), rtol=1e-4, atol=1e-5)


def test_fused_lstm_with_a_large_projection_equals_generic_path():
    # batch * steps * 4 * units * 4 bytes = 2 MiB: on jax's CPU the fused LSTM projects inside its loop from there.
    x = np.random.default_rng(4).normal(size=(256, 4, 3)).astype("float32")
    kwargs = {"return_sequences": True, "return_state": True, "go_backwards": True}
    fused, generic = layers.LSTM(128, **kwargs), layers.LSTM(128, use_cudnn=False, **kwargs)
    fused.build(x.shape)
    generic.build(x.shape)
    w = _random_weights(fused, scale=0.1)
    fused.set_weights(w)
    generic.set_weights(w)
    loss_f, grads_f = _loss_and_grads(fused, x)
    loss_g, grads_g = _loss_and_grads(generic, x)
    np.testing.assert_allclose(_np(loss_f), _np(loss_g), rtol=1e-5)
    for gf, gg in zip(grads_f, grads_g):  # sums over 1024 rows: an absolute tolerance of 1e-4 on values up to ~10
        np.testing.assert_allclose(_np(gf), _np(gg), rtol=1e-4, atol=1e-4)


def test_fused_path_conditions():
    assert layers.LSTM(3).fused_ok() and layers.GRU(3).fused_ok()
    assert not layers.LSTM(3).fused_ok(mask=RIGHT)
    assert not layers.LSTM(3, unroll=True).fused_ok()
    assert not layers.LSTM(3, activation="relu").fused_ok()
    assert not layers.LSTM(3, recurrent_activation="hard_sigmoid").fused_ok()
    assert not layers.LSTM(3, use_bias=False).fused_ok()
    assert not layers.GRU(3, reset_after=False).fused_ok()
    rd = layers.GRU(3, recurrent_dropout=0.2)
    assert rd.fused_ok(training=False) and not rd.fused_ok(training=True)
    assert layers.LSTM(3, dropout=0.2).fused_ok(training=True)
    with pytest.raises(ValueError, match="use_cudnn=True"):
        layer = layers.LSTM(3, activation="relu", use_cudnn=True)
        layer(X)
    with pytest.raises(ValueError, match="use_cudnn"):
        layers.GRU(3, use_cudnn="yes")


@pytest.mark.parametrize("name,kwargs,mask", [
    ("SimpleRNN", {"unroll": True, "go_backwards": True}, RIGHT),
    ("LSTM", {"return_sequences": True}, LEFT),
    ("LSTM", {"unroll": True, "return_state": True}, RIGHT),
    ("GRU", {"reset_after": False, "return_sequences": True, "go_backwards": True}, LEFT),
], ids=["SimpleRNN-unroll", "LSTM-left", "LSTM-unroll", "GRU-before"])
def test_gradients_finite_with_mask_and_unroll(name, kwargs, mask):
    layer = getattr(layers, name)(4, **kwargs)
    layer.build(X.shape)
    loss, grads = _loss_and_grads(layer, X, mask=mask)
    assert np.isfinite(_np(loss))
    for g in grads:
        g = _np(g)
        assert np.all(np.isfinite(g)) and np.any(g != 0)
    # Masked timesteps get no gradient with respect to their inputs.
    gx = _np(grads[0])
    assert np.all(gx[~mask] == 0) and np.all(np.abs(gx[mask]).sum(-1) > 0)


# ----------------------------------------------------------------------------------------------------------------
# Stateful layers


def _stateful_pair(cls, batch=3, steps=3, **kwargs):
    kshim.utils.set_random_seed(1)
    model = kshim.Sequential([kshim.Input(batch_shape=(batch, steps, 4)), cls(5, stateful=True, **kwargs)])
    ref = kshim.Sequential([kshim.Input((2 * steps, 4)), cls(5, return_sequences=True, **kwargs)])
    ref.set_weights(model.get_weights())
    return model, ref


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_stateful_predict_carries_states(cls):
    model, ref = _stateful_pair(cls)
    layer = model.layers[0]
    assert len(model.weights) == 3 and len(layer.states) == len(layer.state_size)
    assert all(any(s is v for v in model.non_trainable_variables) for s in layer.states)
    p1 = model.predict(X[:, :3], verbose=0)
    p2 = model.predict(X[:, 3:], verbose=0)
    full = ref.predict(X, verbose=0)
    assert np.abs(p1 - p2).max() > 1e-3
    np.testing.assert_allclose(p1, full[:, 2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p2, full[:, 5], rtol=1e-5, atol=1e-6)
    model.reset_states()
    np.testing.assert_allclose(model.predict(X[:, :3], verbose=0), p1, rtol=1e-6, atol=1e-7)
    layer.reset_states()
    assert all(np.all(s.numpy() == 0) for s in layer.states)
    np.testing.assert_allclose(_np(layer(X[:, :3])), p1, rtol=1e-5, atol=1e-6)  # eager call uses the states too
    np.testing.assert_allclose(_np(layer(X[:, 3:])), p2, rtol=1e-5, atol=1e-6)


def test_stateful_batches_within_one_predict_and_fit():
    model, ref = _stateful_pair(layers.LSTM, batch=3, steps=3)
    # Two batches of 3 in one predict call: sample i of batch 2 continues sample i of batch 1.
    x2 = np.concatenate([X[:, :3], X[:, 3:]], axis=0)
    out = model.predict(x2, batch_size=3, verbose=0)
    full = ref.predict(X, verbose=0)
    np.testing.assert_allclose(out[3:], full[:, 5], rtol=1e-5, atol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    model.reset_states()
    before = [s.numpy() for s in model.layers[0].states]
    model.fit(X[:, :3], np.zeros((3, 5), "float32"), batch_size=3, epochs=1, shuffle=False, verbose=0)
    after = [s.numpy() for s in model.layers[0].states]
    assert all(np.all(b == 0) for b in before) and all(np.abs(a).max() > 0 for a in after)
    model.predict(X[:, :3], verbose=0)
    model.fit(X[:, :3], np.zeros((3, 5), "float32"), batch_size=3, epochs=1, shuffle=False, verbose=0)


def test_stateful_errors_and_reset_to_values():
    with pytest.raises(ValueError, match="fixed batch size"):
        kshim.Sequential([kshim.Input((3, 4)), layers.GRU(2, stateful=True)])
    layer = layers.GRU(2, stateful=True, batch_size=3, input_shape=(3, 4))
    model = kshim.Sequential([layer])
    with pytest.raises(ValueError, match="batch size"):
        layer(X[:2, :3])
    layer.reset_states([np.full((3, 2), 0.5, "float32")])
    np.testing.assert_array_equal(layer.states[0].numpy(), np.full((3, 2), 0.5))
    model.reset_states()
    np.testing.assert_array_equal(layer.states[0].numpy(), np.zeros((3, 2)))
    with pytest.raises(AttributeError, match="stateful"):
        layers.GRU(2).reset_states()


# ----------------------------------------------------------------------------------------------------------------
# Dropout and recurrent dropout


def test_simple_rnn_dropout_masks_are_seeded_and_fixed_across_timesteps():
    layer = layers.SimpleRNN(5, dropout=0.4, recurrent_dropout=0.3, seed=7, return_sequences=True)
    layer.build(X.shape)
    k, rk, b = [w.astype(np.float64) for w in layer.get_weights()]
    out = _np(layer(X, training=True))
    # The cell draws the input mask with counter 0 and the recurrent mask with counter 1 of seed 7.
    dp = _np(krandom.dropout(ops.ones((3, 4)), 0.4, seed=ops.convert_to_tensor(np.array([7, 0], np.int32))))
    rdp = _np(krandom.dropout(ops.ones((3, 5)), 0.3, seed=ops.convert_to_tensor(np.array([7, 1], np.int32))))
    assert 0 < (dp == 0).mean() < 1 and 0 < (rdp == 0).mean() < 1
    h = np.zeros((3, 5))
    expected = []
    for t in range(6):
        h = np.tanh((X[:, t] * dp) @ k + b + (h * rdp) @ rk)
        expected.append(h)
    np.testing.assert_allclose(out, np.stack(expected, 1), rtol=1e-5, atol=1e-6)
    out2 = _np(layer(X, training=True))
    assert not np.allclose(out, out2)  # the next call draws new masks
    inference = _np(layer(X))
    assert not np.allclose(out, inference)
    np.testing.assert_array_equal(_np(layer.cell.seed_generator.state.value), [7, 4])  # inference draws nothing


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU])
def test_dropout_runs_are_reproducible(cls):
    def run():
        kshim.utils.set_random_seed(11)
        layer = cls(4, dropout=0.3, recurrent_dropout=0.25, return_sequences=True)
        layer.build(X.shape)
        return [_np(layer(X, training=True)) for _ in range(2)] + [_np(layer(X))]

    a, b = run(), run()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.allclose(a[0], a[1]) and not np.allclose(a[0], a[2])
    layer = cls(4, dropout=0.3, seed=2)  # input dropout only: the fused kernel on a masked input
    layer.build(X.shape)
    assert layer.fused_ok(training=True)
    fused = _np(layer(X, training=True))
    generic = cls(4, dropout=0.3, seed=2, use_cudnn=False)
    generic.build(X.shape)
    generic.set_weights(layer.get_weights())
    np.testing.assert_allclose(fused, _np(generic(X, training=True)), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------------------------
# Training


def _sequence_task(n=192, steps=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, 2)).astype("float32")
    y = (x[:, :, 0].sum(1) > 0).astype("float32")[:, None]
    return x, y


def test_fit_learns_a_sequence_classification():
    x, y = _sequence_task()
    kshim.utils.set_random_seed(0)
    model = kshim.Sequential([kshim.Input((8, 2)), layers.LSTM(8), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=kshim.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=12, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85


def test_fit_with_dropout_and_mask_is_reproducible():
    x, y = _sequence_task(n=64, steps=6, seed=1)
    x[:, 4:] = 0.0  # right padding, masked

    def run():
        kshim.utils.set_random_seed(5)
        model = kshim.Sequential([kshim.Input((6, 2)), layers.Masking(0.0),
                                  layers.GRU(4, dropout=0.2, recurrent_dropout=0.2),
                                  layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        hist = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=True)
        return hist.history["loss"], model.get_weights()

    (loss_a, w_a), (loss_b, w_b) = run(), run()
    assert loss_a == loss_b and loss_a[-1] < loss_a[0]
    for u, v in zip(w_a, w_b):
        np.testing.assert_array_equal(u, v)


# ----------------------------------------------------------------------------------------------------------------
# Shapes, configs and errors


def test_output_shapes_and_config_round_trip():
    model = kshim.Sequential([kshim.Input((6, 4)), layers.LSTM(5, return_sequences=True),
                              layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode="sum"),
                              layers.TimeDistributed(layers.Dense(2)), layers.SimpleRNN(7)])
    assert [tuple(l.output.shape) for l in model.layers] == [(None, 6, 5), (None, 6, 3), (None, 6, 2), (None, 7)]
    assert _np(model(X)).shape == (3, 7)
    lstm = layers.LSTM(5, return_state=True, kernel_regularizer="l2", recurrent_regularizer="l1")
    assert lstm.compute_output_shape((None, 6, 4)) == [(None, 5), (None, 5), (None, 5)]
    lstm.build((None, 6, 4))
    assert lstm.count_params() == 4 * (5 * (4 + 5) + 5) and len(lstm.losses) == 2
    k, rk, _ = lstm.get_weights()
    np.testing.assert_allclose(_np(ops.add(*lstm.losses)), 0.01 * (k ** 2).sum() + 0.01 * np.abs(rk).sum(),
                               rtol=1e-5)
    for layer, theirs in ((layers.LSTM(5, dropout=0.1, go_backwards=True), keras.layers.LSTM(5)),
                          (layers.GRU(5, reset_after=False), keras.layers.GRU(5)),
                          (layers.SimpleRNN(5, activation="relu"), keras.layers.SimpleRNN(5))):
        cfg = layer.get_config()
        assert set(theirs.get_config()) - set(cfg) == set()
        clone = type(layer).from_config(cfg)
        assert clone.get_config() == cfg
    bidir = layers.Bidirectional(layers.LSTM(3), merge_mode="ave")
    clone = layers.Bidirectional.from_config(bidir.get_config())
    assert clone.merge_mode == "ave" and clone.backward_layer.go_backwards
    td = layers.TimeDistributed.from_config(layers.TimeDistributed(layers.Dense(3)).get_config())
    assert td.layer.units == 3


def test_errors():
    with pytest.raises(ValueError, match="units"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="dropout"):
        layers.GRU(3, dropout=1.5)
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(3))
    with pytest.raises(ValueError, match="timesteps"):
        layers.LSTM(3)(X[:, 0])
    with pytest.raises(ValueError, match="StackedRNNCells: every cell must have a `call`"):
        layers.RNN([layers.LSTMCell(3), object()])  # a list of cells is stacked, and each must be a cell
