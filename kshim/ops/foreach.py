"""`kshim.ops.foreach`: elementwise ops over lists of tensors, for optimizer updates.

``foreach.add(xs, ys)`` is ``[ops.add(x, y) for x, y in zip(xs, ys)]`` (``ys`` may also be one scalar for all), bit
for bit, in one call: torch runs its fused ``_foreach`` kernels. ``foreach.blocked(fn, lists, n)`` runs an in-place
update made of such ops piece by piece (in cache on torch). See `kshim.backends.interface.foreach`.
"""

from kshim.backends import B

add = B.foreach_add
subtract = B.foreach_subtract
multiply = B.foreach_multiply
divide = B.foreach_divide
maximum = B.foreach_maximum
sqrt = B.foreach_sqrt
blocked = B.foreach_blocked

__all__ = ["add", "subtract", "multiply", "divide", "maximum", "sqrt", "blocked"]
