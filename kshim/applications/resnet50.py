"""``keras.applications.resnet50``: ResNet50 and its preprocessing (the same as `kshim.applications.resnet`)."""

from kshim.applications.resnet import ResNet50, decode_predictions, preprocess_input  # noqa: F401
