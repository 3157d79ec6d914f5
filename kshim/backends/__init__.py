"""The one place that knows the backend names and loads the chosen one.

``kshim.backends.B`` is the module of the selected backend. It implements every primitive documented in
`kshim.backends.interface`. Nothing outside this package imports torch or jax.
"""

import importlib

from kshim import config

B = importlib.import_module(f"kshim.backends.{config.backend()}")

__all__ = ["B"]
