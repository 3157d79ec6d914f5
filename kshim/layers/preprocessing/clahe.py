"""`ContrastLimitedAdaptiveHistogramEqualization` (CLAHE), with Keras 3's arguments and numbers.

Each image is cut into a ``tile_grid_size`` grid of tiles (the image padded symmetrically at the bottom and right
to a whole number of tiles). Each tile and channel gets a 256-bin histogram of its [0, 255] values; counts above
``clip_limit * tile_pixels / 256`` are cut and the excess spread evenly over all bins; the normalised cumulative
histogram maps a value to its equalised one. A pixel's output blends the maps of the four nearest tile centres
bilinearly (the grid of maps extended by one tile of edge replication on every side).
"""

import numpy as np

from kshim import ops
from kshim.layers.preprocessing.color_augmentation import rescale, value_range_pair
from kshim.layers.preprocessing.image_layer import ImagePreprocessingLayer

_BINS = 256


def _interpolation(size, tile, grid):
    """For the pixels of one axis: (lower tile index, upper tile index, upper weight) in the edge-extended grid of
    maps, in float32 as Keras 3 computes them."""
    f32 = np.float32
    position = (np.arange(size, dtype=f32) - f32(tile / 2.0)) / f32(tile) + f32(1.0)
    low = np.floor(position)
    weight = position - low
    high = np.clip(low + f32(1.0), 0, grid + 1).astype("int32")
    return np.clip(low, 0, grid + 1).astype("int32"), high, weight


class ContrastLimitedAdaptiveHistogramEqualization(ImagePreprocessingLayer):
    """Contrast-limited adaptive histogram equalisation of ``(batch, height, width, channels)`` images (or one
    image; ``channels_first`` too) whose values lie in ``value_range``. ``clip_limit`` (<= 0: no limit) caps each
    histogram bin at that multiple of the mean bin count; ``tile_grid_size`` is (rows, columns) of tiles."""

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name = "ContrastLimitedAdaptiveHistogramEqualization"
        self.value_range = value_range_pair(name, value_range)
        if isinstance(clip_limit, bool) or not isinstance(clip_limit, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name}: `clip_limit` must be a number. Received: clip_limit={clip_limit!r}")
        grid = tuple(tile_grid_size) if isinstance(tile_grid_size, (tuple, list)) else None
        if grid is None or len(grid) != 2 or not all(isinstance(g, (int, np.integer)) and g > 0 for g in grid):
            raise ValueError(f"{name}: `tile_grid_size` must be a pair of positive integers. Received: "
                             f"tile_grid_size={tile_grid_size!r}")
        self.clip_limit = clip_limit
        self.tile_grid_size = tuple(int(g) for g in grid)

    def call(self, inputs, training=True):
        dtype = ops.standardize_dtype(ops.dtype(inputs))
        x, single = self._batched(inputs)
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 2, 3, 1))
        x = rescale(ops.cast(x, "float32"), self.value_range, (0, 255))
        x = rescale(self._equalize(x), (0, 255), self.value_range)
        x = ops.cast(x, dtype)
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 3, 1, 2))
        return self._unbatch(x, single)

    def _maps(self, padded, tile_h, tile_w):
        """(batch, grid_h + 2, grid_w + 2, channels, 256): each tile's equalisation map, edge-extended."""
        grid_h, grid_w = self.tile_grid_size
        batch, channels = ops.shape(padded)[0], ops.shape(padded)[3]
        tiles = ops.reshape(padded, (batch, grid_h, tile_h, grid_w, tile_w, channels))
        tiles = ops.reshape(ops.transpose(tiles, (0, 1, 3, 5, 2, 4)), (batch, grid_h, grid_w, channels, -1))
        levels = ops.clip(ops.cast(tiles, "int32"), 0, _BINS - 1)
        hist = ops.sum(ops.one_hot(levels, _BINS), axis=-2)
        pixels = tile_h * tile_w
        if self.clip_limit > 0:
            limit = float(np.float32(self.clip_limit * pixels / 256.0))
            clipped = ops.clip(hist, 0.0, limit)
            excess = ops.sum(ops.subtract(hist, clipped), axis=-1, keepdims=True)
            hist = ops.add(clipped, ops.divide(excess, 256.0))
        cdf = ops.cumsum(hist, axis=-1)
        cdf_min = ops.min(cdf, axis=-1, keepdims=True)
        denominator = ops.subtract(float(pixels), cdf_min)
        denominator = ops.where(ops.equal(denominator, 0.0), ops.ones_like(denominator), denominator)
        maps = ops.clip(ops.divide(ops.multiply(ops.subtract(cdf, cdf_min), 255.0), denominator), 0.0, 255.0)
        maps = ops.concatenate([maps[:, :1], maps, maps[:, -1:]], axis=1)
        return ops.concatenate([maps[:, :, :1], maps, maps[:, :, -1:]], axis=2)

    def _equalize(self, images):
        batch, height, width, channels = ops.shape(images)
        grid_h, grid_w = self.tile_grid_size
        tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
        pad_h, pad_w = tile_h * grid_h - height, tile_w * grid_w - width
        padded = images
        if pad_h or pad_w:
            padded = ops.pad(images, [(0, 0), (0, pad_h), (0, pad_w), (0, 0)], mode="symmetric")
        maps = ops.reshape(self._maps(padded, tile_h, tile_w), (-1,))
        y0, y1, wy = _interpolation(tile_h * grid_h, tile_h, grid_h)
        x0, x1, wx = _interpolation(tile_w * grid_w, tile_w, grid_w)
        # flat indices into the maps: ((b * (grid_h + 2) + y) * (grid_w + 2) + x) * channels * 256 + c * 256 + v
        stride_x = _BINS * channels
        stride_y = stride_x * (grid_w + 2)
        base = (np.arange(batch, dtype="int32")[:, None, None, None] * stride_y * (grid_h + 2)
                + np.arange(channels, dtype="int32")[None, None, None, :] * _BINS)
        base = ops.add(ops.convert_to_tensor(base), ops.cast(ops.clip(padded, 0.0, 255.0), "int32"))
        rows = {k: (r * stride_y)[None, :, None, None] for k, r in (("0", y0), ("1", y1))}
        cols = {k: (c * stride_x)[None, None, :, None] for k, c in (("0", x0), ("1", x1))}

        def at(r, c):
            return ops.take(maps, ops.add(base, ops.convert_to_tensor((rows[r] + cols[c]).astype("int32"))))

        wx_ = ops.convert_to_tensor(wx[None, None, :, None])
        wy_ = ops.convert_to_tensor(wy[None, :, None, None])
        one_wx = ops.convert_to_tensor((np.float32(1.0) - wx)[None, None, :, None])
        one_wy = ops.convert_to_tensor((np.float32(1.0) - wy)[None, :, None, None])
        top = ops.add(ops.multiply(at("0", "0"), one_wx), ops.multiply(at("0", "1"), wx_))
        bottom = ops.add(ops.multiply(at("1", "0"), one_wx), ops.multiply(at("1", "1"), wx_))
        out = ops.add(ops.multiply(top, one_wy), ops.multiply(bottom, wy_))
        return out[:, :height, :width, :]

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range), "clip_limit": self.clip_limit,
                "tile_grid_size": list(self.tile_grid_size)}
