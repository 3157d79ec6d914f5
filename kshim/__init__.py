"""kshim: Keras-compatible deep learning on PyTorch and JAX.

``import kshim as keras``. The backend is chosen once, at import, by ``KSHIM_BACKEND=jax|torch`` (default: jax
if installed, else torch).

Importing kshim loads the configuration and the selected framework only; the submodules (``kshim.layers``,
``kshim.models``, ...) and the top-level names (``kshim.Sequential``, ...) load on first use, so
``import kshim`` costs about what importing the framework costs.
"""

import importlib

from kshim import config
from kshim.common.absent import raise_absent
from kshim.backends import B as _B  # noqa: F401  (loads the selected backend, and only it)
from kshim import dtype_policies as _dtype_policies  # noqa: F401  (binds config.set_dtype_policy)

__version__ = "0.1.0"

def version():
    """The kshim version string (``keras.version()`` in Keras 3); also ``kshim.__version__``."""
    return __version__


_SUBMODULES = ("activations", "applications", "backend", "callbacks", "constraints", "datasets", "distribution",
               "export", "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers",
               "preprocessing", "random", "regularizers", "saving", "tree", "utils", "dtype_policies",
               "mixed_precision", "quantizers", "visualization")
_NAMES = {"Input": "kshim.layers", "InputLayer": "kshim.layers", "KerasTensor": "kshim.layers",
          "Layer": "kshim.layers", "Model": "kshim.models", "Sequential": "kshim.models",
          "Variable": "kshim.variables", "StatelessScope": "kshim.variables", "InputSpec": "kshim.layers",
          "Loss": "kshim.losses", "Metric": "kshim.metrics", "Optimizer": "kshim.optimizers",
          "Initializer": "kshim.initializers", "Regularizer": "kshim.regularizers",
          "Constraint": "kshim.constraints", "Operation": "kshim.layers.operation",
          "name_scope": "kshim.common.naming", "DTypePolicy": "kshim.dtype_policies",
          "FloatDTypePolicy": "kshim.dtype_policies", "Quantizer": "kshim.quantizers"}
# Keras 3 top-level names kshim leaves out on purpose (README.md, "Public names not provided").
_ABSENT = {
    "Function": "build a graph of layers and ops with `kshim.Model(inputs, outputs)`; kshim has no separate "
                "op-only graph class",
    "device": "kshim places tensors itself (torch: CUDA when available; jax: its default device) and has no "
              "device scope",
    "remat": "kshim does not rematerialize activations (no gradient checkpointing); a silent no-op would hide that",
    "RematScope": "kshim does not rematerialize activations (no gradient checkpointing); a silent no-op would hide "
                  "that",
    "SymbolicScope": "kshim traces shapes by abstract evaluation and needs no symbolic scope",
}

__all__ = list(_SUBMODULES) + list(_NAMES) + ["config", "__version__", "version"]


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"kshim.{name}")
    elif name in _NAMES:
        module = getattr(importlib.import_module(_NAMES[name]), name)
    else:
        raise_absent("kshim", name, _ABSENT)
    globals()[name] = module  # later lookups skip this function
    return module


def __dir__():
    return sorted(set(globals()) | set(__all__))
