"""JAX backend: the foreach family of the contract (`kshim.backends.interface.foreach`).

The list ops apply the op to each element: under ``jit`` XLA fuses the whole optimizer update, so a comprehension
is all they need, and jax arrays are immutable, so ``inplace`` changes nothing (a compiled step with donated buffers
reuses them anyway).
"""

from kshim.backends.jax.numpy import add, divide, maximum, multiply, sqrt, subtract


def _map(op, xs, ys):
    if isinstance(ys, (list, tuple)):
        return [op(x, y) for x, y in zip(xs, ys)]
    return [op(x, ys) for x in xs]


def foreach_add(xs, ys, inplace=False):
    return _map(add, xs, ys)


def foreach_subtract(xs, ys, inplace=False):
    return _map(subtract, xs, ys)


def foreach_multiply(xs, ys, inplace=False):
    return _map(multiply, xs, ys)


def foreach_divide(xs, ys, inplace=False):
    return _map(divide, xs, ys)


def foreach_maximum(xs, ys, inplace=False):
    return _map(maximum, xs, ys)


def foreach_sqrt(xs, inplace=False):
    return [sqrt(x) for x in xs]


def foreach_blocked(fn, lists, num_outputs):
    return list(fn(*lists))[:num_outputs]
