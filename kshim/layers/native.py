"""Framework code inside kshim layers: `TorchModuleWrapper` (torch), `JaxLayer` and `FlaxLayer` (jax).

The layers here are thin: the backend adapts the framework object (`kshim.backends.interface.layer`) and raises
a clear error on the other backend. Weights are kshim Variables, so ``fit``, ``get_weights``, ``.weights.h5`` and
``.keras`` files work as for any layer, with Keras 3's layout: a TorchModuleWrapper stores its module's
``state_dict`` keys, a JaxLayer its parameter leaves then state leaves as variables 0..n-1.
"""

import numpy as np

from kshim.backends import B
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.random import SeedGenerator, make_seed
from kshim.registry import in_safe_mode
from kshim.variables import STRUCTURE, Variable


class TorchModuleWrapper(Layer):
    """A ``torch.nn.Module`` as a kshim layer (torch backend only), as ``keras.layers.TorchModuleWrapper``.

    The module's parameters and persistent buffers become the layer's variables (trainable as the parameters'
    ``requires_grad`` says); the module runs on the variables' current values, so ``fit`` trains it.
    ``output_shape`` helps shape inference when the module is used on symbolic inputs."""

    def __init__(self, module, name=None, output_shape=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._adapter = B.torch_module(module, type(self).__name__)
        self.module = self._adapter.module
        self.output_shape = output_shape
        self._state_variables = []
        for key, tensor, trainable in self._adapter.entries:
            v = Variable(tensor, trainable=trainable, name=key)
            v.path = f"{self.name}/{key}"
            (self._own_trainable if trainable else self._own_non_trainable).append(v)
            STRUCTURE[0] += 1  # a variable tracked by hand: eager calls re-check the model
            self._state_variables.append(v)
        self._adapter.adopt(self._state_variables)
        self.built = True

    def call(self, *args, training=None, **kwargs):
        return self._adapter.call([v.value for v in self._state_variables], args, kwargs, training)

    @property
    def output_shape(self):
        return self._output_shape

    @output_shape.setter
    def output_shape(self, value):
        object.__setattr__(self, "_output_shape", None if value is None else tuple(value))

    def compute_output_spec(self, inputs, *args, **kwargs):
        if self._output_shape is None:  # the module is evaluated abstractly (torch meta tensors, or probes)
            return super().compute_output_spec(inputs, *args, **kwargs)
        return KerasTensor(self._output_shape, self.compute_dtype)

    def save_own_variables(self, store):
        """Keras 3's layout: one entry per ``state_dict`` key of the module."""
        for key, v in zip(self._adapter.names, self._state_variables):
            store[key] = v.numpy()

    def load_own_variables(self, store):
        keys = [k.decode() if isinstance(k, bytes) else k for k in store]
        missing = [k for k in self._adapter.names if k not in keys]
        unexpected = [k for k in keys if k not in self._adapter.names]
        if missing or unexpected:
            raise ValueError(f"TorchModuleWrapper '{self.name}': the stored state does not match the module's "
                             f"state_dict. Missing keys: {missing}; unexpected keys: {unexpected}")
        values = {(k.decode() if isinstance(k, bytes) else k): store[k] for k in store}
        for key, v in zip(self._adapter.names, self._state_variables):
            value = np.asarray(values[key])
            if tuple(value.shape) != tuple(v.shape):
                raise ValueError(f"TorchModuleWrapper '{self.name}': '{key}' has shape {tuple(v.shape)} in the "
                                 f"module, but {tuple(value.shape)} in the file.")
            v.assign(value)

    def get_config(self):
        return {**super().get_config(), "module": self._adapter.to_bytes(), "output_shape": self._output_shape}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("module"), str):
            if in_safe_mode():
                raise ValueError(
                    "TorchModuleWrapper: the file holds a pickled torch.nn.Module; unpickling runs code stored in "
                    "the file, which is refused in safe mode. If you trust the file's source, load it with "
                    "`safe_mode=False`.")
            config["module"] = B.torch_module_from_bytes(config["module"])
        return cls(**config)


class JaxLayer(Layer):
    """A jax function as a kshim layer (jax backend only), as ``keras.layers.JaxLayer``.

    ``call_fn`` takes ``inputs`` and any of ``params``, ``state``, ``rng``, ``training`` (by name) and returns the
    outputs, or ``(outputs, new_state)`` when it takes ``state``. ``init_fn(rng, inputs[, training])`` returns
    ``params`` (or ``(params, state)``) for inputs of the build shape; or give ``params``/``state`` directly.
    The leaves of ``params`` become trainable variables and those of ``state`` non-trainable ones."""

    def __init__(self, call_fn, init_fn=None, params=None, state=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._init_adapter(B.jax_function(call_fn, init_fn, type(self).__name__), params, state, seed)
        self.call_fn = call_fn
        self.init_fn = init_fn

    def _init_adapter(self, adapter, params, state, seed):
        self._adapter = adapter
        self._seed = seed
        self.seed_generator = SeedGenerator(seed) if adapter.has_rng else None
        if params is None and state is None and adapter.init_fn is None and (
                "params" in adapter.call_args or adapter.has_state):
            raise ValueError(f"{type(self).__name__}: `init_fn`, `params` and `state` cannot all be None when "
                             "`call_fn` takes `params` or `state`.")
        self._params_vars, self._state_vars = [], []
        if params is not None or state is not None:
            self._track(params, state)
            self.built = True

    def _track(self, params, state):
        p_leaves, s_leaves = self._adapter.flatten(params, state)
        for i, leaf in enumerate(p_leaves):
            self._params_vars.append(self.add_weight(leaf.shape, initializer=_Constant(leaf), dtype=_dtype(leaf),
                                                     trainable=True, name=f"variable_{i}"))
        for i, leaf in enumerate(s_leaves):
            self._state_vars.append(self.add_weight(leaf.shape, initializer=_Constant(leaf), dtype=_dtype(leaf),
                                                    trainable=False, name=f"variable_{len(p_leaves) + i}"))

    def build(self, input_shape):
        if not self._params_vars and not self._state_vars:
            seed = self._seed if self._seed is not None else make_seed()
            params, state = self._adapter.initialize(input_shape, np.array([seed, 0], dtype=np.int32))
            self._track(params, state)
        self.built = True

    def call(self, inputs, training=False):
        bits = self.seed_generator.next() if (self.seed_generator is not None and training) else None
        outputs, new_state = self._adapter.call([v.value for v in self._params_vars],
                                                [v.value for v in self._state_vars], inputs, training, bits)
        for v, value in zip(self._state_vars, new_state):
            v.assign(value)
        return outputs

    def get_config(self):
        # Functions are not serialized: rebuild the layer in code and load the weights (as with a Lambda's
        # function in safe mode).
        return {**super().get_config(), "seed": self._seed}


class FlaxLayer(JaxLayer):
    """A ``flax.linen.Module`` as a kshim layer (jax backend only; needs flax), as ``keras.layers.FlaxLayer``.

    The "params" collection is trainable; other collections (``batch_stats``, ...) are non-trainable state that
    the call updates. ``method`` picks the module's method (default ``__call__``); ``variables`` gives initial
    variables (else the module is initialized at build time)."""

    def __init__(self, module, method=None, variables=None, seed=None, **kwargs):
        Layer.__init__(self, **kwargs)
        adapter = B.flax_module(module, method, type(self).__name__)
        params, state = adapter.split(variables)
        self.module = module
        self.method = method
        self._init_adapter(adapter, params, state, seed)

    def get_config(self):
        return Layer.get_config(self) | {"seed": self._seed}


class _Constant:
    """An initializer that returns a given array (a JaxLayer's initial leaves)."""

    def __init__(self, value):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.asarray(self.value, dtype=dtype)


def _dtype(leaf):
    name = np.dtype(leaf.dtype).name
    return None if name.startswith("float") else name
