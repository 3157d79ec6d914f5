"""ResNet50V2/101V2/152V2 (He et al., 2016: pre-activation blocks), as ``keras.applications.resnet_v2``."""

from kshim.applications import imagenet_utils
from kshim.applications.resnet import build_resnet


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
               classes=1000, classifier_activation="softmax", name="resnet50v2"):
    """ResNet50V2 with Keras 3's arguments and layer names. Input images go through `preprocess_input` first."""
    return build_resnet((3, 4, 6, 3), True, include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name, "resnet50v2")


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet101v2"):
    """ResNet101V2 with Keras 3's arguments and layer names."""
    return build_resnet((3, 4, 23, 3), True, include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name, "resnet101v2")


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet152v2"):
    """ResNet152V2 with Keras 3's arguments and layer names."""
    return build_resnet((3, 8, 36, 3), True, include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name, "resnet152v2")


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes ``(class_name, class_description, score)`` of each prediction row."""
    return imagenet_utils.decode_predictions(preds, top=top)
