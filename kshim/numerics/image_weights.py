"""Resize weights and indices, shared by the torch backend and kshim's host-side (numpy) image utilities.

Pure numpy on static sizes (no framework import). The semantics are ``jax.image.resize``'s, which Keras 3 uses on
the jax backend:

- Half-pixel centres: output pixel ``i`` samples the input at ``(i + 0.5) * in / out - 0.5``.
- ``"nearest"``: input index ``floor((i + 0.5) * in / out)``, computed in float32 as jax does.
- The other methods weight input pixel ``j`` by ``kernel(|sample - j| / kernel_scale)``: ``"bilinear"`` the
  triangle ``max(0, 1 - |x|)``, ``"bicubic"`` Keys' cubic with ``a = -0.5``, ``"lanczos3"``/``"lanczos5"``
  Lanczos of radius 3/5. ``kernel_scale`` is ``max(in / out, 1)`` with ``antialias`` (a wider, low-pass kernel
  when downsampling), else 1. Taps that fall outside the image get no weight and each output's weights are
  renormalised to sum to 1, which is the same as repeating the edge pixel for bilinear.
- A spatial axis whose size does not change is left untouched (the identity), for every method.
"""

import numpy as np

RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def _triangle(x):
    return np.maximum(0.0, 1.0 - np.abs(x))


def _keys_cubic(x):
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius):
    def kernel(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
            out = np.where(x > 1e-3, y / np.where(x != 0, np.pi ** 2 * x ** 2, 1.0), 1.0)
        return np.where(x > radius, 0.0, out)

    return kernel


_KERNELS = {"bilinear": _triangle, "bicubic": _keys_cubic, "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0)}


def resize_weights(in_size, out_size, method="bilinear", antialias=False):
    """The (in_size, out_size) float32 matrix ``W`` with ``out[i] = sum_j in[j] * W[j, i]`` along one axis."""
    kernel = _KERNELS[method]
    inv_scale = in_size / out_size
    kernel_scale = max(inv_scale, 1.0) if antialias else 1.0
    sample = (np.arange(out_size, dtype=np.float64) + 0.5) * inv_scale - 0.5
    w = kernel(np.abs(sample[None, :] - np.arange(in_size, dtype=np.float64)[:, None]) / kernel_scale)
    total = w.sum(axis=0, keepdims=True)
    w = np.where(np.abs(total) > 1000.0 * float(np.finfo(np.float32).eps), w / np.where(total != 0, total, 1.0), 0.0)
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return np.where(inside[None, :], w, 0.0).astype(np.float32)


def nearest_indices(in_size, out_size):
    """The input index each output pixel copies for ``"nearest"`` (int64, computed in float32 as jax does)."""
    offsets = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * np.float32(in_size) / np.float32(out_size)
    return np.floor(offsets.astype(np.float32)).astype(np.int64)


def resize_numpy(image, size, method="bilinear", antialias=False, data_format="channels_last"):
    """Resize a numpy image (rank 3) or batch (rank 4) on the host; float inputs keep their dtype, integer inputs
    give float32 (except for ``"nearest"``, which only copies pixels)."""
    x = np.asarray(image)
    axes = (x.ndim - 3, x.ndim - 2) if data_format == "channels_last" else (x.ndim - 2, x.ndim - 1)
    if method == "nearest":
        for axis, out in zip(axes, size):
            if x.shape[axis] != out:
                x = np.take(x, nearest_indices(x.shape[axis], out), axis=axis)
        return x
    out_dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    x = x.astype(np.float64)
    for axis, out in zip(axes, size):
        if x.shape[axis] != out:
            w = resize_weights(x.shape[axis], out, method, antialias).astype(np.float64)
            x = np.moveaxis(np.tensordot(np.moveaxis(x, axis, -1), w, axes=1), -1, axis)
    return x.astype(out_dtype)
