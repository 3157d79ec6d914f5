"""Bounding boxes, as Keras 3's ``keras.utils.bounding_boxes``: `convert_format` between the box formats,
`clip_to_image_size`, `affine_transform`, `crop`, `pad`, and the anchor codecs `encode_box_to_deltas` /
`decode_deltas_to_boxes` (the IoU measures are in `kshim.layers.preprocessing.bounding_box_iou`).

Boxes are arrays of shape ``(N, 4)`` or ``(batch, N, 4)``; a "bounding boxes" dict holds ``boxes`` and
``labels`` (and, for drawing, ``confidences``). The formats (case-insensitive):

- ``"xyxy"``: [left, top, right, bottom]; ``"yxyx"``: [top, left, bottom, right];
- ``"xywh"``: [left, top, width, height];
- ``"center_xywh"``: [center_x, center_y, width, height]; ``"center_yxhw"``: [center_y, center_x, height, width];
- ``"rel_xyxy"``, ``"rel_yxyx"``, ``"rel_xywh"``, ``"rel_center_xywh"``: the same with x divided by the image
  width and y by its height (converting to or from them needs ``height`` and ``width``).

Every conversion goes through ``xyxy`` with Keras 3's arithmetic (the same operations in the same order), so the
numbers are Keras 3's. Written on kshim.ops only, so layers can use them too.
"""

import math

from kshim import config, ops

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
                     "rel_center_xywh")
DELTA_FORMATS = ("center_xywh", "center_yxhw")


def _columns(boxes):
    return ops.split(boxes, 4, axis=-1)


def _join(*columns):
    return ops.concatenate(list(columns), axis=-1)


# -- each format to and from xyxy (Keras 3's arithmetic) -----------------------------------------------------------
def _yxyx_to_xyxy(b, h, w):
    y1, x1, y2, x2 = _columns(b)
    return _join(x1, y1, x2, y2)


def _xywh_to_xyxy(b, h, w):
    x1, y1, bw, bh = _columns(b)
    return _join(x1, y1, x1 + bw, y1 + bh)


def _centered_to_xyxy(cx, cy, bw, bh):
    half_w, half_h = bw / 2.0, bh / 2.0
    return _join(cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def _center_xywh_to_xyxy(b, h, w):
    cx, cy, bw, bh = _columns(b)
    return _centered_to_xyxy(cx, cy, bw, bh)


def _center_yxhw_to_xyxy(b, h, w):
    cy, cx, bh, bw = _columns(b)
    return _centered_to_xyxy(cx, cy, bw, bh)


def _rel_xyxy_to_xyxy(b, h, w):
    x1, y1, x2, y2 = _columns(b)
    return _join(x1 * w, y1 * h, x2 * w, y2 * h)


def _rel_yxyx_to_xyxy(b, h, w):
    y1, x1, y2, x2 = _columns(b)
    return _join(x1 * w, y1 * h, x2 * w, y2 * h)


def _rel_xywh_to_xyxy(b, h, w):
    x1, y1, bw, bh = _columns(b)
    return _join(x1 * w, y1 * h, (x1 + bw) * w, (y1 + bh) * h)


def _rel_center_xywh_to_xyxy(b, h, w):
    cx, cy, bw, bh = _columns(b)
    half_w, half_h = bw / 2.0, bh / 2.0
    return _join((cx - half_w) * w, (cy - half_h) * h, (cx + half_w) * w, (cy + half_h) * h)


def _xyxy_to_yxyx(b, h, w):
    x1, y1, x2, y2 = _columns(b)
    return _join(y1, x1, y2, x2)


def _xyxy_to_xywh(b, h, w):
    x1, y1, x2, y2 = _columns(b)
    return _join(x1, y1, x2 - x1, y2 - y1)


def _centers(b):
    x1, y1, x2, y2 = _columns(b)
    return x1 + ((x2 - x1) / 2.0), y1 + ((y2 - y1) / 2.0), x2 - x1, y2 - y1


def _xyxy_to_center_xywh(b, h, w):
    return _join(*_centers(b))


def _xyxy_to_center_yxhw(b, h, w):
    cx, cy, bw, bh = _centers(b)
    return _join(cy, cx, bh, bw)


def _xyxy_to_rel_xyxy(b, h, w):
    x1, y1, x2, y2 = _columns(b)
    return _join(ops.divide(x1, w), ops.divide(y1, h), ops.divide(x2, w), ops.divide(y2, h))


def _xyxy_to_rel_yxyx(b, h, w):
    x1, y1, x2, y2 = _columns(b)
    return _join(ops.divide(y1, h), ops.divide(x1, w), ops.divide(y2, h), ops.divide(x2, w))


def _xyxy_to_rel_xywh(b, h, w):
    x1, y1, x2, y2 = _columns(b)
    return _join(x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h)


def _xyxy_to_rel_center_xywh(b, h, w):
    x1, y1, x2, y2 = _columns(b)
    return _join((x1 + ((x2 - x1) / 2.0)) / w, (y1 + ((y2 - y1) / 2.0)) / h, (x2 - x1) / w, (y2 - y1) / h)


_TO_XYXY = {"xyxy": lambda b, h, w: b, "yxyx": _yxyx_to_xyxy, "xywh": _xywh_to_xyxy,
            "center_xywh": _center_xywh_to_xyxy, "center_yxhw": _center_yxhw_to_xyxy, "rel_xyxy": _rel_xyxy_to_xyxy,
            "rel_yxyx": _rel_yxyx_to_xyxy, "rel_xywh": _rel_xywh_to_xyxy,
            "rel_center_xywh": _rel_center_xywh_to_xyxy}
_FROM_XYXY = {"xyxy": lambda b, h, w: b, "yxyx": _xyxy_to_yxyx, "xywh": _xyxy_to_xywh,
              "center_xywh": _xyxy_to_center_xywh, "center_yxhw": _xyxy_to_center_yxhw,
              "rel_xyxy": _xyxy_to_rel_xyxy, "rel_yxyx": _xyxy_to_rel_yxyx, "rel_xywh": _xyxy_to_rel_xywh,
              "rel_center_xywh": _xyxy_to_rel_center_xywh}


def _format(where, name, value):
    if not isinstance(value, str) or value.lower() not in SUPPORTED_FORMATS:
        raise ValueError(f"{where}: `{name}` must be one of {SUPPORTED_FORMATS} (any case). "
                         f"Received: {name}={value!r}")
    return value.lower()


def _boxes(where, boxes, dtype="float32"):
    boxes = ops.convert_to_tensor(boxes)
    if len(ops.shape(boxes)) < 1 or ops.shape(boxes)[-1] != 4:
        raise ValueError(f"{where}: `boxes` must have a last dimension of 4. Received: boxes.shape="
                         f"{tuple(ops.shape(boxes))}")
    return ops.cast(boxes, dtype) if dtype is not None and ops.dtype(boxes) != dtype else boxes


def _image_hw(image_shape):
    return (None, None) if image_shape is None else (image_shape[0], image_shape[1])


def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """``boxes`` (an array, or a dict whose ``"boxes"`` it converts) from format ``source`` to ``target``, cast
    to ``dtype``. A relative format on either side needs the image ``height`` and ``width``."""
    if isinstance(boxes, dict):
        return {**boxes, "boxes": convert_format(boxes["boxes"], source, target, height, width, dtype)}
    source = _format("convert_format", "source", source)
    target = _format("convert_format", "target", target)
    if (source.startswith("rel_") or target.startswith("rel_")) and (height is None or width is None):
        raise ValueError(f"convert_format: `height` and `width` are needed to convert between relative and "
                         f"absolute formats. Received: source={source!r}, target={target!r}, height={height!r}, "
                         f"width={width!r}")
    boxes = _boxes("convert_format", boxes, dtype)
    if source == target:
        return boxes
    height = None if height is None else ops.cast(ops.convert_to_tensor(height), ops.dtype(boxes))
    width = None if width is None else ops.cast(ops.convert_to_tensor(width), ops.dtype(boxes))
    if source.startswith("rel_") and target.startswith("rel_"):  # relative to relative: no image size involved
        source, target = source[4:], target[4:]
    return _FROM_XYXY[target](_TO_XYXY[source](boxes, height, width), height, width)


def _area(xyxy):
    x1, y1, x2, y2 = _columns(xyxy)
    return (x2 - x1) * (y2 - y1)


def clip_to_image_size(bounding_boxes, height=None, width=None, bounding_box_format="xyxy"):
    """The dict ``bounding_boxes`` with its ``boxes`` clipped into the image (``[0, width] x [0, height]`` for
    "xyxy", ``[0, 1]`` for "rel_xyxy"); a box left with no area gets the label -1."""
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(f"clip_to_image_size: only `bounding_box_format` 'xyxy' and 'rel_xyxy' are "
                                  f"supported (as in Keras 3). Received: bounding_box_format={bounding_box_format!r}")
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes:
        raise ValueError("clip_to_image_size: `bounding_boxes` must be a dict with a 'boxes' key. Received: "
                         f"bounding_boxes={bounding_boxes!r}")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError(f"clip_to_image_size: `height` and `width` are needed for 'xyxy' boxes. Received: "
                         f"height={height!r}, width={width!r}")
    boxes = ops.convert_to_tensor(bounding_boxes["boxes"])
    if bounding_box_format == "xyxy":
        hi_x = ops.cast(ops.convert_to_tensor(width), ops.dtype(boxes))
        hi_y = ops.cast(ops.convert_to_tensor(height), ops.dtype(boxes))
    else:
        hi_x = hi_y = 1.0
    x1, y1, x2, y2 = _columns(boxes)
    boxes = _join(ops.clip(x1, 0, hi_x), ops.clip(y1, 0, hi_y), ops.clip(x2, 0, hi_x), ops.clip(y2, 0, hi_y))
    result = {**bounding_boxes, "boxes": boxes}
    if bounding_boxes.get("labels") is not None:
        areas = ops.squeeze(_area(boxes), axis=-1)
        result["labels"] = ops.where(ops.greater(areas, 0), ops.convert_to_tensor(bounding_boxes["labels"]), -1)
    return result


def _xyxy_only(where, bounding_box_format):
    if bounding_box_format != "xyxy":
        raise NotImplementedError(f"{where}: only `bounding_box_format='xyxy'` is supported (as in Keras 3). "
                                  f"Received: bounding_box_format={bounding_box_format!r}")


def _inverse_affine_matrix(center_x, center_y, angle, translate_x, translate_y, scale, shear_x, shear_y, height,
                           width):
    """(B, 3, 3) inverse affine matrices (torchvision's ``_get_inverse_affine_matrix`` construction, angles in
    degrees, translations and the centre as fractions of the image)."""
    batch = ops.shape(angle)[0]
    angle, shear_x, shear_y = ops.negative(angle), ops.negative(shear_x), ops.negative(shear_y)
    cx = ops.multiply(center_x, width - 1)
    cy = ops.multiply(center_y, height - 1)
    rot = ops.multiply(angle, 1.0 / 180.0 * math.pi)
    tx = ops.multiply(ops.negative(translate_x), width - 1)
    ty = ops.multiply(ops.negative(translate_y), height - 1)
    sx = ops.multiply(shear_x, 1.0 / 180.0 * math.pi)
    sy = ops.multiply(shear_y, 1.0 / 180.0 * math.pi)
    cos_sy, tan_sx = ops.cos(sy), ops.tan(sx)
    rot_minus_sy = rot - sy
    cx_tx, cy_ty = cx + tx, cy + ty
    a = ops.cos(rot_minus_sy) / cos_sy
    b = a * tan_sx + ops.sin(rot)
    c = ops.negative(ops.sin(rot_minus_sy)) / cos_sy
    d = ops.cos(rot) - c * tan_sx
    a0, a1 = ops.multiply(d, scale), ops.multiply(ops.negative(b), scale)
    b0, b1 = ops.multiply(ops.negative(c), scale), ops.multiply(a, scale)
    a2 = cx - a0 * cx_tx - a1 * cy_ty
    b2 = cy - b0 * cx_tx - b1 * cy_ty
    zeros, ones = ops.zeros((batch,), ops.dtype(angle)), ops.ones((batch,), ops.dtype(angle))
    return ops.reshape(ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], axis=-1), (batch, 3, 3))


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, height, width, center_x=None,
                     center_y=None, bounding_box_format="xyxy"):
    """Boxes ``(batch, N, 4)`` moved by a per-image affine map (``angle`` and shears in degrees, translations and
    the centre, default 0.5, as fractions of the image; each a (batch,) array): each box becomes the
    axis-aligned hull of its four transformed corners."""
    _xyxy_only("affine_transform", bounding_box_format)
    angle = ops.convert_to_tensor(angle, "float32")
    if len(ops.shape(angle)) != 1:
        raise ValueError(f"affine_transform: `angle` must be a 1D array with one angle per image. Received: "
                         f"angle.shape={tuple(ops.shape(angle))}")
    boxes = _boxes("affine_transform", boxes, ops.dtype(angle))
    if len(ops.shape(boxes)) != 3:
        raise ValueError(f"affine_transform: `boxes` must be batched, of shape (batch, N, 4). Received: "
                         f"boxes.shape={tuple(ops.shape(boxes))}")
    batch, n = ops.shape(boxes)[0], ops.shape(boxes)[1]
    translate_x, translate_y, scale, shear_x, shear_y = (ops.convert_to_tensor(v, "float32") for v in
                                                         (translate_x, translate_y, scale, shear_x, shear_y))
    matrix = _inverse_affine_matrix(0.5 if center_x is None else center_x, 0.5 if center_y is None else center_y,
                                    angle, translate_x, translate_y, scale, shear_x, shear_y, height, width)
    x1, y1, x2, y2 = boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]
    corners = ops.reshape(ops.stack([x1, y1, x2, y1, x2, y2, x1, y2], axis=-1), (batch, n, 4, 2))
    corners = ops.concatenate([corners, ops.ones((batch, n, 4, 1), ops.dtype(corners))], axis=-1)
    moved = ops.einsum("bnxy,byz->bnxz", corners, ops.transpose(matrix[:, :2, :], (0, 2, 1)))
    return ops.concatenate([ops.min(moved, axis=2), ops.max(moved, axis=2)], axis=-1)


def crop(boxes, top, left, height, width, bounding_box_format="xyxy"):
    """Boxes in the frame of the crop window at (``top``, ``left``) of size ``height`` x ``width``: shifted and
    clipped into [0, width] x [0, height]."""
    _xyxy_only("crop", bounding_box_format)
    x1, y1, x2, y2 = _columns(ops.convert_to_tensor(boxes))
    x1, y1, x2, y2 = x1 - left, y1 - top, x2 - left, y2 - top
    return _join(ops.clip(x1, 0, width), ops.clip(y1, 0, height), ops.clip(x2, 0, width), ops.clip(y2, 0, height))


def pad(boxes, top, left, height=None, width=None, bounding_box_format="xyxy"):
    """Boxes in the frame of the image padded by ``top`` and ``left`` (``height`` and ``width`` are unused, as in
    Keras 3)."""
    _xyxy_only("pad", bounding_box_format)
    x1, y1, x2, y2 = _columns(ops.convert_to_tensor(boxes))
    return _join(x1 + left, y1 + top, x2 + left, y2 + top)


def _variance(where, variance):
    if variance is None:
        return None
    variance = ops.convert_to_tensor(variance, "float32")
    if ops.shape(variance)[-1] != 4:
        raise ValueError(f"{where}: `variance` must have length 4. Received: variance={variance!r}")
    return variance


def _delta_format(where, name, value):
    if value not in DELTA_FORMATS:
        raise ValueError(f"{where}: `{name}` must be one of {DELTA_FORMATS}. Received: {name}={value!r}")
    return value


def encode_box_to_deltas(anchors, boxes, anchor_format, box_format, encoding_format="center_yxhw", variance=None,
                         image_shape=None):
    """The deltas that move ``anchors`` (N, 4) onto ``boxes`` ((N, 4) or (B, N, 4)), both first converted to
    ``encoding_format``: centre offsets over the anchor size, then the log of the size ratios (divided by
    ``variance`` when given). ``image_shape`` (height, width, channels) serves relative formats."""
    variance = _variance("encode_box_to_deltas", variance)
    encoding_format = _delta_format("encode_box_to_deltas", "encoding_format", encoding_format)
    height, width = _image_hw(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    anchor_size = ops.maximum(anchors[..., 2:], config.epsilon())
    box_size = ops.maximum(boxes[..., 2:], config.epsilon())
    deltas = ops.concatenate([(boxes[..., :2] - anchors[..., :2]) / anchor_size,
                              ops.log(box_size / anchor_size)], axis=-1)
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format, box_format, encoded_format="center_yxhw",
                           variance=None, image_shape=None):
    """The inverse of `encode_box_to_deltas`: boxes in ``box_format`` from ``anchors`` and ``boxes_delta``
    (arrays, or dicts of them keyed by level, decoded level by level)."""
    variance = _variance("decode_deltas_to_boxes", variance)
    encoded_format = _delta_format("decode_deltas_to_boxes", "encoded_format", encoded_format)
    height, width = _image_hw(image_shape)

    def decode(anchor, delta):
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = ops.convert_to_tensor(delta)
        if variance is not None:
            delta = delta * variance
        box = ops.concatenate([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                               ops.exp(delta[..., 2:]) * anchor[..., 2:]], axis=-1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)
