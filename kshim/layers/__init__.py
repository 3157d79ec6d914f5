"""kshim.layers: the Keras layers, one module per family."""

from kshim.layers.core import Activation, Dense, Dropout, Flatten, Identity, Reshape
from kshim.layers.input_layer import Input, InputLayer
from kshim.layers.input_spec import InputSpec
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
