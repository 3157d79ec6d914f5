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
