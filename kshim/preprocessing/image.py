"""``kshim.preprocessing.image``: Keras 3's image helpers, and Keras 2's `ImageDataGenerator` family.

Keras 3 names (no warning): `array_to_img`, `img_to_array`, `load_img`, `save_img`, `smart_resize`.

Keras 2 names, kept for old tutorials, warn with a DeprecationWarning naming the Keras 3 replacement:
`ImageDataGenerator` (and its iterators) and the random transforms. They run on the host in numpy; the affine
resampling gives ``scipy.ndimage``'s numbers without needing scipy (see `kshim.preprocessing.affine`), and with a
``seed`` the random draws are those of Keras 2 (numpy's ``RandomState(seed + batches_seen)``), so
``ImageDataGenerator(...).flow(x, y, seed=s)`` yields Keras 2's batches. Without a seed the draws come from
kshim's host generator (`kshim.utils.set_random_seed`).
"""

from kshim.preprocessing.image_generator import DirectoryIterator, ImageDataGenerator, Iterator, NumpyArrayIterator
from kshim.preprocessing.image_transforms import (  # noqa: F401  (_deprecated, _rng: used by older callers)
    FILL_MODES, _deprecated, _rng, apply_affine_transform, apply_brightness_shift, apply_channel_shift,
    random_brightness, random_channel_shift, random_rotation, random_shear, random_shift, random_zoom,
    transform_matrix_offset_center,
)
from kshim.utils.image_utils import array_to_img, img_to_array, load_img, save_img, smart_resize

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize", "ImageDataGenerator",
           "Iterator", "NumpyArrayIterator", "DirectoryIterator", "apply_affine_transform", "random_rotation",
           "random_shift", "random_shear", "random_zoom", "apply_channel_shift", "random_channel_shift",
           "apply_brightness_shift", "random_brightness", "transform_matrix_offset_center", "FILL_MODES"]
