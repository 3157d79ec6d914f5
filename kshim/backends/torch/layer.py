"""PyTorch backend: layers as ``torch.nn.Module``s, and torch modules inside kshim layers.

`LayerBase` is the base class kshim's `Layer` gets on torch. It makes every layer and model a ``torch.nn.Module``
without touching kshim's hot path: kshim's ``Layer.__setattr__`` stores attributes with ``object.__setattr__``
(nn.Module's hooks never run), and kshim's ``__call__`` replaces nn.Module's.

kshim Variables rebind their values functionally (`kshim.variables.swap_values`), while torch code holds on to
``nn.Parameter`` objects. The two meet in `LayerBase._bind_native`: each Variable gets one persistent
``nn.Parameter`` (trainable) the first time torch asks for it; binding points the parameter's storage at the
variable's current value (``param.data = value``, no copy) and makes the parameter the variable's value. A torch
optimizer therefore updates the variable in place, and a value kshim installed (``fit``, ``set_weights``,
``optimizer.apply``) is picked up by the next bind. Binding happens when torch's Module API is entered
(``parameters``, ``named_parameters``, ``buffers``, ``state_dict``, ``load_state_dict``, ``to``/``cuda``/``float``,
``zero_grad``, ``train``/``eval``) and on each eager call under autograd (outside kshim's stateless calls), so
that ``loss.backward()`` reaches the parameters: as in Keras 3 on torch, ``model(x)`` under autograd returns a
tensor that requires grad. Non-trainable variables are buffers (BatchNormalization's moving statistics, as in
torch).
"""

import base64
import io

import torch

from kshim.backends.torch.core import DEVICE, STATEFUL_STEP, StatefulStepNeedsParameters


def _bind(variable):
    """The persistent ``nn.Parameter`` of a trainable ``variable``, bound to its current value."""
    param = variable._native
    value = variable._value
    if param is None:
        param = torch.nn.Parameter(value.detach() if value.requires_grad else value,
                                   requires_grad=value.is_floating_point() or value.is_complex())
        variable._native = param
        variable._value = param
    elif value is not param:
        param.data = value.detach() if value.requires_grad else value
        variable._value = param
    return param


def _safe_key(name, taken):
    key = str(name).replace(".", "_").replace("/", "_") or "_"
    base, i = key, 1
    while key in taken:
        key = f"{base}_{i}"
        i += 1
    return key


class LayerBase(torch.nn.Module):
    """``torch.nn.Module`` for kshim layers. kshim's ``Layer.__init__`` calls ``LayerBase.__init__(self)``."""

    _native_sync_on_call = True  # kshim's eager __call__ calls `_native_call_sync` (see there)

    def __init__(self):
        torch.nn.Module.__init__(self)

    def __getattr__(self, name):
        # Only reached when normal lookup failed. A property that raised AttributeError is asked again, so its
        # own message (e.g. "Layer 'd' has no defined output") reaches the user instead of nn.Module's.
        for klass in type(self).__mro__:
            attr = klass.__dict__.get(name)
            if isinstance(attr, property):
                return attr.__get__(self, type(self))
        return torch.nn.Module.__getattr__(self, name)

    # -- binding kshim variables to torch's registries ------------------------------------------------------------
    def _bind_native(self):
        """Register this layer's variables as parameters/buffers and its sub-layers as modules, recursively."""
        if STATEFUL_STEP["unbound"]:  # a compiled stateful step: its record cannot see the parameters' binding
            raise StatefulStepNeedsParameters(
                f"the step asks {type(self).__name__} for its torch parameters (the torch Module API)")
        self._bind_tree(set())

    def _bind_tree(self, seen):
        if id(self) in seen:
            return
        seen.add(id(self))
        params, buffers, modules, taken = {}, {}, {}, set()
        for v in self._own_trainable + self._own_non_trainable:
            key = _safe_key(v.name, taken)
            taken.add(key)
            if v.trainable:
                params[key] = _bind(v)
            else:
                if v._native is not None:  # it was trainable before: it leaves the optimizer's reach
                    v._native.requires_grad_(False)
                buffers[key] = v._value
        # Sub-layers are named as torch names them: by attribute (``self.conv1`` -> "conv1"), else by position in
        # the stack (Sequential, Functional: "0", "1", ...), so models of one architecture share state_dict keys.
        attrs = {id(v): k for k, v in self.__dict__.items() if isinstance(v, LayerBase) and k[0] != "_"}
        for i, layer in enumerate(self._sublayers()):
            if isinstance(layer, LayerBase):
                key = _safe_key(attrs.get(id(layer), str(i)), taken)
                taken.add(key)
                modules[key] = layer
                layer._bind_tree(seen)
        self._parameters.clear()
        self._parameters.update(params)
        self._buffers.clear()
        self._buffers.update(buffers)
        self._modules.clear()
        self._modules.update(modules)

    def _unbind_buffers(self, seen=None):
        """After torch replaced buffer tensors (``to``, ``load_state_dict``), the variables take them back."""
        seen = set() if seen is None else seen
        if id(self) in seen:
            return
        seen.add(id(self))
        by_key = dict(self._buffers)
        taken = set()
        for v in self._own_trainable + self._own_non_trainable:
            key = _safe_key(v.name, taken)
            taken.add(key)
            if not v.trainable and key in by_key:
                v._value = by_key[key]
        for layer in self._sublayers():
            if isinstance(layer, LayerBase):
                layer._unbind_buffers(seen)

    def _native_call_sync(self):
        """Called by kshim's eager ``__call__`` (outside stateless calls). Under autograd the call must run on the
        variables' parameters, so that ``loss.backward()`` fills ``v.value.grad`` and torch optimizers see the
        gradients; values kshim installed since the last bind (``fit``, ``set_weights``, ``optimizer.apply``) go
        into the parameters' storage first."""
        if not torch.is_grad_enabled() or STATEFUL_STEP["unbound"]:
            return
        for v in self._own_trainable:
            # A value autograd already tracks (swapped in by a caller differentiating with respect to it, or a
            # fresh leaf of a stateful step) stays: binding would detach it and its gradient would be lost.
            if v.trainable and v._value is not v._native and not v._value.requires_grad:
                _bind(v)

    # -- torch's Module API: bind first ---------------------------------------------------------------------------
    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        self._bind_native()
        return torch.nn.Module.named_parameters(self, prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        self._bind_native()
        return torch.nn.Module.named_buffers(self, prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        self._bind_native()
        return torch.nn.Module.named_modules(self, memo, prefix, remove_duplicate)

    def named_children(self):
        self._bind_native()
        return torch.nn.Module.named_children(self)

    def state_dict(self, *args, **kwargs):
        self._bind_native()
        return torch.nn.Module.state_dict(self, *args, **kwargs)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        self._bind_native()
        result = torch.nn.Module.load_state_dict(self, state_dict, strict=strict, assign=assign)
        self._unbind_buffers()
        if assign:  # new parameter objects: the variables follow them
            for v in self.weights:
                if v._native is not None and v.trainable:
                    v._native = None
            self._bind_native()
        return result

    def _apply(self, fn, recurse=True):
        self._bind_native()
        result = torch.nn.Module._apply(self, fn, recurse)
        self._unbind_buffers()
        for v in self.weights:  # dtype/device changes show in the variables' metadata
            if v._native is not None and v.trainable:
                v._value = v._native
        return result

    def zero_grad(self, set_to_none=True):
        if STATEFUL_STEP["unbound"]:  # the step's values are leaves of autograd: their gradients, not the params'
            STATEFUL_STEP["zeroed"] = True
            for v in self.trainable_weights:
                value = v._value
                if isinstance(value, torch.Tensor) and value.grad is not None:
                    if set_to_none:
                        value.grad = None
                    else:
                        value.grad.requires_grad_(False)
                        value.grad.zero_()
            return
        self._bind_native()
        torch.nn.Module.zero_grad(self, set_to_none)

    def train(self, mode=True):
        self._bind_native()
        return torch.nn.Module.train(self, mode)

    def forward(self, *args, **kwargs):
        return self(*args, **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# torch modules inside kshim layers (TorchModuleWrapper)


class TorchModule:
    """What `kshim.layers.TorchModuleWrapper` needs from a ``torch.nn.Module``: its state as named tensors (in
    ``state_dict`` order), and a call of the module on given values of that state (``torch.func.functional_call``),
    so kshim's functional training step drives it like any other layer."""

    def __init__(self, module, owner):
        if not isinstance(module, torch.nn.Module):
            raise ValueError(f"{owner}: `module` must be a torch.nn.Module. Received: module={module!r}")
        lazy = getattr(torch.nn.modules.lazy, "LazyModuleMixin", None)
        if lazy is not None and isinstance(module, lazy) and module.has_uninitialized_params():
            raise ValueError(f"{owner}: a lazy module must be initialized (called once) before it is wrapped. "
                             f"Received: module={module}")
        self.module = module.to(DEVICE)
        trainable = {name for name, p in self.module.named_parameters() if p.requires_grad}
        # state_dict order (and keys) is what Keras 3's TorchModuleWrapper saves; persistent buffers only.
        state = self.module.state_dict(keep_vars=True)
        self.entries = [(name, tensor, name in trainable) for name, tensor in state.items()]
        self.names = [name for name, _, _ in self.entries]

    def adopt(self, variables):
        """Make the module's own parameters the persistent torch parameters of ``variables`` (one per entry), so
        ``module.parameters()`` and the model's ``parameters()`` are the same objects and stay current."""
        for (_, tensor, trainable), v in zip(self.entries, variables):
            if trainable and isinstance(tensor, torch.nn.Parameter):
                v._native = tensor
                v._value = tensor

    def call(self, values, args, kwargs, training):
        self.module.train(bool(training))
        return torch.func.functional_call(self.module, dict(zip(self.names, values)), tuple(args), kwargs,
                                          strict=False)

    def to_bytes(self):
        buffer = io.BytesIO()
        torch.save(self.module, buffer)
        return base64.b64encode(buffer.getvalue()).decode("ascii")


def torch_module(module, owner="TorchModuleWrapper"):
    return TorchModule(module, owner)


def torch_module_from_bytes(data):
    """The module `TorchModule.to_bytes` wrote (runs pickled code: only with ``safe_mode=False``)."""
    return torch.load(io.BytesIO(base64.b64decode(data.encode("ascii"))), weights_only=False)


def jax_function(call_fn, init_fn=None, owner="JaxLayer"):
    raise ValueError(f"{owner} needs the jax backend (KSHIM_BACKEND=jax); the current backend is torch.")


def flax_module(module, method=None, owner="FlaxLayer"):
    raise ValueError(f"{owner} needs the jax backend (KSHIM_BACKEND=jax); the current backend is torch.")


def layer_base():
    return LayerBase
