"""kshim.utils.bounding_boxes, as ``keras.utils.bounding_boxes``: box format conversion, clipping, affine
transforms, crop and pad, IoU and CIoU, and the anchor delta codecs. They live in
`kshim.layers.preprocessing.bounding_boxes` and `kshim.layers.preprocessing.bounding_box_iou`, where layers can
use them."""

from kshim.layers.preprocessing.bounding_box_iou import compute_ciou, compute_iou  # noqa: F401
from kshim.layers.preprocessing.bounding_boxes import (  # noqa: F401
    affine_transform, clip_to_image_size, convert_format, crop, decode_deltas_to_boxes, encode_box_to_deltas, pad)

__all__ = ["affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format", "crop",
           "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]
