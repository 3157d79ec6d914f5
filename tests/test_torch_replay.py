"""The torch backend's recorded-and-replayed steps (`kshim.backends.torch.replay`), the default on torch.

A fit whose steps are replayed must give the numbers of an eager fit (``jit_compile=False``) bit for bit: weights,
history, predictions and evaluation, for models that use dropout, batch normalization, recurrent layers with
masks, several inputs and outputs, regularizers, sample weights and ``steps_per_execution``. Each model test also
checks that the replay was really used. The unit tests check when a step must stay eager.
"""

import numpy as np
import pytest

import kshim
from kshim import layers

if kshim.backend.backend() != "torch":
    pytest.skip("the replay is the torch backend's", allow_module_level=True)

import torch  # noqa: E402 - only on the torch backend

from kshim.backends.torch import replay as R  # noqa: E402


def _fit(build, x, y, jit_compile, fit_kwargs):
    kshim.utils.set_random_seed(3)
    model = build(jit_compile)
    history = model.fit(x, y, verbose=0, **fit_kwargs).history
    return {
        "model": model,
        "history": history,
        "weights": model.get_weights(),
        "predict": model.predict(x, verbose=0, batch_size=16),
        "evaluate": model.evaluate(x, y, verbose=0, batch_size=16),
    }


def _same(a, b, path="result"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b)):
            _same(u, v, f"{path}[{i}]")
    else:
        assert np.array_equal(np.asarray(a), np.asarray(b)), path


def _replayed(model, which="train"):
    step = getattr(model._steps, which)
    assert step.replayed is not None, "the default torch step should be a Replayed"
    return [r for r in step.replayed.replays.values() if callable(r)]


def _check(build, x, y, fit_kwargs, which=("train",)):
    eager = _fit(build, x, y, False, fit_kwargs)
    replay = _fit(build, x, y, "auto", fit_kwargs)
    for k in ("history", "weights", "predict", "evaluate"):
        _same(replay[k], eager[k], k)
    for w in which:
        assert _replayed(replay["model"], w), f"the {w} step was never replayed"
    assert not R.tracing()
    return replay


def _classes(n=120, d=10, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype("float32"), rng.integers(0, k, n).astype("int32")


def test_mlp_with_dropout_and_validation_is_bit_identical():
    def build(jit_compile):
        m = kshim.Sequential([kshim.Input((10,)), layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                              layers.Dense(8, activation="tanh"), layers.Dropout(0.2), layers.Dense(3)])
        m.compile(optimizer=kshim.optimizers.Adam(1e-2), metrics=["accuracy"], jit_compile=jit_compile,
                  loss=kshim.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m

    x, y = _classes()
    result = _check(build, x, y, dict(epochs=3, batch_size=16, validation_split=0.25), which=("train", "test"))
    assert result["history"]["loss"][-1] < result["history"]["loss"][0]


def test_conv_batchnorm_with_sample_weights_is_bit_identical():
    rng = np.random.default_rng(1)
    x = rng.random((48, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 4, 48).astype("int32")
    w = rng.random(48).astype("float32")

    def build(jit_compile):
        m = kshim.Sequential([kshim.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.BatchNormalization(), layers.MaxPooling2D(2), layers.Flatten(),
                              layers.Dense(4, activation="softmax")])
        m.compile(optimizer=kshim.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                  loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"], jit_compile=jit_compile)
        return m

    _check(build, x, y, dict(epochs=3, batch_size=8, sample_weight=w))


def test_masked_recurrent_layers_are_bit_identical():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 30, (40, 9)).astype("int32")
    x[:, 6:] = 0  # padding, masked by mask_zero
    y = rng.integers(0, 2, 40).astype("int32")

    def build(jit_compile):
        m = kshim.Sequential([kshim.Input((9,), dtype="int32"), layers.Embedding(30, 6, mask_zero=True),
                              layers.GRU(5, return_sequences=True), layers.LSTM(4),
                              layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer="rmsprop", loss="binary_crossentropy", jit_compile=jit_compile,
                  metrics=["accuracy", kshim.metrics.AUC(name="auc")])
        return m

    _check(build, x, y.astype("float32"), dict(epochs=2, batch_size=8))


def test_fused_lstm_kernel_is_replayed_and_bit_identical():
    # No mask: torch.lstm's fused kernel (oneDNN on CPU), whose backward needs the workspace its forward keeps
    # only with gradients enabled: the replay switches grad mode where the record did.
    rng = np.random.default_rng(5)
    x = rng.integers(1, 40, (48, 7)).astype("int32")
    y = rng.integers(0, 2, 48).astype("int32")

    def build(jit_compile):
        m = kshim.Sequential([kshim.Input((7,), dtype="int32"), layers.Embedding(40, 6), layers.LSTM(5),
                              layers.Dense(2)])
        m.compile(optimizer="adam", loss=kshim.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
        return m

    _check(build, x, y, dict(epochs=2, batch_size=8))


def test_two_inputs_two_outputs_with_regularizer_is_bit_identical():
    rng = np.random.default_rng(3)
    xa, xb = rng.normal(size=(64, 5)).astype("float32"), rng.normal(size=(64, 3)).astype("float32")
    yc, yr = rng.integers(0, 3, 64).astype("int32"), rng.normal(size=(64, 1)).astype("float32")

    def build(jit_compile):
        a, b = kshim.Input((5,), name="a"), kshim.Input((3,), name="b")
        h = layers.Dense(8, activation="relu", kernel_regularizer=kshim.regularizers.L2(1e-2))(
            layers.Concatenate()([a, b]))
        cls = layers.Dense(3, name="cls")(h)
        reg = layers.Dense(1, name="reg")(h)
        m = kshim.Model([a, b], [cls, reg])
        m.compile(optimizer=kshim.optimizers.AdamW(1e-2),
                  loss={"cls": kshim.losses.SparseCategoricalCrossentropy(from_logits=True), "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"], "reg": ["mae"]},
                  jit_compile=jit_compile)
        return m

    _check(build, [xa, xb], {"cls": yc, "reg": yr}, dict(epochs=2, batch_size=16))


def test_steps_per_execution_is_bit_identical():
    def build(jit_compile):
        m = kshim.Sequential([kshim.Input((10,)), layers.Dense(12, activation="relu"), layers.Dropout(0.25),
                              layers.Dense(3)])
        m.compile(optimizer="adam", loss=kshim.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=3, jit_compile=jit_compile)
        return m

    x, y = _classes(n=100)
    _check(build, x, y, dict(epochs=3, batch_size=8), which=("train_multi",))


def test_predict_is_replayed_and_equal():
    x, _ = _classes(n=8)
    kshim.utils.set_random_seed(0)
    model = kshim.Sequential([kshim.Input((10,)), layers.Dense(6, activation="relu"), layers.Dense(2)])
    expected = model.predict(x, verbose=0)
    for _ in range(R._EAGER_CALLS + 3):
        np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    model.compile(optimizer="sgd", loss="mse")
    for _ in range(R._EAGER_CALLS + 3):
        np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    assert _replayed(model, "predict")


# ----------------------------------------------------------------------------------------------------------------
# The replay machinery itself


def _calls(fn, make_args, n=R._EAGER_CALLS + 3):
    replayed = R.Replayed(fn, torch.as_tensor)
    eager = [fn(*make_args()) for _ in range(n)]
    got = [replayed(*make_args()) for _ in range(n)]
    return replayed, eager, got


def _update(w, g, lr):
    w.sub_(g * lr)  # in place, as a donated optimizer update
    return [w, (w * w).sum()]


def test_an_in_place_step_is_replayed_and_equal():
    rng = np.random.default_rng(0)
    w0, g0 = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")
    replayed, eager, got = _calls(_update, lambda: (torch.tensor(w0), torch.tensor(g0), 0.1))
    for e, r in zip(eager, got):
        _same([t.numpy() for t in r], [t.numpy() for t in e])
    (replay,) = replayed.replays.values()
    assert callable(replay) and "sub_" in replay.source


def test_a_replay_runs_on_the_given_arguments_in_place():
    w = torch.ones(3)
    replayed = R.Replayed(_update, torch.as_tensor)
    for i in range(R._EAGER_CALLS + 2):
        out = replayed(w, torch.full((3,), 2.0), 0.5)
        assert out[0] is w  # the update wrote into the argument, as the eager step does
        np.testing.assert_array_equal(w.numpy(), np.full(3, 1.0 - (i + 1) * 1.0, "float32"))
    assert callable(next(iter(replayed.replays.values())))


def test_each_signature_gets_its_own_replay():
    replayed = R.Replayed(lambda x, k: [x * k + 1], torch.as_tensor)
    for shape in ((2, 3), (4, 3)):
        for k in (2.0, 3.0):
            for _ in range(R._EAGER_CALLS + 2):  # eager calls, the recorded call, the checked call
                x = torch.arange(np.prod(shape), dtype=torch.float32).reshape(shape)
                np.testing.assert_array_equal(replayed(x, k)[0].numpy(), (x * k + 1).numpy())
    assert len(replayed.replays) == 4 and all(callable(r) for r in replayed.replays.values())


@pytest.mark.parametrize("read", ["float", "numpy", "asarray", "tolist"])
def test_a_step_that_reads_a_value_on_the_host_stays_eager(read):
    def total(x):  # each a host read that a replay would freeze; .numpy() reaches no aten operation at all
        return {"float": lambda: float(x.sum()), "numpy": lambda: float(x.numpy().sum()),
                "asarray": lambda: float(np.asarray(x).sum()), "tolist": lambda: float(sum(x.tolist()))}[read]()

    replayed = R.Replayed(lambda x: [x * total(x)], torch.as_tensor)
    for i in range(R._EAGER_CALLS + 3):
        x = torch.full((3,), float(i))
        np.testing.assert_array_equal(replayed(x)[0].numpy(), np.full(3, 3.0 * i * i, "float32"))
    assert list(replayed.replays.values()) == [None]
    assert not R.tracing()


def test_the_check_on_new_arguments_catches_a_frozen_python_value():
    scale = [1.0]
    replayed = R.Replayed(lambda x: [x * scale[0]], torch.as_tensor)
    for _ in range(R._EAGER_CALLS + 1):  # the last of these is recorded, with scale 1.0 frozen into the record
        replayed(torch.ones(2))
    scale[0] = 2.0
    np.testing.assert_array_equal(replayed(torch.ones(2))[0].numpy(), [2.0, 2.0])  # eager, and checked
    np.testing.assert_array_equal(replayed(torch.ones(2))[0].numpy(), [2.0, 2.0])
    assert list(replayed.replays.values()) == [None]


def test_aliased_arguments_and_returned_constants_stay_eager():
    replayed = R.Replayed(lambda a, b: [a + b], torch.as_tensor)
    x = torch.ones(2)
    for _ in range(R._EAGER_CALLS + 2):
        np.testing.assert_array_equal(replayed(x, x)[0].numpy(), [2.0, 2.0])
    assert list(replayed.replays.values()) == [None]

    outside = torch.zeros(2)
    replayed = R.Replayed(lambda a: [a * 2, outside], torch.as_tensor)
    for _ in range(R._EAGER_CALLS + 2):
        assert replayed(torch.ones(2))[1] is outside
    assert list(replayed.replays.values()) == [None]


def test_an_error_in_the_recorded_call_reaches_the_caller():
    calls = []

    def fn(x):
        calls.append(1)
        if len(calls) > R._EAGER_CALLS:
            raise ValueError("fn: `x` is bad. Received: x=...")
        return [x + 1]

    replayed = R.Replayed(fn, torch.as_tensor)
    for _ in range(R._EAGER_CALLS):
        replayed(torch.ones(1))
    with pytest.raises(ValueError, match="`x` is bad"):
        replayed(torch.ones(1))
    assert not R.tracing()


def test_constants_are_computed_once_and_the_rest_every_time():
    def fn(x):
        positions = torch.arange(4, dtype=torch.float32) * 2  # depends on no argument: folded
        return [x + positions]

    replayed = R.Replayed(fn, torch.as_tensor)
    for i in range(R._EAGER_CALLS + 2):
        out = replayed(torch.full((4,), float(i)))[0]
        np.testing.assert_array_equal(out.numpy(), np.arange(4) * 2.0 + i)
    (replay,) = replayed.replays.values()
    assert "add" in replay.source and "arange" not in replay.source and "mul" not in replay.source


_OPTIMIZERS = {
    "schedule": lambda: kshim.optimizers.SGD(kshim.optimizers.schedules.ExponentialDecay(0.1, 5, 0.5)),
    "gradient_accumulation": lambda: kshim.optimizers.Adam(1e-2, gradient_accumulation_steps=3),
    "ema": lambda: kshim.optimizers.Adam(1e-2, use_ema=True, ema_overwrite_frequency=5),
    "clipnorm": lambda: kshim.optimizers.RMSprop(1e-2, clipnorm=0.1),
    "global_clipnorm": lambda: kshim.optimizers.Adam(1e-2, global_clipnorm=0.1),
    "clipvalue_weight_decay": lambda: kshim.optimizers.SGD(0.1, clipvalue=0.01, weight_decay=0.01),
}
_CALLBACKS = {
    "none": lambda: [],
    "lr_scheduler": lambda: [kshim.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)],
    "reduce_lr": lambda: [kshim.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.3, min_delta=10)],
}


@pytest.mark.parametrize("optimizer,callbacks", [(o, "none") for o in _OPTIMIZERS] +
                         [("clipvalue_weight_decay", "lr_scheduler"), ("clipnorm", "reduce_lr")])
def test_optimizer_state_and_learning_rate_changes_are_replayed_exactly(optimizer, callbacks):
    # Everything a step reads must be an argument: a learning rate a callback changes between epochs, the
    # accumulation and EMA counters. A value frozen into the record would make these differ from eager.
    def build(jit_compile):
        m = kshim.Sequential([kshim.Input((10,)), layers.Dense(8, activation="relu"), layers.Dense(3)])
        m.compile(optimizer=_OPTIMIZERS[optimizer](), jit_compile=jit_compile,
                  loss=kshim.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m

    x, y = _classes(n=96)
    result = _check(build, x, y, dict(epochs=4, batch_size=8, callbacks=_CALLBACKS[callbacks](),
                                      class_weight={0: 1.0, 1: 2.0, 2: 0.5}))
    if callbacks != "none":
        assert len(set(result["history"]["learning_rate"])) > 1  # the rate did change during the fit


def test_an_embedding_gradient_is_the_same_on_every_run():
    # Advanced indexing's gradient adds duplicate ids from several threads in no fixed order on CPU; the backward
    # pass runs with torch's deterministic kernels, which add them in index order (core._deterministic_backward).
    rng = np.random.default_rng(7)
    x = rng.integers(0, 300, (64, 40)).astype("int32")  # 64 * 40 * 64 gradient values: split across threads
    y = rng.integers(0, 2, 64).astype("int32")
    threads = torch.get_num_threads()
    torch.set_num_threads(max(2, threads))
    try:
        runs = []
        for jit_compile in (False, False, "auto", "auto"):
            kshim.utils.set_random_seed(0)
            m = kshim.Sequential([kshim.Input((40,), dtype="int32"), layers.Embedding(300, 64),
                                  layers.GlobalAveragePooling1D(), layers.Dense(2)])
            m.compile(optimizer="adam", loss=kshim.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=jit_compile)
            m.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
            runs.append(m.get_weights())
    finally:
        torch.set_num_threads(threads)
    for run in runs[1:]:
        _same(run, runs[0], "weights")
    assert not torch.are_deterministic_algorithms_enabled()  # switched on for the backward pass only


def test_fused_attention_without_dropout_is_replayed_and_bit_identical():
    # torch tags its fused attention kernel as seeded (it has a dropout_p argument); kshim calls it with
    # dropout_p=0 (its attention dropout is its own hash), so the call draws nothing and can be replayed
    rng = np.random.default_rng(4)
    x = rng.normal(size=(24, 6, 8)).astype("float32")
    y = rng.integers(0, 2, 24).astype("int32")

    def build(jit_compile):
        inp = kshim.Input((6, 8))
        a = layers.MultiHeadAttention(num_heads=2, key_dim=4)(inp, inp)
        h = layers.LayerNormalization()(layers.Add()([inp, a]))
        m = kshim.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling1D()(h)))
        m.compile(optimizer="adam", jit_compile=jit_compile,
                  loss=kshim.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m

    _check(build, x, y, dict(epochs=2, batch_size=6))


def test_a_seeded_kernel_with_dropout_stays_eager():
    q = torch.randn(2, 2, 4, 3)
    op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default
    assert not R._draws_nothing(op, (q, q, q, 0.1), {})
    assert R._draws_nothing(op, (q, q, q), {})
    assert R._draws_nothing(op, (q, q, q), {"dropout_p": 0.0})
    assert not R._draws_nothing(torch.ops.aten.bernoulli.p, (q, 0.0), {})  # randomness that is not dropout_p
