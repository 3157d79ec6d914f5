"""Reshaping layers: Permute, RepeatVector, UpSampling1D/2D, ZeroPadding1D/2D, Cropping1D/2D (Keras 3's
arguments, shapes and numbers)."""

import numpy as np

from kshim import ops
from kshim.layers.core import _data_format
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer


def _int_tuple(cls, name, value, n, allow_zero=False):
    """Keras's ``standardize_tuple``: an int becomes ``(value,) * n``; an n-sequence of ints is checked."""
    ints = (int, np.integer)
    if isinstance(value, ints) and not isinstance(value, bool):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = ()
        if len(values) != n or any(isinstance(v, bool) or not isinstance(v, ints) for v in values):
            raise ValueError(f"{cls}: `{name}` must be an integer or a tuple of {n} integers. "
                             f"Received: {name}={value!r}")
        values = tuple(int(v) for v in values)
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{cls}: `{name}` must hold {kind} integers. Received: {name}={value!r}")
    return values


def _pairs_2d(cls, name, value):
    """An int, a pair of ints (symmetric), or a pair of pairs ((top, bottom), (left, right))."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{cls}: `{name}` cannot be negative. Received: {name}={value!r}")
        return ((int(value),) * 2,) * 2
    if hasattr(value, "__len__") and len(value) == 2:
        return (_int_tuple(cls, f"{name}[0]", value[0], 2, allow_zero=True),
                _int_tuple(cls, f"{name}[1]", value[1], 2, allow_zero=True))
    raise ValueError(f"{cls}: `{name}` must be an int, a tuple of 2 ints, or a tuple of 2 tuples of 2 ints "
                     f"((top, bottom), (left, right)). Received: {name}={value!r}")


def _add(d, n):
    return None if d is None else d + n


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is a permutation of 1..rank-1 (axis 0, the batch, stays first)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            self.dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise ValueError(f"Permute: `dims` must be a tuple of integers. Received: dims={dims!r}") from None
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Permute: `dims` must be a permutation of 1..n (the batch axis 0 is not included). "
                             f"Received: dims={dims!r}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """(batch, features) to (batch, n, features): the input repeated ``n`` times."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"RepeatVector: `n` must be a positive integer. Received: n={n!r}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs):
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class UpSampling1D(Layer):
    """Repeats each timestep ``size`` times along axis 1."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
            raise ValueError(f"UpSampling1D: `size` must be a positive integer. Received: size={size!r}")
        self.size = int(size)
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape):
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])

    def call(self, inputs):
        return ops.repeat(inputs, self.size, axis=1)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _bilinear_axis(x, axis, factor):
    """Linear resize of ``axis`` by an integer ``factor`` with half-pixel centers and edge clamping (the
    sampling of ``jax.image.resize`` / torch's ``interpolate(align_corners=False)`` when upsampling)."""
    n = ops.shape(x)[axis]
    src = (np.arange(n * factor, dtype=np.float64) + 0.5) / factor - 0.5
    src = np.clip(src, 0.0, n - 1)
    lo = np.floor(src).astype(np.int32)
    hi = np.minimum(lo + 1, n - 1).astype(np.int32)
    w = (src - lo).astype(np.float32)
    shape = [1] * ops.ndim(x)
    shape[axis] = n * factor
    w = ops.convert_to_tensor(w.reshape(shape), dtype=ops.dtype(x))
    a = ops.take(x, ops.convert_to_tensor(lo), axis=axis)
    b = ops.take(x, ops.convert_to_tensor(hi), axis=axis)
    return ops.add(a, ops.multiply(ops.subtract(b, a), w))


class UpSampling2D(Layer):
    """Scales the rows and columns by ``size``: each pixel repeated (``interpolation="nearest"``), or bilinear
    interpolation (``"bilinear"``, half-pixel centers, as Keras 3's ``ops.image.resize``)."""

    _INTERPOLATIONS = ("nearest", "bilinear")

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format("UpSampling2D", data_format)
        self.size = _int_tuple("UpSampling2D", "size", size, 2)
        interp = str(interpolation).lower()
        if interp not in self._INTERPOLATIONS:
            raise ValueError(f"UpSampling2D: `interpolation` must be one of {self._INTERPOLATIONS}. "
                             f"Received: interpolation={interpolation!r}")
        self.interpolation = interp
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        b, *dims = input_shape
        h_axis = 1 if self.data_format == "channels_first" else 0
        dims[h_axis] = None if dims[h_axis] is None else dims[h_axis] * self.size[0]
        dims[h_axis + 1] = None if dims[h_axis + 1] is None else dims[h_axis + 1] * self.size[1]
        return (b, *dims)

    def call(self, inputs):
        h_axis = 2 if self.data_format == "channels_first" else 1
        if self.interpolation == "nearest":
            x = ops.repeat(inputs, self.size[0], axis=h_axis)
            return ops.repeat(x, self.size[1], axis=h_axis + 1)
        x = _bilinear_axis(inputs, h_axis, self.size[0])
        return _bilinear_axis(x, h_axis + 1, self.size[1])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class ZeroPadding1D(Layer):
    """Pads the time axis with zeros: ``padding`` is an int or (left, right)."""

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format("ZeroPadding1D", data_format)
        self.padding = _int_tuple("ZeroPadding1D", "padding", padding, 2, allow_zero=True)
        self.input_spec = InputSpec(ndim=3)

    def _axis(self):
        return 2 if self.data_format == "channels_first" else 1

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        out[self._axis()] = _add(out[self._axis()], sum(self.padding))
        return tuple(out)

    def call(self, inputs):
        widths = [(0, 0)] * 3
        widths[self._axis()] = self.padding
        return ops.pad(inputs, tuple(widths))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding2D(Layer):
    """Pads rows and columns with zeros: ``padding`` is an int, (rows, cols), or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format("ZeroPadding2D", data_format)
        self.padding = _pairs_2d("ZeroPadding2D", "padding", padding)
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        first = 2 if self.data_format == "channels_first" else 1
        for i in range(2):
            out[first + i] = _add(out[first + i], sum(self.padding[i]))
        return tuple(out)

    def call(self, inputs):
        if self.data_format == "channels_first":
            widths = ((0, 0), (0, 0), *self.padding)
        else:
            widths = ((0, 0), *self.padding, (0, 0))
        return ops.pad(inputs, widths)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


def _crop(x, axis, start, end):
    n = ops.shape(x)[axis]
    return ops.slice_along_axis(x, start, n - end, axis)


class Cropping1D(Layer):
    """Removes ``cropping = (start, end)`` timesteps from the ends of axis 1."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _int_tuple("Cropping1D", "cropping", cropping, 2, allow_zero=True)
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape):
        length = input_shape[1]
        if length is not None:
            length -= sum(self.cropping)
            if length <= 0:
                raise ValueError(f"Cropping1D '{self.name}': `cropping` must leave at least one timestep. "
                                 f"Received: input_shape={tuple(input_shape)}, cropping={self.cropping}")
        return (input_shape[0], length, input_shape[2])

    def call(self, inputs):
        self.compute_output_shape(tuple(ops.shape(inputs)))
        return _crop(inputs, 1, *self.cropping)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class Cropping2D(Layer):
    """Removes rows and columns from the edges: ``cropping`` is an int, (rows, cols), or ((top, bottom), (left,
    right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format("Cropping2D", data_format)
        self.cropping = _pairs_2d("Cropping2D", "cropping", cropping)
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        first = 2 if self.data_format == "channels_first" else 1
        for i in range(2):
            d = out[first + i]
            if d is not None:
                if sum(self.cropping[i]) >= d:
                    raise ValueError(f"Cropping2D '{self.name}': `cropping` must be smaller than the spatial "
                                     f"dimensions of the input. Received: input_shape={tuple(input_shape)}, "
                                     f"cropping={self.cropping}")
                out[first + i] = d - sum(self.cropping[i])
        return tuple(out)

    def call(self, inputs):
        self.compute_output_shape(tuple(ops.shape(inputs)))
        first = 2 if self.data_format == "channels_first" else 1
        x = _crop(inputs, first, *self.cropping[0])
        return _crop(x, first + 1, *self.cropping[1])

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}
