"""Global configuration: the backend (read once from ``KSHIM_BACKEND``), floatx, epsilon, image_data_format.

The backend cannot change after import: every tensor, compiled step and variable belongs to it. To run the
other backend, start a new process with ``KSHIM_BACKEND`` set.
"""

import importlib.util
import os

from kshim.registry import DTYPE_POLICIES

BACKENDS = ()  # the backend names, in order of preference: set once, by `kshim.backends` (which knows them)
_BACKEND = None


def choose_backend(frameworks):
    """Pick the backend, once, at import: KSHIM_BACKEND if set, else the first of ``frameworks`` (backend name ->
    the framework module it needs) that is installed. Called by `kshim.backends`, the one place that knows the
    names; returns the chosen name."""
    global BACKENDS, _BACKEND
    BACKENDS = tuple(frameworks)
    _BACKEND = _resolve_backend(frameworks)
    return _BACKEND


def _resolve_backend(frameworks):
    def installed(name):
        return importlib.util.find_spec(frameworks[name]) is not None

    names = list(frameworks)
    extras = " or ".join(f"`pip install kshim[{n}]`" for n in names)
    requested = os.environ.get("KSHIM_BACKEND")
    if requested is None or requested.strip() == "":
        for name in names:
            if installed(name):
                return name
        raise ImportError(f"kshim needs a backend framework and found none of {', '.join(names)}. "
                          f"Install one: {extras}.")
    name = requested.strip().lower()
    if name not in frameworks:
        raise ValueError(f"KSHIM_BACKEND must be one of {names}. Received: KSHIM_BACKEND={requested!r}. "
                         f"Install a backend with {extras}.")
    if not installed(name):
        raise ImportError(
            f"KSHIM_BACKEND={requested!r} selects {name}, but {frameworks[name]} is not installed. "
            f"Install it with `pip install kshim[{name}]`, or choose another of {names}."
        )
    return name


_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_FLOAT_TYPES = ("float16", "bfloat16", "float32", "float64")


def backend():
    """The name of the backend chosen at import, e.g. ``"jax"`` or ``"torch"``."""
    return _BACKEND


def floatx():
    """The default float dtype, ``"float32"`` unless changed with `set_floatx`."""
    return _FLOATX


def set_floatx(value):
    global _FLOATX
    if value not in _FLOAT_TYPES:
        raise ValueError(f"set_floatx: `value` must be one of {list(_FLOAT_TYPES)}. Received: value={value!r}")
    _FLOATX = str(value)


def epsilon():
    """The fuzz factor used in numeric expressions, 1e-7 by default (as in Keras)."""
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    try:
        eps = float(value)
    except (TypeError, ValueError):
        eps = float("nan")
    if not eps > 0 or eps == float("inf"):
        raise ValueError(f"set_epsilon: `value` must be a positive finite float. Received: value={value!r}")
    _EPSILON = eps


def image_data_format():
    """``"channels_last"`` (the default) or ``"channels_first"``."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    global _IMAGE_DATA_FORMAT
    fmt = str(data_format).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(
            "set_image_data_format: `data_format` must be 'channels_last' or 'channels_first'. "
            f"Received: data_format={data_format!r}"
        )
    _IMAGE_DATA_FORMAT = fmt


# -- the global dtype policy (the classes live in kshim.dtype_policies, found through the registry) -----------------
_DTYPE_POLICY = None


def set_dtype_policy(policy):
    """Set the global dtype policy: a name (``"mixed_float16"``, ``"mixed_bfloat16"``, ``"float32"``, ...) or a
    `kshim.dtype_policies.DTypePolicy`. Layers created afterwards without ``dtype=`` use it."""
    global _DTYPE_POLICY
    if not isinstance(policy, str) and not hasattr(policy, "compute_dtype"):
        raise ValueError("set_dtype_policy: `policy` must be the name of a policy (such as 'mixed_float16') or a "
                         f"DTypePolicy. Received: policy={policy!r} (of type {type(policy).__name__})")
    _DTYPE_POLICY = DTYPE_POLICIES.resolve(policy)


def dtype_policy():
    """The global dtype policy (a `DTypePolicy`; ``DTypePolicy(floatx())`` unless set with `set_dtype_policy`)."""
    return _DTYPE_POLICY if _DTYPE_POLICY is not None else DTYPE_POLICIES.resolve(_FLOATX)
