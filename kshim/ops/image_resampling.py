"""``keras.ops.image.scale_and_translate`` (the semantics of ``jax.image.scale_and_translate``), re-exported by
`kshim.ops.image`: each spatial axis is resampled by one (input, output) weight matrix, written once here for
tensors (the backend) and for host values (numpy, giving constant weights), with the same operations."""

import numpy as np

from kshim.backends import B

SCALE_AND_TRANSLATE_METHODS = {"linear": "linear", "bilinear": "linear", "trilinear": "linear",
                               "cubic": "cubic", "bicubic": "cubic", "tricubic": "cubic",
                               "lanczos3": "lanczos3", "lanczos5": "lanczos5"}


def _kernel(xp, method, x):
    """The resampling kernel at distances ``x`` >= 0: the triangle, Keys' cubic (a = -0.5), or Lanczos."""
    if method == "linear":
        return xp.maximum(xp.subtract(1.0, x), 0.0)
    if method == "cubic":
        near = xp.add(xp.multiply(xp.multiply(xp.subtract(xp.multiply(x, 1.5), 2.5), x), x), 1.0)
        far = xp.add(xp.multiply(xp.subtract(xp.multiply(xp.add(xp.multiply(x, -0.5), 2.5), x), 4.0), x), 2.0)
        out = xp.where(xp.greater_equal(x, 1.0), far, near)
        return xp.where(xp.greater_equal(x, 2.0), xp.zeros_like(x), out)
    radius = 3.0 if method == "lanczos3" else 5.0
    y = xp.multiply(xp.multiply(xp.sin(xp.multiply(x, np.pi)), xp.sin(xp.multiply(x, np.pi / radius))), radius)
    safe = xp.where(xp.equal(x, 0.0), xp.ones_like(x), xp.multiply(xp.square(x), np.pi ** 2))
    out = xp.where(xp.greater(x, 1e-3), xp.divide(y, safe), xp.ones_like(x))
    return xp.where(xp.greater(x, radius), xp.zeros_like(x), out)


def _weight_matrix(xp, in_size, out_size, scale, translation, method, antialias):
    """The (in_size, out_size) matrix ``W`` with ``out[i] = sum_j in[j] W[j, i]`` for output pixel centres mapped
    to input ``(i + 0.5 - translation) / scale - 0.5``, weights renormalised, zero outside the input. ``xp`` is the
    backend (tensor ``scale``/``translation``) or numpy (host values: the weights become constants, computed in
    float32 with the same operations)."""
    inv = xp.divide(1.0, scale)
    sample = xp.subtract(xp.subtract(xp.multiply(xp.add(xp.arange(0, out_size, dtype="float32"), 0.5), inv),
                                    xp.multiply(translation, inv)), 0.5)
    distance = xp.abs(xp.subtract(xp.reshape(sample, (1, -1)),
                                  xp.reshape(xp.arange(0, in_size, dtype="float32"), (-1, 1))))
    if antialias:
        distance = xp.divide(distance, xp.maximum(inv, 1.0))
    w = _kernel(xp, method, distance)
    total = xp.sum(w, axis=0, keepdims=True)
    w = xp.where(xp.greater(xp.abs(total), 1000.0 * float(np.finfo(np.float32).eps)),
                 xp.divide(w, xp.where(xp.equal(total, 0.0), xp.ones_like(total), total)), xp.zeros_like(w))
    inside = xp.logical_and(xp.greater_equal(sample, -0.5), xp.less_equal(sample, in_size - 0.5))
    return xp.where(xp.reshape(inside, (1, -1)), w, xp.zeros_like(w))


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """Resample ``images`` to ``output_shape``: along each of ``spatial_dims`` the input point
    ``(i + 0.5 - translation[k]) / scale[k] - 0.5`` is interpolated for output index ``i`` ("linear", "cubic",
    "lanczos3" or "lanczos5"; ``antialias`` widens the kernel when downsampling), as
    ``keras.ops.image.scale_and_translate`` (``jax.image.scale_and_translate``)."""
    if method not in SCALE_AND_TRANSLATE_METHODS:
        raise ValueError(f"scale_and_translate: `method` must be one of {sorted(SCALE_AND_TRANSLATE_METHODS)}. "
                         f"Received: method={method!r}")
    method = SCALE_AND_TRANSLATE_METHODS[method]
    shape = tuple(B.shape(images))
    if len(output_shape) != len(shape):
        raise ValueError(f"scale_and_translate: `output_shape` must have one entry per axis of `images`. "
                         f"Received: output_shape={tuple(output_shape)}, images.shape={shape}")
    host = all(isinstance(v, (list, tuple, np.ndarray, int, float)) for v in (scale, translation))
    xp = np if host else B
    if host:
        scale, translation = np.asarray(scale, "float32"), np.asarray(translation, "float32")
    else:
        scale = B.cast(B.convert_to_tensor(scale), "float32")
        translation = B.cast(B.convert_to_tensor(translation), "float32")
    dtype = B.dtype(images)
    is_int = not dtype.startswith(("float", "bfloat"))
    out = B.cast(images, "float32") if is_int else images
    for k, d in enumerate(spatial_dims):
        d = d % len(shape)
        w = _weight_matrix(xp, shape[d], int(output_shape[d]), scale[k], translation[k], method, antialias)
        out = B.tensordot(out, B.cast(B.convert_to_tensor(w), B.dtype(out)), axes=([d], [0]))
        order = list(range(len(shape) - 1))
        order.insert(d, len(shape) - 1)
        out = B.transpose(out, tuple(order))
    if is_int:
        out = B.cast(B.clip(B.round(out), B.min(images), B.max(images)), dtype)
    return out
