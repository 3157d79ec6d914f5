"""The contract's foreach family: elementwise ops over lists of tensors, for optimizer updates.
Implemented by ``kshim/backends/<backend>/foreach.py``; bound (without the ``foreach_`` prefix) by
`kshim.ops.foreach`.

`kshim.backends.interface` lists these among its primitives; they follow its conventions. Each one is defined by
an exact formula that the two backends compute bit for bit alike; a backend differs only in how many kernels and
allocations it spends on it.

Fused list ops (optimizer updates; `kshim.ops.foreach` binds them without the ``foreach_`` prefix)
---------------------------------------------------------------------------------------------------
An optimizer updates every variable with the same few elementwise ops. Written per variable, that is one Python
call (and one framework dispatch) per op per variable; written over lists, it is one call per op. torch maps
each function to its ``torch._foreach_*`` kernel (one C++ loop on CPU, one fused launch on CUDA); jax applies the
op to each element (under ``jit`` XLA fuses the whole update anyway).

- ``xs`` is a list of tensors. ``ys`` is a list of tensors of the same length, each with its ``xs`` partner's
  shape, or a single Python number or 0-d tensor used for every element.
- Each result element is bit for bit what the matching single-tensor primitive gives (``add(x, y)``,
  ``multiply(x, y)``, ...) for the same operands: plain IEEE ops, one rounding each, never fused into
  multiply-adds. Python numbers are weak, as for the single-tensor primitives.
- ``inplace=True`` allows the backend to write the result into ``xs`` (then a list of tensors) and return ``xs``:
  torch does, with the in-place ``torch._foreach_*_`` kernel (no allocation, one pass less over memory); jax
  returns new arrays as always (a compiled step with donated buffers reuses them anyway). Pass it only for
  tensors nothing else reads: temporaries, or the donated inputs of a compiled step. With ``inplace=False`` (the
  default) the inputs are never modified and the result is a new list.
"""


def foreach_add(xs, ys, inplace=False):
    """``[add(x, y) for x, y in zip(xs, ys)]`` (``ys`` a list, or one scalar for every element)."""


def foreach_subtract(xs, ys, inplace=False):
    """``[subtract(x, y) ...]`` (``ys`` a list, or one scalar for every element)."""


def foreach_multiply(xs, ys, inplace=False):
    """``[multiply(x, y) ...]`` (``ys`` a list, or one scalar for every element)."""


def foreach_divide(xs, ys, inplace=False):
    """``[divide(x, y) ...]`` (``ys`` a list, or one scalar for every element)."""


def foreach_maximum(xs, ys, inplace=False):
    """``[maximum(x, y) ...]`` (``ys`` a list, or one scalar for every element)."""


def foreach_sqrt(xs, inplace=False):
    """``[sqrt(x) for x in xs]``."""


def foreach_blocked(fn, lists, num_outputs):
    """Run an elementwise list update that writes its results in place, piece by piece: returns the updated
    ``lists[:num_outputs]``.

    ``lists`` holds aligned lists of tensors (element i of every list has one shape). ``fn(*lists)`` is made of
    list ops only, writes its results into its first ``num_outputs`` arguments (``inplace=True``) and returns
    those lists. torch calls ``fn`` on aligned pieces of the flattened tensors, about 256K elements each (small
    tensors share a piece), so the dozen passes of an optimizer update find each piece still in cache instead of
    streaming every tensor through memory a dozen times; jax calls it once on the whole lists (XLA fuses the
    update into one pass anyway) and returns its result. Each element goes through the same ops either way: the
    same numbers, bit for bit. Pass only tensors nothing else reads (the donated inputs of a compiled step)."""
