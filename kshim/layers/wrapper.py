"""`Wrapper`: the base of layers that wrap another layer (Keras 3's ``keras.layers.Wrapper``)."""

from kshim.layers.layer import Layer
from kshim.serialization import deserialize_keras_object, serialize_keras_object


class Wrapper(Layer):
    """Holds ``layer`` (its weights become this layer's) and builds it on first use. Subclasses define ``call``."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: `layer` must be a kshim layer instance. Received: "
                             f"layer={layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    def get_config(self):
        return {**super().get_config(), "layer": serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize_keras_object(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)
