"""The layer family: what a layer is on this backend, and framework code inside kshim layers (native interop).

The frontend is `kshim.layers` (``Layer`` takes its base class from `layer_base`; ``TorchModuleWrapper``,
``JaxLayer`` and ``FlaxLayer`` in ``kshim.layers.native`` use the adapters). A backend that cannot host an adapter
raises a ValueError naming the backend it needs, e.g. "TorchModuleWrapper needs the torch backend
(KSHIM_BACKEND=torch); the current backend is jax."
"""


def layer_base():
    """The base class of `kshim.layers.Layer` on this backend.

    torch: a ``torch.nn.Module`` whose parameters are the layer's trainable variables (as persistent
    ``nn.Parameter``s) and whose buffers are its non-trainable ones, bound when torch's Module API is entered
    (``parameters()``, ``state_dict()``, ``to()``, ``zero_grad()``, ...) and on each eager call under autograd; jax: a
    plain object. kshim's ``Layer.__init__`` calls ``base.__init__(self)`` first. Where the class attribute
    ``_native_sync_on_call`` is True, kshim's eager ``__call__`` calls ``self._native_call_sync()`` outside
    stateless calls (torch: under autograd the call runs on the variables' parameters, rebound to their current
    values, so ``loss.backward()`` fills ``v.value.grad``)."""


def torch_module(module, owner="TorchModuleWrapper"):
    """An adapter for a ``torch.nn.Module`` (torch only): ``.module``; ``.entries`` is ``[(name, tensor,
    trainable)]`` in ``state_dict`` order (parameters and persistent buffers); ``.names`` their keys;
    ``.adopt(variables)`` makes the module's parameters the variables' framework objects; ``.call(values, args,
    kwargs, training)`` runs the module on the given state values (``torch.func.functional_call``);
    ``.to_bytes()`` pickles the module (base64 text, as Keras 3's config)."""


def torch_module_from_bytes(data):
    """The module ``torch_module(...).to_bytes()`` wrote. Unpickling runs code: callers allow it only when
    ``safe_mode=False``."""


def jax_function(call_fn, init_fn=None, owner="JaxLayer"):
    """An adapter for Keras 3's JaxLayer contract (jax only): ``call_fn`` takes ``inputs`` and any of ``params``,
    ``state``, ``rng``, ``training`` (by name); ``init_fn`` takes ``inputs`` and any of ``rng``, ``training``.
    ``.flatten(params, state)`` -> numpy leaves (``jax.tree_util`` order); ``.initialize(input_shapes, seed_bits)``
    -> ``(params, state)``; ``.call(param_leaves, state_leaves, inputs, training, seed_bits)`` -> ``(outputs,
    new state leaves)``. ``seed_bits`` is kshim's int32 ``(seed, counter)`` state, made into a raw jax key."""


def flax_module(module, method=None, owner="FlaxLayer"):
    """`jax_function` for a ``flax.linen.Module`` (jax only; needs flax): the "params" collection is trainable,
    the other collections are state. ``.split(variables)`` -> ``(params, state)``."""
