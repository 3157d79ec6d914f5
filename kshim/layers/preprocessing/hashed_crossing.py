"""`HashedCrossing`: the feature cross of two or more categorical inputs, hashed into ``num_bins`` bins with
TensorFlow's ``sparse.cross_hashed`` (which Keras 3 calls), written in Python so it needs no TensorFlow.

The hash of a cross starts from the key ``0xDECAFCAFFE`` and folds in each feature with FarmHash's
``FingerprintCat64``; a string feature contributes its ``Fingerprint64``, an integer feature its own value (as an
unsigned 64-bit word). The bin is ``hash % num_bins``. Like `Hashing`, it runs on the host.
"""

import numpy as np

from kshim import ops
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.layers.preprocessing.category_encoding import check_not_sparse, check_output_mode, encode_categorical
from kshim.layers.preprocessing.hashing import fingerprint64, host_array

_M64 = (1 << 64) - 1
_MUL = 0xC6A4A7935BD1E995
_CROSS_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default hash key


def _shift_mix(v):
    return v ^ (v >> 47)


def fingerprint_cat64(fp1, fp2):
    """FarmHash's ``FingerprintCat64``: combines two 64-bit fingerprints (order matters)."""
    result = fp1 ^ _MUL
    result ^= (_shift_mix((fp2 * _MUL) & _M64) * _MUL) & _M64
    result = (result * _MUL) & _M64
    result = (_shift_mix(result) * _MUL) & _M64
    return _shift_mix(result)


def _feature_hash(value):
    if isinstance(value, bytes):
        return fingerprint64(value)
    if isinstance(value, str):
        return fingerprint64(value.encode("utf-8"))
    return int(value) & _M64


def cross_hash(columns, num_bins):
    """The bin of each row's cross: ``columns`` are equal-length 1-D numpy arrays (int64 array)."""
    out = np.empty(len(columns[0]), dtype=np.int64)
    for i, row in enumerate(zip(*columns)):
        h = _CROSS_KEY
        for value in row:
            h = fingerprint_cat64(h, _feature_hash(value))
        out[i] = h % num_bins
    return out


class HashedCrossing(Layer):
    """Crosses categorical features (integers or strings) and hashes each combination into one of ``num_bins``
    bins, with Keras 3's bins (TensorFlow's ``sparse.cross_hashed``). Called on a tuple or list of at least two
    inputs of equal shape ``()``, ``(batch,)`` or ``(batch, 1)``. ``output_mode`` is ``"int"`` (the bin, int64 by
    default) or ``"one_hot"``."""

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None, **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(f"HashedCrossing: `num_bins` must be a positive integer. Received: num_bins={num_bins!r}")
        self.output_mode = check_output_mode("HashedCrossing", output_mode, ("int", "one_hot"))
        check_not_sparse("HashedCrossing", sparse)
        self.num_bins = int(num_bins)
        self.sparse = False
        self.built = True

    def _convert_inputs(self, x):
        return x

    def _columns(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("HashedCrossing: the layer must be called on a list or tuple of inputs. Received: "
                             f"inputs of type {type(inputs).__name__}")
        if len(inputs) < 2:
            raise ValueError(f"HashedCrossing: the layer must be called on at least two inputs. Received: "
                             f"{len(inputs)} input(s)")
        arrays = [host_array(self, x) for x in inputs]
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError("HashedCrossing: every input must have shape (), (batch_size,) or (batch_size, 1). "
                             f"Received: shape={shape}")
        if any(a.shape != shape for a in arrays[1:]):
            raise ValueError("HashedCrossing: the inputs must all have the same shape. Received: shapes="
                             f"{[a.shape for a in arrays]}")
        for a in arrays:
            if a.dtype.kind not in "iuOUS":
                raise ValueError("HashedCrossing: the inputs must be integers or strings. Received: an input of "
                                 f"dtype {a.dtype}")
        return [a.reshape(-1) for a in arrays], shape

    def call(self, inputs):
        columns, shape = self._columns(inputs)
        bins = cross_hash(columns, self.num_bins).reshape(shape)
        if self.output_mode == "int":
            return ops.convert_to_tensor(bins.astype(self.dtype))
        if len(shape) == 2:
            bins = bins[:, 0]
        out = encode_categorical(ops.convert_to_tensor(bins.reshape(-1).astype("int32")), "one_hot", self.num_bins,
                                 self.compute_dtype)
        return out if shape else ops.reshape(out, (self.num_bins,))

    def compute_output_shape(self, input_shape):
        if not (len(input_shape) >= 2 and all(isinstance(s, (tuple, list)) for s in input_shape)):
            raise ValueError("HashedCrossing: expected the shapes of a list of at least two inputs. Received: "
                             f"input_shape={input_shape}")
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if first and first[-1] == 1:
            first = first[:-1]
        return first + (self.num_bins,)

    def compute_output_spec(self, inputs_spec):
        return KerasTensor(self.compute_output_shape([tuple(s.shape) for s in inputs_spec]),
                           self.dtype if self.output_mode == "int" else self.compute_dtype)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse,
                "name": self.name, "dtype": self.dtype}
