"""DenseNet121/169/201 (Huang et al., 2017: densely connected blocks), as ``keras.applications.densenet``."""

from kshim import config, layers
from kshim.applications import imagenet_utils

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
WEIGHTS_HASHES = {  # (with the top, without)
    "densenet121": ("9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    "densenet169": ("d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    "densenet201": ("1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}
EPS = 1.001e-5
_BN_AXIS = 3


def _bn(x, name):
    return layers.BatchNormalization(axis=_BN_AXIS, epsilon=EPS, name=name)(x)


def conv_block(x, growth_rate, name):
    """Batch norm, ReLU, 1x1 conv (4 * growth_rate), batch norm, ReLU, 3x3 conv (growth_rate); the result is
    concatenated to the block's input."""
    x1 = layers.Activation("relu", name=f"{name}_0_relu")(_bn(x, f"{name}_0_bn"))
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(x1)
    x1 = layers.Activation("relu", name=f"{name}_1_relu")(_bn(x1, f"{name}_1_bn"))
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x1)
    return layers.Concatenate(axis=_BN_AXIS, name=f"{name}_concat")([x, x1])


def dense_block(x, blocks, name):
    for i in range(blocks):
        x = conv_block(x, 32, name=f"{name}_block{i + 1}")
    return x


def transition_block(x, reduction, name):
    """Batch norm, ReLU, a 1x1 conv that keeps ``reduction`` of the channels, then a 2x2 average pooling."""
    x = layers.Activation("relu", name=f"{name}_relu")(_bn(x, f"{name}_bn"))
    x = layers.Conv2D(int(x.shape[_BN_AXIS] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def build_densenet(blocks, include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                   name, weights_name):
    if config.image_data_format() == "channels_first":
        raise ValueError(f"{name}: DenseNet supports only the 'channels_last' image data format (as in Keras). "
                         "Received: image_data_format='channels_first'")
    img_input = imagenet_utils.start(name, include_top, weights, input_tensor, input_shape, pooling, classes,
                                     classifier_activation, default_size=224, min_size=32)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.Activation("relu", name="conv1_relu")(_bn(x, "conv1_bn"))
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for i, n in enumerate(blocks):
        x = dense_block(x, n, name=f"conv{i + 2}")
        if i < 3:
            x = transition_block(x, 0.5, name=f"pool{i + 2}")
    x = layers.Activation("relu", name="relu")(_bn(x, "bn"))
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = imagenet_utils.finish(input_tensor, img_input, x, name)
    suffix = "" if include_top else "_notop"
    return imagenet_utils.load_weights(model, weights, f"{weights_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                                       WEIGHTS_ORIGIN, WEIGHTS_HASHES[weights_name][0 if include_top else 1])


def DenseNet121(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet121"):
    """DenseNet121 with Keras 3's arguments and layer names. Input images go through `preprocess_input` first."""
    return build_densenet((6, 12, 24, 16), include_top, weights, input_tensor, input_shape, pooling, classes,
                          classifier_activation, name, "densenet121")


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet169"):
    """DenseNet169 with Keras 3's arguments and layer names."""
    return build_densenet((6, 12, 32, 32), include_top, weights, input_tensor, input_shape, pooling, classes,
                          classifier_activation, name, "densenet169")


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet201"):
    """DenseNet201 with Keras 3's arguments and layer names."""
    return build_densenet((6, 12, 48, 32), include_top, weights, input_tensor, input_shape, pooling, classes,
                          classifier_activation, name, "densenet201")


def preprocess_input(x, data_format=None):
    """Torch-style: pixels scaled to [0, 1], then normalized per channel by the ImageNet mean and std."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes ``(class_name, class_description, score)`` of each prediction row."""
    return imagenet_utils.decode_predictions(preds, top=top)
