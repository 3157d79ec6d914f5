"""kshim.layers: the Keras layers, one module per family."""

from kshim.layers.core import Activation, Dense, Dropout, Flatten, Identity, Reshape
from kshim.layers.input_layer import Input, InputLayer
from kshim.layers.input_spec import InputSpec
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.layers.normalization import (BatchNormalization, GroupNormalization, LayerNormalization,
                                        UnitNormalization)
from kshim.layers.embedding import Embedding, Masking
from kshim.layers.reshaping import (Cropping1D, Cropping2D, Permute, RepeatVector, UpSampling1D, UpSampling2D,
                                    ZeroPadding1D, ZeroPadding2D)
from kshim.layers.regularization import (ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise,
                                         SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
from kshim.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
