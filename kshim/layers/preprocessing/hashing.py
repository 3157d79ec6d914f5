"""`Hashing`, and the two string hashes Keras uses, written in Python so they need no TensorFlow:

- `fingerprint64`: FarmHash's ``Fingerprint64`` (``farmhashna::Hash64``), behind TensorFlow's
  ``to_hash_bucket_fast``, which Keras's `Hashing` uses without a salt;
- `siphash24`: SipHash-2-4 with a 128-bit key (two 64-bit words), behind ``to_hash_bucket_strong``, used with a
  salt.

A value's bin is ``hash(str(value)) % num_bins`` (numbers are hashed through their decimal text, floats truncated
to integers first, as Keras does), so kshim's bins equal Keras's. The hashing runs on the host: the layer accepts
strings, numbers, lists, numpy arrays and concrete tensors, not values traced inside a compiled step.
"""

import numpy as np

from kshim import ops
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.layers.preprocessing.category_encoding import (check_not_sparse, check_output_mode, encode_categorical,
                                                          encoded_shape)

_M64 = (1 << 64) - 1
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F


def _fetch64(s, i):
    return int.from_bytes(s[i:i + 8], "little")


def _fetch32(s, i):
    return int.from_bytes(s[i:i + 4], "little")


def _rotate(v, shift):
    return v if shift == 0 else ((v >> shift) | (v << (64 - shift))) & _M64


def _shift_mix(v):
    return v ^ (v >> 47)


def _len16(u, v, mul):
    a = ((u ^ v) * mul) & _M64
    a ^= a >> 47
    b = ((v ^ a) * mul) & _M64
    b ^= b >> 47
    return (b * mul) & _M64


def _len0to16(s):
    n = len(s)
    if n >= 8:
        mul = _K2 + n * 2
        a = (_fetch64(s, 0) + _K2) & _M64
        b = _fetch64(s, n - 8)
        c = (_rotate(b, 37) * mul + a) & _M64
        d = ((_rotate(a, 25) + b) * mul) & _M64
        return _len16(c, d, mul)
    if n >= 4:
        mul = _K2 + n * 2
        return _len16((n + (_fetch32(s, 0) << 3)) & _M64, _fetch32(s, n - 4), mul)
    if n > 0:
        y = s[0] + (s[n >> 1] << 8)
        z = n + (s[n - 1] << 2)
        return (_shift_mix(((y * _K2) & _M64) ^ ((z * _K0) & _M64)) * _K2) & _M64
    return _K2


def _head(s, k):
    """The four words the 17..64-byte cases start from (the first scaled by ``k``), and the multiplier."""
    n = len(s)
    mul = _K2 + n * 2
    return (mul, (_fetch64(s, 0) * k) & _M64, _fetch64(s, 8), (_fetch64(s, n - 8) * mul) & _M64,
            (_fetch64(s, n - 16) * _K2) & _M64)


def _mix4(a, b, c, d, k):
    """Four words to the two that `_len16` hashes (``k`` is added to ``b`` before its rotation)."""
    return (_rotate((a + b) & _M64, 43) + _rotate(c, 30) + d) & _M64, (a + _rotate((b + k) & _M64, 18) + c) & _M64


def _len17to32(s):
    mul, a, b, c, d = _head(s, _K1)
    return _len16(*_mix4(a, b, c, d, _K2), mul)


def _weak32(w, x, y, z, a, b):
    a = (a + w) & _M64
    b = _rotate((b + a + z) & _M64, 21)
    c = a
    a = (a + x + y) & _M64
    b = (b + _rotate(a, 44)) & _M64
    return (a + z) & _M64, (b + c) & _M64


def _weak32_at(s, i, a, b):
    return _weak32(_fetch64(s, i), _fetch64(s, i + 8), _fetch64(s, i + 16), _fetch64(s, i + 24), a, b)


def _len33to64(s):
    n = len(s)
    mul, a, b, c, d = _head(s, _K2)
    y, u = _mix4(a, b, c, d, _K2)
    z = _len16(y, u, mul)
    e = (_fetch64(s, 16) * mul) & _M64
    f = _fetch64(s, 24)
    g = ((y + _fetch64(s, n - 32)) * mul) & _M64
    h = ((z + _fetch64(s, n - 24)) * mul) & _M64
    return _len16(*_mix4(e, f, g, h, a), mul)


def fingerprint64(data):
    """FarmHash Fingerprint64 of ``data`` (bytes, or str encoded as UTF-8), an unsigned 64-bit int."""
    s = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    n = len(s)
    if n <= 16:
        return _len0to16(s)
    if n <= 32:
        return _len17to32(s)
    if n <= 64:
        return _len33to64(s)
    seed = 81
    x = seed
    y = (seed * _K1 + 113) & _M64
    z = (_shift_mix((y * _K2 + 113) & _M64) * _K2) & _M64
    v = (0, 0)
    w = (0, 0)
    x = (x * _K2 + _fetch64(s, 0)) & _M64
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    i = 0
    while True:
        x = (_rotate((x + y + v[0] + _fetch64(s, i + 8)) & _M64, 37) * _K1) & _M64
        y = (_rotate((y + v[1] + _fetch64(s, i + 48)) & _M64, 42) * _K1) & _M64
        x ^= w[1]
        y = (y + v[0] + _fetch64(s, i + 40)) & _M64
        z = (_rotate((z + w[0]) & _M64, 33) * _K1) & _M64
        v = _weak32_at(s, i, (v[1] * _K1) & _M64, (x + w[0]) & _M64)
        w = _weak32_at(s, i + 32, (z + w[1]) & _M64, (y + _fetch64(s, i + 16)) & _M64)
        z, x = x, z
        i += 64
        if i == end:
            break
    mul = (_K1 + ((z & 0xFF) << 1)) & _M64
    i = last64
    w = ((w[0] + ((n - 1) & 63)) & _M64, w[1])
    v = ((v[0] + w[0]) & _M64, v[1])
    w = ((w[0] + v[0]) & _M64, w[1])
    x = (_rotate((x + y + v[0] + _fetch64(s, i + 8)) & _M64, 37) * mul) & _M64
    y = (_rotate((y + v[1] + _fetch64(s, i + 48)) & _M64, 42) * mul) & _M64
    x ^= (w[1] * 9) & _M64
    y = (y + v[0] * 9 + _fetch64(s, i + 40)) & _M64
    z = (_rotate((z + w[0]) & _M64, 33) * mul) & _M64
    v = _weak32_at(s, i, (v[1] * mul) & _M64, (x + w[0]) & _M64)
    w = _weak32_at(s, i + 32, (z + w[1]) & _M64, (y + _fetch64(s, i + 16)) & _M64)
    z, x = x, z
    return _len16((_len16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z) & _M64,
                  (_len16(v[1], w[1], mul) + x) & _M64, mul)


def _rotl(v, b):
    return ((v << b) | (v >> (64 - b))) & _M64


def siphash24(key, data):
    """SipHash-2-4 of ``data`` (bytes or UTF-8 str) with ``key`` = (k0, k1), two 64-bit ints."""
    s = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    k0, k1 = key[0] & _M64, key[1] & _M64
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573

    def rounds(v0, v1, v2, v3, n):
        for _ in range(n):
            v0 = (v0 + v1) & _M64
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _M64
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _M64
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _M64
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)
        return v0, v1, v2, v3

    n = len(s)
    tail = n - n % 8
    for i in range(0, tail, 8):
        m = _fetch64(s, i)
        v3 ^= m
        v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 2)
        v0 ^= m
    m = ((n & 0xFF) << 56) | int.from_bytes(s[tail:], "little")
    v3 ^= m
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 2)
    v0 ^= m
    v2 ^= 0xFF
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 4)
    return v0 ^ v1 ^ v2 ^ v3


def as_text(value):
    """The text Keras hashes for a value: strings as they are (bytes decoded), numbers as decimal integers."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)):
        return str(int(value))
    return str(int(value))


def hash_buckets(values, num_buckets, salt=None):
    """``hash(text) % num_buckets`` for each element of the numpy array ``values`` (int64 array, same shape)."""
    flat = np.asarray(values, dtype=object).reshape(-1)
    uniq = {}
    out = np.empty(flat.shape, dtype=np.int64)
    for i, v in enumerate(flat):
        key = as_text(v)
        b = uniq.get(key)
        if b is None:
            h = fingerprint64(key) if salt is None else siphash24(salt, key)
            b = uniq[key] = h % num_buckets
        out[i] = b
    return out.reshape(np.shape(values))


def host_array(layer, inputs):
    """``inputs`` as a numpy array on the host (strings stay strings); a traced tensor is a clear error."""
    if ops.is_tensor(inputs) or getattr(inputs, "_kshim_variable", False):
        try:
            return ops.convert_to_numpy(inputs)
        except Exception as e:  # a jax tracer: the layer is inside a compiled function
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}' runs on the host (it handles strings and hash tables) and "
                "cannot run inside a compiled step. Apply it to the data before the model (for example "
                "`x = layer(x)` once, or in a PyDataset), or compile with `run_eagerly=True` on torch.") from e
    arr = np.asarray(inputs)
    if arr.dtype.kind == "S":
        arr = np.char.decode(arr, "utf-8").astype(object)
    return arr


class Hashing(Layer):
    """Hashes strings or integers into ``num_bins`` bins, as Keras: FarmHash Fingerprint64 by default, keyed
    SipHash with ``salt`` (an int or a pair of ints). With ``mask_value``, that value goes to bin 0 and the others
    to 1 .. num_bins - 1. ``output_mode`` "int" (default), "one_hot", "multi_hot" or "count"."""

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else None
        super().__init__(**kwargs)
        if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins <= 0:
            raise ValueError(f"Hashing: `num_bins` must be a positive integer. Received: num_bins={num_bins!r}")
        self.output_mode = check_output_mode("Hashing", output_mode, ("int", "one_hot", "multi_hot", "count"))
        check_not_sparse("Hashing", sparse)
        if self.output_mode == "int" and self.dtype not in ("int32", "int64"):
            raise ValueError(f"Hashing: with output_mode='int', `dtype` must be 'int32' or 'int64'. Received: "
                             f"dtype={self.dtype!r}")
        if salt is None:
            self.salt = None
        elif isinstance(salt, int) and not isinstance(salt, bool):
            self.salt = [salt, salt]
        elif isinstance(salt, (tuple, list)) and len(salt) == 2 and all(isinstance(s, int) for s in salt):
            self.salt = list(salt)
        else:
            raise ValueError(f"Hashing: `salt` must be an integer or a pair of integers. Received: salt={salt!r}")
        self.num_bins = num_bins
        self.mask_value = mask_value
        self.sparse = False
        self.built = True

    def _convert_inputs(self, x):
        return x

    def hash_values(self, values):
        """The bins of a numpy array of values (int64 numpy array)."""
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = values == self.mask_value
        out = hash_buckets(values, bins, self.salt)
        if mask is not None:
            out = np.where(mask, 0, out + 1)
        return out

    def call(self, inputs):
        values = host_array(self, inputs)
        if self.output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            values = values[..., 0]
        indices = self.hash_values(values)
        if self.output_mode == "int":
            return ops.convert_to_tensor(indices.astype(self.dtype))
        return encode_categorical(ops.convert_to_tensor(indices.astype("int32")), self.output_mode, self.num_bins,
                                  self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def compute_output_spec(self, inputs_spec):
        return KerasTensor(self.compute_output_shape(inputs_spec.shape), self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode, "sparse": self.sparse}
