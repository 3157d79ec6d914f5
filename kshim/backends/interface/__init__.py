"""The backend contract: every primitive the frontend may call, documented once, one module per op family.

The families have the same names in three places, so adding a primitive means touching one file in each:

    kshim/backends/interface/<family>.py    the documented stub (signature and semantics)
    kshim/backends/<backend>/<family>.py    its implementation, once per backend
    kshim/ops/<family>.py                   its binding in ``kshim.ops`` (one hop), or a composite written there

The families are core, numpy, elementwise, nn, convolution, rnn, image, linalg, math, complex, dynamic (value-
dependent shapes), control_flow, foreach, layer and random (``kshim.random`` is the frontend of that last one), and
distribution and export, which are loaded on first use by ``kshim.distribution`` and ``kshim.export`` (see
`load_family`).
`bind` gathers a backend's implementations into the one namespace ``kshim.backends.B``, following this contract,
so no backend keeps a list of its own exports.

Conventions every primitive follows:
- Inputs may be backend tensors, numpy arrays, Python scalars or nested lists, or kshim Variables (any object
  with ``_kshim_variable = True`` and a ``.value`` attribute). Outputs are native backend tensors
  (``jax.Array`` / ``torch.Tensor``).
- Python scalars are "weak": ``add(float32_tensor, 2.0)`` stays float32.
- ``dtype`` arguments are kshim dtype strings ("float32", "int32", "bool", ...) or None.
  JAX without x64 stores "int64"/"float64" as "int32"/"float32".
- ``axis`` is None (all axes), an int or a tuple of ints; negative axes count from the end.
- Semantics follow numpy (and Keras 3's ``keras.ops`` of the same name) unless stated otherwise.
- Integer arithmetic on int32 wraps around (two's complement) on both backends; kshim's random numbers rely on it.
"""

import importlib
import inspect
import pkgutil
import types

# Families with no primitive in ``kshim.backends.B``: their backend module is loaded on first use (`load_family`),
# so ``import kshim`` does not pay for it.
LOADED_ON_FIRST_USE = ("distribution", "export")


def _contract(family):
    return importlib.import_module(f"{__name__}.{family}")


def _stubs(module):
    """The documented stubs a contract module defines, by name (imports and private helpers excluded)."""
    return {name: fn for name, fn in inspect.getmembers(module, inspect.isfunction)
            if fn.__module__ == module.__name__ and not name.startswith("_")}


FAMILIES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__)))
PRIMITIVES = {name: stub for family in FAMILIES if family not in LOADED_ON_FIRST_USE
              for name, stub in _stubs(_contract(family)).items()}
"""Every primitive of ``kshim.backends.B``, by name: its documented stub (signature and semantics)."""


def family_of(name):
    """The family of primitive ``name`` (the file to read in the contract, in each backend and in ``kshim.ops``)."""
    return PRIMITIVES[name].__module__.rpartition(".")[2]


def _missing(backend, name):
    def missing(*args, **kwargs):
        raise NotImplementedError(f"The {backend} backend does not implement `{name}` (the contract is in "
                                  f"kshim/backends/interface/{family_of(name)}.py).")

    missing.__name__ = missing.__qualname__ = name
    return missing


def bind(name, package):
    """``kshim.backends.B`` for the backend ``name`` implemented by ``package``: a module holding, for every
    primitive, the function of the same name in ``<package>.<family>`` (the same function object: one hop).

    A primitive the backend lacks raises NotImplementedError naming it when called; ``B.MISSING`` lists them (empty
    for a complete backend), so a new backend can run what it has while it grows."""
    bound = types.ModuleType("kshim.backends.B", f"The {name} backend ({package}), bound to the contract.")
    missing = []
    for family in FAMILIES:
        if family in LOADED_ON_FIRST_USE:
            continue
        try:
            module = importlib.import_module(f"{package}.{family}")
        except ModuleNotFoundError as e:
            if e.name != f"{package}.{family}":
                raise
            module = None
        for primitive in _stubs(_contract(family)):
            fn = getattr(module, primitive, None)
            if fn is None:
                missing.append(primitive)
                fn = _missing(name, primitive)
            setattr(bound, primitive, fn)
    bound.NAME = name
    bound.PACKAGE = package
    bound.MISSING = tuple(missing)
    return bound


def load_family(name, package, family):
    """The module of backend ``name`` (implemented by ``package``) for a family `LOADED_ON_FIRST_USE` (e.g.
    ``kshim.backends.torch.distribution``)."""
    if family not in LOADED_ON_FIRST_USE:
        raise ValueError(f"load_family: `family` must be one of {list(LOADED_ON_FIRST_USE)} (the others are bound "
                         f"into kshim.backends.B at import). Received: family={family!r}")
    try:
        return importlib.import_module(f"{package}.{family}")
    except ModuleNotFoundError as e:
        if e.name != f"{package}.{family}":
            raise
        raise NotImplementedError(f"The {name} backend does not implement the {family} family (the contract is in "
                                  f"kshim/backends/interface/{family}.py).") from None
