"""kshim.optimizers: three steps on fixed variables and gradients against numpy references and real Keras 3;
the pure path against the stateful one; learning rates, schedules, errors and configs."""

import os
import warnings

import numpy as np
import pytest

from kshim import ops
from kshim import optimizers as O
from kshim.optimizers import schedules
from kshim.variables import Variable

RTOL, ATOL = 1e-5, 1e-6
# Keras 3's own variables trip a numpy 2 DeprecationWarning when converted; it is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning")

_rng = np.random.default_rng(1234)
W0 = [_rng.normal(size=(3, 4)).astype("float32"), _rng.normal(size=(4,)).astype("float32")]
GRADS = [[_rng.normal(size=w.shape).astype("float32") for w in W0] for _ in range(3)]
NAMES = ["kernel", "bias"]


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def _make_vars():
    return [Variable(w.copy(), name=n) for w, n in zip(W0, NAMES)]


def run_kshim(opt, steps=3, grads=GRADS):
    vs = _make_vars()
    for step in grads[:steps]:
        opt.apply_gradients(zip(step, vs))
    return [v.numpy() for v in vs], opt


def run_keras(cls_name, kwargs, steps=3, grads=GRADS):
    keras = _keras()
    opt = getattr(keras.optimizers, cls_name)(**kwargs)
    vs = [keras.Variable(w.copy(), name=n) for w, n in zip(W0, NAMES)]
    for step in grads[:steps]:
        opt.apply_gradients(zip(step, vs))
    return [np.asarray(v.numpy()) for v in vs], opt


# ------------------------------------------------------------------------------------------------------------------
# Independent numpy references (float64), written from the papers / Keras docs formulas.


def np_run(update, kw, init_slots, steps=3, grads=GRADS, lr_fn=None):
    ws = [w.astype("float64") for w in W0]
    slots = [init_slots(w) for w in ws]
    for t, step in enumerate(grads[:steps]):
        lr = kw.get("learning_rate", 0.001) if lr_fn is None else lr_fn(t)
        for i, g in enumerate(step):
            ws[i] = update(ws[i], g.astype("float64"), slots[i], lr, t + 1, kw)
    return ws


def sgd_update(w, g, s, lr, t, kw):
    mom = kw.get("momentum", 0.0)
    if mom == 0:
        return w - lr * g
    s["m"] = mom * s.get("m", 0.0) - lr * g
    return w + (mom * s["m"] - lr * g if kw.get("nesterov") else s["m"])


def rmsprop_update(w, g, s, lr, t, kw):
    rho, mom, eps = kw.get("rho", 0.9), kw.get("momentum", 0.0), kw.get("epsilon", 1e-7)
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
    if kw.get("centered"):
        s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
        inc = lr * g / np.sqrt(s["v"] - s["a"] ** 2 + eps)
    else:
        inc = lr * g / np.sqrt(s["v"] + eps)
    if mom > 0:
        s["m"] = mom * s.get("m", 0.0) + inc
        return w - s["m"]
    return w - inc


def adam_update(w, g, s, lr, t, kw):
    b1, b2, eps = kw.get("beta_1", 0.9), kw.get("beta_2", 0.999), kw.get("epsilon", 1e-7)
    wd = kw.get("weight_decay")
    if wd:
        w = w - w * wd * lr
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    v = s["v"]
    if kw.get("amsgrad"):
        s["vh"] = np.maximum(s.get("vh", 0.0), v)
        v = s["vh"]
    alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    return w - alpha * s["m"] / (np.sqrt(v) + eps)


def adagrad_update(w, g, s, lr, t, kw):
    s["acc"] = s.get("acc", kw.get("initial_accumulator_value", 0.1)) + g * g
    return w - lr * g / np.sqrt(s["acc"] + kw.get("epsilon", 1e-7))


def adadelta_update(w, g, s, lr, t, kw):
    rho, eps = kw.get("rho", 0.95), kw.get("epsilon", 1e-7)
    s["eg"] = rho * s.get("eg", 0.0) + (1 - rho) * g * g
    delta = -np.sqrt(s.get("ed", 0.0) + eps) / np.sqrt(s["eg"] + eps) * g
    s["ed"] = rho * s.get("ed", 0.0) + (1 - rho) * delta * delta
    return w + lr * delta


def adamax_update(w, g, s, lr, t, kw):
    b1, b2, eps = kw.get("beta_1", 0.9), kw.get("beta_2", 0.999), kw.get("epsilon", 1e-7)
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g))
    return w - lr * s["m"] / ((1 - b1 ** t) * (s["u"] + eps))


def nadam_update(w, g, s, lr, t, kw):
    b1, b2, eps = kw.get("beta_1", 0.9), kw.get("beta_2", 0.999), kw.get("epsilon", 1e-7)
    u_t = b1 * (1 - 0.5 * 0.96 ** t)
    u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
    prod_t = np.prod([b1 * (1 - 0.5 * 0.96 ** k) for k in range(1, t + 1)])
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    m_hat = u_t1 * s["m"] / (1 - prod_t * u_t1) + (1 - u_t) * g / (1 - prod_t)
    v_hat = s["v"] / (1 - b2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps)


def ftrl_update(w, g, s, lr, t, kw):
    p = -kw.get("learning_rate_power", -0.5)
    l1, l2 = kw.get("l1_regularization_strength", 0.0), kw.get("l2_regularization_strength", 0.0)
    l2s, beta = kw.get("l2_shrinkage_regularization_strength", 0.0), kw.get("beta", 0.0)
    n = s.get("n", kw.get("initial_accumulator_value", 0.1))
    g_shr = g + 2 * l2s * w
    n_new = n + g * g
    s["z"] = s.get("z", 0.0) + g_shr - (n_new ** p - n ** p) / lr * w
    s["n"] = n_new
    quadratic = n_new ** p / lr + 2 * (l2 + beta / (2 * lr))
    return (np.clip(s["z"], -l1, l1) - s["z"]) / quadratic


def lion_update(w, g, s, lr, t, kw):
    b1, b2 = kw.get("beta_1", 0.9), kw.get("beta_2", 0.99)
    m = s.get("m", 0.0)
    w = w - lr * np.sign(b1 * m + (1 - b1) * g)
    s["m"] = b2 * m + (1 - b2) * g
    return w


CASES = {
    "sgd": ("SGD", {"learning_rate": 0.1}, sgd_update),
    "sgd_momentum": ("SGD", {"learning_rate": 0.1, "momentum": 0.9}, sgd_update),
    "sgd_nesterov": ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}, sgd_update),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}, rmsprop_update),
    "rmsprop_centered_momentum": ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5,
                                              "centered": True}, rmsprop_update),
    "adam": ("Adam", {"learning_rate": 0.1}, adam_update),
    "adam_amsgrad": ("Adam", {"learning_rate": 0.1, "beta_1": 0.8, "amsgrad": True}, adam_update),
    "adamw": ("AdamW", {"learning_rate": 0.1, "weight_decay": 0.05}, adam_update),
    "adagrad": ("Adagrad", {"learning_rate": 0.1}, adagrad_update),
    "adadelta": ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}, adadelta_update),
    "adamax": ("Adamax", {"learning_rate": 0.1}, adamax_update),
    "nadam": ("Nadam", {"learning_rate": 0.1}, nadam_update),
    "ftrl": ("Ftrl", {"learning_rate": 0.1}, ftrl_update),
    "ftrl_regularized": ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
                                  "l2_regularization_strength": 0.02,
                                  "l2_shrinkage_regularization_strength": 0.03, "beta": 0.5,
                                  "learning_rate_power": -0.6}, ftrl_update),
    "lion": ("Lion", {"learning_rate": 0.1}, lion_update),
}


def _close(actual, expected, rtol=RTOL, atol=ATOL):
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", sorted(CASES))
def test_three_steps_match_numpy_reference(case):
    cls_name, kw, update = CASES[case]
    ws, opt = run_kshim(getattr(O, cls_name)(**kw))
    _close(ws, np_run(update, kw, lambda w: {}))
    assert int(opt.iterations) == 3


@pytest.mark.parametrize("case", sorted(CASES))
def test_three_steps_match_keras(case):
    cls_name, kw, _ = CASES[case]
    ws, opt = run_kshim(getattr(O, cls_name)(**kw))
    kws, kopt = run_keras(cls_name, kw)
    _close(ws, kws)
    # The optimizer's own variables: same count, order, shapes and values as Keras 3's.
    assert len(opt.variables) == len(kopt.variables)
    for mine, theirs in zip(opt.variables, kopt.variables):
        if theirs.name != "variable":  # Keras leaves Nadam's momentum product unnamed
            assert mine.name == theirs.name
        np.testing.assert_allclose(mine.numpy(), np.asarray(theirs.numpy()), rtol=RTOL, atol=ATOL)


OPTION_CASES = {
    "clipnorm": ("Adam", {"learning_rate": 0.1, "clipnorm": 0.5}),
    "clipvalue": ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "clipvalue": 0.3}),
    "global_clipnorm": ("RMSprop", {"learning_rate": 0.01, "global_clipnorm": 0.7}),
    "weight_decay_sgd": ("SGD", {"learning_rate": 0.1, "weight_decay": 0.1}),
    "loss_scale_factor": ("Adam", {"learning_rate": 0.1, "loss_scale_factor": 4.0}),
    "ema": ("Adam", {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 2}),
    "gradient_accumulation": ("Adam", {"learning_rate": 0.1, "gradient_accumulation_steps": 2}),
    "lion_weight_decay": ("Lion", {"learning_rate": 0.1, "weight_decay": 0.01}),
}


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_options_match_keras(case):
    cls_name, kw = OPTION_CASES[case]
    ws, opt = run_kshim(getattr(O, cls_name)(**kw))
    kws, kopt = run_keras(cls_name, kw)
    _close(ws, kws)
    assert [v.name for v in opt.variables] == [v.name for v in kopt.variables]
    for mine, theirs in zip(opt.variables, kopt.variables):
        np.testing.assert_allclose(mine.numpy(), np.asarray(theirs.numpy()), rtol=RTOL, atol=ATOL)


def _clip_norm_ref(g, c):
    n = np.sqrt(np.sum(g * g))
    return g * c / max(n, c)


def test_clipping_matches_numpy():
    kw = {"learning_rate": 0.1}
    clipped = [[_clip_norm_ref(g.astype("float64"), 0.5) for g in step] for step in GRADS]
    ws, _ = run_kshim(O.SGD(clipnorm=0.5, **kw))
    _close(ws, np_run(sgd_update, kw, lambda w: {}, grads=clipped))

    clipped = [[np.clip(g, -0.3, 0.3) for g in step] for step in GRADS]
    ws, _ = run_kshim(O.SGD(clipvalue=0.3, **kw))
    _close(ws, np_run(sgd_update, kw, lambda w: {}, grads=clipped))

    def global_clip(step, c):
        n = np.sqrt(sum(np.sum(g.astype("float64") ** 2) for g in step))
        return [g * c / max(n, c) for g in step]
    ws, _ = run_kshim(O.SGD(global_clipnorm=0.7, **kw))
    _close(ws, np_run(sgd_update, kw, lambda w: {}, grads=[global_clip(s, 0.7) for s in GRADS]))


def test_schedule_matches_numpy_and_keras():
    sched = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    ws, opt = run_kshim(O.SGD(learning_rate=sched, momentum=0.9))
    expected = np_run(sgd_update, {"momentum": 0.9}, lambda w: {}, lr_fn=lambda t: 0.1 * 0.5 ** (t / 2))
    _close(ws, expected)
    assert [v.name for v in opt.variables] == ["iteration", "kernel_momentum", "bias_momentum"]
    np.testing.assert_allclose(float(ops.convert_to_numpy(opt.learning_rate)), 0.1 * 0.5 ** 1.5, rtol=RTOL)
    keras = _keras()
    ksched = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    kws, _ = run_keras("SGD", {"learning_rate": ksched, "momentum": 0.9})
    _close(ws, kws)


def test_keras2_lr_and_decay():
    with pytest.warns(DeprecationWarning, match="lr"):
        opt = O.SGD(lr=0.1)
    assert float(opt.learning_rate) == pytest.approx(0.1)
    with pytest.warns(DeprecationWarning, match="decay"):
        opt = O.SGD(learning_rate=0.1, decay=0.5)
    ws, _ = run_kshim(opt)
    expected = np_run(sgd_update, {}, lambda w: {}, lr_fn=lambda t: 0.1 / (1 + 0.5 * t))
    _close(ws, expected)
    with pytest.warns(DeprecationWarning, match="decay"):
        assert O.SGD.from_config(opt.get_config()).decay == 0.5


# ------------------------------------------------------------------------------------------------------------------
# The pure path


def _clone_optimizer(opt):
    return type(opt).from_config(opt.get_config())


PURE_CASES = {name: CASES[name][:2] for name in ["sgd_nesterov", "rmsprop_centered_momentum", "adam_amsgrad",
                                                  "adamw", "nadam", "ftrl_regularized", "lion", "adadelta"]}
PURE_CASES.update({name: OPTION_CASES[name] for name in ["ema", "gradient_accumulation", "global_clipnorm"]})
PURE_CASES["schedule"] = ("SGD", {"learning_rate": schedules.PiecewiseConstantDecay([1], [0.1, 0.01]),
                                  "momentum": 0.5})


@pytest.mark.parametrize("case", sorted(PURE_CASES))
@pytest.mark.parametrize("compiled", [False, True])
def test_stateless_apply_equals_stateful(case, compiled):
    cls_name, kw = PURE_CASES[case]
    expected, stateful = run_kshim(getattr(O, cls_name)(**kw))

    opt = getattr(O, cls_name)(**kw)
    vs = _make_vars()
    opt.build(vs)
    before_opt = [v.numpy() for v in opt.variables]
    step = opt.stateless_apply
    if compiled:
        step = ops.compile_step(lambda o, g, t: opt.stateless_apply(o, g, t))
    opt_values = [v.value for v in opt.variables]
    train_values = [v.value for v in vs]
    for grads in GRADS:
        train_values, opt_values = step(opt_values, [ops.convert_to_tensor(g) for g in grads], train_values)
    _close([ops.convert_to_numpy(t) for t in train_values], expected)
    _close([ops.convert_to_numpy(t) for t in opt_values], [v.numpy() for v in stateful.variables])
    assert int(ops.convert_to_numpy(opt_values[0])) == 3
    # The optimizer's own variables and the model variables are untouched.
    for v, before in zip(opt.variables, before_opt):
        np.testing.assert_array_equal(v.numpy(), before)
    for v, w in zip(vs, W0):
        np.testing.assert_array_equal(v.numpy(), w)


def test_stateless_apply_checks_lengths():
    opt = O.Adam()
    with pytest.raises(ValueError, match="must be built"):
        opt.stateless_apply([], [], [])
    vs = _make_vars()
    opt.build(vs)
    with pytest.raises(ValueError, match="one to one"):
        opt.stateless_apply([v.value for v in opt.variables][:-1], W0, [v.value for v in vs])


# ------------------------------------------------------------------------------------------------------------------
# Learning rate, None gradients, constraints


def test_learning_rate_get_and_set():
    opt = O.Adam(learning_rate=0.01)
    assert float(opt.learning_rate) == pytest.approx(0.01)
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == pytest.approx(0.5)
    assert float(opt.lr) == pytest.approx(0.5)
    assert opt.get_config()["learning_rate"] == pytest.approx(0.5)
    # The new rate is used by the next step.
    vs = _make_vars()
    sgd = O.SGD(learning_rate=0.1)
    sgd.apply_gradients(zip(GRADS[0], vs))
    sgd.learning_rate = 0.01
    sgd.apply_gradients(zip(GRADS[1], vs))
    expected = np_run(sgd_update, {}, lambda w: {}, steps=2, lr_fn=lambda t: [0.1, 0.01][t])
    _close([v.numpy() for v in vs], expected)
    with pytest.raises(ValueError, match="learning_rate"):
        sgd.learning_rate = -1.0
    scheduled = O.SGD(learning_rate=schedules.InverseTimeDecay(0.1, 1, 0.5))
    with pytest.raises(TypeError, match="schedule"):
        scheduled.learning_rate = 0.1


def test_none_gradient_skips_variable_and_constraint_applies():
    vs = _make_vars()
    vs[0].constraint = lambda w: ops.clip(w, -0.5, 0.5)
    opt = O.SGD(learning_rate=0.1)
    with pytest.warns(UserWarning, match="bias"):
        opt.apply_gradients([(GRADS[0][0], vs[0]), (None, vs[1])])
    np.testing.assert_allclose(vs[0].numpy(), np.clip(W0[0] - 0.1 * GRADS[0][0], -0.5, 0.5), rtol=RTOL)
    np.testing.assert_array_equal(vs[1].numpy(), W0[1])
    with pytest.raises(ValueError, match="no gradients"):
        opt.apply_gradients([(None, vs[0]), (None, vs[1])])


def test_exclude_from_weight_decay():
    vs = _make_vars()
    opt = O.AdamW(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients(zip([np.zeros_like(w) for w in W0], vs))
    np.testing.assert_allclose(vs[0].numpy(), W0[0] * (1 - 0.05), rtol=RTOL)
    np.testing.assert_allclose(vs[1].numpy(), W0[1], rtol=RTOL)


# ------------------------------------------------------------------------------------------------------------------
# Errors


def test_unknown_argument_suggests_the_valid_one():
    with pytest.raises(ValueError, match=r"Adam: unknown argument `beta1`.*Did you mean `beta_1`"):
        O.Adam(beta1=0.9)
    with pytest.raises(ValueError, match="Did you mean `momentum`"):
        O.SGD(momentun=0.9)


def test_bad_values_name_argument_and_value():
    with pytest.raises(ValueError, match=r"^SGD: `momentum` must be in \[0, 1\]. Received: momentum=2$"):
        O.SGD(momentum=2)
    with pytest.raises(ValueError, match="learning_rate=-0.1"):
        O.Adam(learning_rate=-0.1)
    with pytest.raises(ValueError, match="beta_1"):
        O.Adam(beta_1=1.5)
    with pytest.raises(ValueError, match="only one of"):
        O.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="weight_decay=None"):
        O.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.9)


def test_get_by_name_with_suggestions():
    for name, cls in [("adam", O.Adam), ("Adam", O.Adam), ("SGD", O.SGD), ("sgd", O.SGD), ("rmsprop", O.RMSprop),
                      ("RMSprop", O.RMSprop), ("adamw", O.AdamW), ("nadam", O.Nadam), ("Lion", O.Lion)]:
        assert type(O.get(name)) is cls
    opt = O.SGD()
    assert O.get(opt) is opt
    assert O.get(None) is None
    with pytest.raises(ValueError, match="Did you mean .*'adam'"):
        O.get("adma")
    with pytest.raises(ValueError, match="optimizer="):
        O.get("nonsense_optimizer")


# ------------------------------------------------------------------------------------------------------------------
# Configs


@pytest.mark.parametrize("cls_name", sorted({c for c, _, _ in CASES.values()}))
def test_get_config_round_trip(cls_name):
    cls = getattr(O, cls_name)
    kw = next(k for c, k, _ in CASES.values() if c == cls_name)
    opt = cls(**kw, clipnorm=2.0)
    config = opt.get_config()
    again = cls.from_config(config)
    assert again.get_config() == config
    restored = O.deserialize(O.serialize(opt))
    assert type(restored) is cls and restored.get_config() == config
    assert type(O.get({"class_name": cls_name.lower(), "config": config})) is cls
    # Same keys (and default values) as Keras 3's config.
    keras = _keras()
    kconfig = getattr(keras.optimizers, cls_name)(**kw, clipnorm=2.0).get_config()
    assert set(config) == set(kconfig)
    for key in kconfig:
        if key != "name":
            assert config[key] == pytest.approx(kconfig[key]), key


def test_optimizer_with_schedule_config_round_trip():
    opt = O.Adam(learning_rate=schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2, warmup_steps=5))
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    again = O.Adam.from_config(config)
    assert isinstance(again._learning_rate, schedules.CosineDecay)
    assert again.get_config() == config


SCHEDULES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.7)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.7, staircase=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[2, 5, 7], values=[1.0, 0.5, 0.1, 0.05])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=6, end_learning_rate=0.01, power=2.0)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=4, power=0.5, cycle=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=8, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=8, warmup_target=0.2, warmup_steps=3)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3, t_mul=1.0, m_mul=0.5)),
]


@pytest.mark.parametrize("index", range(len(SCHEDULES)))
def test_schedules_match_keras_and_round_trip(index):
    name, kw = SCHEDULES[index]
    sched = getattr(schedules, name)(**kw)
    steps = list(range(13))
    values = [float(ops.convert_to_numpy(sched(ops.convert_to_tensor(s, dtype="int32")))) for s in steps]
    again = schedules.deserialize(schedules.serialize(sched))
    assert type(again) is type(sched) and again.get_config() == sched.get_config()
    keras = _keras()
    ksched = getattr(keras.optimizers.schedules, name)(**kw)
    expected = [float(np.asarray(ksched(s))) for s in steps]
    np.testing.assert_allclose(values, expected, rtol=RTOL, atol=1e-7)
    assert set(sched.get_config()) == set(ksched.get_config())


def test_schedule_reference_values():
    exp = schedules.ExponentialDecay(0.1, 10, 0.5)
    np.testing.assert_allclose(float(ops.convert_to_numpy(exp(20))), 0.025, rtol=RTOL)
    pw = schedules.PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.25])
    got = [float(ops.convert_to_numpy(pw(ops.convert_to_tensor(s, dtype="int32")))) for s in range(6)]
    assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]


def test_keras2_config_loads():
    # A tf.keras 2.x optimizer config carries keys Keras 3 dropped.
    config = {"name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999,
              "epsilon": 1e-07, "amsgrad": False, "jit_compile": True, "is_legacy_optimizer": False}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt = O.get({"class_name": "Adam", "config": config})
    assert isinstance(opt, O.Adam) and opt.decay is None
