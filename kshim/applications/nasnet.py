"""NASNet-A (Zoph et al., 2018), laid out as Keras 3's ``keras.applications.nasnet``: NASNetMobile (4 @ 1056,
default 224x224) and NASNetLarge (6 @ 4032, default 331x331).

Layer names, weight shapes and weight order are Keras 3's, so ``.weights.h5`` files move both ways. Like Keras,
the family is channels_last only. Inputs are preprocessed with ``preprocess_input`` (pixels scaled to [-1, 1]);
the smallest input is 32x32. (Keras 3 refuses NASNetMobile on its torch backend, citing an open bug; kshim builds
both models on both backends, and its tests compare them with Keras's jax backend.)

The network is a stem convolution, two stem reduction cells, then three stacks of ``num_blocks`` normal cells
separated by reduction cells. Every cell takes the current tensor ``x`` and the previous cell's input ``p``, first
adjusted to ``x``'s size and width (`_adjust`).
"""

from kshim import config, layers
from kshim.applications import imagenet_utils

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/"
# (file name in the Keras cache, file name at the origin, md5), with and without the classifier.
_FILES = {
    "mobile": (("nasnet_mobile.h5", "NASNet-mobile.h5", "020fb642bf7360b370c678b08e0adf61"),
               ("nasnet_mobile_no_top.h5", "NASNet-mobile-no-top.h5", "1ed92395b5b598bdda52abe5c0dbfd63")),
    "large": (("nasnet_large.h5", "NASNet-large.h5", "11577c9a518f0070763c2b964a382f17"),
              ("nasnet_large_no_top.h5", "NASNet-large-no-top.h5", "d81d89dc07e6e56530c4e77faddd61b5")),
}


def _bn(x, name=None):
    return layers.BatchNormalization(axis=-1, momentum=0.9997, epsilon=1e-3, name=name)(x)


def _conv1x1(x, filters, name):
    return layers.Conv2D(filters, (1, 1), padding="same", use_bias=False, kernel_initializer="he_normal",
                         name=name)(x)


def _sep_block(x, filters, kernel_size, block_id, strides=1):
    """Twice ReLU -> separable convolution -> batch norm; the first convolution may have stride 2 (with
    TensorFlow-style "same" padding written as an explicit ZeroPadding2D)."""
    x = layers.Activation("relu")(x)
    padding = "same"
    if strides == 2:
        x = layers.ZeroPadding2D(imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"separable_conv_1_pad_{block_id}")(x)
        padding = "valid"
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False,
                               name=f"separable_conv_1_{block_id}")(x)
    x = _bn(x, f"separable_conv_1_bn_{block_id}")
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, kernel_size, padding="same", use_bias=False,
                               name=f"separable_conv_2_{block_id}")(x)
    return _bn(x, f"separable_conv_2_bn_{block_id}")


def _adjust(p, x, filters, block_id):
    """The previous path ``p`` made to match ``x``: halved in size by two offset 1x1 strided paths when it is
    bigger, projected by a 1x1 convolution when only its width differs; ``x`` itself when there is none."""
    if p is None:
        return x
    if p.shape[-2] != x.shape[-2]:
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = _conv1x1(p1, filters // 2, f"adjust_conv_1_{block_id}")
        # the second path sees the map shifted by one pixel (pad bottom-right, crop top-left)
        p2 = layers.ZeroPadding2D(((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = _conv1x1(p2, filters // 2, f"adjust_conv_2_{block_id}")
        return _bn(layers.concatenate([p1, p2], axis=-1), f"adjust_bn_{block_id}")
    if p.shape[-1] != filters:
        p = layers.Activation("relu")(p)
        p = _conv1x1(p, filters, f"adjust_conv_projection_{block_id}")
        return _bn(p, f"adjust_bn_{block_id}")
    return p


def _squeeze(x, filters, kind, block_id):
    """ReLU -> 1x1 convolution -> batch norm: the cell's view ``h`` of its input."""
    h = layers.Activation("relu")(x)
    return _bn(_conv1x1(h, filters, f"{kind}_conv_1_{block_id}"), f"{kind}_bn_1_{block_id}")


def _avg3(x, name, strides=1, padding="same"):
    return layers.AveragePooling2D((3, 3), strides=strides, padding=padding, name=name)(x)


def _normal_cell(x, p, filters, block_id):
    """NASNet-A's normal cell (five pairwise sums, concatenated with ``p``); returns (output, its input ``x``)."""
    p = _adjust(p, x, filters, block_id)
    h = _squeeze(x, filters, "normal", block_id)
    b = block_id
    x1 = layers.add([_sep_block(h, filters, 5, f"normal_left1_{b}"), _sep_block(p, filters, 3, f"normal_right1_{b}")],
                    name=f"normal_add_1_{b}")
    x2 = layers.add([_sep_block(p, filters, 5, f"normal_left2_{b}"), _sep_block(p, filters, 3, f"normal_right2_{b}")],
                    name=f"normal_add_2_{b}")
    x3 = layers.add([_avg3(h, f"normal_left3_{b}"), p], name=f"normal_add_3_{b}")
    x4 = layers.add([_avg3(p, f"normal_left4_{b}"), _avg3(p, f"normal_right4_{b}")], name=f"normal_add_4_{b}")
    x5 = layers.add([_sep_block(h, filters, 3, f"normal_left5_{b}"), h], name=f"normal_add_5_{b}")
    return layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{b}"), x


def _reduction_cell(x, p, filters, block_id):
    """NASNet-A's reduction cell (halves the size); returns (output, its input ``x``)."""
    p = _adjust(p, x, filters, block_id)
    h = _squeeze(x, filters, "reduction", block_id)
    h3 = layers.ZeroPadding2D(imagenet_utils.correct_pad(h, 3), name=f"reduction_pad_1_{block_id}")(h)
    b = block_id
    x1 = layers.add([_sep_block(h, filters, 5, f"reduction_left1_{b}", strides=2),
                     _sep_block(p, filters, 7, f"reduction_right1_{b}", strides=2)], name=f"reduction_add_1_{b}")
    max_h3 = layers.MaxPooling2D((3, 3), strides=(2, 2), name=f"reduction_left2_{b}")(h3)
    x2 = layers.add([max_h3, _sep_block(p, filters, 7, f"reduction_right2_{b}", strides=2)],
                    name=f"reduction_add_2_{b}")
    x3 = layers.add([_avg3(h3, f"reduction_left3_{b}", strides=2, padding="valid"),
                     _sep_block(p, filters, 5, f"reduction_right3_{b}", strides=2)], name=f"reduction_add3_{b}")
    x4 = layers.add([x2, _avg3(x1, f"reduction_left4_{b}")])
    # Keras names this block's separable convolutions "left4" too (their layer names differ from the pooling's)
    x5 = layers.add([_sep_block(x1, filters, 3, f"reduction_left4_{b}"),
                     layers.MaxPooling2D((3, 3), strides=(2, 2), name=f"reduction_right5_{b}")(h3)],
                    name=f"reduction_add4_{b}")
    return layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{b}"), x


def _nasnet(kind, input_shape, include_top, weights, input_tensor, pooling, classes, classifier_activation, name,
            penultimate_filters, num_blocks, stem_block_filters, skip_reduction, filter_multiplier, default_size):
    where = "NASNetMobile" if kind == "mobile" else "NASNetLarge"
    if config.image_data_format() == "channels_first":
        raise ValueError(f"{where}: NASNet supports only the 'channels_last' image data format. Received: "
                         "image_data_format='channels_first' (set it with "
                         "`kshim.config.set_image_data_format('channels_last')`)")
    if weights == "imagenet" and isinstance(input_shape, tuple) and None in input_shape:
        raise ValueError(f"{where}: with weights='imagenet' the `input_shape` must be static (no None entries). "
                         f"Received: input_shape={input_shape}")
    img_input = imagenet_utils.start(name, include_top, weights, input_tensor, input_shape, pooling, classes,
                                     classifier_activation, default_size=default_size, min_size=32,
                                     shape_from_tensor=False)
    filters = penultimate_filters // 24
    m = filter_multiplier

    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid", use_bias=False,
                      kernel_initializer="he_normal", name="stem_conv1")(img_input)
    x = _bn(x, "stem_bn1")
    x, p = _reduction_cell(x, None, filters // m ** 2, "stem_1")
    x, p = _reduction_cell(x, p, filters // m, "stem_2")
    for stack in range(3):
        if stack:  # a reduction between stacks; with skip_reduction the next cell's `p` skips it
            reduced_block = f"reduce_{stack * num_blocks}"
            x, p_reduced = _reduction_cell(x, p, filters * m ** stack, reduced_block)
            p = p if skip_reduction else p_reduced
        for i in range(num_blocks):
            block = stack * num_blocks + i + (1 if stack else 0)
            x, p = _normal_cell(x, p, filters * m ** stack, str(block))
    x = layers.Activation("relu")(x)

    x = imagenet_utils.classifier_top(x, include_top, pooling, classes, classifier_activation, top_pool_name=None)
    model = imagenet_utils.finish(input_tensor, img_input, x, name)
    local, remote, md5 = _FILES[kind][0 if include_top else 1]
    return imagenet_utils.load_weights(model, weights, local, WEIGHTS_ORIGIN + remote, md5)


def NASNetMobile(input_shape=None, include_top=True, weights="imagenet", input_tensor=None, pooling=None,
                 classes=1000, classifier_activation="softmax", name="nasnet_mobile"):
    """Instantiates NASNet-A Mobile (4 @ 1056) with Keras 3's arguments and layer names; without the classifier
    and an ``input_shape`` the input is 224x224x3, as in Keras."""
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return _nasnet("mobile", input_shape, include_top, weights, input_tensor, pooling, classes,
                   classifier_activation, name, penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                   skip_reduction=False, filter_multiplier=2, default_size=224)


def NASNetLarge(input_shape=None, include_top=True, weights="imagenet", input_tensor=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="nasnet_large"):
    """Instantiates NASNet-A Large (6 @ 4032) with Keras 3's arguments and layer names (default input 331x331)."""
    return _nasnet("large", input_shape, include_top, weights, input_tensor, pooling, classes,
                   classifier_activation, name, penultimate_filters=4032, num_blocks=6, stem_block_filters=96,
                   skip_reduction=True, filter_multiplier=2, default_size=331)


preprocess_input = imagenet_utils.family_preprocess_input("tf")
decode_predictions = imagenet_utils.decode_predictions
