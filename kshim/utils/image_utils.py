"""Image files and arrays: `load_img`, `save_img`, `array_to_img`, `img_to_array`, `smart_resize`.

Reading and writing image files needs Pillow, an optional extra: ``pip install "kshim[image]"`` (or
``pip install pillow``). The array functions and `smart_resize` do not.
"""

import io
import pathlib
import warnings

import numpy as np

from kshim import config, ops
from kshim.numerics import image_weights
from kshim.ops.image import aspect_crop_box

PIL_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil():
    try:  # Pillow is optional (the `image` extra)
        from PIL import Image
    except ImportError as e:
        raise ImportError("Reading and writing images needs Pillow: `pip install \"kshim[image]\"` (or "
                          "`pip install pillow`).") from e
    return Image


def _data_format(value):
    value = config.image_data_format() if value is None else value
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"`data_format` must be 'channels_last' or 'channels_first'. Received: data_format={value!r}")
    return value


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A PIL image from a rank 3 array (1, 3 or 4 channels). With ``scale`` the values are stretched to [0, 255]
    (min to 0, max to 255) first."""
    Image = _pil()
    data_format = _data_format(data_format)
    x = np.asarray(ops.convert_to_numpy(x) if ops.is_tensor(x) else x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected one image of rank 3. Received an array of shape {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: images need 1, 3 or 4 channels. Received {channels} channels")


def img_to_array(img, data_format=None, dtype=None):
    """A rank 3 float array (height, width, channels) from a PIL image (or anything array-like)."""
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x.reshape((1,) + x.shape) if data_format == "channels_first" else x.reshape(x.shape + (1,))
    raise ValueError(f"img_to_array: unsupported image shape {x.shape}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save a rank 3 array as an image file (the format from the extension unless ``file_format`` is given)."""
    data_format = _data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("save_img: JPEG cannot store an alpha channel; converting the image to RGB.", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """Load an image file as a PIL image, converted to ``color_mode`` ("rgb", "rgba", "grayscale") and, with
    ``target_size`` = (height, width), resized with PIL's ``interpolation`` (``keep_aspect_ratio``: centre-crop
    to the target aspect ratio first)."""
    Image = _pil()
    if isinstance(path, io.BytesIO):
        img = Image.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        with open(path, "rb") as f:
            img = Image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img: `path` must be a path or an io.BytesIO. Received: {type(path).__name__}")
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode in ("rgb", "rgba"):
        if img.mode != color_mode.upper():
            img = img.convert(color_mode.upper())
    else:
        raise ValueError(f"load_img: `color_mode` must be 'grayscale', 'rgb' or 'rgba'. Received: "
                         f"color_mode={color_mode!r}")
    if target_size is not None:
        size = (int(target_size[1]), int(target_size[0]))
        if img.size != size:
            if interpolation not in PIL_INTERPOLATIONS:
                raise ValueError(f"load_img: `interpolation` must be one of {PIL_INTERPOLATIONS}. Received: "
                                 f"interpolation={interpolation!r}")
            resample = getattr(getattr(Image, "Resampling", Image), interpolation.upper())
            if keep_aspect_ratio:
                width, height = img.size
                crop_h = min(height, width * size[1] // size[0])
                crop_w = min(width, height * size[0] // size[1])
                top, left = (height - crop_h) // 2, (width - crop_w) // 2
                img = img.resize(size, resample, box=(left, top, left + crop_w, top + crop_h))
            else:
                img = img.resize(size, resample)
    return img


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last", **kwargs):
    """Resize an image (or batch) to ``size`` without distorting it: take the largest centred crop with the target
    aspect ratio, then resize it. A numpy input gives a numpy output (computed on the host), a tensor a tensor."""
    if kwargs:
        raise TypeError(f"smart_resize: unexpected keyword arguments {sorted(kwargs)}")
    if len(size) != 2:
        raise ValueError(f"smart_resize: `size` must be a tuple of 2 integers. Received: size={size!r}")
    is_tensor = ops.is_tensor(x)
    shape = tuple(ops.shape(x)) if is_tensor else np.shape(x)
    if len(shape) not in (3, 4):
        raise ValueError(f"smart_resize: expected an image (height, width, channels) or a batch of them. Received "
                         f"an input of shape {shape}")
    h_axis = len(shape) - (3 if data_format == "channels_last" else 2)
    h0, w0, ch, cw = aspect_crop_box(shape[h_axis], shape[h_axis + 1], size[0], size[1])
    if is_tensor:
        crop = ops.slice_along_axis(ops.slice_along_axis(x, h0, h0 + ch, h_axis), w0, w0 + cw, h_axis + 1)
        return ops.image.resize(crop, tuple(int(s) for s in size), interpolation=interpolation,
                                data_format=data_format)
    index = [slice(None)] * len(shape)
    index[h_axis], index[h_axis + 1] = slice(h0, h0 + ch), slice(w0, w0 + cw)
    return image_weights.resize_numpy(np.asarray(x)[tuple(index)], tuple(int(s) for s in size), interpolation,
                                      data_format=data_format)
