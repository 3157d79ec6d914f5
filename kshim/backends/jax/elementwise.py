"""JAX backend: numpy's remaining elementwise functions, each the ``jnp`` function of the same name."""

import jax.numpy as jnp

from kshim.backends.interface.elementwise import BINARY, UNARY
from kshim.backends.jax.core import _as_operand


def _unary(fn):
    def op(x):
        return fn(_as_operand(x))

    return op


def _binary(fn):
    def op(x1, x2):
        return fn(_as_operand(x1), _as_operand(x2))

    return op


for _name in UNARY:
    globals()[_name] = _unary(getattr(jnp, _name))
    globals()[_name].__name__ = _name
for _name in BINARY:
    globals()[_name] = _binary(getattr(jnp, _name))
    globals()[_name].__name__ = _name
