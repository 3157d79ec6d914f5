"""`InputLayer` and `Input`: where a model's symbolic graph starts."""

import warnings

import numpy as np

from kshim import ops
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer, standardize_dtype
from kshim.common.properties import read_only


def _batch_shape(cls, shape, batch_size, batch_shape):
    if shape is not None and batch_shape is not None:
        raise ValueError(f"{cls}: give `shape` or `batch_shape`, not both. "
                         f"Received: shape={shape}, batch_shape={batch_shape}")
    if batch_shape is not None:
        return tuple(batch_shape)
    if shape is None:
        raise ValueError(f"{cls}: `shape` (the shape of one sample, without the batch axis) is required. "
                         f"Received: shape=None")
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"{cls}: `shape` must be a tuple of integers or None. Received: shape={shape!r}") from None
    for d in shape:
        if d is not None and (not isinstance(d, int) or d < 0):
            raise ValueError(f"{cls}: `shape` must hold non-negative integers or None. Received: shape={shape!r}")
    return (batch_size,) + shape


class InputLayer(Layer):
    """The layer behind `Input`: it holds the batch shape and dtype of a model's input."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, input_tensor=None,
                 optional=False, name=None, **kwargs):
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            warnings.warn("InputLayer: `batch_input_shape` is a Keras 2 argument; use `batch_shape`.",
                          DeprecationWarning, stacklevel=2)
            batch_shape = kwargs.pop("batch_input_shape")
        if sparse:
            raise ValueError("InputLayer: sparse inputs are not supported. Received: sparse=True")
        # The input's dtype may be one no policy computes in ("string"); the layer itself computes nothing.
        super().__init__(name=name, dtype=None if standardize_dtype(dtype) == "string" else dtype, **kwargs)
        self._batch_shape = _batch_shape("InputLayer", shape, batch_size, batch_shape)
        self._input_dtype = standardize_dtype(dtype)
        self.optional = optional
        self.built = True
        self._output = KerasTensor(self._batch_shape, self._input_dtype, name=self.name, history=(self, 0, 0))

    output = read_only("_output")
    input = read_only("_output")
    output_shape = read_only("_batch_shape")
    batch_shape = read_only("_batch_shape")

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {"batch_shape": list(self._batch_shape), "dtype": self._input_dtype, "sparse": False,
                "ragged": False, "name": self.name, "optional": self.optional}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.pop("ragged", False):
            raise ValueError(f"InputLayer '{config.get('name')}': ragged inputs are not supported. "
                             "Received: ragged=True")
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """A symbolic input: ``Input(shape=(784,))`` describes batches of 784-vectors."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, optional=optional)
    return layer.output


def input_shape_fits(expected, got):
    """Whether a batch of per-batch shape `got` can feed an input of shape `expected` after `conform_input`: the
    same rank with agreeing known dims, or one trailing axis of size 1 more or less (as Keras 3 adjusts it)."""
    expected, got = tuple(expected), tuple(got)
    if len(got) == len(expected) + 1 and got[-1] == 1:
        got = got[:-1]
    elif len(got) == len(expected) - 1 and expected[-1] == 1:
        got = got + (1,)
    return len(got) == len(expected) and all(e is None or e == g for e, g in zip(expected[1:], got[1:]))


def _is_string_array(x):
    return isinstance(x, np.ndarray) and (x.dtype.kind in "US" or (
        x.dtype.kind == "O" and x.size and isinstance(x.flat[0], (str, bytes))))


def conform_input(x, ref):
    """Keras 3's conversion of a value fed to a model input `ref` (a KerasTensor): converted to a tensor of the
    Input's dtype (bools and ints become floats for a float Input), and a trailing axis of size 1 added when the
    Input has it and the value lacks it (`(N, 28, 28)` for `Input((28, 28, 1))`), or dropped in the reverse case.
    Strings stay numpy arrays on the host. Any other rank mismatch is left for the layers to report."""
    if x is None or isinstance(x, KerasTensor):
        return x
    if not ops.is_tensor(x):
        arr = np.asarray(x)
        if _is_string_array(arr) or ref.dtype == "string":
            x = arr
        else:
            x = ops.convert_to_tensor(arr, dtype=ref.dtype)
    elif ref.dtype != "string" and ops.dtype(x) != ref.dtype:
        x = ops.cast(x, ref.dtype)
    shape, want = tuple(x.shape), tuple(ref.shape)
    if len(shape) == len(want) + 1 and shape[-1] == 1:
        return np.squeeze(x, -1) if isinstance(x, np.ndarray) else ops.squeeze(x, axis=-1)
    if len(shape) == len(want) - 1 and want[-1] == 1:
        return np.expand_dims(x, -1) if isinstance(x, np.ndarray) else ops.expand_dims(x, axis=-1)
    return x
