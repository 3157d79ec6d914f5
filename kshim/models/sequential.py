"""`Sequential`: a plain stack of layers, each with one input and one output."""

import numpy as np

from kshim.layers.input_layer import InputLayer, conform_input
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer, call_flags
from kshim.models.keras2_methods import deprecated
from kshim.models.model import Model
from kshim.serialization import deserialize_keras_object, serialize_keras_object
from kshim.variables import STRUCTURE


class Sequential(Model):
    """A linear stack of layers: ``Sequential([Input((4,)), Dense(8), Dense(1)])`` or built with ``add()``."""

    _rebuild_by_call = False  # a saved build shape builds it (see `Model._build_from_saved_shape`)

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        self._input_layer = None
        self._stack = []
        self._symbolic = []  # the KerasTensor after each layer of the stack, when the input shape is known
        for layer in layers or ():
            self.add(layer)

    # -- building the stack --------------------------------------------------------------------------------------
    def _sublayers(self):
        return self._stack

    def add(self, layer, rebuild=True):
        """Append a layer. With a known input shape the layer is built now, and a shape mismatch is an error here."""
        if isinstance(layer, KerasTensor):
            origin = layer._keras_history[0] if layer._keras_history else None
            if not isinstance(origin, InputLayer):
                raise ValueError("Sequential.add: a symbolic tensor is only accepted when it comes from "
                                 f"`kshim.Input(...)`. Received: {layer!r}")
            layer = origin
        if not isinstance(layer, Layer):
            raise TypeError("Sequential.add: expected a Layer instance (for example `Dense(8)`), "
                            f"received {type(layer).__name__}: {layer!r}")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                raise ValueError(f"Sequential '{self.name}': an InputLayer can only be the first layer. "
                                 f"Received: {layer.name!r} after {len(self._stack)} layer(s).")
            self._input_layer = layer
            self._rebuild_symbolic()
            return
        if any(l.name == layer.name for l in self._stack):
            raise ValueError(f"Sequential '{self.name}': all layers must have unique names; "
                             f"'{layer.name}' is already in the model.")
        if not self._stack and self._input_layer is None and layer._batch_input_shape is not None:
            self._input_layer = InputLayer(batch_shape=layer._batch_input_shape,
                                           name=f"input_layer_for_{layer.name}")
        self._stack.append(layer)
        self._tracked_layers.append(layer)
        STRUCTURE[0] += 1  # the layers changed: eager calls re-check the model
        self._hold(layer)
        if rebuild and self._input_layer is not None:
            try:
                self._rebuild_symbolic()
            except Exception:
                self._stack.pop()
                self._tracked_layers.remove(layer)
                self._rebuild_symbolic()
                raise

    def pop(self, rebuild=True):
        """Remove and return the last layer."""
        if not self._stack:
            raise IndexError(f"Sequential '{self.name}': there are no layers to pop.")
        layer = self._stack.pop()
        self._tracked_layers.remove(layer)
        STRUCTURE[0] += 1
        if rebuild:
            self._rebuild_symbolic()
        return layer

    def _rebuild_symbolic(self):
        # Forget the graph nodes the previous build made, so each layer's `output` is from the current chain.
        for layer, node in getattr(self, "_symbolic_nodes", ()):
            if node in layer._inbound_nodes:
                layer._inbound_nodes.remove(node)
        self._symbolic = []
        self._symbolic_nodes = []
        if self._input_layer is None:
            return
        x = self._input_layer.output
        for layer in self._stack:
            x = layer(x)
            self._symbolic_nodes.append((layer, layer._inbound_nodes[-1]))
            if isinstance(x, list):
                raise ValueError(f"Sequential: layer '{layer.name}' returns {len(x)} outputs; every layer of a "
                                 "Sequential model must have exactly one. Use the functional API instead.")
            self._symbolic.append(x)
        self.built = True
        self._build_shape = self._input_layer.batch_shape

    def build(self, input_shape=None):
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError(f"Sequential '{self.name}': build() needs `input_shape`, since the model has no "
                                 "Input. Received: input_shape=None")
            input_shape = self._input_layer.batch_shape
        input_shape = tuple(input_shape)
        if self._input_layer is None or tuple(self._input_layer.batch_shape) != input_shape:
            if self._input_layer is not None and len(self._input_layer.batch_shape) == len(input_shape):
                return  # only the batch size differs
            self._input_layer = InputLayer(batch_shape=input_shape, name=f"{self.name}_input")
        self._rebuild_symbolic()

    def _maybe_build(self, input_shape):
        if not self.built:
            batch_shape = (None,) + tuple(input_shape[1:]) if isinstance(input_shape, tuple) else input_shape
            self.build(batch_shape)

    # -- Keras 2's Sequential-only prediction helpers (see `keras2_methods`) -------------------------------------
    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2: the argmax of a multi-class output, or ``probability > 0.5`` for one unit, as int32."""
        deprecated("model.predict_classes(x)", "np.argmax(model.predict(x), axis=-1) for a softmax output, or "
                   "(model.predict(x) > 0.5).astype('int32') for a sigmoid one")
        proba = np.asarray(self.predict(x, batch_size=batch_size, verbose=verbose))
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2: the same as `predict`."""
        deprecated("model.predict_proba(x)", "model.predict(x)")
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    # -- calling -------------------------------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        x = inputs if self._input_layer is None else conform_input(inputs, self._input_layer.output)
        for layer in self._stack:
            takes_training, takes_mask = call_flags(type(layer))
            kwargs = {"training": training} if takes_training else {}
            if mask is not None and takes_mask:
                kwargs["mask"] = mask
            y = layer(x, **kwargs)
            if mask is not None or type(layer).compute_mask is not Layer.compute_mask:
                mask = layer.compute_mask(x, mask)
            x = y
        return x

    def compute_output_shape(self, input_shape):
        for layer in self._stack:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def _symbolic_call(self, inputs, *args, **kwargs):
        if not self.built:
            self.build(inputs.shape)
        return Layer._symbolic_call(self, inputs, *args, **kwargs)

    # -- graph views ---------------------------------------------------------------------------------------------
    def _need_input(self, what):
        if self._input_layer is None:
            raise AttributeError(
                f"Sequential '{self.name}' has no {what} yet: it has no Input. Start it with `kshim.Input(shape)`, "
                "give the first layer `input_shape=`, call `build(input_shape)`, or call it on data."
            )

    @property
    def inputs(self):
        self._need_input("inputs")
        return [self._input_layer.output]

    @property
    def input(self):
        return self.inputs[0]

    @property
    def outputs(self):
        self._need_input("outputs")
        return [self._symbolic[-1] if self._symbolic else self._input_layer.output]

    @property
    def output(self):
        return self.outputs[0]

    @property
    def input_shape(self):
        self._need_input("input shape")
        return self._input_layer.batch_shape

    @property
    def output_shape(self):
        return self.outputs[0].shape

    # -- config --------------------------------------------------------------------------------------------------
    def _saving_layers(self):
        """The layers in the order Keras 3 saves them."""
        return self.layers

    def get_config(self):
        layers = []
        if self._input_layer is not None:
            layers.append(serialize_keras_object(self._input_layer))
        layers.extend(serialize_keras_object(l) for l in self._stack)
        cfg = {"name": self.name, "trainable": self.trainable, "dtype": Layer.get_config(self)["dtype"],
               "layers": layers}
        if self._input_layer is not None:
            cfg["build_input_shape"] = list(self._input_layer.batch_shape)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_cfg in config["layers"]:
            model.add(deserialize_keras_object(layer_cfg, custom_objects=custom_objects))
        if not model.built and config.get("build_input_shape"):
            model.build(tuple(config["build_input_shape"]))
        return model
