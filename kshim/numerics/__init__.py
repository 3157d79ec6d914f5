"""Framework-free arithmetic on static sizes, shared by the backends and the frontend.

It sits at the bottom of the house with `kshim.config`: it imports numpy and nothing from kshim, so both
``kshim.backends`` and the frontend (``kshim.ops``, ``kshim.utils``) may use it.

- `conv_shapes`: padding and output sizes of convolution and pooling.
- `image_weights`: resize weights and indices (``jax.image.resize``'s semantics), and a numpy resize.
"""
