"""Keras 2's `ImageDataGenerator` and its iterators (`NumpyArrayIterator`, `DirectoryIterator`), in numpy.

The iterators are `PyDataset`s: ``model.fit(datagen.flow(x, y, batch_size=32))`` works, ``len()`` is the number
of batches, ``on_epoch_end`` reshuffles, and ``next(iterator)`` walks on forever as in Keras 2. With a ``seed``,
batch ``i`` draws from ``numpy.random.RandomState(seed + batches_seen)`` exactly as Keras 2 seeds numpy's global
generator, so the batches equal Keras 2's; without one, draws come from kshim's host generator.
"""

import math
import os
import warnings

import numpy as np

from kshim import config
from kshim import random as krandom
from kshim.preprocessing import image_transforms as _img
from kshim.utils.image_utils import array_to_img, img_to_array, load_img
from kshim.utils.py_dataset import PyDataset

_EPS = 1e-6


class Iterator(PyDataset):
    """Batches of ``n`` samples in (re)shuffled order; subclasses build a batch from sample indices."""

    white_list_formats = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")

    def __init__(self, n, batch_size, shuffle, seed, **kwargs):
        super().__init__(**kwargs)
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.batch_index = 0
        self.total_batches_seen = 0
        self.index_array = None
        self._rng = krandom.host_rng()

    def _new_rng(self):
        if self.seed is not None:
            self._rng = np.random.RandomState(self.seed + self.total_batches_seen)
        else:
            self._rng = krandom.host_rng()
        self.total_batches_seen += 1
        return self._rng

    def _set_index_array(self):
        self.index_array = self._rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self):
        return math.ceil(self.n / self.batch_size)

    def __getitem__(self, idx):
        if not 0 <= idx < len(self):
            raise IndexError(f"{type(self).__name__}: batch {idx} is out of range for {len(self)} batches.")
        rng = self._new_rng()
        if self.index_array is None:
            self._set_index_array()
        return self._get_batch(self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)], rng)

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def __iter__(self):
        return self

    def __next__(self):
        rng = self._new_rng()
        if self.batch_index == 0:
            self._set_index_array()
        current = (self.batch_index * self.batch_size) % self.n if self.n else 0
        self.batch_index = self.batch_index + 1 if self.n > current + self.batch_size else 0
        return self._get_batch(self.index_array[current:current + self.batch_size], rng)

    def _get_batch(self, index_array, rng):
        raise NotImplementedError

    def _save(self, batch_x, index_array, rng):
        if not self.save_to_dir:
            return
        for i, j in enumerate(index_array):
            img = array_to_img(batch_x[i], self.data_format, scale=True)
            name = f"{self.save_prefix}_{j}_{rng.randint(10000) if hasattr(rng, 'randint') else rng.integers(10000)}"
            img.save(os.path.join(self.save_to_dir, f"{name}.{self.save_format}"))


class NumpyArrayIterator(Iterator):
    """Augmented batches of in-memory images ``x`` (rank 4), with labels ``y`` and sample weights if given.
    ``x`` may be ``(images, extra_array or [extra arrays])``: the extras are batched alongside, untransformed."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False, sample_weight=None, seed=None,
                 data_format=None, save_to_dir=None, save_prefix="", save_format="png", subset=None,
                 ignore_class_split=False, dtype=None):
        self.data_format = data_format or config.image_data_format()
        self.dtype = dtype or config.floatx()
        misc = []
        if isinstance(x, (tuple, list)):
            misc = [np.asarray(a) for a in (x[1] if isinstance(x[1], list) else [x[1]])]
            x = x[0]
            for a in misc:
                if len(a) != len(x):
                    raise ValueError(f"All arrays in `x` must have the same length. Received lengths {len(x)} and "
                                     f"{len(a)}")
        if y is not None and len(x) != len(y):
            raise ValueError(f"`x` (images) and `y` (labels) must have the same length. Received: {len(x)} and "
                             f"{len(y)}")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(f"`x` and `sample_weight` must have the same length. Received: {len(x)} and "
                             f"{len(sample_weight)}")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f"`subset` must be 'training' or 'validation'. Received: subset={subset!r}")
            split = int(len(x) * image_data_generator._validation_split)
            if y is not None and not ignore_class_split and not np.array_equal(
                    np.unique(np.asarray(y)[:split]), np.unique(np.asarray(y)[split:])):
                raise ValueError("The training and validation subsets hold different classes after the split. If "
                                 "the arrays are sorted by label, shuffle them first (or pass "
                                 "ignore_class_split=True).")
            part = slice(0, split) if subset == "validation" else slice(split, None)
            x, misc = x[part], [a[part] for a in misc]
            y = None if y is None else y[part]
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[part]
        self.x = np.asarray(x, dtype=self.dtype)
        if self.x.ndim != 4:
            raise ValueError(f"NumpyArrayIterator: `x` must have rank 4 (images). Received shape {self.x.shape}")
        channels_axis = 3 if self.data_format == "channels_last" else 1
        if self.x.shape[channels_axis] not in (1, 3, 4):
            warnings.warn(f"NumpyArrayIterator: with data_format={self.data_format!r}, images should have 1, 3 or "
                          f"4 channels on axis {channels_axis}; received shape {self.x.shape}.", stacklevel=3)
        self.x_misc = misc
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    def _get_batch(self, index_array, rng):
        gen = self.image_data_generator
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype)
        for i, j in enumerate(index_array):
            params = gen._random_transform(self.x[j].shape, rng)
            batch_x[i] = gen.standardize(gen.apply_transform(self.x[j].astype(self.dtype), params))
        self._save(batch_x, index_array, rng)
        x_out = batch_x if not self.x_misc else [batch_x] + [a[index_array] for a in self.x_misc]
        if self.y is None:
            return x_out
        if self.sample_weight is None:
            return x_out, self.y[index_array]
        return x_out, self.y[index_array], self.sample_weight[index_array]


class DirectoryIterator(Iterator):
    """Augmented batches of images read from class sub-directories of ``directory`` (Pillow needed)."""

    allowed_class_modes = ("categorical", "binary", "sparse", "input", None)

    def __init__(self, directory, image_data_generator, target_size=(256, 256), color_mode="rgb", classes=None,
                 class_mode="categorical", batch_size=32, shuffle=True, seed=None, data_format=None,
                 save_to_dir=None, save_prefix="", save_format="png", follow_links=False, subset=None,
                 interpolation="nearest", keep_aspect_ratio=False, dtype=None):
        self.data_format = data_format or config.image_data_format()
        self.dtype = dtype or config.floatx()
        if color_mode not in ("rgb", "rgba", "grayscale"):
            raise ValueError(f"`color_mode` must be 'rgb', 'rgba' or 'grayscale'. Received: color_mode={color_mode!r}")
        if class_mode not in self.allowed_class_modes:
            raise ValueError(f"`class_mode` must be one of {self.allowed_class_modes}. Received: "
                             f"class_mode={class_mode!r}")
        self.image_data_generator = image_data_generator
        self.target_size, self.color_mode, self.class_mode = tuple(target_size), color_mode, class_mode
        self.interpolation, self.keep_aspect_ratio = interpolation, keep_aspect_ratio
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        channels = {"rgb": 3, "rgba": 4, "grayscale": 1}[color_mode]
        self.image_shape = (self.target_size + (channels,) if self.data_format == "channels_last"
                            else (channels,) + self.target_size)
        split = None
        if subset is not None:
            vs = image_data_generator._validation_split
            if subset not in ("training", "validation"):
                raise ValueError(f"`subset` must be 'training' or 'validation'. Received: subset={subset!r}")
            split = (0, vs) if subset == "validation" else (vs, 1)
        self.directory = directory
        if not classes:
            classes = [d for d in sorted(os.listdir(directory)) if os.path.isdir(os.path.join(directory, d))]
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        self.filenames, labels = [], []
        for name in classes:
            sub = os.path.join(directory, name)
            files = [(root, f) for root, _, fs in sorted(os.walk(sub, followlinks=follow_links), key=lambda t: t[0])
                     for f in sorted(fs) if f.lower().endswith(self.white_list_formats)]
            if split:
                files = files[int(split[0] * len(files)):int(split[1] * len(files))]
            for root, f in files:
                self.filenames.append(os.path.join(name, os.path.relpath(os.path.join(root, f), sub)))
                labels.append(self.class_indices[name])
        self.classes = np.asarray(labels, dtype="int32")
        self.samples = len(self.filenames)
        self.filepaths = [os.path.join(directory, f) for f in self.filenames]
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def labels(self):
        return self.classes

    def _get_batch(self, index_array, rng):
        gen = self.image_data_generator
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        for i, j in enumerate(index_array):
            img = load_img(self.filepaths[j], color_mode=self.color_mode, target_size=self.target_size,
                           interpolation=self.interpolation, keep_aspect_ratio=self.keep_aspect_ratio)
            x = img_to_array(img, data_format=self.data_format)
            if gen:
                x = gen.standardize(gen.apply_transform(x, gen._random_transform(x.shape, rng)))
            batch_x[i] = x
        self._save(batch_x, index_array, rng)
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode in ("binary", "sparse"):
            return batch_x, self.classes[index_array].astype(self.dtype)
        if self.class_mode == "categorical":
            batch_y = np.zeros((len(batch_x), self.num_classes), dtype=self.dtype)
            batch_y[np.arange(len(batch_x)), self.classes[index_array]] = 1.0
            return batch_x, batch_y
        return batch_x


class ImageDataGenerator:
    """Keras 2's real-time image augmentation and normalization (deprecated: use the preprocessing layers).

    Per image, in order: a random affine transform (``rotation_range`` degrees, ``width_shift_range`` /
    ``height_shift_range`` as fractions, pixels or lists, ``shear_range`` degrees, ``zoom_range``) resampled with
    ``fill_mode``/``cval``, a channel shift, flips, a brightness factor; then `standardize`: ``preprocessing_function``,
    ``rescale``, sample-wise and feature-wise centering / std normalization (``fit`` computes the feature-wise
    statistics), ZCA whitening."""

    def __init__(self, featurewise_center=False, samplewise_center=False, featurewise_std_normalization=False,
                 samplewise_std_normalization=False, zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None, shear_range=0.0,
                 zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype=None):
        _img._deprecated("ImageDataGenerator")
        data_format = data_format or config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"`data_format` must be 'channels_last' or 'channels_first'. Received: "
                             f"data_format={data_format!r}")
        if fill_mode not in _img.FILL_MODES:
            raise ValueError(f"`fill_mode` must be one of {_img.FILL_MODES}. Received: fill_mode={fill_mode!r}")
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f"`validation_split` must be strictly between 0 and 1. Received: {validation_split}")
        if isinstance(zoom_range, (int, float)):
            zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif len(zoom_range) == 2 and all(isinstance(v, (int, float)) for v in zoom_range):
            zoom_range = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError(f"`zoom_range` must be a float or a pair of floats. Received: zoom_range={zoom_range!r}")
        if brightness_range is not None and (not isinstance(brightness_range, (tuple, list))
                                             or len(brightness_range) != 2):
            raise ValueError(f"`brightness_range` must be a pair of floats. Received: {brightness_range!r}")
        if zca_whitening:
            if not featurewise_center:
                featurewise_center = True
                warnings.warn("ImageDataGenerator: `zca_whitening` turns on `featurewise_center`.", stacklevel=2)
            if featurewise_std_normalization:
                featurewise_std_normalization = False
                warnings.warn("ImageDataGenerator: `zca_whitening` turns off `featurewise_std_normalization`.",
                              stacklevel=2)
        if featurewise_std_normalization and not featurewise_center:
            featurewise_center = True
            warnings.warn("ImageDataGenerator: `featurewise_std_normalization` turns on `featurewise_center`.",
                          stacklevel=2)
        if samplewise_std_normalization and not samplewise_center:
            samplewise_center = True
            warnings.warn("ImageDataGenerator: `samplewise_std_normalization` turns on `samplewise_center`.",
                          stacklevel=2)
        self.featurewise_center, self.samplewise_center = featurewise_center, samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = zca_whitening, zca_epsilon
        self.rotation_range, self.shear_range, self.zoom_range = rotation_range, shear_range, zoom_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.channel_shift_range, self.brightness_range = channel_shift_range, brightness_range
        self.fill_mode, self.cval = fill_mode, cval
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
        self.data_format, self.dtype = data_format, dtype or config.floatx()
        self.interpolation_order = interpolation_order
        self.channel_axis, self.row_axis, self.col_axis = (3, 1, 2) if data_format == "channels_last" else (1, 2, 3)
        self._validation_split = validation_split
        self.mean = self.std = self.zca_whitening_matrix = None

    # -- iterators -----------------------------------------------------------------------------------------------
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None, save_to_dir=None,
             save_prefix="", save_format="png", ignore_class_split=False, subset=None):
        """A `NumpyArrayIterator` (a PyDataset) of augmented ``(x, y)`` batches."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
                                  seed=seed, data_format=self.data_format, save_to_dir=save_to_dir,
                                  save_prefix=save_prefix, save_format=save_format, subset=subset,
                                  ignore_class_split=ignore_class_split, dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True, seed=None, save_to_dir=None,
                            save_prefix="", save_format="png", follow_links=False, subset=None,
                            interpolation="nearest", keep_aspect_ratio=False):
        """A `DirectoryIterator` (a PyDataset) of augmented batches read from class sub-directories."""
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 data_format=self.data_format, save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, follow_links=follow_links, subset=subset,
                                 interpolation=interpolation, keep_aspect_ratio=keep_aspect_ratio, dtype=self.dtype)

    # -- per image -----------------------------------------------------------------------------------------------
    def standardize(self, x):
        """Normalization of one image (in place for float arrays, as Keras 2)."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + _EPS
        for flag, stat, name in ((self.featurewise_center, self.mean, "featurewise_center"),
                                 (self.featurewise_std_normalization, self.std, "featurewise_std_normalization"),
                                 (self.zca_whitening, self.zca_whitening_matrix, "zca_whitening")):
            if flag and stat is None:
                warnings.warn(f"ImageDataGenerator: `{name}` is set but the generator was not fit on data; call "
                              "`.fit(x_train)` first.", stacklevel=2)
        if self.featurewise_center and self.mean is not None:
            x -= self.mean
        if self.featurewise_std_normalization and self.std is not None:
            x /= self.std + _EPS
        if self.zca_whitening and self.zca_whitening_matrix is not None:
            x = np.reshape(x.reshape(-1, math.prod(x.shape[-3:])) @ self.zca_whitening_matrix, x.shape)
        return x

    def _shift(self, shift_range, size, rng):
        if not shift_range:
            return 0
        if isinstance(shift_range, (list, tuple, np.ndarray)) or (
                isinstance(shift_range, (int, np.integer)) and not isinstance(shift_range, bool)):
            t = rng.choice(shift_range) * rng.choice([-1, 1])
        else:
            t = rng.uniform(-shift_range, shift_range)
        return t * size if np.max(shift_range) < 1 else t

    def _random_transform(self, img_shape, rng):
        row, col = self.row_axis - 1, self.col_axis - 1
        theta = rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0
        tx = self._shift(self.height_shift_range, img_shape[row], rng)
        ty = self._shift(self.width_shift_range, img_shape[col], rng)
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_h = (rng.random() < 0.5) * self.horizontal_flip
        flip_v = (rng.random() < 0.5) * self.vertical_flip
        shift = rng.uniform(-self.channel_shift_range, self.channel_shift_range) if self.channel_shift_range \
            else None
        brightness = rng.uniform(*self.brightness_range) if self.brightness_range is not None else None
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy, "flip_horizontal": flip_h,
                "flip_vertical": flip_v, "channel_shift_intensity": shift, "brightness": brightness}

    def get_random_transform(self, img_shape, seed=None):
        """The random transform parameters for one image (from ``RandomState(seed)`` when a seed is given)."""
        return self._random_transform(img_shape, np.random.RandomState(seed) if seed is not None
                                      else krandom.host_rng())

    def apply_transform(self, x, transform_parameters):
        """Apply `get_random_transform`'s parameters to one image (rank 3, without the batch axis)."""
        p = transform_parameters
        row, col, ch = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        x = _img._apply_affine(x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0), p.get("shear", 0),
                               p.get("zx", 1), p.get("zy", 1), row_axis=row, col_axis=col, channel_axis=ch,
                               fill_mode=self.fill_mode, cval=self.cval, order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            x = _img._channel_shift(x, p["channel_shift_intensity"], ch)
        if p.get("flip_horizontal", False):
            x = np.flip(x, col)
        if p.get("flip_vertical", False):
            x = np.flip(x, row)
        if p.get("brightness") is not None:
            x = _img._brightness(x, p["brightness"], False)
        return x

    def random_transform(self, x, seed=None):
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the feature-wise mean, std and ZCA matrix from sample images ``x`` (rank 4)."""
        x = np.array(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator.fit: `x` must have rank 4. Received shape {x.shape}")
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(f"ImageDataGenerator.fit: expected 1, 3 or 4 channels on axis {self.channel_axis}; "
                          f"received shape {x.shape}.", stacklevel=2)
        rng = np.random.RandomState(seed) if seed is not None else krandom.host_rng()
        if self.rescale:
            x *= self.rescale
        if augment:
            x = np.stack([self.apply_transform(x[i], self._random_transform(x[i].shape, rng))
                          for _ in range(rounds) for i in range(len(x))]).astype(self.dtype)
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=(0, self.row_axis, self.col_axis)), shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=(0, self.row_axis, self.col_axis)), shape)
            x /= self.std + _EPS
        if self.zca_whitening:
            flat = np.reshape(x, (len(x), -1))
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            self.zca_whitening_matrix = (u * (np.sqrt(len(x)) / (s + self.zca_epsilon))) @ u.T
