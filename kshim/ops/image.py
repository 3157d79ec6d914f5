"""Image ops (``kshim.ops.image``, as ``keras.ops.image``): `resize`, `affine_transform`, `map_coordinates`,
`perspective_transform`, colour spaces (`rgb_to_grayscale`, `rgb_to_hsv`, `hsv_to_rgb`), `pad_images`,
`crop_images`, filters (`gaussian_blur`, `sobel_edges`, `ssim`), `extract_patches(_3d)` and `scale_and_translate`
(in `kshim.ops.image_resampling`) and `elastic_transform` (its noise from `kshim.ops.counter_random`, so a seed
gives the same field on both backends).

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

import numpy as np

from kshim.ops import absent as _absent
from kshim.ops import counter_random as _draws
from kshim import config
from kshim.backends import B
from kshim.ops import symbolic as _symbolic
from kshim.ops.image_resampling import scale_and_translate

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


def _check_rank(where, images, ranks=(3, 4), name="images"):
    shape = tuple(B.shape(images))
    if len(shape) not in ranks:
        raise ValueError(f"{where}: expected `{name}` of rank {' or '.join(map(str, ranks))}. Received input with "
                         f"shape: {name}.shape={shape}")
    return shape


def _to_batch_last(images, data_format):
    """(images as a channels_last batch, whether a batch axis was added)."""
    single = len(B.shape(images)) == 3
    if single:
        images = B.expand_dims(images, 0)
    if data_format == "channels_first":
        images = B.transpose(images, (0, 2, 3, 1))
    return images, single


def _from_batch_last(images, data_format, single):
    if data_format == "channels_first":
        images = B.transpose(images, (0, 3, 1, 2))
    return B.squeeze(images, 0) if single else images


def _float(x):
    dtype = B.dtype(x)
    return x if dtype.startswith(("float", "bfloat")) else B.cast(x, config.floatx())


def rgb_to_grayscale(images, data_format=None):
    """The luminance ``0.2989 R + 0.5870 G + 0.1140 B``, one channel kept, as ``keras.ops.image.rgb_to_grayscale``
    (a one-channel input comes back as it is; integer images are computed in float and cast back)."""
    data_format = _data_format("rgb_to_grayscale", data_format)
    shape = _check_rank("rgb_to_grayscale", images)
    axis = -1 if data_format == "channels_last" else -3
    if shape[axis] not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: expected 3 (RGB) or 1 (grayscale) channels. Received input with "
                         f"shape: images.shape={shape}")
    if shape[axis] == 1:
        return images
    x = _float(images)
    weights = B.cast(B.convert_to_tensor([0.2989, 0.5870, 0.1140]), B.dtype(x))
    gray = B.expand_dims(B.tensordot(x, weights, axes=([len(shape) + axis], [0])), axis)
    return gray if B.dtype(gray) == B.dtype(images) else B.cast(gray, B.dtype(images))


def _planes(images, axis):
    return [B.squeeze(p, axis) for p in B.split(images, 3, axis=axis)]


def _float_only(where, images):
    if not B.dtype(images).startswith(("float", "bfloat")):
        raise ValueError(f"{where}: `images` must have a float dtype. Received: images.dtype={B.dtype(images)}")


def rgb_to_hsv(images, data_format=None):
    """Hue, saturation and value (each in [0, 1] for RGB in [0, 1]) of float images, as
    ``keras.ops.image.rgb_to_hsv``."""
    data_format = _data_format("rgb_to_hsv", data_format)
    _check_rank("rgb_to_hsv", images)
    _float_only("rgb_to_hsv", images)
    axis = -1 if data_format == "channels_last" else -3
    eps = float(np.finfo(np.dtype("float32" if B.dtype(images) == "bfloat16" else B.dtype(images))).eps)
    images = B.where(B.less(B.abs(images), eps), B.zeros_like(images), images)
    r, g, b = _planes(images, axis)
    value = B.maximum(B.maximum(r, g), b)
    span = B.subtract(value, B.minimum(B.minimum(r, g), b))
    zeros, ones = B.zeros_like(value), B.ones_like(value)
    saturation = B.where(B.greater(value, 0.0), B.divide(span, B.where(B.greater(value, 0.0), value, ones)), zeros)
    norm = B.divide(1.0, B.multiply(6.0, B.where(B.greater(span, 0.0), span, ones)))
    hue = B.where(B.equal(value, g), B.add(B.multiply(norm, B.subtract(b, r)), 2.0 / 6.0),
                  B.add(B.multiply(norm, B.subtract(r, g)), 4.0 / 6.0))
    hue = B.where(B.equal(value, r), B.multiply(norm, B.subtract(g, b)), hue)
    hue = B.add(B.where(B.greater(span, 0.0), hue, zeros), B.cast(B.less(hue, 0.0), B.dtype(hue)))
    return B.stack([hue, saturation, value], axis=axis)


def hsv_to_rgb(images, data_format=None):
    """The inverse of `rgb_to_hsv`, as ``keras.ops.image.hsv_to_rgb``."""
    data_format = _data_format("hsv_to_rgb", data_format)
    _check_rank("hsv_to_rgb", images)
    _float_only("hsv_to_rgb", images)
    axis = -1 if data_format == "channels_last" else -3
    hue, saturation, value = _planes(images, axis)
    dh = B.multiply(B.mod(hue, 1.0), 6.0)
    dr = B.clip(B.subtract(B.abs(B.subtract(dh, 3.0)), 1.0), 0.0, 1.0)
    dg = B.clip(B.subtract(2.0, B.abs(B.subtract(dh, 2.0))), 0.0, 1.0)
    db = B.clip(B.subtract(2.0, B.abs(B.subtract(dh, 4.0))), 0.0, 1.0)
    one_minus_s = B.subtract(1.0, saturation)
    return B.stack([B.multiply(value, B.add(one_minus_s, B.multiply(saturation, d))) for d in (dr, dg, db)],
                   axis=axis)


def _two_of_three(where, names, values):
    if list(values).count(None) != 1:
        raise ValueError(f"{where}: give exactly two of {', '.join(names)}. Received: "
                         + ", ".join(f"{n}={v}" for n, v in zip(names, values)))
    for n, v in zip(names, values):
        if v is not None and v < 0:
            raise ValueError(f"{where}: `{n}` must be >= 0. Received: {n}={v}")


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format=None):
    """Zero-pad images to a height and width, as ``keras.ops.image.pad_images``: per axis give two of the
    leading padding, the trailing padding and the target size."""
    data_format = _data_format("pad_images", data_format)
    shape = _check_rank("pad_images", images)
    _two_of_three("pad_images", ("top_padding", "bottom_padding", "target_height"),
                  (top_padding, bottom_padding, target_height))
    _two_of_three("pad_images", ("left_padding", "right_padding", "target_width"),
                  (left_padding, right_padding, target_width))
    h_axis, w_axis = _hw_axes(len(shape), data_format)
    pads = []
    for lead, trail, target, size, names in (
            (top_padding, bottom_padding, target_height, shape[h_axis], ("top_padding", "bottom_padding")),
            (left_padding, right_padding, target_width, shape[w_axis], ("left_padding", "right_padding"))):
        lead = target - trail - size if lead is None else lead
        trail = target - lead - size if trail is None else trail
        for n, v in zip(names, (lead, trail)):
            if v < 0:
                raise ValueError(f"pad_images: `{n}` must be >= 0 (the target is smaller than the image). "
                                 f"Received: {n}={v}")
        pads.append((int(lead), int(trail)))
    widths = [(0, 0)] * len(shape)
    widths[h_axis], widths[w_axis] = pads
    return B.pad(images, widths, mode="constant", constant_values=0)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format=None):
    """Crop images to a height and width, as ``keras.ops.image.crop_images``: per axis give two of the leading
    cropping, the trailing cropping and the target size."""
    data_format = _data_format("crop_images", data_format)
    shape = _check_rank("crop_images", images)
    _two_of_three("crop_images", ("top_cropping", "bottom_cropping", "target_height"),
                  (top_cropping, bottom_cropping, target_height))
    _two_of_three("crop_images", ("left_cropping", "right_cropping", "target_width"),
                  (left_cropping, right_cropping, target_width))
    h_axis, w_axis = _hw_axes(len(shape), data_format)
    for lead, trail, target, size, axis, names in (
            (top_cropping, bottom_cropping, target_height, shape[h_axis], h_axis,
             ("top_cropping", "target_height")),
            (left_cropping, right_cropping, target_width, shape[w_axis], w_axis,
             ("left_cropping", "target_width"))):
        lead = size - target - trail if lead is None else lead
        target = size - trail - lead if target is None else target
        for n, v in zip(names, (lead, target)):
            if v < 0:
                raise ValueError(f"crop_images: `{n}` must be >= 0. Received: {n}={v}")
        if lead + target > size:
            raise ValueError(f"crop_images: the crop ({names[0]}={lead}, {names[1]}={target}) does not fit in the "
                             f"image's size {size}. Received input with shape: images.shape={shape}")
        images = B.slice_along_axis(images, int(lead), int(lead + target), axis)
    return images


def _gaussian_kernel(size, sigma, dtype):
    """A normalised 1-D Gaussian of ``size`` taps with deviation ``sigma`` (a number or a scalar tensor)."""
    x = B.cast(B.convert_to_tensor(np.arange(size, dtype="float32") - (size - 1) / 2.0), dtype)
    k = B.exp(B.multiply(-0.5, B.square(B.divide(x, B.cast(B.convert_to_tensor(sigma), dtype)))))
    return B.divide(k, B.sum(k))


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blur each channel with a Gaussian of ``kernel_size`` (x, y) taps and deviations ``sigma`` (x, y), zero
    padding, output the input's size, as ``keras.ops.image.gaussian_blur``."""
    data_format = _data_format("gaussian_blur", data_format)
    _check_rank("gaussian_blur", images)
    kernel_size = tuple(int(k) for k in kernel_size)
    if len(kernel_size) != 2 or min(kernel_size) < 1:
        raise ValueError(f"gaussian_blur: `kernel_size` must be two positive integers. Received: "
                         f"kernel_size={kernel_size}")
    dtype = B.dtype(images)
    x, single = _to_batch_last(_float(images), data_format)
    kx = _gaussian_kernel(kernel_size[0], sigma[0], B.dtype(x))
    ky = _gaussian_kernel(kernel_size[1], sigma[1], B.dtype(x))
    channels = B.shape(x)[-1]
    kernel = B.multiply(B.reshape(ky, (-1, 1, 1, 1)), B.reshape(kx, (1, -1, 1, 1)))
    kernel = B.tile(kernel, (1, 1, channels, 1))
    # "same" pads (k - 1) // 2 before, the rest after, as scipy's convolve2d on the padded image does
    out = B.depthwise_conv(x, kernel, strides=1, padding="same", data_format="channels_last")
    out = _from_batch_last(out, data_format, single)
    return out if B.dtype(out) == dtype else B.cast(out, dtype)


def elastic_warp(images, noise, alpha, sigma, kernel_size, interpolation, fill_mode, fill_value):
    """Displace the channels_last batch ``images`` by ``alpha * blur(sigma * noise)``: ``noise`` (2, B, H, W) holds
    standard normal x then y fields, blurred by a ``kernel_size`` Gaussian of deviation ``sigma`` (a number or a
    scalar tensor); the images are resampled at the displaced pixel positions."""
    batch, height, width, _ = B.shape(images)
    field = B.reshape(B.multiply(B.cast(noise, B.dtype(images)), sigma), (2 * batch, height, width, 1))
    field = gaussian_blur(field, (kernel_size, kernel_size), (sigma, sigma), "channels_last")
    field = B.multiply(B.reshape(field, (2, batch, height, width)), alpha)
    ys = B.reshape(B.arange(0, height, dtype="float32"), (1, height, 1))
    xs = B.reshape(B.arange(0, width, dtype="float32"), (1, 1, width))
    return _sample(images, B.add(ys, field[1]), B.add(xs, field[0]), interpolation, fill_mode, fill_value)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                      seed=None, data_format=None):
    """Elastic deformation, as ``keras.ops.image.elastic_transform``: each pixel moves by ``alpha`` times a
    Gaussian-smoothed (``sigma``, kernel ``int(6 sigma) | 1``) field of ``sigma * N(0, 1)`` noise, drawn per
    image and axis, and is resampled with ``interpolation`` and ``fill_mode``.

    The noise is kshim's counter-based normal draw from ``seed`` (an integer, a `kshim.random.SeedGenerator`, or
    None for a fresh seed from the host generator), so a seed gives the same result on both backends. The x and y
    fields are independent draws (as Keras 3 on torch; Keras 3 on jax draws both from one key, so they are
    equal)."""
    data_format = _data_format("elastic_transform", data_format)
    _check_sampling("elastic_transform", interpolation, fill_mode)
    _check_rank("elastic_transform", images)
    for name, value in (("alpha", alpha), ("sigma", sigma)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"elastic_transform: `{name}` must be a number. Received: {name}={value!r}")
    if sigma <= 0:
        raise ValueError(f"elastic_transform: `sigma` must be positive (the deviation of the smoothing Gaussian). "
                         f"Received: sigma={sigma!r}")
    x, single = _to_batch_last(B.convert_to_tensor(images), data_format)
    batch, height, width, _ = B.shape(x)
    noise = _draws.standard_normal((2, batch, height, width), seed)
    out = elastic_warp(_float(x), noise, float(alpha), float(sigma), int(6 * sigma) | 1, interpolation, fill_mode,
                       fill_value)
    out = _from_batch_last(out, data_format, single)
    return out if B.dtype(out) == B.dtype(x) else B.cast(out, B.dtype(x))


def sobel_edges(images, data_format=None):
    """The Sobel gradients (dy, dx) of each channel, zero padding, on a new last axis of 2, as
    ``keras.ops.image.sobel_edges`` on jax: (B, H, W, C, 2) channels_last, (B, C, H, W, 2) channels_first."""
    data_format = _data_format("sobel_edges", data_format)
    _check_rank("sobel_edges", images, (4,))
    x = images if data_format == "channels_last" else B.transpose(images, (0, 2, 3, 1))
    channels = B.shape(x)[-1]
    dy = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], "float32")
    edges = []
    for k in (dy, dy.T):
        kernel = B.cast(B.convert_to_tensor(np.tile(k[:, :, None, None], (1, 1, channels, 1))), B.dtype(x))
        edges.append(B.depthwise_conv(x, kernel, strides=1, padding="same", data_format="channels_last"))
    out = B.stack(edges, axis=-1)
    return out if data_format == "channels_last" else B.transpose(out, (0, 3, 1, 2, 4))


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of ``size`` (an int or (h, w); a 3-tuple gives `extract_patches_3d`) flattened onto the channel
    axis in (row, column, channel) order, as ``keras.ops.image.extract_patches``."""
    if not isinstance(size, int) and len(size) == 3:
        return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
    if not isinstance(size, int) and len(size) != 2:
        raise TypeError(f"extract_patches: `size` must be an int or a tuple of 2 (or 3) ints. Received: "
                        f"size={size}")
    return _patches("extract_patches", images, (size, size) if isinstance(size, int) else tuple(size), strides,
                    dilation_rate, padding, data_format)


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of ``size`` (an int or (d, h, w)) of volumes (rank 4 or 5), flattened onto the channel axis, as
    ``keras.ops.image.extract_patches_3d``."""
    if not isinstance(size, int) and len(size) != 3:
        raise TypeError(f"extract_patches_3d: `size` must be an int or a tuple of 3 ints. Received: size={size}")
    return _patches("extract_patches_3d", volumes, (size,) * 3 if isinstance(size, int) else tuple(size), strides,
                    dilation_rate, padding, data_format)


def _patches(where, images, size, strides, dilation_rate, padding, data_format):
    data_format = _data_format(where, data_format)
    n = len(size)
    _check_rank(where, images, (n + 1, n + 2))
    single = len(B.shape(images)) == n + 1
    if single:
        images = B.expand_dims(images, 0)
    channels = B.shape(images)[-1 if data_format == "channels_last" else 1]
    out_dim = int(np.prod(size)) * channels
    kernel = B.reshape(B.eye(out_dim, dtype=B.dtype(images)), tuple(size) + (channels, out_dim))
    out = B.conv(images, kernel, strides=size if not strides else strides, padding=padding,
                 data_format=data_format, dilation_rate=dilation_rate)
    return B.squeeze(out, 0) if single else out


def _homography(start_points, end_points):
    """The (B, 8) coefficients mapping each output (end) point to its input (start) point."""
    sx, sy = start_points[..., 0], start_points[..., 1]
    ex, ey = end_points[..., 0], end_points[..., 1]
    zeros, ones = B.zeros_like(ex), B.ones_like(ex)
    x_rows = B.stack([ex, ey, ones, zeros, zeros, zeros, B.negative(B.multiply(sx, ex)),
                      B.negative(B.multiply(sx, ey))], axis=-1)
    y_rows = B.stack([zeros, zeros, zeros, ex, ey, ones, B.negative(B.multiply(sy, ex)),
                      B.negative(B.multiply(sy, ey))], axis=-1)
    a = B.concatenate([x_rows, y_rows], axis=1)
    return B.squeeze(B.solve(a, B.expand_dims(B.concatenate([sx, sy], axis=-1), -1)), -1)


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    """Warp images so that the four ``start_points`` ((4, 2) or (B, 4, 2), (x, y)) move to ``end_points``,
    constant ``fill_value`` outside, as ``keras.ops.image.perspective_transform``."""
    data_format = _data_format("perspective_transform", data_format)
    _check_sampling("perspective_transform", interpolation, "constant")
    _check_rank("perspective_transform", images)
    start = B.cast(B.convert_to_tensor(start_points), "float32")
    end = B.cast(B.convert_to_tensor(end_points), "float32")
    for name, p in (("start_points", start), ("end_points", end)):
        if len(B.shape(p)) not in (2, 3) or tuple(B.shape(p)[-2:]) != (4, 2):
            raise ValueError(f"perspective_transform: `{name}` must have shape (4, 2) or (batch, 4, 2). "
                             f"Received: {name}.shape={tuple(B.shape(p))}")
    if tuple(B.shape(start)) != tuple(B.shape(end)):
        raise ValueError(f"perspective_transform: `start_points` and `end_points` must have the same shape. "
                         f"Received: {tuple(B.shape(start))} and {tuple(B.shape(end))}")
    if len(B.shape(start)) == 2:
        start, end = B.expand_dims(start, 0), B.expand_dims(end, 0)
    x, single = _to_batch_last(images, data_format)
    batch, height, width, _ = B.shape(x)
    coef = [B.reshape(c, (-1, 1, 1)) for c in B.split(_homography(start, end), 8, axis=-1)]
    ys = B.reshape(B.arange(0, height, dtype="float32"), (1, height, 1))
    xs = B.reshape(B.arange(0, width, dtype="float32"), (1, 1, width))

    def plane(a, b, c):
        return B.add(B.add(B.multiply(a, xs), B.multiply(b, ys)), c)

    denominator = B.add(plane(coef[6], coef[7], 0.0), 1.0)
    full = (batch, height, width)
    x_in = B.broadcast_to(B.divide(plane(coef[0], coef[1], coef[2]), denominator), full)
    y_in = B.broadcast_to(B.divide(plane(coef[3], coef[4], coef[5]), denominator), full)
    out = _sample(x, y_in, x_in, interpolation, "constant", fill_value)
    return _from_batch_last(out, data_format, single)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None):
    """The structural similarity of two images (or batches), Gaussian window of ``filter_size`` and
    ``filter_sigma``, "valid" windows, averaged over space and channels, as ``keras.ops.image.ssim``."""
    data_format = _data_format("ssim", data_format)
    _check_rank("ssim", image1, name="image1")
    _check_rank("ssim", image2, name="image2")
    dtype = B.dtype(image1)
    a, single = _to_batch_last(_float(image1), data_format)
    b, _ = _to_batch_last(B.cast(image2, B.dtype(a)), data_format)
    batch, height, width, channels = B.shape(a)
    g = _gaussian_kernel(int(filter_size), float(filter_sigma), B.dtype(a))
    kernel = B.multiply(B.reshape(g, (-1, 1, 1, 1)), B.reshape(g, (1, -1, 1, 1)))
    kernel = B.tile(kernel, (1, 1, channels, 1))

    def blur(t):
        return B.depthwise_conv(t, kernel, strides=1, padding="valid", data_format="channels_last")

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu1, mu2 = blur(a), blur(b)
    mu11, mu22, mu12 = B.multiply(mu1, mu1), B.multiply(mu2, mu2), B.multiply(mu1, mu2)
    s11 = B.subtract(blur(B.multiply(a, a)), mu11)
    s22 = B.subtract(blur(B.multiply(b, b)), mu22)
    s12 = B.subtract(blur(B.multiply(a, b)), mu12)
    num = B.multiply(B.add(B.multiply(mu12, 2.0), c1), B.add(B.multiply(s12, 2.0), c2))
    den = B.multiply(B.add(B.add(mu11, mu22), c1), B.add(B.add(s11, s22), c2))
    out = B.mean(B.divide(num, den), axis=(1, 2, 3))
    out = B.squeeze(out, 0) if single else out
    return out if B.dtype(out) == dtype else B.cast(out, dtype)


__all__ = ["resize", "affine_transform", "map_coordinates", "aspect_crop_box", "rgb_to_grayscale", "rgb_to_hsv",
           "hsv_to_rgb", "pad_images", "crop_images", "gaussian_blur", "sobel_edges", "extract_patches",
           "extract_patches_3d", "perspective_transform", "ssim", "scale_and_translate", "elastic_transform"]

_symbolic.install(globals(), [n for n in __all__ if n != "aspect_crop_box"], "keras.src.ops.image")

__getattr__ = _absent.module_getattr(__name__)  # Keras 3 names kshim leaves out, each with its reason
