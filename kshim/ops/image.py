"""Image ops (``kshim.ops.image``, as ``keras.ops.image``): `resize`, `affine_transform`, `map_coordinates`.

`resize` is one backend primitive (``jax.image.resize`` semantics) plus Keras 3's centre crop / pad to the target
aspect ratio, done here on static shapes. `affine_transform` and `map_coordinates` are composites written once
here from elementwise ops and one gather, so both backends compute them the same way. Their semantics are
``jax.scipy.ndimage.map_coordinates``' (which Keras 3 uses on jax), fill modes included:

- ``"constant"``: taps outside the image read ``fill_value`` (interpolation blends towards it at the border);
- ``"nearest"``: the edge pixel repeats (a a a | a b c d | d d d);
- ``"wrap"``: the image tiles (a b c d | a b c d | a b c d);
- ``"mirror"``: reflection about the edge pixel centres (d c b | a b c d | c b a);
- ``"reflect"``: reflection about the edge (c b a | a b c d | d c b a).
"""

from kshim.ops import absent as _absent
from kshim import config
from kshim.backends import B
from kshim.ops import symbolic as _symbolic

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")
AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _data_format(where, value):
    value = config.image_data_format() if value is None else value
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{where}: `data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={value!r}")
    return value


def _hw_axes(ndim, data_format):
    return (ndim - 3, ndim - 2) if data_format == "channels_last" else (ndim - 2, ndim - 1)


def aspect_crop_box(height, width, target_height, target_width):
    """The largest centred (h_start, w_start, crop_height, crop_width) with the target's aspect ratio (Keras 3's
    arithmetic for ``crop_to_aspect_ratio`` and ``smart_resize``)."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return int(float(height - crop_height) / 2), int(float(width - crop_width) / 2), crop_height, crop_width


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Resize one image (rank 3) or a batch (rank 4) to ``size`` = (height, width), as ``keras.ops.image.resize``
    on jax. ``crop_to_aspect_ratio`` first takes the largest centred crop with the target aspect ratio;
    ``pad_to_aspect_ratio`` first pads both sides of the short axis with ``fill_value``."""
    data_format = _data_format("resize", data_format)
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"resize: `interpolation` must be one of {RESIZE_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    if fill_mode != "constant":
        raise ValueError(f"resize: only fill_mode='constant' is supported. Received: fill_mode={fill_mode!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
    if not isinstance(size, (tuple, list)) or len(size) != 2 or not all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(f"resize: `size` must be a tuple of two positive integers (height, width). "
                         f"Received: size={size!r}")
    shape = B.shape(images)
    if len(shape) not in (3, 4):
        raise ValueError(f"resize: expected a rank 3 (one image) or rank 4 (batch) input. Received input with "
                         f"shape: images.shape={tuple(shape)}")
    h_axis, w_axis = _hw_axes(len(shape), data_format)
    height, width = shape[h_axis], shape[w_axis]
    target_h, target_w = size
    if crop_to_aspect_ratio:
        h0, w0, ch, cw = aspect_crop_box(height, width, target_h, target_w)
        images = B.slice_along_axis(B.slice_along_axis(images, h0, h0 + ch, h_axis), w0, w0 + cw, w_axis)
    elif pad_to_aspect_ratio:
        pad_h = max(height, int(float(width * target_h) / target_w))
        pad_w = max(width, int(float(height * target_w) / target_h))
        top, left = int(float(pad_h - height) / 2), int(float(pad_w - width) / 2)
        widths = [(0, 0)] * len(shape)
        if top > 0:
            widths[h_axis] = (top, top)
        elif left > 0:
            widths[w_axis] = (left, left)
        if top > 0 or left > 0:
            images = B.pad(images, widths, mode="constant", constant_values=fill_value)
    return B.resize(images, (target_h, target_w), interpolation, antialias, data_format)


def _fix_index(index, size, mode):
    """``index`` (int32) moved inside [0, size) by the fill mode; "constant" only clips (validity is separate)."""
    if mode == "nearest" or mode == "constant":
        return B.clip(index, 0, size - 1)
    if mode == "wrap":
        return B.mod(index, size)
    if size == 1:
        return B.zeros_like(index)
    if mode == "mirror":
        s = size - 1
        return B.abs(B.subtract(B.mod(B.add(index, s), 2 * s), s))
    # reflect: mirror of 2 * index + 1 over an image of 2 * size + 1, halved.
    s = 2 * size
    m = B.abs(B.subtract(B.mod(B.add(B.add(B.multiply(index, 2), 1), s), 2 * s), s))
    return B.floor_divide(B.subtract(m, 1), 2)


def _taps(coord, order):
    """[(int32 index, weight)] for nearest (round half away from zero) or linear interpolation."""
    if order == 0:
        rounded = B.multiply(B.sign(coord), B.floor(B.add(B.abs(coord), 0.5)))
        return [(B.cast(rounded, "int32"), None)]
    lower = B.floor(coord)
    upper_w = B.subtract(coord, lower)
    index = B.cast(lower, "int32")
    return [(index, B.subtract(1.0, upper_w)), (B.add(index, 1), upper_w)]


def _interpolate(flat, base, ys, xs, height, width, order, fill_mode, fill_value):
    """Sum over the interpolation taps of ``flat[base + y * width + x] * weight`` (per channel)."""
    total = None
    for yi, yw in _taps(ys, order):
        y_fixed = _fix_index(yi, height, fill_mode)
        for xi, xw in _taps(xs, order):
            x_fixed = _fix_index(xi, width, fill_mode)
            index = B.add(base, B.add(B.multiply(y_fixed, width), x_fixed))
            value = B.take(flat, B.reshape(index, (-1,)), axis=0)
            value = B.reshape(value, tuple(B.shape(index)) + (B.shape(flat)[-1],))
            if fill_mode == "constant":
                valid = B.logical_and(B.logical_and(B.greater_equal(yi, 0), B.less(yi, height)),
                                      B.logical_and(B.greater_equal(xi, 0), B.less(xi, width)))
                value = B.where(B.expand_dims(valid, -1), value, B.full_like(value, fill_value))
            if yw is not None:
                value = B.multiply(value, B.expand_dims(B.multiply(yw, xw), -1))
            total = value if total is None else B.add(total, value)
    return total


def _sample(images, ys, xs, interpolation, fill_mode, fill_value):
    """Sample the (B, H, W, C) ``images`` at float coordinates ``ys``/``xs`` of shape (B, ...)."""
    batch, height, width, channels = B.shape(images)
    order = AFFINE_INTERPOLATIONS.index(interpolation)
    in_dtype = B.dtype(images)
    x = images if in_dtype.startswith(("float", "bfloat")) else B.cast(images, "float32")
    flat = B.reshape(x, (batch * height * width, channels))
    base = B.reshape(B.multiply(B.arange(0, batch, dtype="int32"), height * width),
                     (batch,) + (1,) * (len(B.shape(ys)) - 1))
    out = _interpolate(flat, base, ys, xs, height, width, order, fill_mode, fill_value)
    if in_dtype != B.dtype(out):
        if not in_dtype.startswith(("float", "bfloat")):
            out = B.multiply(B.sign(out), B.floor(B.add(B.abs(out), 0.5)))
        out = B.cast(out, in_dtype)
    return out


def _check_sampling(where, interpolation, fill_mode):
    if interpolation not in AFFINE_INTERPOLATIONS:
        raise ValueError(f"{where}: `interpolation` must be one of {AFFINE_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{where}: `fill_mode` must be one of {FILL_MODES}. Received: fill_mode={fill_mode!r}")


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
                     data_format=None):
    """Apply projective-free affine transforms, as ``keras.ops.image.affine_transform``.

    ``transform`` is (8,) or (batch, 8): ``[a0, a1, a2, b0, b1, b2, c0, c1]`` maps each output pixel (x, y) to the
    input point ``x' = a0 * x + a1 * y + a2``, ``y' = b0 * x + b1 * y + b2`` (``c0``, ``c1`` must be 0), which is
    then interpolated ("bilinear" or "nearest") with ``fill_mode`` outside the image."""
    data_format = _data_format("affine_transform", data_format)
    _check_sampling("affine_transform", interpolation, fill_mode)
    shape = B.shape(images)
    if len(shape) not in (3, 4):
        raise ValueError(f"affine_transform: expected a rank 3 (one image) or rank 4 (batch) input. Received "
                         f"input with shape: images.shape={tuple(shape)}")
    transform = B.cast(B.convert_to_tensor(transform), "float32")
    if len(B.shape(transform)) not in (1, 2) or B.shape(transform)[-1] != 8:
        raise ValueError(f"affine_transform: `transform` must have shape (8,) or (batch, 8). Received: "
                         f"transform.shape={tuple(B.shape(transform))}")
    single = len(shape) == 3
    if single:
        images = B.expand_dims(images, 0)
    if len(B.shape(transform)) == 1:
        transform = B.expand_dims(transform, 0)
    if data_format == "channels_first":
        images = B.transpose(images, (0, 2, 3, 1))
    batch, height, width, _ = B.shape(images)
    if B.shape(transform)[0] not in (1, batch):
        raise ValueError(f"affine_transform: `transform` must hold one transform or one per image. Received: "
                         f"{B.shape(transform)[0]} transforms for {batch} images")
    coef = [B.reshape(transform[:, i], (-1, 1, 1)) for i in range(6)]
    ys = B.reshape(B.arange(0, height, dtype="float32"), (1, height, 1))
    xs = B.reshape(B.arange(0, width, dtype="float32"), (1, 1, width))
    x_in = B.add(B.add(B.multiply(ys, coef[1]), B.multiply(xs, coef[0])), coef[2])
    y_in = B.add(B.add(B.multiply(ys, coef[4]), B.multiply(xs, coef[3])), coef[5])
    full = (batch, height, width)
    out = _sample(images, B.broadcast_to(y_in, full), B.broadcast_to(x_in, full), interpolation, fill_mode,
                  fill_value)
    if data_format == "channels_first":
        out = B.transpose(out, (0, 3, 1, 2))
    return B.squeeze(out, 0) if single else out


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0.0):
    """Interpolate the 2-D ``inputs`` (H, W) at ``coordinates`` = (ys, xs) (each of any shape), with ``order``
    0 (nearest) or 1 (linear), as ``keras.ops.image.map_coordinates`` for 2-D inputs."""
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: `order` must be 0 or 1. Received: order={order!r}")
    _check_sampling("map_coordinates", AFFINE_INTERPOLATIONS[order], fill_mode)
    if len(B.shape(inputs)) != 2 or len(coordinates) != 2:
        raise ValueError(f"map_coordinates: only 2-D inputs with two coordinate arrays are supported. Received: "
                         f"inputs.shape={tuple(B.shape(inputs))}, {len(coordinates)} coordinate arrays")
    ys = B.cast(B.convert_to_tensor(coordinates[0]), "float32")
    xs = B.cast(B.convert_to_tensor(coordinates[1]), "float32")
    height, width = B.shape(inputs)
    out = _sample(B.reshape(inputs, (1, height, width, 1)), B.expand_dims(ys, 0), B.expand_dims(xs, 0),
                  AFFINE_INTERPOLATIONS[order], fill_mode, fill_value)
    return B.reshape(out, B.shape(ys))


__all__ = ["resize", "affine_transform", "map_coordinates", "aspect_crop_box"]

_symbolic.install(globals(), [n for n in __all__ if n != "aspect_crop_box"], "keras.src.ops.image")

__getattr__ = _absent.module_getattr(__name__)  # Keras 3 names kshim leaves out, each with its reason
