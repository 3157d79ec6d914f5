"""Lamb and Adafactor against Keras 3 itself (three steps: weights, optimizer variables in order, names), their
configs, and a numpy reference of Lamb."""

import os

import numpy as np
import pytest

import kshim
from kshim import optimizers as O
from kshim.variables import Variable

_rng = np.random.default_rng(7)
W0 = [_rng.normal(size=(3, 4)).astype("float32"), _rng.normal(size=(4,)).astype("float32"),
      _rng.normal(size=(2, 3, 2)).astype("float32"), _rng.normal(size=(5, 2)).astype("float32")]
GRADS = [[_rng.normal(size=w.shape).astype("float32") for w in W0] for _ in range(3)]
NAMES = ["kernel", "bias", "cube", "tall"]

CASES = {
    "lamb": ("Lamb", {"learning_rate": 0.01}),
    "lamb.args": ("Lamb", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-5,
                           "weight_decay": 0.01}),
    "adafactor": ("Adafactor", {"learning_rate": 0.01}),
    "muon": ("Muon", {"learning_rate": 0.01}),
    "muon.args": ("Muon", {"learning_rate": 0.05, "nesterov": False, "ns_steps": 3, "rms_rate": None,
                           "adam_lr_ratio": 0.5, "weight_decay": 0.1, "adam_weight_decay": None,
                           "exclude_layers": ["cube"]}),
    "adafactor.args": ("Adafactor", {"learning_rate": 0.5, "beta_2_decay": -0.5, "epsilon_2": 1e-2,
                                     "clip_threshold": 0.5, "relative_step": False, "clipnorm": 1.0}),
}


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def _run(module, cls_name, kw, make_variable):
    opt = getattr(module.optimizers, cls_name)(**kw)
    vs = [make_variable(w.copy(), name=n) for w, n in zip(W0, NAMES)]
    for step in GRADS:
        opt.apply_gradients(zip(step, vs))
    return [np.asarray(v.numpy()) for v in vs], opt


@pytest.mark.parametrize("case", list(CASES))
def test_three_steps_match_keras(keras, case):
    cls_name, kw = CASES[case]
    ours, opt = _run(kshim, cls_name, kw, Variable)
    theirs, kopt = _run(keras, cls_name, kw, keras.Variable)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert [v.name for v in opt.variables] == [v.name for v in kopt.variables]
    for mine, other in zip(opt.variables, kopt.variables):
        np.testing.assert_allclose(mine.numpy(), np.asarray(other.numpy()), rtol=1e-5, atol=1e-6)
    config, kconfig = opt.get_config(), kopt.get_config()
    assert {k: config[k] for k in kconfig if k in config} == {k: kconfig[k] for k in kconfig if k in config}
    assert type(O.deserialize(O.serialize(opt))) is type(opt)


def test_lamb_matches_numpy():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    ws = [w.astype(np.float64) for w in W0]
    m = [np.zeros_like(w) for w in ws]
    v = [np.zeros_like(w) for w in ws]
    for t, step in enumerate(GRADS, start=1):
        for i, g in enumerate(step):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            u = (m[i] / (1 - b1 ** t)) / (np.sqrt(v[i] / (1 - b2 ** t)) + eps)
            ws[i] = ws[i] - np.linalg.norm(ws[i]) / np.linalg.norm(u) * lr * u
    ours, _ = _run(kshim, "Lamb", {"learning_rate": lr}, Variable)
    for a, b in zip(ours, ws):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_by_name_and_argument_checks():
    assert isinstance(O.get("lamb"), O.Lamb) and isinstance(O.get("Adafactor"), O.Adafactor)
    with pytest.raises(ValueError, match="beta_1"):
        O.Lamb(beta_1=1.5)
    with pytest.raises(ValueError, match="clip_threshold"):
        O.Adafactor(clip_threshold=0.0)


def test_adafactor_trains_in_fit():
    kshim.utils.set_random_seed(3)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32")
    model = kshim.Sequential([kshim.Input((4,)), kshim.layers.Dense(8, activation="relu"), kshim.layers.Dense(1)])
    model.compile(optimizer=O.Adafactor(learning_rate=0.1), loss="mse")
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
