"""Cases for recurrence: ``ops.scan``/``rnn``/``lstm``/``gru`` and the recurrent layers and wrappers.

Every forward case also returns the gradients of ``weighted_sum(outputs)`` with respect to the inputs and every
weight; the numpy references compute the same in float64 (central differences for the gradients). The dropout
cases check that a seeded layer draws bit-identical masks on both backends.
"""

import numpy as np

from conformance.case import case, kshim, numeric_grad, ops, rng, weighted_sum, weighted_sum_np
from conformance.cases_ops import _snake

B, T, F, U = 2, 4, 3, 3
X = rng(700).uniform(-1, 1, size=(B, T, F)).astype(np.float32)
LEFT = np.array([[0, 1, 1, 1], [0, 0, 1, 1]], bool)   # left padding
RIGHT = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)  # right padding
MASKS = {"left": LEFT, "right": RIGHT, None: None}
GRAD_TOL = dict(rtol=2e-5, atol=2e-6, ref_rtol=2e-4, ref_atol=2e-5)


def _w(seed, shape, scale=0.6):
    return rng(seed).uniform(-scale, scale, size=shape).astype(np.float32)


LSTM_W = [_w(701, (F, 4 * U)), _w(702, (U, 4 * U)), _w(703, (4 * U,))]
GRU_W = [_w(704, (F, 3 * U)), _w(705, (U, 3 * U)), _w(706, (2, 3 * U))]
GRU_BEFORE_W = [_w(704, (F, 3 * U)), _w(705, (U, 3 * U)), _w(707, (3 * U,))]
SIMPLE_W = [_w(708, (F, U)), _w(709, (U, U)), _w(710, (U,))]


# ----------------------------------------------------------------------------------------------------------------
# numpy references (float64)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _np_rnn(step, x, states, mask=None, go_backwards=False, zero_output_for_mask=False):
    """Keras 3's rnn semantics: masked steps keep the states and repeat the previous output (or output zeros)."""
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    outputs = []
    for t in order:
        out, new = step(x[:, t], states)
        if mask is not None:
            m = mask[:, t][:, None]
            out = np.where(m, out, np.zeros_like(out) if zero_output_for_mask else states[0])
            new = [np.where(m, n, s) for n, s in zip(new, states)]
        states = new
        outputs.append(out)
    return np.stack(outputs, 1), states


def _lstm_step(k, rk, b):
    def step(x, states):
        h, c = states
        z = x @ k + h @ rk + b
        i, f, g, o = np.split(z, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        return h, [h, c]
    return step


def _gru_step(k, rk, b, reset_after=True):
    def step(x, states):
        h = states[0]
        if reset_after:
            xz, xr, xh = np.split(x @ k + b[0], 3, axis=-1)
            hz, hr, hh = np.split(h @ rk + b[1], 3, axis=-1)
            z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
            cand = np.tanh(xh + r * hh)
        else:
            xz, xr, xh = np.split(x @ k + b, 3, axis=-1)
            z = _sigmoid(xz + h @ rk[:, :U])
            r = _sigmoid(xr + h @ rk[:, U:2 * U])
            cand = np.tanh(xh + (r * h) @ rk[:, 2 * U:])
        h = z * h + (1 - z) * cand
        return h, [h]
    return step


def _simple_step(k, rk, b):
    def step(x, states):
        h = np.tanh(x @ k + b + states[0] @ rk)
        return h, [h]
    return step


def _np_layer(step_factory, n_states, return_sequences=False, return_state=False, go_backwards=False,
              mask=None, **step_kwargs):
    def forward(x, *weights):
        states = [np.zeros((x.shape[0], U)) for _ in range(n_states)]
        outputs, states = _np_rnn(step_factory(*weights, **step_kwargs), x, states, mask, go_backwards)
        out = outputs if return_sequences else outputs[:, -1]
        return [out] + states if return_state else out
    return forward


def _reference(forward, weights):
    """``out``, ``loss`` and central-difference gradients wrt the input and each weight, in float64."""
    def ref():
        args = [X.astype(np.float64)] + [w.astype(np.float64) for w in weights]
        out = forward(*args)
        res = {"out": out, "loss": weighted_sum_np(out)}
        loss = lambda *a: weighted_sum_np(forward(*a))  # noqa: E731
        for i, name in enumerate(["x"] + [f"w{j}" for j in range(len(weights))]):
            res[f"grad_{name}"] = numeric_grad(loss, args, i)
        return res
    return ref


# ----------------------------------------------------------------------------------------------------------------
# kshim side


def _call_with(layer, values, *args, **kwargs):
    from kshim.variables import swap_values

    old = swap_values(layer.weights, values)
    try:
        return layer(*args, **kwargs)
    finally:
        swap_values(layer.weights, old)


def _run_layer(layer, weights, **call):
    layer.build(X.shape)
    layer.set_weights(weights)
    if call.get("mask") is not None:
        call["mask"] = ops.convert_to_tensor(call["mask"])
    x = ops.convert_to_tensor(X)
    out = layer(x, **call)

    def loss_fn(params):
        return weighted_sum(_call_with(layer, params[1:], params[0], **call))

    loss, grads = ops.value_and_grad(loss_fn)([x] + [ops.convert_to_tensor(w) for w in weights])
    res = {"out": out, "loss": loss, "grad_x": grads[0]}
    res.update({f"grad_w{j}": g for j, g in enumerate(grads[1:])})
    return res


LAYER_CASES = [
    # name, class, weights, numpy step, states, layer kwargs, step kwargs, mask
    ("layers.simple_rnn", "SimpleRNN", SIMPLE_W, _simple_step, 1, {"return_sequences": True}, {}, None),
    ("layers.simple_rnn.masked_backwards", "SimpleRNN", SIMPLE_W, _simple_step, 1,
     {"return_state": True, "go_backwards": True}, {}, "left"),
    ("layers.lstm", "LSTM", LSTM_W, _lstm_step, 2, {"return_sequences": True, "return_state": True}, {}, None),
    ("layers.lstm.backwards", "LSTM", LSTM_W, _lstm_step, 2, {"go_backwards": True}, {}, None),
    ("layers.lstm.masked_right", "LSTM", LSTM_W, _lstm_step, 2, {"return_sequences": True, "return_state": True},
     {}, "right"),
    ("layers.lstm.masked_left_unroll", "LSTM", LSTM_W, _lstm_step, 2, {"return_sequences": True, "unroll": True},
     {}, "left"),
    ("layers.lstm.generic", "LSTM", LSTM_W, _lstm_step, 2, {"return_state": True, "use_cudnn": False}, {}, None),
    ("layers.gru", "GRU", GRU_W, _gru_step, 1, {"return_sequences": True, "return_state": True}, {}, None),
    ("layers.gru.backwards_masked", "GRU", GRU_W, _gru_step, 1, {"go_backwards": True, "return_sequences": True},
     {}, "left"),
    ("layers.gru.reset_before", "GRU", GRU_BEFORE_W, _gru_step, 1,
     {"reset_after": False, "return_sequences": True}, {"reset_after": False}, "right"),
    ("layers.gru.generic_unroll", "GRU", GRU_W, _gru_step, 1, {"unroll": True, "return_state": True}, {}, None),
]

_COVERS = {"SimpleRNN": ("SimpleRNN", "SimpleRNNCell"), "LSTM": ("LSTM", "LSTMCell"), "GRU": ("GRU", "GRUCell")}


def _register_layer_case(name, cls, weights, step, n_states, kwargs, step_kwargs, mask_name):
    mask = MASKS[mask_name]
    np_kwargs = {k: v for k, v in kwargs.items() if k in ("return_sequences", "return_state", "go_backwards")}
    forward = _np_layer(step, n_states, mask=mask, **np_kwargs, **step_kwargs)

    def run():
        layer = getattr(kshim.layers, cls)(U, **kwargs)
        return _run_layer(layer, weights, mask=mask)

    run.__doc__ = f"{cls}(**{kwargs}) mask={mask_name}: outputs and gradients wrt inputs and weights."
    case(name, family="layers", covers=tuple(f"layers.{_snake(c)}" for c in _COVERS[cls]),
         reference=_reference(forward, weights), **GRAD_TOL)(run)


for _args in LAYER_CASES:
    _register_layer_case(*_args)


@case("layers.rnn.lstm_cell", family="layers", covers=("layers." + _snake("RNN"), "layers." + _snake("LSTMCell")),
      reference=_reference(_np_layer(_lstm_step, 2, return_sequences=True, mask=LEFT), LSTM_W), **GRAD_TOL)
def _rnn_lstm_cell():
    """RNN(LSTMCell(3), return_sequences=True) with a left-padded mask: outputs and gradients."""
    return _run_layer(kshim.layers.RNN(kshim.layers.LSTMCell(U), return_sequences=True), LSTM_W, mask=LEFT)


def _np_bidirectional(x, *w):
    fwd = _np_layer(_lstm_step, 2, return_sequences=True, mask=RIGHT)(x, *w[:3])
    bwd = _np_layer(_lstm_step, 2, return_sequences=True, go_backwards=True, mask=RIGHT)(x, *w[3:])
    # Bidirectional forces zero outputs at masked steps when returning sequences.
    fwd = np.where(RIGHT[..., None], fwd, 0.0)
    bwd = np.where(RIGHT[:, ::-1, None], bwd, 0.0)
    return np.concatenate([fwd, bwd[:, ::-1]], axis=-1)


BIDIR_W = LSTM_W + [w[::-1].copy() if w.ndim == 1 else (w * 0.9).astype(np.float32) for w in LSTM_W]


@case("layers.bidirectional.lstm", family="layers", covers=("layers.bidirectional",),
      reference=_reference(_np_bidirectional, BIDIR_W), **GRAD_TOL)
def _bidirectional():
    """Bidirectional(LSTM(3, return_sequences=True)), concat, right-padded mask: outputs and gradients."""
    layer = kshim.layers.Bidirectional(kshim.layers.LSTM(U, return_sequences=True))
    return _run_layer(layer, BIDIR_W, mask=RIGHT)


TD_W = [_w(711, (F, 2)), _w(712, (2,))]


@case("layers.time_distributed.dense", family="layers", covers=("layers.time_distributed",),
      reference=_reference(lambda x, k, b: np.tanh(x @ k + b), TD_W), **GRAD_TOL)
def _time_distributed():
    """TimeDistributed(Dense(2, activation='tanh')): outputs and gradients."""
    return _run_layer(kshim.layers.TimeDistributed(kshim.layers.Dense(2, activation="tanh")), TD_W)


@case("layers.lstm.stateful", family="layers", rtol=2e-5, atol=2e-6, reference=lambda: {
    "second": _np_layer(_lstm_step, 2)(X.astype(np.float64), *[w.astype(np.float64) for w in LSTM_W])})
def _lstm_stateful():
    """A stateful LSTM called on the two halves of the sequence: the second call continues the first."""
    layer = kshim.layers.LSTM(U, stateful=True)
    layer.build((B, T // 2, F))
    layer.set_weights(LSTM_W)
    first = layer(ops.convert_to_tensor(X[:, : T // 2]))
    second = layer(ops.convert_to_tensor(X[:, T // 2:]))
    return {"first": first, "second": second, "states": [s.value for s in layer.states]}


# ----------------------------------------------------------------------------------------------------------------
# Dropout: bit-identical masks, and the training outputs they give


def _dropout_layer(cls):
    extra = {"go_backwards": True} if cls == "GRU" else {}
    layer = getattr(kshim.layers, cls)(U, dropout=0.4, recurrent_dropout=0.3, seed=17, return_sequences=True,
                                       **extra)
    layer.build(X.shape)
    layer.set_weights({"SimpleRNN": SIMPLE_W, "LSTM": LSTM_W, "GRU": GRU_W}[cls])
    return layer


def _register_dropout_cases(cls):
    name = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}[cls]

    @case(f"layers.{name}.dropout_masks", family="layers", exact=True,
          reference=lambda: {"values_ok": np.array(True)})
    def masks():
        layer = _dropout_layer(cls)
        cell = layer.cell
        dp = cell.get_dropout_mask(ops.convert_to_tensor(X[:, 0]))
        rdp = cell.get_recurrent_dropout_mask(ops.zeros((B, U)))
        flat = [ops.convert_to_numpy(m) for m in (dp if isinstance(dp, list) else [dp])]
        flat += [ops.convert_to_numpy(m) for m in (rdp if isinstance(rdp, list) else [rdp])]
        ok = all(np.all((m == 0) | np.isclose(m, 1 / 0.6) | np.isclose(m, 1 / 0.7)) for m in flat)
        return {"dropout": dp, "recurrent_dropout": rdp, "values_ok": np.array(ok)}

    masks.__doc__ = f"{cls}(dropout=0.4, recurrent_dropout=0.3, seed=17): the masks are bit-identical."

    @case(f"layers.{name}.dropout_training", family="layers", rtol=2e-5, atol=2e-6)
    def training():
        layer = _dropout_layer(cls)
        x = ops.convert_to_tensor(X)
        first = layer(x, training=True)
        second = layer(x, training=True)

        def loss_fn(params):
            return weighted_sum(_call_with(layer, params, x, training=True))

        loss, grads = ops.value_and_grad(loss_fn)([ops.convert_to_tensor(w) for w in layer.get_weights()])
        return {"first": first, "second": second, "inference": layer(x), "loss": loss, "grads": grads,
                "seed_state": layer.cell.seed_generator.state.value}

    training.__doc__ = f"{cls} with dropout in training mode: same seeded masks give the same outputs and grads."


for _cls in ("SimpleRNN", "LSTM", "GRU"):
    _register_dropout_cases(_cls)


# ----------------------------------------------------------------------------------------------------------------
# The ops


SCAN_XS = rng(713).uniform(-1, 1, size=(5, 3)).astype(np.float32)


def _np_scan(xs):
    carry, ys = np.zeros(3), []
    for t in range(xs.shape[0] - 1, -1, -1):
        carry = 0.5 * carry + np.sin(xs[t])
        ys.append(carry * xs[t])
    return [np.stack(ys[::-1]), carry]


def _kshim_scan(xs):
    def step(carry, x):
        carry = ops.add(ops.multiply(carry, 0.5), ops.sin(x))
        return carry, ops.multiply(carry, x)

    carry, ys = ops.scan(step, ops.zeros((3,)), xs, reverse=True)
    return [ys, carry]


def _register_op_cases():
    from conformance.case import op_case

    op_case("ops.scan.reverse", _kshim_scan, _np_scan, [SCAN_XS], grad=True, rtol=2e-6, ref_rtol=2e-5,
            ref_atol=2e-6, module=__name__)

    k, rk = SIMPLE_W[0], SIMPLE_W[1]

    def step_np(x, states):
        h = np.tanh(x @ k + states[0] @ rk)
        return h, [h]

    def rnn_np(x):
        outputs, states = _np_rnn(step_np, x, [np.zeros((B, U))], LEFT, go_backwards=True, zero_output_for_mask=True)
        return [outputs, states[0]]

    def rnn_kshim(x, unroll=False):
        def step(x_t, states):
            h = ops.tanh(ops.add(ops.matmul(x_t, k), ops.matmul(states[0], rk)))
            return h, [h]

        last, outputs, states = ops.rnn(step, x, [ops.zeros((B, U))], go_backwards=True,
                                        mask=ops.convert_to_tensor(LEFT), unroll=unroll, zero_output_for_mask=True)
        return [outputs, states[0]]

    op_case("ops.rnn.masked_backwards", rnn_kshim, rnn_np, [X], grad=True, rtol=2e-6, ref_rtol=2e-5,
            ref_atol=2e-6, module=__name__)
    op_case("ops.rnn.unroll", lambda x: rnn_kshim(x, unroll=True), rnn_np, [X], grad=True, rtol=2e-6,
            ref_rtol=2e-5, ref_atol=2e-6, module=__name__)

    h0, c0 = _w(714, (B, U)), _w(715, (B, U))

    def lstm_np(x, k, rk, b, h, c):
        outputs, (h, c) = _np_rnn(_lstm_step(k, rk, b), x[:, ::-1], [h, c])
        return [outputs, h, c]

    op_case("ops.lstm", lambda x, k, rk, b, h, c: list(ops.lstm(x, h, c, k, rk, b, go_backwards=True)), lstm_np,
            [X] + LSTM_W + [h0, c0], grad=True, rtol=2e-5, atol=2e-6, ref_rtol=2e-4, ref_atol=2e-5,
            module=__name__)

    def gru_np(x, k, rk, b, h):
        outputs, (h,) = _np_rnn(_gru_step(k, rk, b), x, [h])
        return [outputs, h]

    op_case("ops.gru", lambda x, k, rk, b, h: list(ops.gru(x, h, k, rk, b)), gru_np, [X] + GRU_W + [h0],
            grad=True, rtol=2e-5, atol=2e-6, ref_rtol=2e-4, ref_atol=2e-5, module=__name__)


_register_op_cases()
