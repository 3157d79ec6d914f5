"""Deterministic image layers: `Rescaling`, `Resizing`, `CenterCrop`.

`Resizing` gives Keras 3's numbers (its jax backend: ``jax.image.resize`` with half-pixel centres, no antialias
by default) on both kshim backends; see `kshim.ops.image.resize`.
"""

import numpy as np

from kshim import config, ops
from kshim.layers.preprocessing.image_layer import ImagePreprocessingLayer, check_choice, check_positive_int
from kshim.ops import image as image_ops

_INT_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "uint16": (0, 65535), "int16": (-32768, 32767),
               "int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1), "uint32": (0, 2 ** 32 - 1)}


def _serializable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


class Rescaling(ImagePreprocessingLayer):
    """``inputs * scale + offset`` in the layer's float dtype (``scale``/``offset`` may be per-channel arrays)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            arr = np.asarray(value)
            if arr.dtype.kind not in "fiu":
                raise ValueError(f"Rescaling: `{name}` must be a number or an array of numbers. "
                                 f"Received: {name}={value!r}")
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def _param(self, value, ndim):
        arr = np.asarray(value, dtype=self.compute_dtype)
        if arr.ndim > 0 and config.image_data_format() == "channels_first" and ndim >= 3:
            arr = arr.reshape(arr.shape + (1,) * (3 - arr.ndim))
        return arr

    def call(self, inputs):
        x = self._as_float(inputs)
        ndim = len(ops.shape(x))
        return ops.add(ops.multiply(x, self._param(self.scale, ndim)), self._param(self.offset, ndim))

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("data_format", None)
        return {**cfg, "scale": _serializable(self.scale), "offset": _serializable(self.offset)}


class Resizing(ImagePreprocessingLayer):
    """Resize images to (``height``, ``width``), optionally cropping or padding to the target aspect ratio first.
    Integer images come back rounded in their own dtype, as in Keras 3."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = check_positive_int("Resizing", "height", height)
        self.width = check_positive_int("Resizing", "width", width)
        self.interpolation = check_choice("Resizing", "interpolation", interpolation,
                                          image_ops.RESIZE_INTERPOLATIONS)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = check_choice("Resizing", "fill_mode", fill_mode, ("constant",))
        self.fill_value = float(fill_value)
        self.antialias = bool(antialias)

    def call(self, inputs):
        self._check_rank(ops.shape(inputs))
        dtype = ops.dtype(inputs)
        out = image_ops.resize(inputs, (self.height, self.width), interpolation=self.interpolation,
                               antialias=self.antialias, crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                               pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
                               fill_value=self.fill_value, data_format=self.data_format)
        if ops.dtype(out) != dtype:
            if dtype in _INT_RANGES:
                low, high = _INT_RANGES[dtype]
                out = ops.clip(ops.round(out), float(low), float(high))
            out = ops.cast(out, dtype)
        return out

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h, w = self._hw_axes(len(shape))
        shape[h], shape[w] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


def center_crop_or_resize(layer, x, height, width):
    """The centred (height, width) crop of ``x``; if the image is smaller on either axis, Keras's fallback: the
    largest centred crop with the target aspect ratio, resized (bilinear) to (height, width)."""
    shape = ops.shape(x)
    h_axis, w_axis = layer._hw_axes(len(shape))
    in_h, in_w = shape[h_axis], shape[w_axis]
    if in_h >= height and in_w >= width:
        h0, w0 = (in_h - height) // 2, (in_w - width) // 2
        return ops.slice_along_axis(ops.slice_along_axis(x, h0, h0 + height, h_axis), w0, w0 + width, w_axis)
    return image_ops.resize(x, (height, width), crop_to_aspect_ratio=True, data_format=layer.data_format)


class CenterCrop(ImagePreprocessingLayer):
    """The centred (``height``, ``width``) crop of each image (smaller images are cropped to the target aspect
    ratio and resized up instead, as in Keras)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = check_positive_int("CenterCrop", "height", height)
        self.width = check_positive_int("CenterCrop", "width", width)

    def call(self, inputs):
        x = self._as_float(inputs)
        self._check_rank(ops.shape(x))
        return center_crop_or_resize(self, x, self.height, self.width)

    compute_output_shape = Resizing.compute_output_shape

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}
