"""PyTorch backend: image primitives (resizing), with ``jax.image.resize``'s semantics.

The weights come from `kshim.numerics.image_weights`, so both backends resize with the same numbers.
"""

import torch

from kshim.numerics import image_weights
from kshim.backends.torch.core import _as_tensor


def resize(images, size, interpolation="bilinear", antialias=False, data_format="channels_last"):
    x = _as_tensor(images)
    nd = x.ndim
    axes = (nd - 3, nd - 2) if data_format == "channels_last" else (nd - 2, nd - 1)
    if interpolation == "nearest":
        for axis, out in zip(axes, size):
            if x.shape[axis] != out:
                idx = torch.as_tensor(image_weights.nearest_indices(x.shape[axis], int(out)), device=x.device)
                x = torch.index_select(x, axis, idx)
        return x
    if not torch.is_floating_point(x):
        x = x.to(torch.float32)
    for axis, out in zip(axes, size):
        if x.shape[axis] != out:
            w = image_weights.resize_weights(x.shape[axis], int(out), interpolation, antialias)
            w = torch.as_tensor(w, device=x.device, dtype=x.dtype)
            x = torch.movedim(torch.tensordot(torch.movedim(x, axis, -1), w, dims=1), -1, axis)
    return x
