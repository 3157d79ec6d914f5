"""Global configuration: the backend (read once from ``KSHIM_BACKEND``), floatx, epsilon, image_data_format.

The backend cannot change after import: every tensor, compiled step and variable belongs to it. To run the
other backend, start a new process with ``KSHIM_BACKEND`` set.
"""

import importlib.util
import logging
import os


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


_LABEL_CHECKS = False


def enable_label_checks():
    """Check sparse labels inside compiled steps too (off by default).

    Integer labels a sparse loss (``sparse_categorical_crossentropy``) receives must lie in ``[0, num_classes)``.
    Labels given as numpy arrays are always checked on the host, before a step runs. Labels that reach a
    compiled step as tensors (a generator or dataset of tensors, or labels a custom ``train_step`` computes) are
    not: a compiled step cannot raise on a value, and an out-of-range label silently gives a loss of 0. With this
    guard on, the step also returns the smallest and largest label each sparse loss saw, and ``fit``/``evaluate``
    read them after every step and raise a ``ValueError`` naming the loss, the label and the range. Reading them
    costs a host sync per step (and turns off buffer donation and ``steps_per_execution`` grouping while on), so
    use it to find a data bug, not in production runs."""
    global _LABEL_CHECKS
    _LABEL_CHECKS = True


def disable_label_checks():
    """Turn the in-step label guard of `enable_label_checks` off again (the default)."""
    global _LABEL_CHECKS
    _LABEL_CHECKS = False


def label_checks_enabled():
    """True while `enable_label_checks` is in effect."""
    return _LABEL_CHECKS


# -- switches of Keras 3's keras.config ------------------------------------------------------------------------------
_SWITCHES = {"unsafe_deserialization": False, "flash_attention": None}


def enable_unsafe_deserialization():
    """Turn safe mode off for the whole process: configs may then rebuild lambdas (`Lambda` layers, functions
    saved by bytecode), even where a loader asks for ``safe_mode=True``, as in Keras 3."""
    _SWITCHES["unsafe_deserialization"] = True


def unsafe_deserialization_enabled():
    return _SWITCHES["unsafe_deserialization"]


def enable_flash_attention():
    """Attention layers built afterwards with ``flash_attention=None`` ask for the framework's fused kernel
    (Keras 3's global switch)."""
    _SWITCHES["flash_attention"] = True


def disable_flash_attention():
    _SWITCHES["flash_attention"] = False


def is_flash_attention_enabled():
    """True or False once set with `enable_flash_attention`/`disable_flash_attention`; None (the default) lets
    each call decide, as in Keras 3."""
    return _SWITCHES["flash_attention"]


def is_traceback_filtering_enabled():
    """Always False: kshim never trims tracebacks, so every frame shows."""
    return False


def disable_traceback_filtering():
    """Nothing to do: kshim never trims tracebacks."""


def enable_traceback_filtering():
    raise NotImplementedError("enable_traceback_filtering: kshim does not filter tracebacks; every frame of an "
                              "error shows, which is what `disable_traceback_filtering` would give in Keras 3.")


def is_nnx_enabled():
    """Always False: kshim has no Flax NNX mode."""
    return False


# -- interactive logging (Keras 3's io_utils switch) -----------------------------------------------------------------
_INTERACTIVE_LOGGING = True


def enable_interactive_logging():
    """Progress bars and epoch lines print to stdout (the default): best in a shell or a notebook."""
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = True


def disable_interactive_logging():
    """Progress bars and epoch lines go to Python logging instead (``logging.info`` on the ``"kshim"`` logger, one
    record per line, as Keras 3 sends them to absl logging): best for jobs on a server."""
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = False


def is_interactive_logging_enabled():
    """True (the default) while progress output prints to stdout; False after `disable_interactive_logging`."""
    return _INTERACTIVE_LOGGING


def print_msg(message):
    """One line of progress or summary output: to stdout while interactive logging is on (the default), else one
    ``logging.info`` record on the ``"kshim"`` logger (Keras 3's ``io_utils.print_msg``)."""
    if _INTERACTIVE_LOGGING:
        print(message, flush=True)
    else:
        logging.getLogger("kshim").info(message)


# -- caps on fit for quick debugging runs (Keras 3's KERAS_MAX_EPOCHS / KERAS_MAX_STEPS_PER_EPOCH) -------------------
def _cap_from_env(name):
    raw = os.environ.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer. Received: {name}={raw!r}") from None


_CAPS = {"epochs": _cap_from_env("KERAS_MAX_EPOCHS"),
         "steps_per_epoch": _cap_from_env("KERAS_MAX_STEPS_PER_EPOCH")}


def _check_cap(where, name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{where}: `{name}` must be a non-negative integer or None. Received: {name}={value!r}")
    return value


def set_max_epochs(max_epochs):
    """Cap the epochs of every later ``fit`` (a debugging aid; ``None`` or 0 removes the cap). ``fit`` warns
    "Limiting epochs to N" when it trains fewer epochs than asked. Also read from ``KERAS_MAX_EPOCHS``."""
    _CAPS["epochs"] = _check_cap("set_max_epochs", "max_epochs", max_epochs)


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Cap the steps of every epoch of ``fit`` (its validation too), ``evaluate`` and ``predict`` (a debugging aid;
    ``None`` or 0 removes the cap). Also read from ``KERAS_MAX_STEPS_PER_EPOCH``."""
    _CAPS["steps_per_epoch"] = _check_cap("set_max_steps_per_epoch", "max_steps_per_epoch", max_steps_per_epoch)


def max_epochs():
    """The cap set by `set_max_epochs` (or ``KERAS_MAX_EPOCHS``); None when there is none."""
    return _CAPS["epochs"]


def max_steps_per_epoch():
    """The cap set by `set_max_steps_per_epoch` (or ``KERAS_MAX_STEPS_PER_EPOCH``); None when there is none."""
    return _CAPS["steps_per_epoch"]


_ABSENT = {
    "set_backend": "the backend is chosen once, at import, by KSHIM_BACKEND; start a new process to change it",
}


def __getattr__(name):
    if name in _ABSENT:
        raise AttributeError(f"kshim does not provide kshim.config.{name} (Keras 3 has it): {_ABSENT[name]}")
    raise AttributeError(f"module 'kshim.config' has no attribute {name!r}")


# -- the global dtype policy --------------------------------------------------------------------------------------
# The classes live in kshim.dtype_policies (above this module), which binds its `get` here when it loads; `import
# kshim` loads it, so these work from the start.
_DTYPE_POLICY = None
_POLICY_GET = None


def bind_dtype_policies(get):
    """Called once by `kshim.dtype_policies`: ``get(identifier)`` turns a name or a policy into a policy."""
    global _POLICY_GET
    _POLICY_GET = get


def set_dtype_policy(policy):
    """Set the global dtype policy: a name (``"mixed_float16"``, ``"mixed_bfloat16"``, ``"float32"``, ...) or a
    `kshim.dtype_policies.DTypePolicy`. Layers created afterwards without ``dtype=`` use it.

    ``None`` unsets it, so that the policy follows `floatx()` again. (Keras 3 freezes the global policy at the
    first layer built, so a later `set_floatx` is silently ignored there; kshim follows `floatx()` until a policy
    is set.)"""
    global _DTYPE_POLICY
    if policy is None:
        _DTYPE_POLICY = None
        return
    if not isinstance(policy, str) and not hasattr(policy, "compute_dtype"):
        raise ValueError("set_dtype_policy: `policy` must be the name of a policy (such as 'mixed_float16') or a "
                         f"DTypePolicy. Received: policy={policy!r} (of type {type(policy).__name__})")
    _DTYPE_POLICY = _POLICY_GET(policy)


def dtype_policy():
    """The global dtype policy (a `DTypePolicy`; ``DTypePolicy(floatx())`` unless set with `set_dtype_policy`)."""
    return _DTYPE_POLICY if _DTYPE_POLICY is not None else _POLICY_GET(_FLOATX)


