"""The Python attributes a recorded step reads: found while it is recorded, checked before each replay.

A record freezes every Python value the step used: ``x * self.factor`` becomes ``mul(x, 0.5)``. A value that
changes later (a callback that anneals ``self.factor`` each epoch) must not be replayed stale. While a step is
recorded, the classes of the objects it can reach (its bound ``self``, closure cells, and what their instance
dicts hold, transitively) have their attribute reads watched, and each read of an instance attribute holding a
Python number or bool is noted with the value it had when the call began. Those become the replay's guards: a
replay runs only while every guard still holds that value; when one changes, the step is recorded again for the
new values (or, after `MAX_RERECORDS` changes, stays eager). A step that changes an attribute it reads (a Python
counter) is not recorded at all. Module globals and values captured some other way are not watched: as under
``jax.jit``, they are frozen.
"""

import threading
import types

import numpy as np
import torch

MAX_RERECORDS = 8  # records of one signature for new attribute values before it stays eager
_SCALARS = (bool, int, float, complex)
_MISSING = object()
_MAX_OBJECTS = 50000
_SKIP_MODULES = ("torch", "numpy", "jax", "builtins", "weakref", "threading", "collections", "typing")


def _reachable(fn):
    """The objects with an instance dict that ``fn`` can reach through ``self``, closures and instance dicts."""
    roots = []
    if isinstance(fn, types.MethodType):
        roots.append(fn.__self__)
        fn = fn.__func__
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            roots.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    seen, found, stack = set(), [], roots
    while stack and len(seen) < _MAX_OBJECTS:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (torch.Tensor, np.ndarray, type, types.ModuleType, str, bytes)) \
                or isinstance(obj, _SCALARS) or obj is None:
            continue
        seen.add(id(obj))
        if isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, types.MethodType):
            stack.append(obj.__self__)
        elif isinstance(obj, types.FunctionType):
            stack.extend(c.cell_contents for c in (obj.__closure__ or ()) if _full(c))
        else:
            d = getattr(obj, "__dict__", None)
            if isinstance(d, dict) and not type(obj).__module__.startswith(_SKIP_MODULES):
                found.append(obj)
                stack.extend(d.values())
    return found


def _full(cell):
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


class Watch:
    """Context manager around the recorded call: notes the instance attributes it reads (numbers and bools)."""

    def __init__(self, fn):
        self.objects = _reachable(fn)
        self.reads = {}  # (id(obj), name) -> obj
        self.failure = None
        self._patched = []
        self._thread = None

    def __enter__(self):
        self._thread = threading.get_ident()
        # The value of every number attribute when the call begins (a read later may follow a write)
        self.start = {(id(o), k): v for o in self.objects for k, v in vars(o).items() if type(v) in _SCALARS}
        reads, start, thread = self.reads, self.start, self._thread

        def watched(obj, name, _get=object.__getattribute__):
            value = _get(obj, name)
            if type(value) in _SCALARS and threading.get_ident() == thread:
                key = (id(obj), name)
                if key in start and key not in reads:
                    reads[key] = obj
            return value

        for cls in {type(o) for o in self.objects}:
            if "__getattribute__" not in cls.__dict__ and cls.__getattribute__ is object.__getattribute__:
                try:
                    cls.__getattribute__ = watched
                except (TypeError, AttributeError):
                    continue
                self._patched.append(cls)
        return self

    def __exit__(self, *exc):
        for cls in self._patched:
            del cls.__getattribute__
        self._patched = []
        return False

    def guards(self):
        """``(dicts, names, values)``, or None after setting ``failure`` when the step changed one it read."""
        dicts, names, values = [], [], []
        for (oid, name), obj in self.reads.items():
            before = self.start[(oid, name)]
            after = vars(obj).get(name, _MISSING)
            if type(after) is not type(before) or after != before:
                self.failure = (f"the step changes the Python attribute {type(obj).__name__}.{name} that it reads "
                                f"({before!r} -> {after!r}); pass it as a tensor to record the step")
                return None
            dicts.append(vars(obj))
            names.append(name)
            values.append((type(before), before))
        return dicts, names, tuple(values)


def guards_hold(guards):
    """Whether every watched attribute still holds the value the step was recorded with."""
    if guards is None:
        return True
    dicts, names, values = guards
    current = tuple((type(v), v) for v in (d.get(n, _MISSING) for d, n in zip(dicts, names)))
    return current == values
