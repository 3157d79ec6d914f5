"""VGG16 (Simonyan & Zisserman, 2015), as ``keras.applications.vgg16``."""

from kshim import layers
from kshim.applications import imagenet_utils

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
WEIGHTS_FILES = {True: ("vgg16_weights_tf_dim_ordering_tf_kernels.h5", "64373286793e3c8b2b4e3219cbf3544b"),
                 False: ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc")}


def build_vgg(convs_per_block, weights_files, weights_origin, include_top, weights, input_tensor, input_shape,
              pooling, classes, classifier_activation, name):
    """A VGG network: five blocks of 3x3 "same" ReLU convolutions (64, 128, 256, 512, 512 filters), each closed
    by a 2x2 max pooling, then two 4096-unit dense layers and the classifier."""
    img_input = imagenet_utils.start(name, include_top, weights, input_tensor, input_shape, pooling, classes,
                                     classifier_activation, default_size=224, min_size=32)
    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block), start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = imagenet_utils.finish(input_tensor, img_input, x, name)
    file_name, file_hash = weights_files[include_top]
    return imagenet_utils.load_weights(model, weights, file_name, weights_origin, file_hash)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg16"):
    """VGG16, Keras 3's arguments and layer names. ``weights``: None (seeded random), "imagenet" (Keras's file,
    from its cache folder) or a weights file path. Input images go through `preprocess_input` first."""
    return build_vgg((2, 2, 3, 3, 3), WEIGHTS_FILES, WEIGHTS_ORIGIN, include_top, weights, input_tensor,
                     input_shape, pooling, classes, classifier_activation, name)


def preprocess_input(x, data_format=None):
    """Caffe-style: RGB -> BGR, then minus the ImageNet mean pixel (no scaling)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes ``(class_name, class_description, score)`` of each prediction row."""
    return imagenet_utils.decode_predictions(preds, top=top)
