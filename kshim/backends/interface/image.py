"""The contract's image family: resizing.
Implemented by ``kshim/backends/<backend>/image.py``; bound by `kshim.ops.image`."""


def resize(images, size, interpolation="bilinear", antialias=False, data_format="channels_last"):
    """``images`` (rank 3, one image, or rank 4, a batch) with its two spatial axes resized to ``size`` =
    (height, width), with ``jax.image.resize``'s semantics (which Keras 3 uses on jax): half-pixel centres;
    ``interpolation`` one of "bilinear", "nearest", "bicubic" (Keys, a = -0.5), "lanczos3", "lanczos5";
    ``antialias`` widens the kernel when downsampling. The exact weights are documented in
    `kshim.numerics.image_weights`. A spatial axis whose size is unchanged is returned as is. Integer inputs give
    float32 outputs except with "nearest", which only copies pixels. jax: ``jax.image.resize``; torch: the same
    weight matrices contracted with ``torch.tensordot`` (and index gathers for "nearest")."""
