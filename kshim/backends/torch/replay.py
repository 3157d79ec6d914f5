"""PyTorch backend: compiled steps by record and replay (the default of `compile_step` on torch).

Eager torch pays Python for every layer, loss, metric and optimizer call on every step, and builds an autograd
graph that it throws away. A replayed step pays for neither. Once a step has been called `_EAGER_CALLS` times
with one signature (the nesting, shapes, strides, dtypes and devices of its tensor arguments, and the values of
the others), the next call is recorded: it runs eagerly, as before, under a dispatch mode that writes down every
aten operation torch executes, forward and backward (autograd has done its part when an operation reaches the
mode), in order, in-place updates kept in place, and the grad mode each ran under. From the record, `_generate`
writes a Python function that makes the same calls on its arguments: the same kernels on the same operands, so
the same numbers, bit for bit.

That is checked, not assumed: the generated function must reproduce the next call, which runs eagerly, from
copies of that call's arguments, bit for bit; only then does it run in place of the step for that signature. A
step stays eager, for that signature, when it reads a tensor on the host (``.item()``, ``.numpy()``,
``float(t)``, printing: the value would be frozen into the record), when the check fails, when it returns
tensors the record cannot account for, when arguments alias one another, under ``torch.distributed``, or after
`_MAX_SIGNATURES` signatures. As under ``jax.jit``, a step must
take everything that changes between calls as an argument: a Python value read from outside is frozen, and the
check catches it only when it changes between the recorded call and the checked one.
"""

import math
import warnings
import weakref

import numpy as np
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from kshim.backends.torch.replay_watch import MAX_RERECORDS, Watch, guards_hold

_DETACH = torch.ops.aten.detach.default
_HOST_READS = {torch.Tensor.numpy, torch.Tensor.tolist, torch.Tensor.item, torch.Tensor.__array__,
               torch.Tensor.__bool__, torch.Tensor.__float__, torch.Tensor.__int__, torch.Tensor.__index__,
               torch.Tensor.__complex__, torch.Tensor.__repr__, torch.Tensor.__format__}
_EAGER_CALLS = 2  # calls of a signature that run eagerly before it is recorded: short fits never pay for it
_MAX_SIGNATURES = 8
_STATE = {"recording": False}


def tracing():
    """True while a step is being recorded: code that would read a tensor on the host must not."""
    return _STATE["recording"]


def _flatten(tree, leaves, key):
    """Append the tensors of ``tree`` to ``leaves`` and its structure (with the other values) to ``key``."""
    if isinstance(tree, torch.Tensor):
        leaves.append(tree)
        key.append((tree.shape, tree.stride(), tree.dtype, tree.device))
    elif isinstance(tree, (list, tuple)):
        key.append((type(tree), len(tree)))
        for t in tree:
            _flatten(t, leaves, key)
    elif isinstance(tree, dict):
        key.append((dict, tuple(tree)))
        for t in tree.values():
            _flatten(t, leaves, key)
    else:
        key.append((type(tree), tree))


def _unflatten(tree, leaves, pos):
    if isinstance(tree, torch.Tensor):
        pos[0] += 1
        return leaves[pos[0] - 1]
    if isinstance(tree, (list, tuple)):
        return type(tree)(_unflatten(t, leaves, pos) for t in tree)
    if isinstance(tree, dict):
        return {k: _unflatten(t, leaves, pos) for k, t in tree.items()}
    return tree


def _equal(a, b):
    """``a`` and ``b`` are the same nesting of bit-for-bit equal tensors and equal other values."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
                and a.dtype == b.dtype and torch.equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


class Replayed:
    """``fn`` (pure in its tensor arguments), recorded once per signature and replayed."""

    def __init__(self, fn, from_host):
        self.fn = fn
        self.from_host = from_host  # numpy array -> tensor, as the step itself would convert it
        self.replays = {}  # signature -> the generated function, None (stays eager) or a count of eager calls
        self.guards = {}  # signature -> the Python attributes its record read (see `replay_watch`)
        self.rerecords = {}  # signature -> how often an attribute it read changed
        self.reasons = {}  # signature -> why it stays eager, when a Python attribute is the reason

    def __call__(self, *args, **kwargs):
        if kwargs:
            return self.fn(*args, **kwargs)
        args = tuple(self.from_host(a) if isinstance(a, np.ndarray) else a for a in args)
        leaves, key = [], []
        _flatten(args, leaves, key)
        try:
            key = tuple(key)
            replay = self.replays.get(key, 0)
        except TypeError:  # an unhashable non-tensor argument
            return self.fn(*args)
        if callable(replay) or isinstance(replay, _Pending):
            if not guards_hold(self.guards.get(key)):  # a Python attribute the record read has changed
                return self._record_again(key, args)
        if callable(replay):
            return replay(*leaves)
        if isinstance(replay, _Pending):  # the check, on this call's arguments
            copies = [t.clone() for t in leaves]
            result = self.fn(*args)
            self.replays[key] = replay.check(copies, result)
            return result
        if replay is None or replay < _EAGER_CALLS or _distributed():
            if replay is not None and len(self.replays) < _MAX_SIGNATURES:
                self.replays[key] = replay + 1
            return self.fn(*args)
        self.replays[key], result, guards, reason = _record(self.fn, args, leaves)
        self.guards[key] = guards
        if reason is not None:
            self._refuse(key, reason)
        return result

    def _record_again(self, key, args):
        """Run eagerly (the attribute's new value is used) and record again later, up to `MAX_RERECORDS`."""
        n = self.rerecords[key] = self.rerecords.get(key, 0) + 1
        self.guards.pop(key, None)
        if n > MAX_RERECORDS:
            self.replays[key] = None
            self._refuse(key, f"Python attributes it reads changed {n} times (make them tensors or Variables)")
        else:
            self.replays[key] = 0
        return self.fn(*args)

    def _refuse(self, key, reason):
        self.reasons[key] = reason
        warnings.warn(f"kshim: this torch step is not recorded, it runs eagerly: {reason}.", stacklevel=4)


class _Pending:
    """A recorded step waiting for its check: the generated function must reproduce the next call, run eagerly,
    from copies of that call's arguments, bit for bit."""

    def __init__(self, recorder, result):
        # Generated now, while the recorded tensors that depend on no argument are at hand: calling the public
        # bindings first, the aten overloads themselves if that fails.
        self.candidates = [recorder.generate(result, public) for public in (True, False)]

    def check(self, copies, expected):
        """The first candidate that passes, or None."""
        for i, replay in enumerate(self.candidates):
            if replay is not None and _replays_to(replay, [t.clone() for t in copies] if i == 0 else copies,
                                                  expected):
                return replay
        return None


def _draws_nothing(func, args, kwargs):
    """Whether a seeded operation draws no random numbers in this call: its only randomness is a ``dropout_p``
    argument, and that is 0 (torch's fused attention kernels, which kshim calls without dropout: kshim's own
    dropout comes from its counter-based hash)."""
    names = [a.name for a in func._schema.arguments]
    if "dropout_p" not in names:
        return False
    i = names.index("dropout_p")
    p = kwargs["dropout_p"] if "dropout_p" in kwargs else args[i] if i < len(args) else \
        func._schema.arguments[i].default_value
    return isinstance(p, (int, float)) and p == 0


def _distributed():
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _replays_to(replay, arguments, expected):
    """Whether ``replay(*arguments)`` runs and gives ``expected``, bit for bit."""
    try:
        return _equal(replay(*arguments), expected)
    except Exception:  # noqa: BLE001 - a replay that cannot run is not used; see the module doc
        return False


def _record(fn, args, leaves):
    """``(state, fn(*args))``: the call runs eagerly, as always, while it is recorded; ``state`` is the `_Pending`
    replay, or None when the record cannot be replayed."""
    if len({id(t) for t in leaves}) != len(leaves):  # an in-place update of one would show through the other
        return None, fn(*args), None, None
    recorder = _Recorder(leaves)
    watch = Watch(fn)
    _STATE["recording"] = True
    try:
        with watch, recorder, _HostReads(recorder):
            result = fn(*args)
    finally:
        _STATE["recording"] = False
    guards = watch.guards()
    if guards is None:  # the step changes a Python attribute it reads: a record would freeze it
        return None, result, None, watch.failure
    pending = _Pending(recorder, result)
    return (pending if pending.candidates[0] is not None else None), result, guards, None


class _Unreplayable(Exception):
    pass


def _hold(tensor, strong):
    """A callable that gives ``tensor`` back: holding it (``strong``), or while something else holds it."""
    return (lambda: tensor) if strong else weakref.ref(tensor)


class _Value:
    """A tensor of the record: an argument, a constant from outside it, or an output of an operation. Only the
    tensors that depend on no argument (folding candidates, `_folded`) are held; the others are looked at through
    weak references, so recording a step needs no more memory than running it."""

    __slots__ = ("name", "ref", "version", "node", "constant", "static")

    def __init__(self, name, tensor, node=None, constant=False, static=False):
        self.name, self.node, self.constant, self.static = name, node, constant, constant or static
        self.ref = _hold(tensor, self.static)
        self.version = None if tensor.is_inference() else tensor._version  # inference tensors keep no count

    @property
    def tensor(self):
        return self.ref()


class _Node:
    __slots__ = ("func", "args", "kwargs", "outputs", "modes")

    def __init__(self, func, args, kwargs, outputs):
        self.func, self.args, self.kwargs, self.outputs = func, args, kwargs, outputs
        # Kernels look at these: the oneDNN LSTM keeps its workspace only with gradients enabled, and
        # accumulating index_put_ picks its algorithm by the deterministic flag (see core._deterministic_backward).
        self.modes = (torch.is_grad_enabled(), torch._C._get_deterministic_algorithms())


class _HostReads(TorchFunctionMode):
    """Marks the record as unusable when the step reads a tensor's value on the host (the read itself goes on:
    the recorded call is the real one)."""

    def __init__(self, recorder):
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _HOST_READS and self.recorder.failure is None:
            self.recorder.failure = f"the step reads a tensor on the host ({func.__name__})"
        return func(*args, **(kwargs or {}))


class _Recorder(TorchDispatchMode):
    """Runs every aten operation as usual and writes it down, with its operands as `_Value` references."""

    @classmethod
    def _should_skip_dynamo(cls):  # torch would wrap the mode in torch._dynamo.disable, importing it (1.5 s)
        return False

    def __init__(self, inputs):
        super().__init__()
        # id(tensor) -> (a reference to the tensor, its _Value); a dead tensor's id may come back on a new one,
        # which the reference tells apart
        self.values = {}
        self.inputs = [self._new(t, f"a{i}") for i, t in enumerate(inputs)]
        self.nodes, self.constants, self.failure = [], [], None

    def _new(self, tensor, name, node=None, constant=False, static=False):
        value = _Value(name, tensor, node, constant, static)
        self.values[id(tensor)] = (value.ref, value)
        return value

    def _find(self, x):
        entry = self.values.get(id(x))
        return entry[1] if entry is not None and entry[0]() is x else None

    def _ref(self, x):
        if isinstance(x, torch.Tensor):
            value = self._find(x)
            if value is None:
                value = self._new(x, f"k{len(self.constants)}", constant=True)
                self.constants.append(value)
            return value
        if isinstance(x, (list, tuple)):
            return type(x)(self._ref(v) for v in x)
        return x

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.failure is None:
            try:
                self._note(func, args, kwargs, out)
            except Exception as e:  # noqa: BLE001 - the record is unusable; the call itself goes on
                self.failure = f"{func}: {e}"
        return out

    def _note(self, func, args, kwargs, out):
        if not isinstance(func, torch._ops.OpOverload) or (torch.Tag.nondeterministic_seeded in func.tags
                                                          and not _draws_nothing(func, args, kwargs)):
            raise _Unreplayable(f"{func} draws random numbers or is not an aten operation")
        node = _Node(func, self._ref(args), {k: self._ref(v) for k, v in kwargs.items()}, None)
        if func is _DETACH:  # only cuts autograd history, which a replay does not keep: the input stands for it
            self.values[id(out)] = (_hold(out, node.args[0].static), node.args[0])
            return
        operands = _leaves((node.args, list(node.kwargs.values())))
        static = not func._schema.is_mutable and all(v.static for v in operands)
        if isinstance(out, torch.Tensor):
            node.outputs = self._new(out, f"v{len(self.nodes)}", node, static=static)
        elif isinstance(out, (list, tuple)) and all(t is None or isinstance(t, torch.Tensor) for t in out):
            node.outputs = [None if t is None else self._new(t, f"v{len(self.nodes)}_{i}", node, static=static)
                            for i, t in enumerate(out)]
        elif out is None:
            node.outputs = None
        else:  # a Python number or bool: the step reads a value on the host
            raise _Unreplayable(f"{func} returns a host value")
        self.nodes.append(node)

    def generate(self, expected, public):
        if self.failure is not None:
            return None
        try:
            outputs = self._output_refs(expected)
        except _Unreplayable:
            return None
        return _generate(self.inputs, self.nodes, outputs, _folded(self.nodes, expected), public)

    def _output_refs(self, tree):
        if isinstance(tree, torch.Tensor):
            value = self._find(tree)
            if value is None or value.constant:
                raise _Unreplayable("the step returns a tensor the record did not make")
            return value
        if isinstance(tree, (list, tuple)):
            return type(tree)(self._output_refs(t) for t in tree)
        if isinstance(tree, dict):
            return {k: self._output_refs(t) for k, t in tree.items()}
        if tree is None or type(tree) in (bool, int, float, str):
            return tree
        raise _Unreplayable(f"the step returns a {type(tree).__name__}")


def _leaves(tree, kind=_Value):
    """The ``kind`` objects (record values, or tensors) in nested lists, tuples and dicts."""
    if isinstance(tree, kind):
        yield tree
    elif isinstance(tree, (list, tuple)):
        for t in tree:
            yield from _leaves(t, kind)
    elif isinstance(tree, dict):
        for t in tree.values():
            yield from _leaves(t, kind)


def _storage(t):
    return t.untyped_storage().data_ptr()


def _folded(nodes, result):
    """The values that depend on constants only (an ``arange``, a batch size cast to a float) and that nothing
    wrote to after they were made: the replay uses the recorded tensors instead of computing them again."""
    returned = {_storage(t) for t in _leaves(result, torch.Tensor)}
    folded = set()
    for node in nodes:
        func = node.func
        if func._schema.is_mutable or node.outputs is None:
            continue
        if not all(v.constant or v in folded for v in _leaves((node.args, list(node.kwargs.values())))):
            continue
        outs = list(_leaves(node.outputs))
        if all(v.version is not None and v.tensor._version == v.version and _storage(v.tensor) not in returned
               for v in outs):
            folded.update(outs)
    return folded


# ----------------------------------------------------------------------------------------------------------------
# Code generation. Calling ``torch.ops.aten.<op>.<overload>`` goes through a Python wrapper around the boxed
# dispatcher: about 1.5 microseconds more per operation than the public binding (``torch.mm``, ``Tensor.view``)
# eager code calls. The generated function calls the public binding when torch has one of the operation's name
# (its argument parser picks the same overload from the same arguments; the check of the first replay stands
# behind that: where it fails, as for the oneDNN LSTM's backward, the record is generated again with the aten
# overloads), the overload otherwise, and frees every intermediate value after its last use.


def _binding(func, public):
    name = func.overloadpacket.__name__
    fn = public and (getattr(torch._C._VariableFunctions, name, None) or getattr(torch._C.TensorBase, name, None))
    return fn or func._op


def _needed(nodes, outputs):
    """The nodes that write to a tensor, or make a value that is returned or that such a node reads."""
    needed, kept = set(_leaves(outputs)), []
    for node in reversed(nodes):
        if node.func._schema.is_mutable or any(v in needed for v in _leaves(node.outputs)):
            kept.append(node)
            needed.update(_leaves((node.args, list(node.kwargs.values()))))
    return kept[::-1]


def _generate(inputs, nodes, outputs, folded, public):
    scope, lines = {}, []

    def constant(value, hint="c"):
        name = f"{hint}_{len(scope)}"
        scope[name] = value
        return name

    def code(a):
        if isinstance(a, _Value):
            if a.constant or a in folded:
                if a.name not in scope:
                    scope[a.name] = a.tensor
            return a.name
        if isinstance(a, list):
            return "[" + ", ".join(code(x) for x in a) + "]"
        if isinstance(a, tuple):
            return "(" + "".join(code(x) + ", " for x in a) + ")"
        if isinstance(a, dict):
            return "{" + ", ".join(f"{k!r}: {code(v)}" for k, v in a.items()) + "}"
        if a is None or type(a) in (bool, int, str) or (type(a) is float and math.isfinite(a)):
            return repr(a)
        return constant(a)

    kept = [n for n in nodes if not (n.outputs is not None and all(v in folded for v in _leaves(n.outputs)))]
    kept = _needed(kept, outputs)
    last_use = {}
    for i, node in enumerate(kept):
        for v in _leaves((node.args, list(node.kwargs.values()))):
            if not v.constant and v not in folded:
                last_use[v] = i
    returned = set(_leaves(outputs))
    frees = {}
    for v, i in last_use.items():
        if v not in returned and v.node is not None:
            frees.setdefault(i, []).append(v.name)
    grad = deterministic = None  # the replay sets the modes where the record saw them change, and restores them
    for i, node in enumerate(kept):
        if node.modes[0] != grad:
            grad = node.modes[0]
            lines.append(f"set_grad({grad})")
        if node.modes[1] != deterministic:
            deterministic = node.modes[1]
            lines.append(f"set_deterministic({deterministic}, warn_only=True)")
        call = ", ".join([code(a) for a in node.args] + [f"{k}={code(v)}" for k, v in node.kwargs.items()])
        fn = constant(_binding(node.func, public), node.func.overloadpacket.__name__)
        if isinstance(node.outputs, list):
            targets = ["_" if v is None else v.name for v in node.outputs]
            lines.append(f"{', '.join(targets)}, = {fn}({call})")
            unused = [v.name for v in node.outputs if v is not None and v not in last_use and v not in returned]
            if unused:
                lines.append("del " + ", ".join(unused))
        elif node.outputs is not None:
            lines.append(f"{node.outputs.name} = {fn}({call})")
            if node.outputs not in last_use and node.outputs not in returned:
                lines.append(f"del {node.outputs.name}")
        else:
            lines.append(f"{fn}({call})")
        if i in frees:
            lines.append("del " + ", ".join(frees[i]))
    lines.append(f"return {code(outputs)}")
    body = "".join(f"        {line}\n" for line in lines)
    source = (f"def replay({', '.join(v.name for v in inputs)}):\n"
              "    entry = (is_grad(), is_deterministic(), is_warn_only())\n"
              f"    try:\n{body}"
              "    finally:\n        set_grad(entry[0])\n        set_deterministic(entry[1], warn_only=entry[2])\n")
    scope.update(set_grad=torch._C._set_grad_enabled, is_grad=torch.is_grad_enabled,
                 set_deterministic=torch._C._set_deterministic_algorithms,
                 is_deterministic=torch._C._get_deterministic_algorithms,
                 is_warn_only=torch._C._get_deterministic_algorithms_warn_only)
    exec(compile(source, "<kshim replay>", "exec"), scope)  # noqa: S102 - code generated above from the record
    replay = scope["replay"]
    replay.source = source  # for reading what a step runs
    return replay
