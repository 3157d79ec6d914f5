"""EfficientNetV2 B0-B3, S, M, L (Tan & Le, 2021), laid out as Keras 3's ``keras.applications.efficientnet_v2``.

Layer names, weight shapes and weight order are Keras 3's. With ``include_preprocessing=True`` (the default) the
model takes images in [0, 255] and normalizes them itself; ``preprocess_input`` returns its input unchanged.
"""

import copy
import math

from kshim import config, initializers, layers
from kshim.applications import imagenet_utils
from kshim.applications.efficientnet import (CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER,
                                             squeeze_excite)
from kshim.models import Model

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
WEIGHTS_HASHES = {  # (with top, without top), md5 as Keras 3 lists them
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}


def _stages(rows):
    """Stage rows (kernel, repeats, in, out, expand, se_ratio, strides, conv_type) as Keras's block dicts;
    conv_type 1 is a fused MBConv, 0 a plain one."""
    keys = ("kernel_size", "num_repeat", "input_filters", "output_filters", "expand_ratio", "se_ratio", "strides",
            "conv_type")
    return [dict(zip(keys, row)) for row in rows]


_B_SERIES = _stages([
    (3, 1, 32, 16, 1, 0, 1, 1),
    (3, 2, 16, 32, 4, 0, 2, 1),
    (3, 2, 32, 48, 4, 0, 2, 1),
    (3, 3, 48, 96, 4, 0.25, 2, 0),
    (3, 5, 96, 112, 6, 0.25, 1, 0),
    (3, 8, 112, 192, 6, 0.25, 2, 0),
])
DEFAULT_BLOCKS_ARGS = {
    "efficientnetv2-s": _stages([
        (3, 2, 24, 24, 1, 0, 1, 1),
        (3, 4, 24, 48, 4, 0, 2, 1),
        (3, 4, 48, 64, 4, 0, 2, 1),
        (3, 6, 64, 128, 4, 0.25, 2, 0),
        (3, 9, 128, 160, 6, 0.25, 1, 0),
        (3, 15, 160, 256, 6, 0.25, 2, 0),
    ]),
    "efficientnetv2-m": _stages([
        (3, 3, 24, 24, 1, 0, 1, 1),
        (3, 5, 24, 48, 4, 0, 2, 1),
        (3, 5, 48, 80, 4, 0, 2, 1),
        (3, 7, 80, 160, 4, 0.25, 2, 0),
        (3, 14, 160, 176, 6, 0.25, 1, 0),
        (3, 18, 176, 304, 6, 0.25, 2, 0),
        (3, 5, 304, 512, 6, 0.25, 1, 0),
    ]),
    "efficientnetv2-l": _stages([
        (3, 4, 32, 32, 1, 0, 1, 1),
        (3, 7, 32, 64, 4, 0, 2, 1),
        (3, 7, 64, 96, 4, 0, 2, 1),
        (3, 10, 96, 192, 4, 0.25, 2, 0),
        (3, 19, 192, 224, 6, 0.25, 1, 0),
        (3, 25, 224, 384, 6, 0.25, 2, 0),
        (3, 7, 384, 640, 6, 0.25, 1, 0),
    ]),
    "efficientnetv2-b0": _B_SERIES,
    "efficientnetv2-b1": _B_SERIES,
    "efficientnetv2-b2": _B_SERIES,
    "efficientnetv2-b3": _B_SERIES,
}


def round_filters(filters, width_coefficient, min_depth, depth_divisor):
    """Scale ``filters`` by the width coefficient, rounded to a multiple of ``depth_divisor``."""
    filters *= width_coefficient
    minimum = min_depth or depth_divisor
    return int(max(minimum, int(filters + depth_divisor / 2) // depth_divisor * depth_divisor))


def round_repeats(repeats, depth_coefficient):
    return int(math.ceil(depth_coefficient * repeats))


def _conv_bn_act(x, filters, kernel_size, strides, bn_momentum, activation, name, conv, bn, act):
    bn_axis = 1 if config.image_data_format() == "channels_first" else 3
    x = layers.Conv2D(filters, kernel_size, strides=strides, kernel_initializer=CONV_KERNEL_INITIALIZER,
                      padding="same", use_bias=False, name=f"{name}{conv}")(x)
    x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}{bn}")(x)
    if act is not None:
        x = layers.Activation(activation, name=f"{name}{act}")(x)
    return x


def _residual(x, inputs, strides, input_filters, output_filters, survival_probability, name):
    if strides == 1 and input_filters == output_filters:
        if survival_probability:
            x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def MBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1, se_ratio=0.0,
                bn_momentum=0.9, activation="swish", survival_probability=0.8, name=None):
    """Expand (1x1) -> depthwise -> squeeze-excite -> project (1x1), with a residual when shapes allow."""
    name = name or "block0"

    def apply(inputs):
        bn_axis = 1 if config.image_data_format() == "channels_first" else 3
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _conv_bn_act(x, filters, 1, 1, bn_momentum, activation, name, "expand_conv", "expand_bn",
                             "expand_activation")
        x = layers.DepthwiseConv2D(kernel_size=kernel_size, strides=strides,
                                   depthwise_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                                   name=f"{name}dwconv2")(x)
        x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}bn")(x)
        x = layers.Activation(activation, name=f"{name}activation")(x)
        if 0 < se_ratio <= 1:
            x = squeeze_excite(x, filters, max(1, int(input_filters * se_ratio)), activation, name)
        x = _conv_bn_act(x, output_filters, 1, 1, bn_momentum, activation, name, "project_conv", "project_bn", None)
        return _residual(x, inputs, strides, input_filters, output_filters, survival_probability, name)

    return apply


def FusedMBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1, se_ratio=0.0,
                     bn_momentum=0.9, activation="swish", survival_probability=0.8, name=None):
    """A full conv in place of expand + depthwise (when expanding), then squeeze-excite and the projection."""
    name = name or "block0"

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _conv_bn_act(x, filters, kernel_size, strides, bn_momentum, activation, name, "expand_conv",
                             "expand_bn", "expand_activation")
        if 0 < se_ratio <= 1:
            x = squeeze_excite(x, filters, max(1, int(input_filters * se_ratio)), activation, name)
        single = expand_ratio == 1
        x = _conv_bn_act(x, output_filters, kernel_size if single else 1, strides if single else 1, bn_momentum,
                         activation, name, "project_conv", "project_bn", "project_activation" if single else None)
        return _residual(x, inputs, strides, input_filters, output_filters, survival_probability, name)

    return apply


def EfficientNetV2(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2, drop_connect_rate=0.2,
                   depth_divisor=8, min_depth=8, bn_momentum=0.9, activation="swish", blocks_args="default",
                   name="efficientnetv2", include_top=True, weights="imagenet", input_tensor=None,
                   input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
                   include_preprocessing=True, weights_name=None):
    """Build an EfficientNetV2 from its coefficients (the B0-B3/S/M/L functions pick Keras 3's)."""
    if blocks_args == "default":
        if name not in DEFAULT_BLOCKS_ARGS:
            raise ValueError(f"EfficientNetV2: with blocks_args='default', `name` must be one of "
                             f"{sorted(DEFAULT_BLOCKS_ARGS)}. Received: name={name!r}")
        blocks_args = DEFAULT_BLOCKS_ARGS[name]
    imagenet_utils.validate_args(name, include_top, weights, input_tensor, input_shape, pooling, classes,
                                 classifier_activation)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    bn_axis = 1 if config.image_data_format() == "channels_first" else 3

    def rf(filters):
        return round_filters(filters, width_coefficient, min_depth, depth_divisor)

    x = img_input
    if include_preprocessing:
        channels = input_shape[bn_axis - 1]
        if name.split("-")[-1].startswith("b") and channels == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229 ** 2, 0.224 ** 2, 0.225 ** 2],
                                     axis=bn_axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)
    x = _conv_bn_act(x, rf(blocks_args[0]["input_filters"]), 3, 2, bn_momentum, activation, "", "stem_conv",
                     "stem_bn", "stem_activation")

    blocks_args = copy.deepcopy(blocks_args)
    total = float(sum(a["num_repeat"] for a in blocks_args))
    b = 0
    for i, args in enumerate(blocks_args):
        if args["num_repeat"] <= 0:
            raise ValueError(f"EfficientNetV2: every block's `num_repeat` must be > 0. Received: "
                             f"num_repeat={args['num_repeat']}")
        args["input_filters"] = rf(args["input_filters"])
        args["output_filters"] = rf(args["output_filters"])
        make = FusedMBConvBlock if args.pop("conv_type") == 1 else MBConvBlock
        for j in range(round_repeats(args.pop("num_repeat"), depth_coefficient)):
            if j > 0:
                args["strides"] = 1
                args["input_filters"] = args["output_filters"]
            x = make(activation=activation, bn_momentum=bn_momentum,
                     survival_probability=drop_connect_rate * b / total, name=f"block{i + 1}{chr(j + 97)}_",
                     **args)(x)
            b += 1

    x = _conv_bn_act(x, rf(1280), 1, 1, bn_momentum, activation, "", "top_conv", "top_bn", "top_activation")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=DENSE_KERNEL_INITIALIZER,
                         bias_initializer=initializers.Constant(0.0), name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(imagenet_utils.source_inputs(input_tensor, img_input), x, name=name)
    hashes = WEIGHTS_HASHES.get(weights_name)
    return imagenet_utils.load_weights(model, weights, name + (".h5" if include_top else "_notop.h5"),
                                       origin=BASE_WEIGHTS_PATH,
                                       file_hash=hashes and hashes[0 if include_top else 1])


# function name -> (width, depth, default size, Keras's model name, weights key)
_VARIANTS = {
    "EfficientNetV2B0": (1.0, 1.0, 224, "efficientnetv2-b0", "b0"),
    "EfficientNetV2B1": (1.0, 1.1, 240, "efficientnetv2-b1", "b1"),
    "EfficientNetV2B2": (1.1, 1.2, 260, "efficientnetv2-b2", "b2"),
    "EfficientNetV2B3": (1.2, 1.4, 300, "efficientnetv2-b3", "b3"),
    "EfficientNetV2S": (1.0, 1.0, 384, "efficientnetv2-s", "-s"),
    "EfficientNetV2M": (1.0, 1.0, 480, "efficientnetv2-m", "-m"),
    "EfficientNetV2L": (1.0, 1.0, 480, "efficientnetv2-l", "-l"),
}


def _variant(fn_name):
    width, depth, size, model_name, key = _VARIANTS[fn_name]

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", include_preprocessing=True, name=model_name):
        return EfficientNetV2(width, depth, size, name=name, include_top=include_top, weights=weights,
                              input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                              classifier_activation=classifier_activation,
                              include_preprocessing=include_preprocessing, weights_name=key)

    build.__name__ = build.__qualname__ = fn_name
    build.__doc__ = (f"Instantiates {fn_name} (default input {size}x{size}, at least 32x32). With "
                     "`include_preprocessing=True` inputs are images in [0, 255].")
    return build


EfficientNetV2B0 = _variant("EfficientNetV2B0")
EfficientNetV2B1 = _variant("EfficientNetV2B1")
EfficientNetV2B2 = _variant("EfficientNetV2B2")
EfficientNetV2B3 = _variant("EfficientNetV2B3")
EfficientNetV2S = _variant("EfficientNetV2S")
EfficientNetV2M = _variant("EfficientNetV2M")
EfficientNetV2L = _variant("EfficientNetV2L")


def preprocess_input(x, data_format=None):
    """Returns ``x`` unchanged: EfficientNetV2 normalizes inside the model (kept for Keras's API)."""
    return x


def decode_predictions(preds, top=5):
    """ImageNet class names for the top predictions (see `imagenet_utils.decode_predictions`)."""
    return imagenet_utils.decode_predictions(preds, top=top)
