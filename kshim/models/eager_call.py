"""Eager calls of a built model, ``model(x)``, through a compiled forward where the backend offers one.

On jax an eager call dispatches every op on its own: a tiny MLP cost 14x a jitted forward. Where the backend
answers `kshim.ops.compiled_eager_call` with a function (jax: ``jax.jit``), a model keeps one compiled forward per
*key*, and a call with a key seen before runs it instead of the layers' Python:

- the input signature: nesting, shapes and dtypes of the (converted) inputs, and the ``training`` value;
- the model's structure: every layer reached from it (a layer added, popped or replaced changes it) and its
  variables, split into trainable and non-trainable (a changed ``trainable`` flag changes it).

The variables' *values* are arguments of the compiled forward, never constants inside it, so new weights
(``set_weights``, ``assign``, ``fit``, loading) are always seen. Non-trainable values the call changes (a
stateful RNN's states, a BatchNormalization's moving statistics or a Dropout's seed state under
``training=True``) are assigned back, as the eager call would.

The first `EAGER_CALLS` calls of each key run eagerly, as before (a model called a few times, as in most
tests, never pays for a trace); the compiled forward is used from the next call on, and only when the eager calls
left no losses (``add_loss``, activity regularizers: an eager call must expose them as
``model.losses``). A key whose trace fails (a layer reading a value on the host) stays eager. A Python attribute
that ``call`` reads (not a variable, not an argument) is frozen at the trace, as in ``predict``. Calls with
other arguments (``mask``, extra keywords), symbolic inputs, nested calls inside another layer or inside a
stateless call run eagerly, as does everything on backends that answer None (torch).

Computing the key walks the model (its layers, variables and flags): for a tiny model that costs several times
the compiled forward itself. So the last compiled call is remembered with `kshim.variables.STRUCTURE`, a counter
that every layer attribute set, created or hand-tracked variable, changed ``trainable`` flag and Sequential
``add``/``pop`` bumps: while it is unchanged and the next call passes one backend array of the same type, shape
and dtype with the same ``training``, the model cannot have changed what the key says, and the walk is skipped.
"""

import weakref

import numpy as np

from kshim import ops
from kshim.layers.layer import _CALLS, _StatelessDepth
from kshim.variables import STRUCTURE, values_lock

_MAX_KEYS = 8  # per model; further signatures run eagerly
EAGER_CALLS = 3  # calls of a key that run eagerly before the compiled forward: a few calls never pay a trace
_ABSTRACT = object()  # `_run`'s answer when the inputs were abstract (the layers' own call must run)
_BY_MODEL = weakref.WeakKeyDictionary()  # model -> EagerCalls (outside the model: copies and saves never see it)


def call(model, args, kwargs, layer_call):
    """``model(*args, **kwargs)``: ``layer_call()`` (the layer's own eager call) or the compiled forward."""
    calls = _BY_MODEL.get(model)
    if calls is None:
        calls = _BY_MODEL[model] = EagerCalls(model)
    if not calls.enabled or len(args) != 1 or (kwargs and kwargs.keys() != {"training"}):
        return layer_call()
    return calls(layer_call, args[0], kwargs.get("training"))


def _walk(layer, out):
    for sub in layer._sublayers():
        out.append(sub)
        out.append(sub.trainable)
        _walk(sub, out)


def _signature(inputs, key):
    """Append the input signature to ``key``; False when the inputs are not plain arrays."""
    if isinstance(inputs, (list, tuple)):
        key.append((type(inputs), len(inputs)))
        return all(_signature(x, key) for x in inputs)
    if isinstance(inputs, np.ndarray):
        if inputs.dtype.kind not in "fiub":
            return False
    elif not ops.is_tensor(inputs):
        return False
    key.append((tuple(inputs.shape), str(inputs.dtype)))
    return True


class EagerCalls:
    """The compiled forwards of one model, by key (see the module)."""

    def __init__(self, model):
        self._model = weakref.ref(model)  # the compiled forwards must not keep the model alive
        self.entries = {}  # key -> compiled forward, eager calls so far (an int) or None (stays eager)
        self.compiled = 0  # how many compiled forwards were traced (for tests)
        self.last = None  # the last compiled call: (STRUCTURE then, input type, shape, dtype, training, entry,
        #                   trainable variables, non-trainable variables)
        self.enabled = ops.compiled_eager_call(self._forward) is not None

    def _forward(self, trainable, non_trainable, inputs, training):
        outputs, new = self._model().stateless_call(trainable, non_trainable, inputs, training=training)
        return outputs, [n if n is not o else None for o, n in zip(non_trainable, new)]

    def __call__(self, layer_call, inputs, training):
        """``model(inputs, training=training)``, through the compiled forward when the key allows it."""
        last = self.last
        if (last is not None and last[0] == STRUCTURE[0] and type(inputs) is last[1] and last[4] is training
                and inputs.shape == last[2] and inputs.dtype == last[3] and not _CALLS.depth
                and not _StatelessDepth.depth):
            outputs = self._run(last[5], last[6], last[7], inputs, training)
            if outputs is not _ABSTRACT:
                return outputs
        epoch = STRUCTURE[0]
        model = self._model()
        if _CALLS.depth or _StatelessDepth.depth or not model.built:
            return layer_call()
        raw = inputs
        key = [training]
        if not _signature(inputs, key):  # symbolic, strings, other objects: the layer's own call
            return layer_call()
        inputs = model._convert_inputs(inputs)
        key = [training]
        _signature(inputs, key)
        trainable, non_trainable = model.trainable_variables, model.non_trainable_variables
        key.append(tuple(map(id, trainable)))
        key.append(tuple(map(id, non_trainable)))
        _walk(model, key)
        key = tuple(key)
        entry = self.entries.get(key, 0)
        if entry is None:
            return layer_call()
        if type(entry) is int and entry < EAGER_CALLS:
            if not entry and len(self.entries) >= _MAX_KEYS:
                return layer_call()
            outputs = layer_call()
            self.entries[key] = None if model.losses else entry + 1
            return outputs
        if type(entry) is int:
            # a new function object per key: jax.jit caches its traces by function, and equal bound methods
            # would share the trace of an older structure
            entry = ops.compiled_eager_call(lambda t, n, x, training: self._forward(t, n, x, training))
            self.entries[key] = entry
            first = True
        else:
            first = False
        try:
            outputs = self._run(entry, trainable, non_trainable, inputs, training)
        except Exception:
            if not first:
                raise
            self.entries[key] = None  # the trace failed (a host read, ...): this key stays eager
            return layer_call()
        if outputs is _ABSTRACT:  # abstract inputs (inside the framework's own transformation)
            return layer_call()
        if first:
            self.compiled += 1
        if inputs is raw and ops.is_tensor(raw) and STRUCTURE[0] == epoch:
            self.last = (epoch, type(raw), raw.shape, raw.dtype, training, entry, trainable, non_trainable)
        return outputs

    @staticmethod
    def _run(entry, trainable, non_trainable, inputs, training):
        with values_lock:  # no other thread's trace has its tracers swapped in while the values are read
            values = [v.value for v in trainable], [v.value for v in non_trainable]
        result = entry(*values, inputs, training)
        if result is None:
            return _ABSTRACT
        outputs, new = result
        for v, value in zip(non_trainable, new):
            if value is not None:
                v.assign(value)
        return outputs
