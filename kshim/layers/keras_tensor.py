"""Symbolic tensors: a shape and a dtype, plus where they came from. They never touch a backend."""


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


def is_symbolic(x):
    """True if ``x`` is a KerasTensor, or a list/tuple/dict containing one."""
    if isinstance(x, KerasTensor):
        return True
    if isinstance(x, (list, tuple)):
        return any(is_symbolic(v) for v in x)
    if isinstance(x, dict):
        return any(is_symbolic(v) for v in x.values())
    return False


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
