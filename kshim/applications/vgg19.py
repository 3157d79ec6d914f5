"""VGG19 (Simonyan & Zisserman, 2015), as ``keras.applications.vgg19``."""

from kshim.applications import imagenet_utils
from kshim.applications.vgg16 import build_vgg

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
WEIGHTS_FILES = {True: ("vgg19_weights_tf_dim_ordering_tf_kernels.h5", "cbe5617147190e668d6c5d5026f83318"),
                 False: ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6")}


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg19"):
    """VGG19, Keras 3's arguments and layer names (see `VGG16`)."""
    return build_vgg((2, 2, 4, 4, 4), WEIGHTS_FILES, WEIGHTS_ORIGIN, include_top, weights, input_tensor,
                     input_shape, pooling, classes, classifier_activation, name)


def preprocess_input(x, data_format=None):
    """Caffe-style: RGB -> BGR, then minus the ImageNet mean pixel (no scaling)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes ``(class_name, class_description, score)`` of each prediction row."""
    return imagenet_utils.decode_predictions(preds, top=top)
