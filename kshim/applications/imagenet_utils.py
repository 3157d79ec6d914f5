"""What every `kshim.applications` family shares: ImageNet preprocessing and decoding, Keras's input-shape rules,
the checks of the constructor arguments, and the weights resolver (``None``, a file path, or ``"imagenet"``).

``"imagenet"`` weights and the class index are read from Keras's cache folder (``$KERAS_HOME/models``, default
``~/.keras/models``) under the file names Keras uses. When the file is absent they are fetched with `get_file`, but
only if the network answers within a few seconds; offline, a clear error names the file and where to put it.
"""

import json
import os
import socket
import urllib.parse
import warnings

import numpy as np

from kshim import activations, config, ops
from kshim.layers import Input, InputLayer, KerasTensor
from kshim.models import Model
from kshim.utils import file_utils

CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_ORIGIN = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
NETWORK_TIMEOUT_S = 3.0

_MEANS = {"caffe": (103.939, 116.779, 123.68), "torch": (0.485, 0.456, 0.406)}
_STDS = {"torch": (0.229, 0.224, 0.225)}
_CLASS_INDEX = {}


# -- preprocessing and decoding -----------------------------------------------------------------------------------

def _check_data_format(data_format, where):
    if data_format is None:
        return config.image_data_format()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"{where}: `data_format` must be 'channels_first' or 'channels_last'. "
                         f"Received: data_format={data_format!r}")
    return data_format


def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocess a batch (4D) or one image (3D) with values in [0, 255], as Keras 3 does.

    ``mode``: "caffe" (RGB -> BGR, minus the ImageNet mean pixel, no scaling), "tf" (scaled to [-1, 1]) or
    "torch" (scaled to [0, 1], then normalized per channel by the ImageNet mean and std). A numpy array gives a
    new float numpy array (the input is not overwritten); a backend tensor or a symbolic tensor gives a tensor.
    """
    if mode not in ("caffe", "tf", "torch"):
        raise ValueError(f"preprocess_input: `mode` must be 'caffe', 'tf' or 'torch'. Received: mode={mode!r}")
    data_format = _check_data_format(data_format, "preprocess_input")
    is_numpy = isinstance(x, np.ndarray)
    if is_numpy:
        x = np.array(x, dtype=x.dtype if np.issubdtype(x.dtype, np.floating) else config.floatx())
        xp_stack, xp_asarray = np.stack, (lambda v: np.asarray(v, dtype=x.dtype))
    else:
        x = ops.convert_to_tensor(x) if not isinstance(x, KerasTensor) else x
        xp_stack, xp_asarray = ops.stack, (lambda v: ops.convert_to_tensor(np.asarray(v), dtype=x.dtype))
    if mode == "tf":
        return x / xp_asarray(127.5) - xp_asarray(1.0)
    ndim = len(x.shape)
    channel_axis = (0 if ndim == 3 else 1) if data_format == "channels_first" else ndim - 1
    if mode == "torch":
        x = x / xp_asarray(255.0)
    else:  # caffe: RGB -> BGR
        channels = [ops.take(x, i, axis=channel_axis) if not is_numpy else np.take(x, i, axis=channel_axis)
                    for i in (2, 1, 0)]
        x = xp_stack(channels, axis=channel_axis)
    shape = [1] * ndim
    shape[channel_axis] = 3
    x = x - xp_asarray(np.reshape(np.asarray(_MEANS[mode]), shape))
    if mode in _STDS:
        x = x / xp_asarray(np.reshape(np.asarray(_STDS[mode]), shape))
    return x


def _keras_models_dir():
    return os.path.join(file_utils.cache_root(), "models")


def _class_index():
    if "index" not in _CLASS_INDEX:
        path = os.path.join(_keras_models_dir(), CLASS_INDEX_FILE)
        if not os.path.exists(path):
            path = _fetch(CLASS_INDEX_FILE, CLASS_INDEX_ORIGIN, "c2c37ea517e94d9795004a39431a14cb",
                          "decode_predictions")
        with open(path) as f:
            _CLASS_INDEX["index"] = json.load(f)
    return _CLASS_INDEX["index"]


def decode_predictions(preds, top=5):
    """For each row of a (samples, 1000) batch of ImageNet predictions, the ``top`` best
    ``(class_name, class_description, score)`` tuples, best first (Keras 3's return value)."""
    preds = np.asarray(ops.convert_to_numpy(preds))
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("decode_predictions: `preds` must be a batch of ImageNet predictions, a 2D array of shape "
                         f"(samples, 1000). Received: preds.shape={preds.shape}")
    if not isinstance(top, int) or top < 1:
        raise ValueError(f"decode_predictions: `top` must be a positive integer. Received: top={top!r}")
    index = _class_index()
    results = []
    for row in preds:
        best = np.argsort(row, kind="stable")[-top:][::-1]
        result = [tuple(index[str(i)]) + (row[i],) for i in best]
        result.sort(key=lambda item: item[2], reverse=True)
        results.append(result)
    return results


def reset_class_index():
    """Forget the cached class index, so the next `decode_predictions` reads the file again."""
    _CLASS_INDEX.clear()


# -- constructor arguments ----------------------------------------------------------------------------------------

def validate_args(name, include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation):
    """Check the arguments that every application constructor shares; raise a ValueError naming the bad one."""
    if not isinstance(include_top, bool):
        raise ValueError(f"{name}: `include_top` must be True or False. Received: include_top={include_top!r}")
    if not (weights is None or weights == "imagenet" or (isinstance(weights, (str, os.PathLike))
                                                         and os.path.exists(weights))):
        raise ValueError(f"{name}: `weights` must be None (random initialization), 'imagenet' (pre-trained on "
                         f"ImageNet) or the path to an existing weights file. Received: weights={weights!r}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"{name}: with weights='imagenet' and include_top=True, `classes` must be 1000. "
                         f"Received: classes={classes!r}")
    if include_top and not (isinstance(classes, int) and not isinstance(classes, bool) and classes > 0):
        raise ValueError(f"{name}: `classes` must be a positive integer. Received: classes={classes!r}")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{name}: `pooling` must be None, 'avg' or 'max'. Received: pooling={pooling!r}")
    if input_tensor is not None and not isinstance(input_tensor, KerasTensor):
        raise ValueError(f"{name}: `input_tensor` must be a symbolic tensor (from `kshim.Input` or a layer call). "
                         f"Received: input_tensor of type {type(input_tensor).__name__}")
    if input_shape is not None and not (isinstance(input_shape, (tuple, list)) and all(
            d is None or (isinstance(d, int) and d > 0) for d in input_shape)):
        raise ValueError(f"{name}: `input_shape` must be a tuple of positive integers or None. "
                         f"Received: input_shape={input_shape!r}")
    if include_top and weights is not None:
        fn = activations.get(classifier_activation)
        if fn not in (activations.get("softmax"), activations.get(None)):
            raise ValueError(f"{name}: with pre-trained weights and include_top=True, `classifier_activation` must "
                             f"be None or 'softmax'. Received: classifier_activation={classifier_activation!r}")


def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten, weights=None):
    """The model's input shape (without the batch axis) by Keras's rules: the default square size when none is
    given and the model needs a static shape; at least ``min_size`` pixels each side; 3 channels for ImageNet
    weights; exactly the default shape for ImageNet weights with the classifier on top."""
    first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if first else input_shape[-1]
        if channels not in (1, 3):
            warnings.warn(f"This model usually expects 1 or 3 input channels. However, it was passed an "
                          f"input_shape with {channels} input channels.", stacklevel=3)
        default_shape = (channels, default_size, default_size) if first else (default_size, default_size, channels)
    else:
        default_shape = (3, default_size, default_size) if first else (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError(f"With include_top=True and weights='imagenet', `input_shape` must be "
                             f"{default_shape}. Received: input_shape={tuple(input_shape)}")
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"`input_shape` must be a tuple of three integers. Received: input_shape={input_shape}")
        channels, spatial = (input_shape[0], input_shape[1:]) if first else (input_shape[-1], input_shape[:2])
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"With weights='imagenet' the input must have 3 channels. Received: "
                             f"input_shape={input_shape}")
        if any(d is not None and d < min_size for d in spatial):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}. Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError(f"With include_top=True the `input_shape` must be static. Received: "
                         f"input_shape={input_shape}")
    return input_shape


def model_input(input_tensor, input_shape):
    """The tensor the network starts from: a new `Input` of ``input_shape``, or the given ``input_tensor``."""
    if input_tensor is None:
        return Input(shape=input_shape)
    return input_tensor


def source_inputs(input_tensor, img_input):
    """The model's inputs: the `Input` tensors that ``input_tensor`` was computed from (or ``img_input``)."""
    if input_tensor is None:
        return img_input
    found, seen, stack = [], set(), [input_tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        layer, node_index, _ = t._keras_history
        if isinstance(layer, InputLayer):
            found.append(t)
            continue
        node = layer._inbound_nodes[node_index]
        inputs = node.inputs if isinstance(node.inputs, (list, tuple)) else [node.inputs]
        stack.extend(v for v in inputs if isinstance(v, KerasTensor))
    return found[0] if len(found) == 1 else found


def correct_pad(inputs, kernel_size):
    """The ZeroPadding2D padding ((top, bottom), (left, right)) that makes a stride-2 "valid" convolution of
    ``kernel_size`` see the image as TensorFlow's "same" padding would."""
    axis = 2 if config.image_data_format() == "channels_first" else 1
    size = inputs.shape[axis:axis + 2]
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = (kernel[0] // 2, kernel[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))


# -- weights ------------------------------------------------------------------------------------------------------

def _network_answers(origin, timeout=NETWORK_TIMEOUT_S):
    parsed = urllib.parse.urlsplit(origin)
    if parsed.scheme in ("", "file"):
        return True
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _fetch(file_name, origin, file_hash, where):
    """The cached path of ``file_name`` in Keras's models folder, fetched from ``origin`` when the network answers
    quickly; else an OSError that names the file and the folder to put it in."""
    folder = _keras_models_dir()
    offline = OSError(
        f"{where}: the file '{file_name}' is not in the Keras cache folder '{folder}', and it cannot be downloaded "
        f"now (no network answer from {origin} within {NETWORK_TIMEOUT_S:g} s). Download it on a machine that is "
        f"online (from {origin}) and put it at '{os.path.join(folder, file_name)}' (set $KERAS_HOME to use another "
        "cache root).")
    if origin is None or not _network_answers(origin):
        raise offline
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30.0)  # a transfer that stalls fails instead of hanging
    try:
        return file_utils.get_file(file_name, origin, cache_subdir="models", file_hash=file_hash,
                                   cache_dir=file_utils.cache_root())
    except (RuntimeError, OSError) as e:
        raise offline from e
    finally:
        socket.setdefaulttimeout(previous)


def load_weights(model, weights, file_name=None, origin=None, file_hash=None):
    """Give ``model`` its weights: ``None`` keeps the seeded random ones; a path loads a ``.weights.h5``,
    ``.keras`` or Keras 2 ``.h5`` file; ``"imagenet"`` loads Keras's ``file_name`` from its cache folder, fetched
    from ``origin`` (a folder URL ending in "/", or the file's URL) when the network answers."""
    if weights is None:
        return model
    if weights == "imagenet":
        if file_name is None:
            raise ValueError(f"{model.name}: there are no ImageNet weights for this configuration.")
        path = os.path.join(_keras_models_dir(), file_name)
        if not os.path.exists(path):
            url = origin + file_name if origin is not None and origin.endswith("/") else origin
            path = _fetch(file_name, url, file_hash, model.name)
        model.load_weights(path)
        return model
    model.load_weights(os.fspath(weights))
    return model


# -- the frame every family builds in -----------------------------------------------------------------------------

def start(name, include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
          default_size, min_size):
    """Check the shared arguments and give the tensor the network starts from (Keras's rules for its shape)."""
    validate_args(name, include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation)
    if input_tensor is not None and input_shape is None:
        input_shape = input_tensor.shape[1:]
    shape = obtain_input_shape(input_shape, default_size, min_size, config.image_data_format(), include_top,
                               weights)
    return model_input(input_tensor, shape)


def finish(input_tensor, img_input, outputs, name):
    """The functional model from the image input (or the inputs behind ``input_tensor``) to ``outputs``."""
    return Model(source_inputs(input_tensor, img_input), outputs, name=name)


def channel_axis():
    """The channel axis of an image batch under the current `image_data_format`."""
    return 1 if config.image_data_format() == "channels_first" else -1
