"""kshim: Keras-compatible deep learning on PyTorch and JAX.

``import kshim as keras``. The backend is chosen once, at import, by ``KSHIM_BACKEND=jax|torch`` (default: jax
if installed, else torch).
"""

from kshim import config
from kshim.backends import B as _B  # noqa: F401  (loads the selected backend, and only it)
from kshim import (activations, callbacks, constraints, initializers, layers, losses, metrics, models, ops,
                   optimizers, preprocessing, random, regularizers, saving, utils)
from kshim.layers import Input, InputLayer, KerasTensor, Layer
from kshim.models import Model, Sequential
from kshim.variables import Variable

__version__ = "0.1.0"
version = __version__


def __getattr__(name):
    # `kshim.backend` (the Keras 2 K functions) loads on first use, keeping `import kshim` lean.
    if name == "backend":
        import importlib

        return importlib.import_module("kshim.backend")
    raise AttributeError(f"module 'kshim' has no attribute {name!r}")
