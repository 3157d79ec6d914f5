"""MobileNet (Howard et al., 2017: depthwise separable convolutions), as ``keras.applications.mobilenet``."""

import warnings

from kshim import config, layers
from kshim.applications import imagenet_utils

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
IMAGENET_SIZES = (128, 160, 192, 224)
ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}


def _rows_cols(input_shape):
    if input_shape is None:
        return None, None
    return tuple(input_shape[1:3]) if config.image_data_format() == "channels_first" else tuple(input_shape[:2])


def _conv_block(x, filters, alpha, kernel=(3, 3), strides=(1, 1)):
    x = layers.Conv2D(int(filters * alpha), kernel, padding="same", use_bias=False, strides=strides,
                      name="conv1")(x)
    x = layers.BatchNormalization(axis=imagenet_utils.channel_axis(), name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(x, pointwise_filters, alpha, depth_multiplier=1, strides=(1, 1), block_id=1):
    """3x3 depthwise convolution, batch norm, ReLU6, then 1x1 pointwise convolution, batch norm, ReLU6. A strided
    block pads the bottom and right by one first (TensorFlow's "same" padding for a stride of 2)."""
    axis = imagenet_utils.channel_axis()
    if strides != (1, 1):
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if strides == (1, 1) else "valid",
                               depth_multiplier=depth_multiplier, strides=strides, use_bias=False,
                               name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(pointwise_filters * alpha), (1, 1), padding="same", use_bias=False, strides=(1, 1),
                      name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


# (pointwise filters, strided) of blocks 1..13
_BLOCKS = [(64, False), (128, True), (128, False), (256, True), (256, False), (512, True)] + [(512, False)] * 5 + [
    (1024, True), (1024, False)]


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True, weights="imagenet",
              input_tensor=None, pooling=None, classes=1000, classifier_activation="softmax", name=None):
    """MobileNet with Keras 3's arguments and layer names. ``alpha`` scales the width, ``depth_multiplier`` the
    depthwise convolutions. Input images go through `preprocess_input` first."""
    rows, cols = _rows_cols(input_shape)
    default_size = rows if rows == cols and rows in IMAGENET_SIZES else 224
    imagenet_utils.validate_args("MobileNet", include_top, weights, input_tensor, input_shape, pooling, classes,
                                 classifier_activation)
    if input_tensor is not None and input_shape is None:
        input_shape = input_tensor.shape[1:]
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size, 32, config.image_data_format(),
                                                    include_top, weights)
    rows, cols = _rows_cols(input_shape)
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError("MobileNet: ImageNet weights exist only for depth_multiplier=1. Received: "
                             f"depth_multiplier={depth_multiplier}")
        if alpha not in ALPHA_TEXT:
            raise ValueError("MobileNet: ImageNet weights exist only for alpha in (0.25, 0.5, 0.75, 1.0). "
                             f"Received: alpha={alpha}")
        if rows != cols or rows not in IMAGENET_SIZES:
            rows = 224
            warnings.warn("MobileNet: `input_shape` is undefined or non-square, or its size is not one of "
                          f"{IMAGENET_SIZES}; the weights for 224x224 inputs are loaded.", stacklevel=2)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    x = _conv_block(img_input, 32, alpha, strides=(2, 2))
    for block_id, (filters, strided) in enumerate(_BLOCKS, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, strides=(2, 2) if strided else (1, 1),
                                  block_id=block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    model = imagenet_utils.finish(input_tensor, img_input, x, name)
    file_name = None
    if weights == "imagenet":
        file_name = f"mobilenet_{ALPHA_TEXT[alpha]}_{rows}_tf{'' if include_top else '_no_top'}.h5"
    return imagenet_utils.load_weights(model, weights, file_name, WEIGHTS_ORIGIN)


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes ``(class_name, class_description, score)`` of each prediction row."""
    return imagenet_utils.decode_predictions(preds, top=top)
