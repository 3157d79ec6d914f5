"""`MaxNumBoundingBoxes` (Keras 3's ``keras.layers.MaxNumBoundingBoxes``): gives every image exactly
``max_number`` boxes, cutting the extra ones and padding with ``fill_value``."""

from kshim import ops
from kshim.layers.preprocessing.image_layer import ImagePreprocessingLayer, check_positive_int
from kshim.layers.preprocessing.bounding_boxes import SUPPORTED_FORMATS


class MaxNumBoundingBoxes(ImagePreprocessingLayer):
    """Takes a dict ``{"images", "bounding_boxes": {"boxes", "labels"}, ...}`` (or images alone, returned as they
    are) and returns it with ``boxes`` of shape (batch, max_number, 4) and ``labels`` of shape (batch,
    max_number): the first ``max_number`` boxes of each image, then rows of ``fill_value``. Images, labels and
    segmentation masks pass through. As in Keras 3, a dict with ``bounding_boxes`` needs the layer's
    ``bounding_box_format``."""

    def __init__(self, max_number, fill_value=-1, bounding_box_format=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.max_number = check_positive_int("MaxNumBoundingBoxes", "max_number", max_number)
        self.fill_value = int(fill_value)
        if bounding_box_format is not None and bounding_box_format.lower() not in SUPPORTED_FORMATS:
            raise ValueError(f"MaxNumBoundingBoxes: `bounding_box_format` must be one of {SUPPORTED_FORMATS}. "
                             f"Received: bounding_box_format={bounding_box_format!r}")
        self.bounding_box_format = bounding_box_format

    def _fit(self, x, trailing):
        """``x`` (batch, n, *trailing) cut or padded to (batch, max_number, *trailing)."""
        x = ops.convert_to_tensor(x)
        x = x[:, : self.max_number]
        missing = self.max_number - ops.shape(x)[1]
        if missing > 0:
            x = ops.pad(x, [(0, 0), (0, missing)] + [(0, 0)] * len(trailing), constant_values=self.fill_value)
        return x

    def transform_bounding_boxes(self, bounding_boxes):
        """The dict of batched ``boxes`` and ``labels``, each cut or padded to ``max_number`` per image."""
        result = dict(bounding_boxes)
        result["boxes"] = self._fit(bounding_boxes["boxes"], (4,))
        result["labels"] = self._fit(bounding_boxes["labels"], ())
        return result

    def call(self, inputs):
        if not isinstance(inputs, dict):
            return inputs
        data = dict(inputs)
        if "bounding_boxes" in data:
            if not self.bounding_box_format:
                raise ValueError(f"MaxNumBoundingBoxes '{self.name}': the input has a 'bounding_boxes' key but the "
                                 "layer has no `bounding_box_format`; pass one, e.g. bounding_box_format='xyxy'")
            boxes = data["bounding_boxes"]
            single = len(ops.shape(ops.convert_to_tensor(data["images"]))) == 3
            if single:
                boxes = {k: (ops.expand_dims(ops.convert_to_tensor(v), 0) if k in ("boxes", "labels") else v)
                         for k, v in boxes.items()}
            boxes = self.transform_bounding_boxes(boxes)
            if single:
                boxes = {k: (ops.squeeze(v, 0) if k in ("boxes", "labels") else v) for k, v in boxes.items()}
            data["bounding_boxes"] = boxes
        return data

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            extra = set(input_shape["bounding_boxes"]) - {"boxes", "labels"}
            if extra:
                raise KeyError(f"MaxNumBoundingBoxes: `bounding_boxes` may only hold 'boxes' and 'labels'. "
                               f"Received extra keys: {sorted(extra)}")
            shapes = {k: list(v) for k, v in input_shape["bounding_boxes"].items()}
            for shape in shapes.values():
                shape[1] = self.max_number
            return {**input_shape, "bounding_boxes": {k: tuple(v) for k, v in shapes.items()}}
        return input_shape

    def get_config(self):
        config = {**super().get_config(), "max_number": self.max_number, "fill_value": self.fill_value}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config
