"""Inception V3 (Szegedy et al., 2015), laid out as Keras 3's ``keras.applications.inception_v3``.

Layer names, weight shapes and weight order are Keras 3's. Inputs are preprocessed with ``preprocess_input``
(pixels scaled to [-1, 1]); the smallest input is 75x75 (default 299x299).
"""

from kshim import config, layers
from kshim.applications import imagenet_utils
from kshim.models import Model

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
                "inception_v3_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
                       "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")
_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """Conv2D (no bias) -> BatchNormalization (no scale) -> ReLU."""
    bn_axis = 1 if config.image_data_format() == "channels_first" else 3
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False,
                      name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, scale=False, name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def _avg_branch(x, filters):
    return conv2d_bn(layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x), filters, 1, 1)


def _chain(x, specs):
    for filters, rows, cols in specs:
        x = conv2d_bn(x, filters, rows, cols)
    return x


def _block_35(x, pool_filters, name, axis):
    """The 35x35 block (mixed0-2): 1x1, 5x5, double 3x3 and pooled branches."""
    return layers.concatenate([
        conv2d_bn(x, 64, 1, 1),
        _chain(x, [(48, 1, 1), (64, 5, 5)]),
        _chain(x, [(64, 1, 1), (96, 3, 3), (96, 3, 3)]),
        _avg_branch(x, pool_filters),
    ], axis=axis, name=name)


def _block_17(x, mid, name, axis):
    """The 17x17 block (mixed4-7): factorized 7x7 convolutions with ``mid`` inner filters."""
    return layers.concatenate([
        conv2d_bn(x, 192, 1, 1),
        _chain(x, [(mid, 1, 1), (mid, 1, 7), (192, 7, 1)]),
        _chain(x, [(mid, 1, 1), (mid, 7, 1), (mid, 1, 7), (mid, 7, 1), (192, 1, 7)]),
        _avg_branch(x, 192),
    ], axis=axis, name=name)


def _block_8(x, i, axis):
    """The 8x8 block (mixed9, mixed10): split 1x3/3x1 branches."""
    branch3x3 = conv2d_bn(x, 384, 1, 1)
    branch3x3 = layers.concatenate([conv2d_bn(branch3x3, 384, 1, 3), conv2d_bn(branch3x3, 384, 3, 1)], axis=axis,
                                   name=f"mixed9_{i}")
    dbl = _chain(x, [(448, 1, 1), (384, 3, 3)])
    dbl = layers.concatenate([conv2d_bn(dbl, 384, 1, 3), conv2d_bn(dbl, 384, 3, 1)], axis=axis)
    return layers.concatenate([conv2d_bn(x, 320, 1, 1), branch3x3, dbl, _avg_branch(x, 192)], axis=axis,
                              name=f"mixed{9 + i}")


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="inception_v3"):
    """Instantiates the Inception v3 architecture (Keras 3's arguments)."""
    imagenet_utils.validate_args(name, include_top, weights, input_tensor, input_shape, pooling, classes,
                                 classifier_activation)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=75,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    axis = 1 if config.image_data_format() == "channels_first" else 3

    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)

    x = _block_35(x, 32, "mixed0", axis)
    x = _block_35(x, 64, "mixed1", axis)
    x = _block_35(x, 64, "mixed2", axis)
    x = layers.concatenate([
        conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid"),
        conv2d_bn(_chain(x, [(64, 1, 1), (96, 3, 3)]), 96, 3, 3, strides=(2, 2), padding="valid"),
        layers.MaxPooling2D((3, 3), strides=(2, 2))(x),
    ], axis=axis, name="mixed3")
    x = _block_17(x, 128, "mixed4", axis)
    x = _block_17(x, 160, "mixed5", axis)
    x = _block_17(x, 160, "mixed6", axis)
    x = _block_17(x, 192, "mixed7", axis)
    x = layers.concatenate([
        conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid"),
        conv2d_bn(_chain(x, [(192, 1, 1), (192, 1, 7), (192, 7, 1)]), 192, 3, 3, strides=(2, 2), padding="valid"),
        layers.MaxPooling2D((3, 3), strides=(2, 2))(x),
    ], axis=axis, name="mixed8")
    x = _block_8(x, 0, axis)
    x = _block_8(x, 1, axis)

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
