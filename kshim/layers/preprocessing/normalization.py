"""`Normalization`: ``(x - mean) / max(sqrt(variance), epsilon)`` with statistics given or learned by ``adapt``.

Weights (when learned) are Keras 3's: ``mean`` and ``variance`` (float, one value per kept axis position) and
``count`` (int), all non-trainable. ``adapt`` on an array computes the statistics in float64 with numpy; on an
iterable of batches it merges per-batch statistics exactly as Keras 3 does.
"""

import math

import numpy as np

from kshim import config, ops
from kshim.layers.layer import Layer
from kshim.utils.py_dataset import PyDataset


def first_of(batch):
    """The inputs of a batch that may be ``(x, y)`` or ``(x, y, sample_weight)``."""
    return batch[0] if isinstance(batch, tuple) else batch


def adapt_batches(data, what):
    """``(first batch, iterator over all batches as numpy)`` for what ``adapt`` accepts: an array or tensor (one
    batch), a `PyDataset`, or any iterable of batches (``(x, y)`` batches use ``x``)."""
    def as_numpy(b):
        b = first_of(b)
        return ops.convert_to_numpy(b) if ops.is_tensor(b) else np.asarray(b)

    if isinstance(data, np.ndarray) or ops.is_tensor(data):
        arr = as_numpy(data)
        return arr, iter([arr])
    if isinstance(data, PyDataset):
        batches = (as_numpy(data[i]) for i in range(len(data)))
    elif hasattr(data, "__iter__") and not isinstance(data, (str, bytes)):
        batches = (as_numpy(b) for b in data)
    else:
        raise TypeError(f"{what}.adapt: expected a numpy array, a tensor, a PyDataset or an iterable of batches. "
                        f"Received: {type(data).__name__}")
    first = next(batches, None)
    if first is None:
        raise ValueError(f"{what}.adapt: the data has no batches. Pass a non-empty array or iterable of batches.")
    return first, _chain(first, batches)


def _chain(first, rest):
    yield first
    yield from rest


class Normalization(Layer):
    """Feature-wise normalization. ``axis`` (default -1) lists the axes that keep separate statistics; the others
    are reduced. Give ``mean`` and ``variance``, or call ``adapt(data)``. ``invert=True`` maps back:
    ``mean + x * max(sqrt(variance), epsilon)``."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int) and not isinstance(axis, bool):
            axis = (axis,)
        elif isinstance(axis, (tuple, list)) and all(isinstance(a, int) for a in axis):
            axis = tuple(axis)
        else:
            raise ValueError(f"Normalization: `axis` must be an integer, a tuple of integers or None. "
                             f"Received: axis={axis!r}")
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization: set both `mean` and `variance`, or neither. Received: mean={mean}, "
                             f"variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"Normalization: `mean` and `variance` must have the same shape. Received shapes "
                                 f"{np.shape(mean)} and {np.shape(variance)}")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(f"Normalization: the rank of `mean` must be at most the number of axes "
                                 f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis={self.axis}")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"Normalization: every `axis` must be in [-{ndim}, {ndim}). Received inputs of rank "
                             f"{ndim} with axis={self.axis}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(f"Normalization: the kept axes must have a known size. Received axis={self.axis} "
                                 f"and input shape {tuple(input_shape)}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        self._stats_shape = tuple(input_shape[d] for d in self._keep_axis)
        self._build_input_shape = tuple(input_shape)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._stats_shape, initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=self._stats_shape, initializer="ones",
                                                  trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int64", initializer="zeros",
                                         trainable=False)
        else:
            mean = np.asarray(self.input_mean, dtype="float64")
            variance = np.asarray(self.input_variance, dtype="float64")
            if mean.ndim:
                expanded = [1] * ndim
                for i in range(1, mean.ndim + 1):
                    expanded[self._keep_axis[-i]] = mean.shape[-i]
                mean, variance = mean.reshape(expanded), variance.reshape(expanded)
            self._fixed = (np.broadcast_to(mean, self._broadcast_shape).astype(self.compute_dtype),
                           np.broadcast_to(variance, self._broadcast_shape).astype(self.compute_dtype))
        self.built = True

    def _statistics(self):
        if self.input_mean is not None:
            return self._fixed
        return (ops.reshape(ops.cast(self.adapt_mean.value, self.compute_dtype), self._broadcast_shape),
                ops.reshape(ops.cast(self.adapt_variance.value, self.compute_dtype), self._broadcast_shape))

    def adapt(self, data):
        """Learn the mean and variance of ``data`` (an array, a tensor, a PyDataset or an iterable of batches)."""
        if self.input_mean is not None:
            raise ValueError("Normalization: cannot adapt a layer created with a fixed `mean` and `variance`.")
        first, batches = adapt_batches(data, "Normalization")
        if not self.built:
            self._maybe_build((None,) + tuple(first.shape[1:]) if first.ndim > 1 else tuple(first.shape))
        total_mean = total_var = None
        total_count = 0
        for batch in batches:
            batch = np.asarray(batch, dtype="float64")
            if batch.ndim != len(self._build_input_shape) or any(
                    batch.shape[d] != self._build_input_shape[d] for d in self._keep_axis):
                raise ValueError(f"Normalization: adapt() received data of shape {batch.shape}, incompatible with "
                                 f"the layer's input shape {self._build_input_shape} and axis={self.axis}")
            mean = batch.mean(axis=self._reduce_axis)
            var = batch.var(axis=self._reduce_axis)
            count = math.prod(batch.shape[d] for d in self._reduce_axis) if self._reduce_axis else 1
            if total_mean is None:
                total_mean, total_var, total_count = mean, var, count
                continue
            total_count += count
            w = count / total_count
            new_mean = total_mean * (1.0 - w) + mean * w
            total_var = (total_var + (total_mean - new_mean) ** 2) * (1.0 - w) + (var + (mean - new_mean) ** 2) * w
            total_mean = new_mean
        self.adapt_mean.assign(total_mean.astype(self.adapt_mean.dtype))
        self.adapt_variance.assign(total_var.astype(self.adapt_variance.dtype))
        self.count.assign(np.asarray(total_count, dtype="int64"))

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype) if ops.dtype(inputs) != self.compute_dtype else inputs
        mean, variance = self._statistics()
        scale = ops.maximum(ops.sqrt(variance), config.epsilon())
        if self.invert:
            return ops.add(mean, ops.multiply(x, scale))
        return ops.divide(ops.subtract(x, mean), scale)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def listed(v):
            return None if v is None else np.asarray(v).tolist()

        return {**super().get_config(), "axis": self.axis,
                "invert": self.invert, "mean": listed(self.input_mean), "variance": listed(self.input_variance)}
