"""kshim.applications: Keras 3's pre-built image models, with its constructor arguments, layer names and weight
layout, so weights files move both ways. Each family module has its `preprocess_input` and `decode_predictions`
at Keras's path (``kshim.applications.resnet50.preprocess_input``, ...).

One import line per family module: the line binds the submodule and its model names.
"""

from kshim.applications import imagenet_utils  # noqa: F401
