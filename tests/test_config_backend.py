"""kshim.config and backend selection: the backend comes from KSHIM_BACKEND once at import, only the chosen
framework is imported, and floatx/epsilon/image_data_format behave as in Keras 3.

Subprocess tests start a fresh interpreter, since the backend is fixed at import."""

import os
import subprocess
import sys

import numpy as np
import pytest

import kshim
from kshim import config, layers, ops

BACKEND = config.backend()


_LOADED_CODE = ("import sys, kshim; from kshim import layers; import numpy as np; "
                "y = layers.Dense(2)(np.ones((1, 3), 'float32')); "
                "print(kshim.config.backend(), sorted(m for m in ('jax', 'torch') if m in sys.modules))")
_BACKEND_CODE = "import kshim; print(kshim.config.backend())"
# Every subprocess this module needs, started together (each import takes seconds).
_JOBS = {
    "bad": ("import kshim", "tensorflow_xyz"),
    "only_jax": (_LOADED_CODE, "jax"),
    "only_torch": (_LOADED_CODE, "torch"),
    "default": (_BACKEND_CODE, None),
    "spaced": (_BACKEND_CODE, "  JAX "),
}


def _start(code, backend):
    """Start ``code`` in a fresh interpreter with KSHIM_BACKEND=backend (None: unset)."""
    env = dict(os.environ)
    env.pop("KSHIM_BACKEND", None)
    if backend is not None:
        env["KSHIM_BACKEND"] = backend
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


class _Done:
    def __init__(self, proc):
        self.stdout, self.stderr = proc.communicate(timeout=180)
        self.returncode = proc.returncode


@pytest.fixture(scope="module")
def runs():
    started = {k: _start(*v) for k, v in _JOBS.items()}
    return {k: _Done(p) for k, p in started.items()}


# ----------------------------------------------------------------------------------------------------------------
# The backend


def test_backend_equals_env_var():
    expected = os.environ.get("KSHIM_BACKEND", "").strip().lower() or "jax"
    assert config.backend() == expected
    assert config.backend() in config.BACKENDS
    assert kshim.config is config


def test_unknown_backend_fails_at_import_naming_value_and_valid_names(runs):
    proc = runs["bad"]
    assert proc.returncode != 0
    err = proc.stderr
    assert "ValueError" in err
    assert "tensorflow_xyz" in err
    assert "jax" in err and "torch" in err


def test_unknown_backend_error_names_the_pip_extra(runs):
    proc = runs["bad"]
    assert proc.returncode != 0
    assert "kshim[jax]" in proc.stderr or "kshim[torch]" in proc.stderr


@pytest.mark.parametrize("chosen,other", [("jax", "torch"), ("torch", "jax")])
def test_import_loads_only_the_chosen_framework(runs, chosen, other):
    proc = runs[f"only_{chosen}"]
    assert proc.returncode == 0, proc.stderr
    name, loaded = proc.stdout.strip().split(" ", 1)
    assert name == chosen
    assert loaded == repr([chosen])
    assert other not in loaded


def test_default_backend_is_jax_when_env_var_unset(runs):
    proc = runs["default"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "jax"


def test_env_var_is_case_and_space_insensitive(runs):
    proc = runs["spaced"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "jax"


# ----------------------------------------------------------------------------------------------------------------
# Native tensors


def _assert_native(t):
    if BACKEND == "jax":
        import jax

        assert isinstance(t, jax.Array), type(t)
        assert type(t).__module__.startswith(("jax", "jaxlib"))
    else:
        import torch

        assert isinstance(t, torch.Tensor), type(t)
        assert type(t).__module__.startswith("torch")


def test_ops_and_layers_return_native_tensors():
    x = np.arange(6, dtype="float32").reshape(2, 3)
    t = ops.add(x, 1.0)
    _assert_native(t)
    np.testing.assert_array_equal(ops.convert_to_numpy(t), x + 1)
    y = layers.Dense(4, kernel_initializer="ones")(x)
    _assert_native(y)
    np.testing.assert_allclose(ops.convert_to_numpy(y), np.tile(x.sum(1, keepdims=True), (1, 4)), rtol=1e-6)
    v = kshim.Variable(x)
    _assert_native(v.value)
    _assert_native(v + 1)


# ----------------------------------------------------------------------------------------------------------------
# floatx, epsilon, image_data_format


def test_defaults_match_keras():
    assert config.floatx() == "float32"
    assert config.epsilon() == 1e-7
    assert config.image_data_format() == "channels_last"


def test_set_floatx_round_trip_and_rejects_bad_values():
    old = config.floatx()
    try:
        for value in ("float16", "bfloat16", "float64", "float32"):
            config.set_floatx(value)
            assert config.floatx() == value
        for bad in ("float8", "int32", "double", None, 32):
            with pytest.raises(ValueError, match="floatx"):
                config.set_floatx(bad)
            assert config.floatx() == "float32"  # unchanged by a rejected value
    finally:
        config.set_floatx(old)


def test_floatx_is_the_default_weight_dtype():
    old = config.floatx()
    try:
        config.set_floatx("float16")
        layer = layers.Dense(2)
        layer.build((None, 3))
        assert [str(w.dtype) for w in layer.weights] == ["float16", "float16"]
    finally:
        config.set_floatx(old)
    layer = layers.Dense(2)
    layer.build((None, 3))
    assert [str(w.dtype) for w in layer.weights] == ["float32", "float32"]


def test_set_epsilon_round_trip_and_rejects_non_numbers():
    old = config.epsilon()
    try:
        config.set_epsilon(1e-5)
        assert config.epsilon() == 1e-5
        config.set_epsilon("0.001")  # Keras does float(value)
        assert config.epsilon() == 1e-3
        with pytest.raises(ValueError):
            config.set_epsilon("tiny")
        assert config.epsilon() == 1e-3
    finally:
        config.set_epsilon(old)
    assert config.epsilon() == 1e-7


def test_set_epsilon_rejects_non_positive_and_nan():
    old = config.epsilon()
    try:
        for bad in (0.0, -1e-7, float("nan")):
            with pytest.raises(ValueError):
                config.set_epsilon(bad)
    finally:
        config.set_epsilon(old)


def test_set_image_data_format_round_trip_and_rejects_bad_values():
    old = config.image_data_format()
    try:
        config.set_image_data_format("channels_first")
        assert config.image_data_format() == "channels_first"
        config.set_image_data_format("CHANNELS_LAST")
        assert config.image_data_format() == "channels_last"
        for bad in ("channels_middle", "NHWC", ""):
            with pytest.raises(ValueError, match="data_format"):
                config.set_image_data_format(bad)
            assert config.image_data_format() == "channels_last"
    finally:
        config.set_image_data_format(old)


def test_image_data_format_drives_flatten_default():
    x = np.arange(2 * 3 * 2 * 2, dtype="float32").reshape(2, 3, 2, 2)
    old = config.image_data_format()
    try:
        config.set_image_data_format("channels_first")
        flat = layers.Flatten()
        assert flat.data_format == "channels_first"
        np.testing.assert_array_equal(ops.convert_to_numpy(flat(x)), x.transpose(0, 2, 3, 1).reshape(2, -1))
    finally:
        config.set_image_data_format(old)
    np.testing.assert_array_equal(ops.convert_to_numpy(layers.Flatten()(x)), x.reshape(2, -1))
