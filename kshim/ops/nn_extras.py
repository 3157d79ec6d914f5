"""The rest of Keras 3's ``keras.ops.nn`` written once on the primitives: the cross-entropies, one-hot and
multi-hot encodings, depth/space rearrangements and im2col (`unfold`) with its inverse (`fold`)."""

from kshim import config
from kshim.backends import B
from kshim.ops import symbolic as _symbolic


def _same_shape(name, target, output):
    if tuple(B.shape(target)) != tuple(B.shape(output)):
        raise ValueError(f"{name}: `target` and `output` must have the same shape. Received: "
                         f"target.shape={tuple(B.shape(target))}, output.shape={tuple(B.shape(output))}")


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (``output`` clipped to [eps, 1 - eps] unless ``from_logits``)."""
    target, output = B.convert_to_tensor(target), B.convert_to_tensor(output)
    _same_shape("binary_crossentropy", target, output)
    if from_logits:
        return B.subtract(B.negative(B.multiply(target, B.log_sigmoid(output))),
                          B.multiply(B.subtract(1.0, target), B.log_sigmoid(B.negative(output))))
    eps = config.epsilon()
    output = B.clip(output, eps, 1.0 - eps)
    return B.negative(B.add(B.multiply(target, B.log(output)),
                            B.multiply(B.subtract(1.0, target), B.log(B.subtract(1.0, output)))))


def _log_probs(output, from_logits, axis):
    if from_logits:
        return B.log_softmax(output, axis=axis)
    output = B.divide(output, B.sum(output, axis=axis, keepdims=True))
    eps = config.epsilon()
    return B.log(B.clip(output, eps, 1.0 - eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """``-sum(target * log(p))`` along ``axis``, ``p`` the (normalised, clipped) probabilities or
    ``log_softmax(output)`` with ``from_logits``."""
    target, output = B.convert_to_tensor(target), B.convert_to_tensor(output)
    _same_shape("categorical_crossentropy", target, output)
    if len(B.shape(target)) < 1:
        raise ValueError("categorical_crossentropy: `target` must have at least one axis. Received: "
                         f"target.shape={tuple(B.shape(target))}")
    return B.negative(B.sum(B.multiply(target, _log_probs(output, from_logits, axis)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """`categorical_crossentropy` with integer class ``target`` (a trailing axis of size 1 is dropped)."""
    target = B.cast(B.convert_to_tensor(target), "int32")
    output = B.convert_to_tensor(output)
    if len(B.shape(target)) == len(B.shape(output)) and B.shape(target)[-1] == 1:
        target = B.squeeze(target, axis=-1)
    if tuple(B.shape(target)) != tuple(B.shape(output))[:-1]:
        raise ValueError("sparse_categorical_crossentropy: `target` must have the shape of `output` without its "
                         f"last axis. Received: target.shape={tuple(B.shape(target))}, "
                         f"output.shape={tuple(B.shape(output))}")
    log_probs = _log_probs(output, from_logits, axis)
    onehot = B.one_hot(target, B.shape(output)[axis], axis=axis, dtype=str(B.dtype(log_probs)))
    return B.negative(B.sum(B.multiply(onehot, log_probs), axis=axis))


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """The one-hot encoding of integer ``x`` (out-of-range values give all zeros)."""
    if sparse:
        raise NotImplementedError("one_hot: kshim has no sparse tensors (`sparse=True`). Received: sparse=True")
    return B.one_hot(B.cast(B.convert_to_tensor(x), "int32"), num_classes, axis=axis,
                     dtype=dtype or config.floatx())


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """The multi-hot encoding of integer ``inputs``: 1 at every class present in a row (of a 2-D input) or in
    the whole 1-D input. ``num_tokens`` is Keras 2's name of ``num_classes``."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"multi_hot: unexpected arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("multi_hot: `num_classes` must be given. Received: num_classes=None")
    x = B.convert_to_tensor(inputs)
    encoded = one_hot(x, num_classes, axis=axis, dtype=dtype, sparse=sparse)
    return B.max(encoded, axis=1 if len(B.shape(x)) > 1 else 0)


def _check_format(name, data_format):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: `data_format` must be 'channels_last' or 'channels_first'. Received: "
                         f"data_format={data_format!r}")


def depth_to_space(x, block_size, data_format="channels_last"):
    """Pixel shuffle: (N, H, W, r*r*C) -> (N, H r, W r, C), the channels read as (r, r, C); channels first
    (N, C*r*r, H, W) -> (N, C, H r, W r), read as (C, r, r) (torch's pixel_shuffle), as Keras 3."""
    _check_format("depth_to_space", data_format)
    x = B.convert_to_tensor(x)
    r = int(block_size)
    if data_format == "channels_last":
        n, h, w, c = B.shape(x)
    else:
        n, c, h, w = B.shape(x)
    if c % (r * r):
        raise ValueError(f"depth_to_space: the channels must be divisible by block_size**2. Received: "
                         f"channels={c}, block_size={block_size}")
    k = c // (r * r)
    if data_format == "channels_last":
        y = B.transpose(B.reshape(x, (n, h, w, r, r, k)), (0, 1, 3, 2, 4, 5))
        return B.reshape(y, (n, h * r, w * r, k))
    y = B.transpose(B.reshape(x, (n, k, r, r, h, w)), (0, 1, 4, 2, 5, 3))
    return B.reshape(y, (n, k, h * r, w * r))


def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of `depth_to_space`."""
    _check_format("space_to_depth", data_format)
    x = B.convert_to_tensor(x)
    r = int(block_size)
    if data_format == "channels_last":
        n, h, w, c = B.shape(x)
    else:
        n, c, h, w = B.shape(x)
    if h % r or w % r:
        raise ValueError(f"space_to_depth: height and width must be divisible by block_size. Received: "
                         f"x.shape={tuple(B.shape(x))}, block_size={block_size}")
    if data_format == "channels_last":
        y = B.transpose(B.reshape(x, (n, h // r, r, w // r, r, c)), (0, 1, 3, 2, 4, 5))
        return B.reshape(y, (n, h // r, w // r, r * r * c))
    y = B.transpose(B.reshape(x, (n, c, h // r, r, w // r, r)), (0, 1, 3, 5, 2, 4))
    return B.reshape(y, (n, c * r * r, h // r, w // r))


__all__ = ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "one_hot",
           "multi_hot", "depth_to_space", "space_to_depth"]

_symbolic.install(globals(), __all__, "keras.src.ops.nn")
