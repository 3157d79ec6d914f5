"""Symbolic tensors: a shape and a dtype, plus where they came from. They never touch a backend.

The Python operators and indexing of a KerasTensor are the `kshim.ops` ops (``x + 1`` is ``ops.add(x, 1)``), which
on symbolic tensors become nodes of the functional graph (`kshim.layers.operation`).
"""

from kshim import ops
from kshim.ops import symbolic as _symbolic


class KerasTensor:
    """The symbolic output of ``Input`` or of a layer called on symbolic inputs.

    ``shape`` is a tuple whose entries are ints or None (unknown, usually the batch axis). ``_keras_history`` is
    ``(layer, node_index, tensor_index)``: the layer that produced it, which of its calls, which of its outputs.
    ``_keras_mask`` is the symbolic mask of the value (a bool KerasTensor), or None when it has none.
    """

    _kshim_symbolic = True  # a spec for the backends' abstract evaluation (`kshim.ops.compute_output_spec`)
    _keras_mask = None

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.name = name
        self._keras_history = history
        _symbolic.LIVE[0] = True  # from now on, ops look for symbolic arguments

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def _eager_error(self, *args, **kwargs):
        raise ValueError(
            f"A KerasTensor (symbolic {self.shape}) cannot be used in an eager computation. Symbolic tensors "
            "only flow through layers: wrap the computation in a layer (for example `kshim.layers.Lambda`)."
        )

    __array__ = _eager_error
    __bool__ = _eager_error
    __float__ = _eager_error

    # The Python operators, as Keras 3 maps them to ops (no `__eq__`: KerasTensors stay hashable and comparable).
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.subtract(self, other)
    def __rsub__(self, other): return ops.subtract(other, self)
    def __mul__(self, other): return ops.multiply(self, other)
    def __rmul__(self, other): return ops.multiply(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __truediv__(self, other): return ops.true_divide(self, other)
    def __rtruediv__(self, other): return ops.true_divide(other, self)
    def __floordiv__(self, other): return ops.floor_divide(self, other)
    def __rfloordiv__(self, other): return ops.floor_divide(other, self)
    def __mod__(self, other): return ops.mod(self, other)
    def __rmod__(self, other): return ops.mod(other, self)
    def __pow__(self, other): return ops.power(self, other)
    def __rpow__(self, other): return ops.power(other, self)
    def __neg__(self): return ops.negative(self)
    def __abs__(self): return ops.absolute(self)
    def __lt__(self, other): return ops.less(self, other)
    def __le__(self, other): return ops.less_equal(self, other)
    def __gt__(self, other): return ops.greater(self, other)
    def __ge__(self, other): return ops.greater_equal(self, other)
    def __ne__(self, other): return ops.not_equal(self, other)
    def __and__(self, other): return ops.logical_and(self, other)
    def __rand__(self, other): return ops.logical_and(other, self)
    def __or__(self, other): return ops.logical_or(self, other)
    def __ror__(self, other): return ops.logical_or(other, self)
    def __invert__(self): return ops.logical_not(self)
    def __getitem__(self, key): return ops.get_item(self, key)

    __hash__ = object.__hash__


_symbolic.TYPES.add(KerasTensor)


def is_symbolic(x):
    """True if ``x`` is a KerasTensor, or a list/tuple/dict containing one."""
    if isinstance(x, KerasTensor):
        return True
    if isinstance(x, (list, tuple)):
        return any(is_symbolic(v) for v in x)
    if isinstance(x, dict):
        return any(is_symbolic(v) for v in x.values())
    return False


def flatten_leaves(structure):
    """Every leaf of a nested structure of lists, tuples and dicts, in Keras's ``tree.flatten`` order (dict keys
    sorted)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten_leaves(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten_leaves(item)]
    return [structure]


def flatten_keras_tensors(structure):
    """The KerasTensors of a nested structure (lists, tuples, dicts in insertion order), in order."""
    if isinstance(structure, KerasTensor):
        return [structure]
    if isinstance(structure, dict):
        return [t for v in structure.values() for t in flatten_keras_tensors(v)]
    if isinstance(structure, (list, tuple)):
        return [t for v in structure for t in flatten_keras_tensors(v)]
    raise TypeError(f"Model: inputs and outputs must be KerasTensors (from `kshim.Input` or a layer call on one), "
                    f"or lists/dicts of them. Received: {structure!r}")
