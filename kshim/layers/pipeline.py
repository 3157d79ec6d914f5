"""`Pipeline`: a sequence of layers applied one after the other, for preprocessing (Keras 3's
``keras.layers.Pipeline``; unlike a Sequential model it is a layer, and passes ``training`` to each layer)."""

from kshim.layers.layer import Layer, call_flags
from kshim.serialization import deserialize_keras_object, serialize_keras_object


class Pipeline(Layer):
    """Calls ``layers`` in order; each gets ``training`` when its ``call`` takes it, and the previous one's mask."""

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        if not isinstance(layers, (list, tuple)) or not all(isinstance(layer, Layer) for layer in layers):
            raise ValueError(f"Pipeline: `layers` must be a list of kshim layers. Received: layers={layers!r}")
        self._pipeline_layers = list(layers)

    @property
    def layers(self):
        return self._pipeline_layers

    def call(self, inputs, training=True, mask=None):
        for layer in self._pipeline_layers:
            has_training, has_mask = call_flags(type(layer))[:2]
            kwargs = {}
            if has_mask and mask is not None:
                kwargs["mask"] = mask
            if has_training and training is not None:
                kwargs["training"] = training
            inputs = layer(inputs, **kwargs)
            mask = getattr(inputs, "_keras_mask", None)
        return inputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        return {"layers": [serialize_keras_object(layer) for layer in self._pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError("Pipeline: the config must hold a `layers` list of serialized layers. Received: "
                             f"layers={layers!r}")
        return cls([deserialize_keras_object(c, custom_objects=custom_objects) for c in layers],
                   name=config.get("name"))
