"""``compile(jit_compile=True)``: the step through the framework's compiler (``torch.compile`` on torch, ``jax.jit``
on jax) fits, and its numbers match the default path's within a stated tolerance.

torch.compile generates the backward together with the forward and refuses to run it under another
``use_deterministic_algorithms`` flag than the one it saw; kshim turns that flag on around every backward on CPU,
so the switch must cover the whole compiled step (it crashed before). Inductor fuses and reorders float work,
so the numbers are not bit-identical to eager: the tolerance is stated here (rtol 1e-5 after 8 Adam steps).
Compiling takes tens of seconds on torch (one model, both tests share it): slow there, deselected in CI.
"""

import numpy as np
import pytest

import kshim
from kshim import layers

_COMPILE_IS_SLOW = kshim.backend.backend() == "torch"  # torch.compile: 20-40 s of inductor code generation
pytestmark = pytest.mark.slow if _COMPILE_IS_SLOW else []

RTOL, ATOL = 1e-5, 1e-6


def _data():
    rng = np.random.RandomState(0)
    x = rng.rand(64, 8).astype("float32")
    y = (x @ rng.rand(8, 1) + 0.1 * rng.rand(64, 1)).astype("float32")
    return x, y


def _fit(jit_compile):
    kshim.utils.set_random_seed(7)
    model = kshim.Sequential([kshim.Input((8,)), layers.Dense(16, activation="relu"), layers.Dropout(0.25),
                              layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], jit_compile=jit_compile)
    x, y = _data()
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    return model, history


@pytest.fixture(scope="module")
def fitted():
    return {jit: _fit(jit) for jit in (True, False)}


def test_jit_compile_true_fits_and_matches_eager(fitted):
    compiled, hist_c = fitted[True]
    eager, hist_e = fitted[False]
    assert compiled.jit_compile is True
    for key in ("loss", "mae"):
        np.testing.assert_allclose(hist_c[key], hist_e[key], rtol=RTOL, atol=ATOL)
    assert hist_c["loss"][1] < hist_c["loss"][0]  # it trained
    for wc, we in zip(compiled.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(wc, we, rtol=RTOL, atol=ATOL)
    x, y = _data()
    np.testing.assert_allclose(compiled.predict(x, verbose=0), eager.predict(x, verbose=0), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(compiled.evaluate(x, y, verbose=0), eager.evaluate(x, y, verbose=0),
                               rtol=RTOL, atol=ATOL)
