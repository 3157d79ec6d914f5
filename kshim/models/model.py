"""`Model`: a Layer that can be compiled and trained (the training methods live in `kshim.trainer`)."""

import functools
import inspect
import json
import re
import warnings

import numpy as np

from kshim.export.onnx_export import export_model
from kshim.layers.layer import Layer
from kshim.registry import LAYERS
from kshim.saving import compile_config as _compile_config
from kshim.saving import keras_file, weights_file
from kshim.serialization import serialize_keras_object
from kshim.trainer.trainer import Trainer
from kshim.models import eager_call
from kshim.models.keras2_methods import Keras2Methods
from kshim.models.summary import print_summary
from kshim.common.suggest import unknown_name_error


def _functional():
    """The `Functional` class (defined in `kshim.models.functional`, a subclass of Model, so found by name)."""
    return LAYERS.lookup("Functional")


class Model(Trainer, Layer, Keras2Methods):
    """A trainable layer. ``Model(inputs, outputs)`` builds a functional model; subclasses define ``call``."""

    _is_model = True
    _keras_config_module = "keras"  # the public Keras module of a built-in model class
    _rebuild_by_call = True  # a subclassed model is built from a saved shape by calling it (Sequential: False)

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            functional = _functional()
            return functional.__new__(functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            # a subclass calling ``super().__init__(inputs, outputs)`` becomes a functional model, as in Keras 3
            if not self._is_graph:
                _inject_functional(type(self))
            _functional().__init__(self, *args, **kwargs)
            return
        trainable = kwargs.pop("trainable", True)
        name = kwargs.pop("name", None)
        dtype = kwargs.pop("dtype", None)
        Layer.__init__(self, trainable=trainable, name=name, dtype=dtype, **kwargs)
        Trainer.__init__(self)

    def __call__(self, *args, **kwargs):
        # an eager call of a built model may run a compiled forward (`kshim.models.eager_call`)
        return eager_call.call(self, args, kwargs, lambda: Layer.__call__(self, *args, **kwargs))

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print a table of the layers with their output shapes and parameter counts."""
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    def get_layer(self, name=None, index=None):
        """The layer called ``name``, or at position ``index`` of ``model.layers``."""
        layers = self.layers
        if index is not None and name is not None:
            raise ValueError(f"get_layer: give `name` or `index`, not both. Received: name={name!r}, index={index}")
        if index is not None:
            if not isinstance(index, int) or not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: `index` must be an integer in [{-len(layers)}, {len(layers)}) for "
                                 f"a model with {len(layers)} layers. Received: index={index!r}")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise unknown_name_error(f"layer in model '{self.name}'", name, [l.name for l in layers], arg="name")
        raise ValueError("get_layer: give a layer `name` or `index`. Received: name=None, index=None")

    @property
    def layers(self):
        return list(self._sublayers())

    def export(self, filepath, format="onnx", verbose=True, input_signature=None, **kwargs):
        """Write the model as an ONNX file that runs in onnxruntime, on either backend (see `kshim.export`)."""
        export_model(self, filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A functional config (``layers``, ``input_layers``, ``output_layers``) rebuilds the graph, as in Keras 3;
        any other config is passed to ``cls(**config)`` (a subclassed model's own ``get_config``)."""
        functional_keys = ("name", "layers", "input_layers", "output_layers")
        if isinstance(config, dict) and all(k in config for k in functional_keys) and _takes_graph(cls):
            return _functional().from_config.__func__(cls, config, custom_objects=custom_objects)
        try:
            return super().from_config(config)
        except TypeError as e:
            raise TypeError(
                f"{cls.__name__}.from_config: cannot rebuild the model as `{cls.__name__}(**config)` ({e}). Make "
                f"`get_config()` return every argument of `{cls.__name__}.__init__`, or define a `from_config` "
                f"classmethod. Received: config keys {sorted(config)}") from e

    def _build_from_saved_shape(self, shape):
        """Build from the input shape a saved config recorded: a subclassed model is called once on zeros of that
        shape (batch 1 for unknown sizes); Sequential and Functional models build from the shape."""
        if not self._rebuild_by_call or self._is_graph:
            self._maybe_build(shape)
            return

        def zeros(s):
            return np.zeros(tuple(1 if d is None else d for d in s), dtype="float32")

        self(zeros(shape) if isinstance(shape, tuple) else [zeros(s) for s in shape])

    def reset_states(self):
        """Reset the states of every stateful layer (stateful RNNs), at any depth, to zeros (Keras 2's API)."""
        for layer in self._sublayers():
            if isinstance(layer, Model):
                layer.reset_states()
            elif getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    def quantize(self, mode=None, config=None, filters=None, **kwargs):
        """Quantize every leaf layer that can be (``mode="int8"``: Dense, EinsumDense, Embedding), as Keras 3:
        a layer that cannot is skipped with a warning. ``filters`` (a regex, a list of them, or a callable on the
        layer) picks the layers by name."""
        type_check = kwargs.pop("type_check", True)
        if kwargs:
            raise ValueError(f"{type(self).__name__}.quantize: unknown arguments {sorted(kwargs)}.")
        changed = False
        for layer in _leaf_layers(self):
            if not _selected(layer, filters):
                continue
            try:
                layer.quantize(mode, type_check=type_check, config=config)
                changed = True
            except NotImplementedError as e:
                warnings.warn(str(e), stacklevel=2)
        if changed and getattr(self, "_steps", None) is not None:  # the variables changed: compile steps anew
            self._steps = type(self._steps)(self, self._steps.jit_compile)

    # -- saving (kshim.saving) -----------------------------------------------------------------------------------
    @functools.wraps(Trainer.compile)
    def compile(self, *args, **kwargs):
        result = super().compile(*args, **kwargs)
        bound = inspect.signature(Trainer.compile).bind(self, *args, **kwargs)
        bound.apply_defaults()
        self._compile_args = {k: v for k, v in bound.arguments.items() if k not in ("self", "kwargs")}
        return result

    def get_compile_config(self):
        """The arguments of ``compile`` in Keras 3's format (``{}`` when the model is not compiled)."""
        return _compile_config.get_compile_config(self)

    def compile_from_config(self, config):
        """Compile from `get_compile_config`'s dict, and create the optimizer's variables."""
        _compile_config.compile_from_config(self, config)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save the model (architecture, weights, compile arguments, optimizer state) as a ``.keras`` file."""
        keras_file.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Save the weights (and optimizer state) to a ``.weights.h5`` file in Keras 3's layout."""
        weights_file.save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights from a ``.weights.h5``, ``.keras`` or Keras 2 ``.h5`` file."""
        weights_file.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def to_json(self, **kwargs):
        """The model's config as a JSON string (`kshim.models.model_from_json` rebuilds the model)."""
        return json.dumps(serialize_keras_object(self), **kwargs)


def _takes_graph(cls):
    """True when ``cls(inputs, outputs, ...)`` builds a functional model: Model and Functional themselves, or a
    subclass whose ``__init__`` takes ``(inputs, outputs, ...)`` or ``(*args, **kwargs)``."""
    if cls is Model or cls._is_graph:
        return True
    try:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    names = [p.name for p in params]
    if names[:2] == ["inputs", "outputs"]:
        return True
    kinds = {p.kind for p in params}
    return names == ["args", "kwargs"] and kinds == {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}


def _inject_functional(cls):
    """Put `Functional` in place of `Model` among the bases of ``cls`` (Keras 3 does the same), so a subclass of
    Model whose ``__init__`` passes ``(inputs, outputs)`` up gets the functional model's methods."""
    if cls is Model:
        return _functional()
    if cls is object or not issubclass(cls, Model) or cls._is_graph:
        return cls
    cls.__bases__ = tuple(_inject_functional(base) for base in cls.__bases__)
    return cls


def _leaf_layers(layer):
    """Every layer under ``layer`` (depth first) that has no sub-layers."""
    for sub in layer._sublayers():
        if sub._sublayers():
            yield from _leaf_layers(sub)
        else:
            yield sub


def _selected(layer, filters):
    if filters is None:
        return True
    if callable(filters):
        return bool(filters(layer))
    patterns = [filters] if isinstance(filters, str) else list(filters)
    return any(re.search(p, layer.name) for p in patterns)
