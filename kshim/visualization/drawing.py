"""`draw_bounding_boxes` and `draw_segmentation_masks`, as Keras 3's ``keras.visualization`` functions: they
return numpy uint8 images with the boxes or masks painted in.

Keras 3 draws boxes and labels with OpenCV. kshim paints the box outlines itself (rows and columns of
``line_thickness`` pixels centred on each edge, square corners), so boxes need no OpenCV; the class labels are
text, which only OpenCV (``opencv-python``, when installed) draws here, at Keras 3's positions and font.
"""

import numpy as np

from kshim import config, ops
from kshim.layers.preprocessing.bounding_boxes import convert_format

try:
    import cv2  # optional: text labels on boxes
except ImportError:  # pragma: no cover - depends on the environment
    cv2 = None


def _data_format(where, data_format):
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{where}: `data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    return data_format


def _batched(where, images):
    shape = tuple(ops.shape(images))
    if len(shape) != 4:
        raise ValueError(f"{where}: `images` must be a batch of images (rank 4). Received: images.shape={shape}")
    return shape


def to_uint8(images):
    """numpy uint8 images, as Keras 3 draws on them: floats in [0, 1] are scaled by 255, other floats clipped to
    [0, 255], then truncated."""
    images = np.array(ops.convert_to_numpy(images))
    if images.dtype.kind == "f" and images.size > 0:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    return images.astype("uint8")


def _band(center, before, after):
    """The slice of pixels ``center - before .. center + after`` (clipped at 0; numpy clips the far end)."""
    return slice(max(center - before, 0), max(center + after + 1, 0))


def _paint_box(image, x1, y1, x2, y2, color, thickness, channels_last):
    """Paint the outline of the box (x1, y1)-(x2, y2) (pixel coordinates, inclusive) into ``image`` in place:
    each edge is a band of ``thickness`` pixels (its own row or column, then the next ones on both sides)."""
    height, width = image.shape[:2] if channels_last else image.shape[1:]
    before, after = (thickness - 1) // 2, thickness // 2
    mask = np.zeros((height, width), bool)
    ys = slice(max(min(y1, y2) - before, 0), max(max(y1, y2) + after + 1, 0))
    xs = slice(max(min(x1, x2) - before, 0), max(max(x1, x2) + after + 1, 0))
    for y in (y1, y2):
        mask[_band(y, before, after), xs] = True
    for x in (x1, x2):
        mask[ys, _band(x, before, after)] = True
    color = np.asarray(color, image.dtype)
    if channels_last:
        image[mask] = color[: image.shape[-1]]
    else:
        image[:, mask] = color[: image.shape[0], None]


def _text_origin(x, y, font_scale, thickness):
    """Keras 3's label position: above the box, or inside it when there is no room above."""
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3


def draw_bounding_boxes(images, bounding_boxes, bounding_box_format, class_mapping=None, color=(128, 128, 128),
                        line_thickness=2, text_thickness=1, font_scale=1.0, data_format=None):
    """``images`` (batch, rank 4) as numpy uint8 with the outlines of ``bounding_boxes["boxes"]`` (batch, N, 4)
    in ``color``; boxes whose label is -1 are skipped. With ``class_mapping`` ({label: name}) each box is
    captioned with its name (and ``bounding_boxes["confidences"]`` when present), which needs OpenCV."""
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    data_format = _data_format("draw_bounding_boxes", data_format)
    shape = _batched("draw_bounding_boxes", images)
    if not isinstance(bounding_boxes, dict):
        raise TypeError(f"draw_bounding_boxes: `bounding_boxes` must be a dict. Received: "
                        f"{type(bounding_boxes).__name__}")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(f"draw_bounding_boxes: `bounding_boxes` must have 'boxes' and 'labels' keys. Received "
                         f"keys: {sorted(bounding_boxes)}")
    channels_last = data_format == "channels_last"
    height, width = (shape[1], shape[2]) if channels_last else (shape[2], shape[3])
    boxes = np.asarray(ops.convert_to_numpy(convert_format(bounding_boxes["boxes"], bounding_box_format, "xyxy",
                                                           height, width)))
    labels = np.asarray(ops.convert_to_numpy(bounding_boxes["labels"]))
    confidences = bounding_boxes.get("confidences")
    confidences = None if confidences is None else np.asarray(ops.convert_to_numpy(confidences))
    images = to_uint8(images)
    for i in range(images.shape[0]):
        for j in range(boxes.shape[1]):
            label = int(labels[i][j].astype("int32"))
            if label == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in boxes[i][j].astype("int32"))
            _paint_box(images[i], x1, y1, x2, y2, color, int(line_thickness), channels_last)
            if label in class_mapping:
                if cv2 is None:
                    raise ImportError("draw_bounding_boxes: drawing the class labels of `class_mapping` needs "
                                      "OpenCV: `pip install opencv-python` (or pass no `class_mapping`)")
                text = class_mapping[label]
                if confidences is not None:
                    text = f"{text} | {confidences[i][j]:.2f}"
                image = images[i] if channels_last else np.ascontiguousarray(images[i].transpose(1, 2, 0))
                cv2.putText(img=image, text=text, org=_text_origin(x1, y1, font_scale, text_thickness),
                            fontFace=cv2.FONT_HERSHEY_SIMPLEX, fontScale=font_scale, color=color,
                            thickness=text_thickness)
                if not channels_last:
                    images[i] = image.transpose(2, 0, 1)
    return images


def color_palette(num_classes):
    """Keras 3's default class colours: ``(i * [2**25 - 1, 2**15 - 1, 2**21 - 1]) % 255`` for class i."""
    palette = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])
    return [((i * palette) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(images, segmentation_masks, num_classes=None, color_mapping=None, alpha=0.8, blend=True,
                            ignore_index=-1, data_format=None):
    """``images`` (batch, rank 4) with each pixel of class c of the integer ``segmentation_masks`` (batch, H, W, 1)
    painted in colour c (``color_mapping[c]``, else Keras 3's palette) for c < ``num_classes``; ``blend`` mixes
    ``alpha`` of the colour with the image (pixels of ``ignore_index`` keep the image) and returns uint8.

    As in Keras 3: the result is channels_last whatever ``data_format``; without ``num_classes`` the largest
    label present is taken as the count (so that label gets no colour); ``blend=False`` returns float32."""
    data_format = _data_format("draw_segmentation_masks", data_format)
    _batched("draw_segmentation_masks", images)
    masks = np.asarray(ops.convert_to_numpy(segmentation_masks))
    images = np.asarray(ops.convert_to_numpy(images)).astype("float32")
    if data_format == "channels_first":
        images, masks = images.transpose(0, 2, 3, 1), masks.transpose(0, 2, 3, 1)
    if masks.dtype.kind not in "iu":
        raise TypeError(f"draw_segmentation_masks: `segmentation_masks` must have an integer dtype. Received: "
                        f"segmentation_masks.dtype={masks.dtype}")
    if num_classes is None:
        num_classes = int(masks.max())
    colors = color_palette(num_classes) if color_mapping is None else [color_mapping[i] for i in range(num_classes)]
    labels = masks[..., 0]
    painted = images.copy()
    for c, color in enumerate(colors):
        painted[labels == c] = np.asarray(color, "float32")[None, :]
    if not blend:
        return painted
    out = images * (1 - alpha) + painted * alpha
    out = np.where((labels != ignore_index)[..., None], out, images)
    return ops.convert_to_numpy(ops.cast(ops.convert_to_tensor(out.astype("float32")), "uint8"))
