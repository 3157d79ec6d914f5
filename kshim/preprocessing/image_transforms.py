"""Keras 2's random image transforms (``kshim.preprocessing.image.random_rotation``, ...), on the host in numpy.

Shared by `kshim.preprocessing.image` (which exports them) and `ImageDataGenerator`; see the former for how
their numbers match Keras 2's.
"""

import warnings

import numpy as np

from kshim import config
from kshim import random as krandom
from kshim.preprocessing.affine import FILL_MODES, affine_resample  # noqa: F401  (FILL_MODES is re-exported)


_LAYERS_HINT = ("use the preprocessing layers (kshim.layers.RandomRotation, RandomTranslation, RandomZoom, "
                "RandomFlip, RandomBrightness, ...) inside the model, or kshim.utils.image_dataset_from_directory")


def _deprecated(name, replacement=_LAYERS_HINT, stacklevel=3):
    warnings.warn(f"`{name}` is a Keras 2 API, deprecated in Keras 3: {replacement}.", DeprecationWarning,
                  stacklevel=stacklevel)


# ----------------------------------------------------------------------------------------------------------------
# Transforms of one image


def transform_matrix_offset_center(matrix, x, y):
    """``matrix`` applied about the image centre instead of the origin."""
    o_x, o_y = float(x) / 2 - 0.5, float(y) / 2 - 0.5
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return offset @ matrix @ reset


def _apply_affine(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1, col_axis=2, channel_axis=0,
                  fill_mode="nearest", cval=0.0, order=1):
    if len({row_axis, col_axis, channel_axis}) != 3 or {row_axis, col_axis, channel_axis} != {0, 1, 2}:
        raise ValueError(f"`row_axis`, `col_axis` and `channel_axis` must be 0, 1 and 2 in some order. Received: "
                         f"{row_axis}, {col_axis}, {channel_axis}")
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"Expected one image of rank 3. Received an array of shape {x.shape}")
    if channel_axis not in (0, 2):
        raise ValueError(f"`channel_axis` must be 0 or 2. Received: channel_axis={channel_axis}")
    matrix = None

    def then(m):
        return m if matrix is None else matrix @ m

    if theta != 0:
        t = np.deg2rad(theta)
        matrix = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    if tx != 0 or ty != 0:
        matrix = then(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        s = np.deg2rad(shear)
        matrix = then(np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        matrix = then(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    if matrix is None:
        return x
    h, w = x.shape[row_axis], x.shape[col_axis]
    matrix = transform_matrix_offset_center(matrix, h, w)
    channels = np.moveaxis(x, channel_axis, 0)
    if col_axis > row_axis:
        matrix[:, [0, 1]] = matrix[:, [1, 0]]
        matrix[[0, 1]] = matrix[[1, 0]]
    out = affine_resample(channels, matrix[:2, :2], matrix[:2, 2], order=order, mode=fill_mode, cval=cval)
    return np.moveaxis(out, 0, channel_axis)


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1, col_axis=2, channel_axis=0,
                           fill_mode="nearest", cval=0.0, order=1):
    """Rotate (``theta`` degrees), shift (``tx`` rows, ``ty`` columns), shear (degrees) and zoom one image about
    its centre (Keras 2's function; axes default to channels first)."""
    _deprecated("apply_affine_transform")
    return _apply_affine(x, theta, tx, ty, shear, zx, zy, row_axis, col_axis, channel_axis, fill_mode, cval, order)


def _rng(seed=None):
    return krandom.host_rng() if seed is None else np.random.RandomState(seed)


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                    interpolation_order=1):
    """Rotate by a random angle in [-rg, rg] degrees."""
    _deprecated("random_rotation", "use kshim.layers.RandomRotation")
    theta = _rng().uniform(-rg, rg)
    return _apply_affine(x, theta=theta, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                         fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                 interpolation_order=1):
    """Shift by random fractions of the height (``hrg``) and width (``wrg``)."""
    _deprecated("random_shift", "use kshim.layers.RandomTranslation")
    rng = _rng()
    h, w = x.shape[row_axis], x.shape[col_axis]
    tx = rng.uniform(-hrg, hrg) * h
    ty = rng.uniform(-wrg, wrg) * w
    return _apply_affine(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                         fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                 interpolation_order=1):
    """Shear by a random angle in [-intensity, intensity] degrees."""
    _deprecated("random_shear", "use kshim.layers.RandomRotation / RandomZoom, or a custom layer on ops.image")
    shear = _rng().uniform(-intensity, intensity)
    return _apply_affine(x, shear=shear, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                         fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                interpolation_order=1):
    """Zoom by random factors in ``zoom_range`` (a pair), independently on each axis."""
    _deprecated("random_zoom", "use kshim.layers.RandomZoom")
    if len(zoom_range) != 2:
        raise ValueError(f"`zoom_range` must be a pair of floats. Received: zoom_range={zoom_range!r}")
    zx, zy = (1, 1) if tuple(zoom_range) == (1, 1) else _rng().uniform(zoom_range[0], zoom_range[1], 2)
    return _apply_affine(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                         fill_mode=fill_mode, cval=cval, order=interpolation_order)


def _channel_shift(x, intensity, channel_axis=0):
    x = np.moveaxis(np.asarray(x), channel_axis, 0)
    low, high = np.min(x), np.max(x)
    return np.moveaxis(np.clip(x + intensity, low, high), 0, channel_axis)


def apply_channel_shift(x, intensity, channel_axis=0):
    """Add ``intensity`` to every channel, clipped to the image's original range."""
    _deprecated("apply_channel_shift")
    return _channel_shift(x, intensity, channel_axis)


def random_channel_shift(x, intensity_range, channel_axis=0):
    _deprecated("random_channel_shift")
    return _channel_shift(x, _rng().uniform(-intensity_range, intensity_range), channel_axis)


def _brightness(x, brightness, scale=True):
    """Keras 2's brightness shift (Pillow's ``ImageEnhance.Brightness``) in numpy: the image as 8 bits (stretched
    to [0, 255] when ``scale`` or when it is outside that range), times ``brightness``, clipped and truncated."""
    x = np.asarray(x, dtype=config.floatx())
    low, high = np.min(x), np.max(x)
    local_scale = low < 0 or high > 255
    img = x
    if local_scale or scale:
        img = img - low
        if high - low != 0:
            img = img / (high - low)
        img = img * 255
    img = img.astype("uint8").astype(np.float32)
    out = np.floor(np.clip(img * np.float32(brightness), 0, 255)).astype(config.floatx())
    if not scale and local_scale:
        out = out / 255 * (high - low) + low
    return out


def apply_brightness_shift(x, brightness, scale=True):
    _deprecated("apply_brightness_shift", "use kshim.layers.RandomBrightness")
    return _brightness(x, brightness, scale)


def random_brightness(x, brightness_range, scale=True):
    """Scale the brightness by a random factor in ``brightness_range``."""
    _deprecated("random_brightness", "use kshim.layers.RandomBrightness")
    if len(brightness_range) != 2:
        raise ValueError(f"`brightness_range` must be a pair of floats. Received: "
                         f"brightness_range={brightness_range!r}")
    return _brightness(x, _rng().uniform(brightness_range[0], brightness_range[1]), scale)
