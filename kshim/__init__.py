"""kshim: Keras-compatible deep learning on PyTorch and JAX.

``import kshim as keras``. The backend is chosen once, at import, by ``KSHIM_BACKEND=jax|torch`` (default: jax
if installed, else torch).

Importing kshim loads the configuration and the selected framework only; the submodules (``kshim.layers``,
``kshim.models``, ...) and the top-level names (``kshim.Sequential``, ...) load on first use, so
``import kshim`` costs about what importing the framework costs.
"""

import importlib

from kshim import config
from kshim.backends import B as _B  # noqa: F401  (loads the selected backend, and only it)

__version__ = "0.1.0"

def version():
    """The kshim version string (``keras.version()`` in Keras 3); also ``kshim.__version__``."""
    return __version__


_SUBMODULES = ("activations", "applications", "backend", "callbacks", "constraints", "datasets", "distribution",
               "export", "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers",
               "preprocessing", "random", "regularizers", "saving", "utils", "dtype_policies", "mixed_precision", "quantizers")
_NAMES = {"Input": "kshim.layers", "InputLayer": "kshim.layers", "KerasTensor": "kshim.layers",
          "Layer": "kshim.layers", "Model": "kshim.models", "Sequential": "kshim.models",
          "Variable": "kshim.variables", "DTypePolicy": "kshim.dtype_policies",
          "FloatDTypePolicy": "kshim.dtype_policies"}

__all__ = list(_SUBMODULES) + list(_NAMES) + ["config", "__version__", "version"]


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"kshim.{name}")
    elif name in _NAMES:
        module = getattr(importlib.import_module(_NAMES[name]), name)
    else:
        raise AttributeError(f"module 'kshim' has no attribute {name!r}")
    globals()[name] = module  # later lookups skip this function
    return module


def __dir__():
    return sorted(set(globals()) | set(__all__))
