"""JAX backend: the layer base class, and plain jax functions and flax modules inside kshim layers.

On jax a layer is a plain Python object (`LayerBase` adds nothing). `JaxFunction` is what `kshim.layers.JaxLayer`
needs from a ``call_fn(params, state, rng, inputs, training)``: the pytree structure of its parameters and state
(flattened into kshim Variables, in ``jax.tree_util`` leaf order, params then state, as Keras 3 does), and a
call of the function on given leaf values. `FlaxModule` adapts a ``flax.linen.Module`` to the same contract.
"""

import inspect

import jax
import numpy as np

_CALL_ARGS = ("params", "state", "rng", "inputs", "training")
_INIT_ARGS = ("rng", "inputs", "training")


class LayerBase:
    """Nothing to add on jax: layers are plain objects."""

    _native_sync_on_call = False

    def __init__(self):
        pass

    def _native_call_sync(self):
        pass


def _arguments(fn, fn_name, allowed, owner):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: cannot read the signature of `{fn_name}`. Received: {fn_name}={fn!r}") from None
    names = list(params)
    bad = [n for n in names if n not in allowed]
    if bad or "inputs" not in names:
        raise ValueError(f"{owner}: `{fn_name}` must take `inputs` and only arguments named {list(allowed)}. "
                         f"Received: {fn_name} with arguments {names}")
    return names


def _key(seed_bits):
    """A raw jax PRNG key (uint32, shape (2,)) from kshim's int32 ``(seed, counter)`` seed state."""
    return jax.numpy.asarray(seed_bits).astype(jax.numpy.uint32)


class JaxFunction:
    def __init__(self, call_fn, init_fn, owner):
        if not callable(call_fn):
            raise ValueError(f"{owner}: `call_fn` must be a function. Received: call_fn={call_fn!r}")
        self.owner = owner
        self.call_fn = call_fn
        self.init_fn = init_fn
        self.call_args = _arguments(call_fn, "call_fn", _CALL_ARGS, owner)
        self.init_args = _arguments(init_fn, "init_fn", _INIT_ARGS, owner) if init_fn is not None else None
        self.has_state = "state" in self.call_args
        self.has_rng = "rng" in self.call_args
        self.params_def = None
        self.state_def = None

    # -- structure ------------------------------------------------------------------------------------------------
    def flatten(self, params, state):
        """``(param leaves, state leaves)`` as numpy arrays; remembers the two tree structures."""
        p_leaves, self.params_def = jax.tree_util.tree_flatten(params)
        s_leaves, self.state_def = jax.tree_util.tree_flatten(state)
        return [np.asarray(x) for x in p_leaves], [np.asarray(x) for x in s_leaves]

    def initialize(self, input_structure, seed_bits):
        """Run ``init_fn`` on ones shaped like ``input_structure`` (a shape, or a list/dict of shapes)."""
        if self.init_fn is None:
            raise ValueError(f"{self.owner}: without `params`, an `init_fn` is required to build the layer.")
        inputs = _ones(input_structure)
        rng = _key(seed_bits)
        kwargs = {"rng": rng, "inputs": inputs, "training": True}
        out = self.init_fn(*[kwargs[a] for a in self.init_args])
        if self.has_state:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise ValueError(f"{self.owner}: `call_fn` takes `state`, so `init_fn` must return "
                                 f"(params, state). Received: {type(out).__name__}")
            return out
        return out, None

    # -- calling --------------------------------------------------------------------------------------------------
    def call(self, param_values, state_values, inputs, training, seed_bits):
        """``(outputs, new state leaves)``: ``call_fn`` on the given leaves."""
        params = jax.tree_util.tree_unflatten(self.params_def, list(param_values))
        state = jax.tree_util.tree_unflatten(self.state_def, list(state_values))
        kwargs = {"params": params, "state": state, "inputs": inputs, "training": bool(training),
                  "rng": self.rng(training, seed_bits)}
        out = self.call_fn(*[kwargs[a] for a in self.call_args])
        if not self.has_state:
            return out, list(state_values)
        outputs, new_state = out
        leaves, treedef = jax.tree_util.tree_flatten(new_state)
        if treedef != self.state_def:
            raise ValueError(f"{self.owner}: the state `call_fn` returned has the structure {treedef}, but the "
                             f"state at initialization had {self.state_def}.")
        return outputs, leaves

    def rng(self, training, seed_bits):
        return _key(seed_bits) if (training and seed_bits is not None) else None


class FlaxModule(JaxFunction):
    """A ``flax.linen.Module`` as a `JaxFunction`: the "params" collection is trainable, every other collection is
    non-trainable state (updated by the call, e.g. ``batch_stats``), as in Keras 3's FlaxLayer."""

    def __init__(self, module, method, owner):
        from flax.linen import DenyList  # flax is optional: only this adapter needs it

        self.module = module
        self.method = method
        self._mutable = DenyList(["params"])
        target = method if method is not None else module.__call__
        if isinstance(target, str):
            target = getattr(module, target)
        self._takes_training = "training" in inspect.signature(target).parameters
        call_fn = self._apply_training if self._takes_training else self._apply
        init_fn = self._init_training if self._takes_training else self._init
        super().__init__(call_fn, init_fn, owner)

    @staticmethod
    def split(variables):
        """Flax variables -> (params, state) with params ``{"params": ...}``."""
        if variables is None:
            return None, None
        variables = dict(variables)
        params = {"params": variables.pop("params")} if "params" in variables else {}
        return params, variables

    @staticmethod
    def join(params, state):
        return {**(params or {}), **(state or {})}

    def _apply(self, params, state, rng, inputs):
        return self.module.apply(self.join(params, state), inputs, rngs=rng or {}, method=self.method,
                                 mutable=self._mutable)

    def _apply_training(self, params, state, rng, inputs, training):
        return self.module.apply(self.join(params, state), inputs, rngs=rng or {}, method=self.method,
                                 mutable=self._mutable, training=training)

    def _init(self, rng, inputs):
        return self.split(self.module.init(self._init_rngs(rng), inputs, method=self.method))

    def _init_training(self, rng, inputs, training):
        return self.split(self.module.init(self._init_rngs(rng), inputs, method=self.method, training=training))

    @staticmethod
    def _init_rngs(rng):
        params_key, dropout_key = jax.random.split(rng)
        return {"params": params_key, "dropout": dropout_key}

    def rng(self, training, seed_bits):
        return {"dropout": _key(seed_bits)} if (training and seed_bits is not None) else {}


def _ones(structure):
    if isinstance(structure, dict):
        return {k: _ones(v) for k, v in structure.items()}
    if isinstance(structure, list) or (isinstance(structure, tuple) and structure
                                       and not all(d is None or isinstance(d, int) for d in structure)):
        return type(structure)(_ones(s) for s in structure)
    return jax.numpy.ones(tuple(1 if d is None else int(d) for d in structure))


def jax_function(call_fn, init_fn=None, owner="JaxLayer"):
    return JaxFunction(call_fn, init_fn, owner)


def flax_module(module, method=None, owner="FlaxLayer"):
    return FlaxModule(module, method, owner)


def torch_module(module, owner="TorchModuleWrapper"):
    raise ValueError(f"{owner} needs the torch backend (KSHIM_BACKEND=torch); the current backend is jax.")


def torch_module_from_bytes(data):
    raise ValueError("TorchModuleWrapper needs the torch backend (KSHIM_BACKEND=torch); the current backend is jax.")


def layer_base():
    return LayerBase
