"""JAX backend: image primitives (resizing)."""

import jax

from kshim.backends.jax.core import _as_operand


def resize(images, size, interpolation="bilinear", antialias=False, data_format="channels_last"):
    x = _as_operand(images)
    h, w = int(size[0]), int(size[1])
    if data_format == "channels_last":
        shape = x.shape[:-3] + (h, w) + x.shape[-1:]
    else:
        shape = x.shape[:-2] + (h, w)
    return jax.image.resize(x, shape, method=interpolation, antialias=bool(antialias))
