"""Overlap measures of bounding boxes, as Keras 3's ``keras.utils.bounding_boxes.compute_iou`` (the pairwise IoU
table) and ``compute_ciou`` (Complete IoU of matching boxes), with Keras 3's epsilons in the same places."""

import math

from kshim import config, ops
from kshim.layers.preprocessing.bounding_boxes import convert_format


def _rank(where, name, boxes):
    rank = len(ops.shape(boxes))
    if rank not in (2, 3):
        raise ValueError(f"{where}: `{name}` must be unbatched (N, 4) or batched (batch, N, 4). Received: "
                         f"{name}.shape={tuple(ops.shape(boxes))}")
    return rank


def _image_hw(image_shape):
    return (None, None) if image_shape is None else (image_shape[0], image_shape[1])


def compute_iou(boxes1, boxes2, bounding_box_format, use_masking=False, mask_val=-1, image_shape=None):
    """The IoU of every box of ``boxes1`` (M boxes) with every box of ``boxes2`` (N boxes): (M, N), or
    (batch, M, N) when either is batched. With ``use_masking``, pairs where either box has all coordinates
    negative (padding) read ``mask_val``. ``image_shape`` (height, width, channels) serves relative formats."""
    boxes1 = ops.convert_to_tensor(boxes1)
    boxes2 = ops.convert_to_tensor(boxes2)
    _rank("compute_iou", "boxes1", boxes1)
    _rank("compute_iou", "boxes2", boxes2)
    if "rel" in str(bounding_box_format) and image_shape is None:
        raise ValueError("compute_iou: `image_shape` is needed for relative box formats. Received: "
                         f"bounding_box_format={bounding_box_format!r}, image_shape=None")
    height, width = _image_hw(image_shape)
    boxes1 = convert_format(boxes1, bounding_box_format, "yxyx", height, width)
    boxes2 = convert_format(boxes2, bounding_box_format, "yxyx", height, width)
    top1, left1, bottom1, right1 = ops.split(boxes1, 4, axis=-1)  # (..., M, 1) each
    top2, left2, bottom2, right2 = (ops.swapaxes(c, -1, -2) for c in ops.split(boxes2, 4, axis=-1))  # (..., 1, N)
    inter_h = ops.maximum(ops.minimum(bottom1, bottom2) - ops.maximum(top1, top2), 0.0)
    inter_w = ops.maximum(ops.minimum(right1, right2) - ops.maximum(left1, left2), 0.0)
    intersection = inter_h * inter_w
    area1 = (bottom1 - top1) * (right1 - left1)  # (..., M, 1)
    area2 = (bottom2 - top2) * (right2 - left2)  # (..., 1, N)
    iou = ops.divide(intersection, area1 + area2 - intersection + config.epsilon())
    if not use_masking:
        return iou
    padding1 = ops.less(ops.max(boxes1, axis=-1, keepdims=True), 0.0)
    padding2 = ops.swapaxes(ops.less(ops.max(boxes2, axis=-1, keepdims=True), 0.0), -1, -2)
    fill = ops.multiply(ops.cast(mask_val, ops.dtype(iou)), ops.ones_like(iou))
    return ops.where(ops.logical_or(padding1, padding2), fill, iou)


def compute_ciou(boxes1, boxes2, bounding_box_format, image_shape=None):
    """The Complete IoU of ``boxes1`` and ``boxes2`` box by box (shapes (..., 4) that broadcast): the IoU less
    the squared centre distance over the squared diagonal of the enclosing box, less the aspect-ratio term
    ``alpha * v``. Relative formats are refused, as in Keras 3."""
    if "rel" in str(bounding_box_format):
        raise ValueError("compute_ciou: relative box formats are not supported (as in Keras 3). Received: "
                         f"bounding_box_format={bounding_box_format!r}")
    eps = config.epsilon()
    height, width = _image_hw(image_shape)
    boxes1 = convert_format(boxes1, bounding_box_format, "xyxy", height, width)
    boxes2 = convert_format(boxes2, bounding_box_format, "xyxy", height, width)
    left1, top1, right1, bottom1 = ops.split(boxes1, 4, axis=-1)
    left2, top2, right2, bottom2 = ops.split(boxes2, 4, axis=-1)
    w1, h1 = right1 - left1, bottom1 - top1 + eps
    w2, h2 = right2 - left2, bottom2 - top2 + eps
    intersection = (ops.maximum(ops.minimum(right1, right2) - ops.maximum(left1, left2), 0)
                    * ops.maximum(ops.minimum(bottom1, bottom2) - ops.maximum(top1, top2), 0))
    union = w1 * h1 + w2 * h2 - intersection + eps
    iou = ops.squeeze(ops.divide(intersection, union + eps), axis=-1)
    hull_w = ops.maximum(right1, right2) - ops.minimum(left1, left2)
    hull_h = ops.maximum(bottom1, bottom2) - ops.minimum(top1, top2)
    diagonal2 = ops.squeeze(hull_w ** 2 + hull_h ** 2 + eps, axis=-1)
    centres2 = ops.squeeze(((left1 + right1) / 2 - (left2 + right2) / 2) ** 2
                           + ((top1 + bottom1) / 2 - (top2 + bottom2) / 2) ** 2, axis=-1)
    v = ops.squeeze((4 / math.pi ** 2) * ops.power(ops.arctan(w2 / h2) - ops.arctan(w1 / h1), 2), axis=-1)
    alpha = v / (v - iou + (1 + eps))
    return iou - (centres2 / diagonal2 + v * alpha)
