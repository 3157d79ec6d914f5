"""`Model`: a Layer that can be compiled and trained (the training methods live in `kshim.trainer`)."""

from kshim.layers.layer import Layer
from kshim.trainer.trainer import Trainer


class Model(Trainer, Layer):
    """A trainable layer. ``Model(inputs, outputs)`` builds a functional model; subclasses define ``call``."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            from kshim.models.functional import Functional

            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, **kwargs):
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
                      expand_nested=expand_nested, show_trainable=show_trainable)

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
