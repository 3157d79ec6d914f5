"""kshim.applications: Keras 3's pre-built image models, with its constructor arguments, layer names and weight
layout, so weights files move both ways. Each family module has its `preprocess_input` and `decode_predictions`
at Keras's path (``kshim.applications.resnet50.preprocess_input``, ...).

One import line per family module: the line binds the submodule and its model names.
"""

from kshim.applications import imagenet_utils  # noqa: F401
from kshim.applications.vgg16 import VGG16  # noqa: F401
from kshim.applications.vgg19 import VGG19  # noqa: F401
from kshim.applications.resnet import ResNet50, ResNet101, ResNet152  # noqa: F401
from kshim.applications import resnet50  # noqa: F401
from kshim.applications.resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2  # noqa: F401
from kshim.applications.mobilenet import MobileNet  # noqa: F401
from kshim.applications.mobilenet_v2 import MobileNetV2  # noqa: F401
from kshim.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small  # noqa: F401
from kshim.applications.densenet import DenseNet121, DenseNet169, DenseNet201  # noqa: F401
from kshim.applications.efficientnet import (EfficientNetB0, EfficientNetB1, EfficientNetB2,  # noqa: F401
                                             EfficientNetB3, EfficientNetB4, EfficientNetB5, EfficientNetB6,
                                             EfficientNetB7)
from kshim.applications.efficientnet_v2 import (EfficientNetV2B0, EfficientNetV2B1, EfficientNetV2B2,  # noqa: F401
                                                EfficientNetV2B3, EfficientNetV2L, EfficientNetV2M, EfficientNetV2S)
from kshim.applications.inception_v3 import InceptionV3  # noqa: F401
from kshim.applications.inception_resnet_v2 import InceptionResNetV2  # noqa: F401
from kshim.applications.xception import Xception  # noqa: F401
from kshim.applications.convnext import (ConvNeXtBase, ConvNeXtLarge, ConvNeXtSmall, ConvNeXtTiny,  # noqa: F401
                                         ConvNeXtXLarge)
from kshim.applications.nasnet import NASNetLarge, NASNetMobile  # noqa: F401
