"""Host-side (numpy) affine resampling for the Keras 2 image helpers, without scipy.

`affine_resample` gives the numbers of ``scipy.ndimage.affine_transform`` for ``order`` 0 (nearest) and 1
(linear), which Keras 2's ``apply_affine_transform`` uses, with scipy's fill modes:

- ``"constant"``: a point outside [0, n - 1] on either axis reads ``cval``;
- ``"nearest"``: the point is clamped into the image;
- ``"reflect"``: the image is mirrored about its edges (d c b a | a b c d | d c b a);
- ``"mirror"``: mirrored about the edge pixels (d c b | a b c d | c b a);
- ``"wrap"``: the point wraps around with period n - 1 (scipy's "wrap", whose first and last pixels coincide).

Nearest sampling rounds half away from zero, as scipy.
"""

import numpy as np

FILL_MODES = ("constant", "nearest", "reflect", "wrap", "mirror")


def _round(c):
    return np.sign(c) * np.floor(np.abs(c) + 0.5)


def _fix(index, n, mode):
    if n == 1:
        return np.zeros_like(index)
    if mode == "reflect":
        period = 2 * n
        index = np.mod(index, period)
        return np.where(index >= n, period - 1 - index, index)
    if mode == "mirror":
        period = 2 * (n - 1)
        index = np.mod(index, period)
        return np.where(index >= n, period - index, index)
    return np.clip(index, 0, n - 1)


def _taps(coord, n, mode, order):
    """[(index, weight)] along one axis, indices already inside [0, n)."""
    if mode == "nearest":
        coord = np.clip(coord, 0, n - 1)
    elif mode == "wrap" and n > 1:
        coord = np.mod(coord, n - 1)
    if order == 0:
        return [(_fix(_round(coord).astype(np.int64), n, mode), 1.0)]
    low = np.floor(coord)
    upper = coord - low
    low = low.astype(np.int64)
    return [(_fix(low, n, mode), 1.0 - upper), (_fix(low + 1, n, mode), upper)]


def affine_resample(image, matrix, offset, order=1, mode="constant", cval=0.0):
    """``out[r, c] = image at (matrix @ (r, c) + offset)`` for a (H, W) image or a (C, H, W) stack of channels
    (each resampled the same way); float64 computation, the input's dtype out."""
    if mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}. Received: fill_mode={mode!r}")
    if order not in (0, 1):
        raise ValueError(f"interpolation_order must be 0 or 1 (kshim resamples without scipy). Received: "
                         f"order={order!r}")
    x = np.asarray(image)
    stack = x if x.ndim == 3 else x[None]
    _, height, width = stack.shape
    rows, cols = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64),
                             indexing="ij")
    matrix = np.asarray(matrix, dtype=np.float64)
    r_in = matrix[0, 0] * rows + matrix[0, 1] * cols + offset[0]
    c_in = matrix[1, 0] * rows + matrix[1, 1] * cols + offset[1]
    out = np.zeros(stack.shape, dtype=np.float64)
    src = stack.astype(np.float64)
    for ri, rw in _taps(r_in, height, mode, order):
        for ci, cw in _taps(c_in, width, mode, order):
            out += src[:, ri, ci] * (rw * cw)
    if mode == "constant":
        outside = (r_in < 0) | (r_in > height - 1) | (c_in < 0) | (c_in > width - 1)
        out[:, outside] = cval
    out = out.astype(x.dtype) if x.dtype.kind == "f" else np.round(out).astype(x.dtype)
    return out if x.ndim == 3 else out[0]
