"""The Keras 3 names kshim deliberately leaves out, and the error that says so.

A namespace's ``__getattr__`` raises `not_provided` for a name listed here, so ``keras.X`` fails with the reason
instead of a bare "no attribute"; ``kshim.tools.api_coverage`` lists them apart (their message starts with
``kshim does not provide``). README.md, "Public names not provided", lists the same names.
"""

NOT_PROVIDED = "kshim does not provide"


def not_provided(namespace, name, reason):
    """The AttributeError for ``namespace.name``, left out on purpose for ``reason``."""
    return AttributeError(f"{NOT_PROVIDED} {namespace}.{name} (Keras 3 has it): {reason}")


def raise_absent(namespace, name, absent):
    """Raise the right AttributeError for a missing ``name``: the reason when ``absent`` (name -> reason) lists it,
    else Python's usual message."""
    if name in absent:
        raise not_provided(namespace, name, absent[name])
    raise AttributeError(f"module {namespace!r} has no attribute {name!r}")
