"""ResNet50V2/101V2/152V2 (He et al., 2016: pre-activation blocks), as ``keras.applications.resnet_v2``."""

from kshim.applications import imagenet_utils
from kshim.applications.resnet import build_resnet


ResNet50V2 = imagenet_utils.keras_variant("ResNet50V2", build_resnet, blocks=(3, 4, 6, 3), preact=True)
ResNet101V2 = imagenet_utils.keras_variant("ResNet101V2", build_resnet, blocks=(3, 4, 23, 3), preact=True)
ResNet152V2 = imagenet_utils.keras_variant("ResNet152V2", build_resnet, blocks=(3, 8, 36, 3), preact=True)


preprocess_input = imagenet_utils.family_preprocess_input("tf")
decode_predictions = imagenet_utils.decode_predictions
