"""kshim.layers: the Keras layers, one module per family."""

from kshim.common.absent import raise_absent as _raise_absent
from kshim.layers.core import Activation, Dense, Dropout, Flatten, Identity, Lambda, Reshape
from kshim.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                                  average, concatenate, dot, maximum, minimum, multiply, subtract)
from kshim.layers.input_layer import Input, InputLayer
from kshim.layers.input_spec import InputSpec
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.layers import operation as _operation  # noqa: F401  (ops on KerasTensors become graph nodes)
from kshim.layers.normalization import (BatchNormalization, GroupNormalization, LayerNormalization,
                                        RMSNormalization, UnitNormalization)
from kshim.layers.einsum_dense import EinsumDense
from kshim.layers.attention import (AdditiveAttention, Attention, GroupedQueryAttention, GroupQueryAttention,
                                    MultiHeadAttention)
from kshim.layers.embedding import Embedding, Masking
from kshim.layers.reversible_embedding import ReversibleEmbedding
from kshim.layers.reshaping import (Cropping1D, Cropping2D, Permute, RepeatVector, UpSampling1D, UpSampling2D,
                                    ZeroPadding1D, ZeroPadding2D)
from kshim.layers.regularization import (ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise,
                                         SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
from kshim.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from kshim.layers.recurrent import (GRU, LSTM, RNN, ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, GRUCell, LSTMCell,
                                    SimpleRNN, SimpleRNNCell, StackedRNNCells)
from kshim.layers.wrappers import Bidirectional, TimeDistributed
from kshim.layers.wrapper import Wrapper
from kshim.layers.spectral_normalization import SpectralNormalization
from kshim.layers.pipeline import Pipeline
from kshim.layers.reshaping3d import Cropping3D, UpSampling3D, ZeroPadding3D
from kshim.layers.pooling_adaptive import (AdaptiveAveragePooling1D, AdaptiveAveragePooling2D,
                                           AdaptiveAveragePooling3D, AdaptiveMaxPooling1D, AdaptiveMaxPooling2D,
                                           AdaptiveMaxPooling3D)
from kshim.layers.native import FlaxLayer, JaxLayer, TorchModuleWrapper
from kshim.layers.convolutional import (  # noqa: F401
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
    Convolution1D,
    Convolution1DTranspose,
    Convolution2D,
    Convolution2DTranspose,
    Convolution3D,
    Convolution3DTranspose,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    SeparableConvolution1D,
    SeparableConvolution2D,
)
from kshim.layers.pooling import (  # noqa: F401
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    AvgPool1D,
    AvgPool2D,
    AvgPool3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalAvgPool3D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPool3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPool1D,
    MaxPool2D,
    MaxPool3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from kshim.layers.preprocessing import (  # noqa: F401,E402
    AugMix,
    AutoContrast,
    CutMix,
    Equalization,
    MaxNumBoundingBoxes,
    MixUp,
    RandAugment,
    RandomElasticTransform,
    RandomErasing,
    RandomGaussianBlur,
    RandomPerspective,
    RandomShear,
    RandomColorDegeneration,
    RandomColorJitter,
    RandomGrayscale,
    RandomHue,
    RandomInvert,
    RandomPosterization,
    RandomSaturation,
    RandomSharpness,
    Solarization,
    CategoryEncoding,
    CenterCrop,
    Discretization,
    Hashing,
    IntegerLookup,
    Normalization,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
    Resizing,
    StringLookup,
    TextVectorization,
    MelSpectrogram,
    STFTSpectrogram,
    HashedCrossing,
    ContrastLimitedAdaptiveHistogramEqualization,
)

from kshim.registry import LAYERS as _LAYERS  # noqa: E402
from kshim import serialization as _serialization  # noqa: E402

_LAYERS.register_all(v for v in list(globals().values()) if isinstance(v, type) and issubclass(v, Layer))


def serialize(layer):
    """A layer's Keras 3 config (``keras.layers.serialize``): ``{"module", "class_name", "config", ...}``."""
    return _serialization.serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """The layer a Keras 3 config describes (``keras.layers.deserialize``)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("layers.deserialize: expected a layer config dict with a 'class_name'. "
                         f"Received: config={config!r}")
    return _serialization.deserialize_keras_object(config, custom_objects=custom_objects)


# Keras 3 names kshim leaves out on purpose (README.md, "Public names not provided").
_ABSENT = {
    "TFSMLayer": ("it loads a TensorFlow SavedModel, which needs TensorFlow; kshim runs without TensorFlow "
                  "(export to ONNX with kshim.export instead)"),
}


def __getattr__(name):
    _raise_absent("kshim.layers", name, _ABSENT)
