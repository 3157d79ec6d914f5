"""The one place that knows the backend names and loads the chosen one.

``kshim.backends.B`` is the selected backend bound to the contract (`kshim.backends.interface`): one function per
primitive, the backend's own. ``kshim.ops`` binds them (one hop). Nothing outside this package imports torch or
jax, and nothing outside it names a backend: what differs between them is a primitive or a capability in the
contract.

A new backend is a package with one module per contract family (``core.py``, ``numpy.py``, ...; see
`kshim.backends.interface`) and one line in `BACKENDS`.
"""

from kshim import config
from kshim.backends import interface

# name: (the framework it needs installed, the package implementing the contract). The first installed one is the
# default when KSHIM_BACKEND is unset.
BACKENDS = {
    "jax": ("jax", "kshim.backends.jax"),
    "torch": ("torch", "kshim.backends.torch"),
}

_NAME = config.choose_backend({name: framework for name, (framework, _) in BACKENDS.items()})
B = interface.bind(_NAME, BACKENDS[_NAME][1])


def load_family(family):
    """The selected backend's module of a family loaded on first use (``"distribution"``)."""
    return interface.load_family(_NAME, BACKENDS[_NAME][1], family)


__all__ = ["B", "BACKENDS", "load_family"]
