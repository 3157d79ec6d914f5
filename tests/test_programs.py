"""The corpus: real Keras programs (tests/programs/*.py, issue 22) run unchanged on kshim, on the current backend.

Each program is a script written against ``import keras``; only its data is adapted (see each file's header and
`programs/_data.py`). The runner executes it in this process with ``keras`` (and every ``keras.*`` module) bound to
kshim, in fast mode (``KSHIM_PROGRAM_FAST=1``: smaller data, fewer epochs), and checks that it finishes; where the
original prints a metric, `CHECKS` checks the value in the program's globals lies in a sane range. Running a
file directly (``python tests/programs/mnist_convnet.py``) runs it with real Keras 3.

A program that needs a capability another open issue builds is ``xfail(strict=True)`` with that issue's number
(`WAITING`): when the capability lands, the test passes, fails as XPASS, and the mark must come off.
"""

import contextlib
import glob
import importlib
import importlib.abc
import importlib.util
import math
import os
import runpy
import sys
import warnings

import numpy as np
import pytest

import kshim

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
# a data helper, and the workloads of tests/test_custom_train_step.py and tests/test_mixed_precision_steps.py
NOT_PROGRAMS = {"_data.py", "custom_steps.py", "loss_scale_steps.py"}
PROGRAMS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(HERE, "*.py"))
                  if os.path.basename(p) not in NOT_PROGRAMS)


def _between(lo, hi):
    return lambda v: lo <= float(v) <= hi and math.isfinite(float(v))


def _loss_and_accuracy(min_acc):
    """``score = model.evaluate(...)``: a finite loss and an accuracy of at least ``min_acc``."""
    return lambda score: math.isfinite(float(score[0])) and min_acc <= float(score[1]) <= 1.0


# Where the original prints a metric: the global the program keeps it in, and the range it must lie in (fast mode:
# little data and one or two epochs, so the floors are low but above chance).
CHECKS = {
    "mnist_convnet.py": ("score", _loss_and_accuracy(0.3)),
    "keras2_mnist_mlp.py": ("score", _loss_and_accuracy(0.3)),
    "keras2_mnist_cnn.py": ("score", _loss_and_accuracy(0.2)),
    "keras2_imdb_lstm.py": ("acc", _between(0.0, 1.0)),
    "timeseries_classification_from_scratch.py": ("test_acc", _between(0.4, 1.0)),
    "text_classification_with_transformer.py": ("history_acc", _between(0.0, 1.0)),
    "siamese_contrastive.py": ("results", _loss_and_accuracy(0.0)),
}

# Programs waiting on a capability another open issue builds (none now: vision_transformer.py waited on
# keras.ops.image.extract_patches and mixed_precision.py on keras.mixed_precision; both landed).
WAITING = {}


# Every program runs in CI on both backends (fast mode: the whole corpus is ~95 CPU seconds on jax and ~60 on torch).
# A program too long for CI would go here and run with `-m slow`.
SLOW = set()


class _KerasIsKshim(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import keras`` / ``from keras.layers import Dense`` give kshim's modules."""

    def find_spec(self, name, path=None, target=None):
        if name == "keras" or name.startswith("keras."):
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("kshim" + spec.name[len("keras"):])

    def exec_module(self, module):
        pass


@contextlib.contextmanager
def keras_is_kshim():
    saved = {k: v for k, v in sys.modules.items() if k == "keras" or k.startswith("keras.")}
    for k in saved:
        del sys.modules[k]
    finder = _KerasIsKshim()
    sys.meta_path.insert(0, finder)
    sys.path.insert(0, HERE)
    try:
        yield
    finally:
        sys.path.remove(HERE)
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if k == "keras" or k.startswith("keras.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def _reset_global_state():
    """What a program may set globally (a dtype policy, the float type) goes back to the defaults."""
    policy = getattr(getattr(kshim, "mixed_precision", None), "set_global_policy", None)
    if policy is not None:
        policy(None)
    kshim.config.set_floatx("float32")


@pytest.fixture(autouse=True)
def _fast_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("KSHIM_PROGRAM_FAST", "1")
    monkeypatch.chdir(tmp_path)  # programs that save files write them here
    sys.modules.pop("_data", None)  # re-read FAST


def _params():
    for name in PROGRAMS:
        marks = [pytest.mark.xfail(strict=True, reason=WAITING[name])] if name in WAITING else []
        if name in SLOW:
            marks.append(pytest.mark.slow)
        yield pytest.param(name, marks=marks, id=name[:-3])


@pytest.mark.parametrize("name", list(_params()))
def test_program(name, capsys):
    kshim.utils.set_random_seed(0)
    try:
        with keras_is_kshim(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the Keras 2 programs' spellings warn by design
            result = runpy.run_path(os.path.join(HERE, name), run_name="__main__")
    finally:
        _reset_global_state()
    if name in CHECKS:
        var, ok = CHECKS[name]
        assert var in result, f"{name} did not set `{var}`"
        value = result[var]
        assert ok(value), f"{name}: {var}={value!r} is out of its sane range"


def test_corpus_size():
    assert len(PROGRAMS) >= 30, PROGRAMS
    assert SLOW <= set(PROGRAMS) and set(WAITING) <= set(PROGRAMS) and set(CHECKS) <= set(PROGRAMS)
    for name in PROGRAMS:  # each file says where it came from and what was changed
        head = open(os.path.join(HERE, name), encoding="utf-8").read(1500)
        assert "Source:" in head and "Changed:" in head, name


def test_keras_alias_is_undone():
    with keras_is_kshim():
        import keras  # noqa: F401
        from keras.layers import Dense
        assert Dense is kshim.layers.Dense
    assert sys.modules.get("keras") is not kshim
