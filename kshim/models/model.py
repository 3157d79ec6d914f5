"""`Model`: a Layer that can be compiled and trained (the training methods live in `kshim.trainer`)."""

import functools
import inspect

from kshim.export.onnx_export import export_model
from kshim.layers.layer import Layer
from kshim.trainer.trainer import Trainer


class Model(Trainer, Layer):
    """A trainable layer. ``Model(inputs, outputs)`` builds a functional model; subclasses define ``call``."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            from kshim.models.functional import Functional

            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            # a subclass calling ``super().__init__(inputs, outputs)`` becomes a functional model, as in Keras 3
            from kshim.models.functional import Functional

            if not isinstance(self, Functional):
                _inject_functional(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        trainable = kwargs.pop("trainable", True)
        name = kwargs.pop("name", None)
        dtype = kwargs.pop("dtype", None)
        Layer.__init__(self, trainable=trainable, name=name, dtype=dtype, **kwargs)
        Trainer.__init__(self)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print a table of the layers with their output shapes and parameter counts."""
        from kshim.utils.summary import print_summary

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
            from kshim.utils.suggest import unknown_name_error

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
        from kshim.models.functional import Functional

        functional_keys = ("name", "layers", "input_layers", "output_layers")
        if isinstance(config, dict) and all(k in config for k in functional_keys) and _takes_graph(cls):
            return Functional.from_config.__func__(cls, config, custom_objects=custom_objects)
        try:
            return super().from_config(config)
        except TypeError as e:
            raise TypeError(
                f"{cls.__name__}.from_config: cannot rebuild the model as `{cls.__name__}(**config)` ({e}). Make "
                f"`get_config()` return every argument of `{cls.__name__}.__init__`, or define a `from_config` "
                f"classmethod. Received: config keys {sorted(config)}") from e

    def reset_states(self):
        """Reset the states of every stateful layer (stateful RNNs), at any depth, to zeros (Keras 2's API)."""
        for layer in self._sublayers():
            if isinstance(layer, Model):
                layer.reset_states()
            elif getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

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
        from kshim.saving.compile_config import get_compile_config

        return get_compile_config(self)

    def compile_from_config(self, config):
        """Compile from `get_compile_config`'s dict, and create the optimizer's variables."""
        from kshim.saving.compile_config import compile_from_config

        compile_from_config(self, config)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save the model (architecture, weights, compile arguments, optimizer state) as a ``.keras`` file."""
        from kshim.saving.keras_file import save_model

        save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Save the weights (and optimizer state) to a ``.weights.h5`` file in Keras 3's layout."""
        from kshim.saving.weights_file import save_weights

        save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights from a ``.weights.h5``, ``.keras`` or Keras 2 ``.h5`` file."""
        from kshim.saving.weights_file import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def to_json(self, **kwargs):
        """The model's config as a JSON string (`kshim.models.model_from_json` rebuilds the model)."""
        import json

        from kshim.saving.serialization import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)


def _takes_graph(cls):
    """True when ``cls(inputs, outputs, ...)`` builds a functional model: Model and Functional themselves, or a
    subclass whose ``__init__`` takes ``(inputs, outputs, ...)`` or ``(*args, **kwargs)``."""
    from kshim.models.functional import Functional

    if cls is Model or issubclass(cls, Functional):
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
    from kshim.models.functional import Functional

    if cls is Model:
        return Functional
    if cls is object or not issubclass(cls, Model) or issubclass(cls, Functional):
        return cls
    cls.__bases__ = tuple(_inject_functional(base) for base in cls.__bases__)
    return cls
