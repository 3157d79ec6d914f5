"""Ops on symbolic tensors: each public op also works on `KerasTensor`s, as a node of the functional graph.

Each public op of ``kshim.ops`` is made once, at import, as a *twin* of the backend function: the twin calls the
backend function directly (one hop) unless a symbolic tensor is among its arguments, and it only looks for one
once a symbolic tensor exists (`LIVE`, set by the first `KerasTensor`). With a symbolic argument the call becomes a
graph node: `BUILD` (bound by ``kshim.layers.operation``, which sits above the ops) makes an operation layer whose
output spec comes from `kshim.ops.compute_output_spec` on the backend function itself (abstract evaluation, no
data). This module imports nothing from kshim.
"""

LIVE = [False]  # True once a symbolic tensor exists: until then an op never inspects its arguments
BUILD = [None]  # BUILD[0](op, args, kwargs): the graph node of ``op(*args, **kwargs)`` on symbolic tensors
TYPES = set()  # the symbolic tensor classes (`KerasTensor` registers itself)
_SEQUENCES = (list, tuple)


def _holds_symbolic(values):
    for a in values:
        t = type(a)
        if t in TYPES or (t in _SEQUENCES and any(type(v) in TYPES for v in a)):
            return True
    return False


def has_symbolic(args, kwargs):
    """True if a symbolic tensor is among ``args``/``kwargs``, at the top or inside a list or tuple
    (``ops.concatenate([a, b])``)."""
    return _holds_symbolic(args) or (bool(kwargs) and _holds_symbolic(kwargs.values()))


def twin(fn, name, module):
    """The public op ``name`` of Keras module ``module`` ("keras.src.ops.numpy") over backend function ``fn``."""
    def op(*args, **kwargs):
        if LIVE[0] and has_symbolic(args, kwargs):
            return BUILD[0](op, args, kwargs)
        return fn(*args, **kwargs)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = getattr(fn, "__doc__", None)
    op.__wrapped__ = fn
    op.keras_op = (module, name)
    return op


def install(namespace, names, module):
    """Replace each op ``names`` of a module's ``namespace`` by its `twin` (aliases of one function each get their
    own twin, under their own name: Keras 3 has a class per name, ``Divide`` and ``TrueDivide``)."""
    for name in names:
        namespace[name] = twin(namespace[name], name, module)
