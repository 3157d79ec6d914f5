"""Automatic unique names, as Keras gives them: ``dense``, ``dense_1``, ``dense_2``..."""

import re

_COUNTS = {}


def to_snake_case(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return s.replace("__", "_")


def uniquify(base):
    """``base`` the first time, then ``base_1``, ``base_2``, ... (per process, as Keras)."""
    n = _COUNTS.get(base, 0)
    _COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset_names():
    """Forget every name given so far (`kshim.backend.clear_session` calls this)."""
    _COUNTS.clear()


_SCOPES = []  # the names of the active `name_scope`s, outermost first


def scoped_path(name):
    """``name`` prefixed by the active name scopes: ``outer/inner/name``."""
    return "/".join(_SCOPES + [name]) if _SCOPES else name


class name_scope:  # noqa: N801  (Keras 3 spells it so)
    """Prefix the path of every Variable created inside the block with ``name`` (``keras.name_scope``).

    Nested scopes join with ``/``. Layers give their own variables ``layer_name/variable_name`` paths.
    """

    def __init__(self, name, **kwargs):
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"name_scope: `name` must be a non-empty string without '/'. Received: name={name!r}")
        self.name = name

    def __enter__(self):
        _SCOPES.append(self.name)
        return self

    def __exit__(self, *exc):
        _SCOPES.pop()
        return False
