"""Xception (Chollet, 2017), laid out as Keras 3's ``keras.applications.xception``.

Layer names, weight shapes and weight order are Keras 3's. Inputs are preprocessed with ``preprocess_input``
(pixels scaled to [-1, 1]); the smallest input is 71x71 (default 299x299).
"""

from kshim import config, layers
from kshim.applications import imagenet_utils
from kshim.models import Model

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/xception/"
                "xception_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/xception/"
                       "xception_weights_tf_dim_ordering_tf_kernels_notop.h5")
_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")


def _sep_bn(x, filters, name, axis):
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=axis, name=f"{name}_bn")(x)


def _shortcut(x, filters, axis):
    residual = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return layers.BatchNormalization(axis=axis)(residual)


def _entry_block(x, block, filters, axis, first_relu=True):
    """Two separable convs and a stride-2 max pool, added to a strided 1x1 shortcut."""
    residual = _shortcut(x, filters[1], axis)
    if first_relu:
        x = layers.Activation("relu", name=f"{block}_sepconv1_act")(x)
    x = _sep_bn(x, filters[0], f"{block}_sepconv1", axis)
    x = layers.Activation("relu", name=f"{block}_sepconv2_act")(x)
    x = _sep_bn(x, filters[1], f"{block}_sepconv2", axis)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"{block}_pool")(x)
    return layers.add([x, residual])


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax", name="xception"):
    """Instantiates the Xception architecture (Keras 3's arguments)."""
    imagenet_utils.validate_args(name, include_top, weights, input_tensor, input_shape, pooling, classes,
                                 classifier_activation)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=71,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    axis = 1 if config.image_data_format() == "channels_first" else -1

    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=axis, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=axis, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)

    # block2 has no ReLU before its first separable conv, and Keras names its middle ReLU "sepconv2_act".
    x = _entry_block(x, "block2", (128, 128), axis, first_relu=False)
    x = _entry_block(x, "block3", (256, 256), axis)
    x = _entry_block(x, "block4", (728, 728), axis)

    for i in range(8):
        residual = x
        prefix = f"block{i + 5}"
        for k in (1, 2, 3):
            x = layers.Activation("relu", name=f"{prefix}_sepconv{k}_act")(x)
            x = _sep_bn(x, 728, f"{prefix}_sepconv{k}", axis)
        x = layers.add([x, residual])

    x = _entry_block(x, "block13", (728, 1024), axis)
    x = _sep_bn(x, 1536, "block14_sepconv1", axis)
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sep_bn(x, 2048, "block14_sepconv2", axis)
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = Model(imagenet_utils.source_inputs(input_tensor, img_input), x, name=name)
    url = WEIGHTS_PATH if include_top else WEIGHTS_PATH_NO_TOP
    return imagenet_utils.load_weights(model, weights, url.rsplit("/", 1)[1], origin=url,
                                       file_hash=_HASHES[0 if include_top else 1])


def preprocess_input(x, data_format=None):
    """Scale pixels from [0, 255] to [-1, 1] (Keras's "tf" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """ImageNet class names for the top predictions (see `imagenet_utils.decode_predictions`)."""
    return imagenet_utils.decode_predictions(preds, top=top)
