"""`image_dataset_from_directory`: a `PyDataset` of (images, labels) batches read from a folder of image files."""

import numpy as np

from kshim import config
from kshim import random as krandom
from kshim.numerics import image_weights
from kshim.ops.image import RESIZE_INTERPOLATIONS, aspect_crop_box
from kshim.utils import dataset_utils
from kshim.utils.image_utils import load_img

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


def _load_image(path, color_mode, image_size, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio,
                data_format):
    img = np.asarray(load_img(path, color_mode=color_mode), dtype=np.float32)
    if img.ndim == 2:
        img = img[:, :, None]
    height, width = img.shape[:2]
    th, tw = image_size
    if crop_to_aspect_ratio:
        h0, w0, ch, cw = aspect_crop_box(height, width, th, tw)
        img = img[h0:h0 + ch, w0:w0 + cw]
    elif pad_to_aspect_ratio:
        pad_h = max(height, int(float(width * th) / tw))
        pad_w = max(width, int(float(height * tw) / th))
        top, left = (pad_h - height) // 2, (pad_w - width) // 2
        img = np.pad(img, ((top, pad_h - height - top), (left, pad_w - width - left), (0, 0)))
    img = image_weights.resize_numpy(img, (th, tw), interpolation).astype(np.float32)
    return img.transpose(2, 0, 1) if data_format == "channels_first" else img


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear", follow_links=False,
                                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, data_format=None,
                                 format=None, verbose=True):
    """Images from ``directory`` (``.bmp .gif .jpeg .jpg .png``), as Keras's function of the same name.

    With ``labels="inferred"`` each sub-directory is a class (``class_names``: alphabetical, or as given) and the
    label is its index, encoded per ``label_mode`` ("int", "categorical", "binary" or None for no labels).
    Images are decoded with Pillow, converted to ``color_mode`` and resized (half-pixel, as the `Resizing` layer)
    to ``image_size``, float32 in [0, 255]. Files are shuffled with a host generator seeded by ``seed`` (and the
    batches reshuffled every epoch); ``validation_split`` with ``subset`` ("training", "validation" or "both")
    keeps the last fraction for validation. Returns a `PyDataset` (two for subset="both") of
    ``(images, labels)`` batches with ``class_names`` and ``file_paths`` attributes; images are loaded batch by
    batch. ``format`` is accepted for Keras compatibility and ignored.
    """
    dataset_utils.check_labels_args(labels, label_mode, class_names, "image")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in _CHANNELS:
        raise ValueError(f"`color_mode` must be 'rgb', 'rgba' or 'grayscale'. Received: color_mode={color_mode!r}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"`image_size` must be a tuple of 2 integers. Received: image_size={image_size!r}")
    interpolation = interpolation.lower()
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"`interpolation` must be one of {RESIZE_INTERPOLATIONS}. Received: "
                         f"interpolation={interpolation!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
    data_format = config.image_data_format() if data_format is None else data_format
    dataset_utils.check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = krandom.make_seed()
    paths, label_values, names = dataset_utils.index_directory(
        directory, labels, ALLOWLIST_FORMATS, class_names=class_names, shuffle=shuffle, seed=seed,
        follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"label_mode='binary' needs exactly 2 classes. Received: class_names={names}")
    num_classes = len(names) if names else 0

    def build(file_paths, file_labels, shuffle_batches):
        def load(idx):
            images = np.stack([_load_image(file_paths[i], color_mode, tuple(image_size), interpolation,
                                           crop_to_aspect_ratio, pad_to_aspect_ratio, data_format) for i in idx])
            if label_mode is None:
                return images
            return images, dataset_utils.encode_labels(np.asarray(file_labels)[idx], label_mode, num_classes)

        return dataset_utils.IndexedDataset(len(file_paths), load, batch_size=batch_size, shuffle=shuffle_batches,
                                            seed=seed)

    return dataset_utils.make_subsets(paths, label_values, names, validation_split, subset, shuffle, seed,
                                      batch_size, build, verbose)
