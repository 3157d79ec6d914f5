"""The Keras 2 ``keras.backend`` functions (``import kshim.backend as K``), written on `kshim.ops`.

They work on both backends and inside the compiled training step, so Keras 2 custom losses and metrics such as
``def mean_pred(y_true, y_pred): return K.mean(y_pred)`` run unchanged.
"""

import functools
import warnings

import numpy as np

from kshim import activations, config, ops, random
from kshim.common.absent import raise_absent as _raise_absent
from kshim.layers.keras_tensor import KerasTensor
from kshim.common.naming import reset_names
from kshim.variables import Variable


def backend():
    """The name of the selected backend: "jax" or "torch"."""
    return config.backend()


floatx = config.floatx
set_floatx = config.set_floatx
epsilon = config.epsilon
set_epsilon = config.set_epsilon
image_data_format = config.image_data_format
set_image_data_format = config.set_image_data_format


def get_uid(prefix=""):
    """1, 2, 3, ... for successive calls with the same ``prefix`` (Keras 3's ``keras.backend.get_uid``)."""
    _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
    return _UIDS[prefix]


_UIDS = {}


def standardize_dtype(dtype):
    """The dtype name (``"float32"``, ``"int64"``, ...) for a name, a numpy dtype or the framework's dtype;
    None gives floatx."""
    if dtype is None:
        return config.floatx()
    return ops.standardize_dtype(dtype)


is_float_dtype = ops.is_float_dtype
is_int_dtype = ops.is_int_dtype


def clear_session():
    """Reset the automatic layer names (``dense``, ``dense_1``, ...) and `get_uid`'s counters."""
    reset_names()
    _UIDS.clear()


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# -- reductions ------------------------------------------------------------------------------------------------
def mean(x, axis=None, keepdims=False):
    x = ops.convert_to_tensor(x) if not ops.is_tensor(x) else x
    if ops.dtype(x) == "bool":
        x = ops.cast(x, floatx())
    return ops.mean(x, axis=_axis(axis), keepdims=keepdims)


def sum(x, axis=None, keepdims=False):
    return ops.sum(x, axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return ops.max(x, axis=_axis(axis), keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    return ops.min(x, axis=_axis(axis), keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    return ops.prod(x, axis=_axis(axis), keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return ops.var(x, axis=_axis(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return ops.std(x, axis=_axis(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    return ops.any(x, axis=_axis(axis), keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    return ops.all(x, axis=_axis(axis), keepdims=keepdims)


def argmax(x, axis=-1):
    return ops.argmax(x, axis=axis)


def argmin(x, axis=-1):
    return ops.argmin(x, axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    return ops.logsumexp(x, axis=_axis(axis), keepdims=keepdims)


def cumsum(x, axis=0):
    return ops.cumsum(x, axis=axis)


# -- elementwise -----------------------------------------------------------------------------------------------
square, sqrt, abs, exp, log, sign, round = ops.square, ops.sqrt, ops.abs, ops.exp, ops.log, ops.sign, ops.round
sin, cos, tanh, sigmoid, softplus, softsign = ops.sin, ops.cos, ops.tanh, ops.sigmoid, ops.softplus, ops.softsign
maximum, minimum, equal, not_equal = ops.maximum, ops.minimum, ops.equal, ops.not_equal
greater, greater_equal, less, less_equal = ops.greater, ops.greater_equal, ops.less, ops.less_equal
pow = ops.power
stop_gradient = ops.stop_gradient


def clip(x, min_value, max_value):
    """Keras 2's clip: a missing bound (None) is unbounded, and ``max_value < min_value`` clips to ``min_value``."""
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)) and max_value < min_value:
        max_value = min_value
    min_value = -np.inf if min_value is None else min_value
    max_value = np.inf if max_value is None else max_value
    return ops.clip(x, min_value, max_value)


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    return activations.relu(x, negative_slope=alpha, max_value=max_value, threshold=threshold)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha=alpha)


def softmax(x, axis=-1):
    return ops.softmax(x, axis=axis)


def hard_sigmoid(x):
    return ops.hard_sigmoid(x)


def switch(condition, then_expression, else_expression):
    return ops.where(condition, then_expression, else_expression)


# -- shapes ----------------------------------------------------------------------------------------------------
def shape(x):
    """The shape of ``x`` as a tensor of int32 (Keras 2's symbolic shape)."""
    return ops.convert_to_tensor(np.array(ops.shape(x), dtype="int32"))


def int_shape(x):
    """The static shape of ``x`` as a tuple of ints (None where unknown)."""
    s = getattr(x, "shape", None)
    if s is None:
        return None
    return tuple(s) if not ops.is_tensor(x) else tuple(ops.shape(x))


def ndim(x):
    return len(int_shape(x))


def dtype(x):
    return x.dtype if isinstance(x, Variable) else ops.dtype(x)


def reshape(x, shape):
    return ops.reshape(x, tuple(int(d) for d in (ops.convert_to_numpy(shape) if ops.is_tensor(shape) else shape)))


def flatten(x):
    return ops.reshape(x, (-1,))


def batch_flatten(x):
    return ops.reshape(x, (ops.shape(x)[0], -1))


def expand_dims(x, axis=-1):
    return ops.expand_dims(x, axis)


def squeeze(x, axis):
    return ops.squeeze(x, axis)


def concatenate(tensors, axis=-1):
    return ops.concatenate(tensors, axis=axis)


def stack(x, axis=0):
    return ops.stack(x, axis=axis)


def permute_dimensions(x, pattern):
    return ops.transpose(x, tuple(pattern))


def transpose(x):
    return ops.transpose(x)


def repeat_elements(x, rep, axis):
    return ops.repeat(x, rep, axis=axis)


def tile(x, n):
    return ops.tile(x, n)


def one_hot(indices, num_classes):
    return ops.one_hot(indices, num_classes)


def gather(reference, indices):
    return ops.take(reference, indices, axis=0)


# -- linear algebra --------------------------------------------------------------------------------------------
def dot(x, y):
    """Keras 2's dot: a matrix product for 2-D inputs; for n-D inputs the last axis of ``x`` is contracted with
    the second-to-last of ``y`` (Theano's convention, e.g. (2, 3) . (4, 3, 5) -> (2, 4, 5)), not batched."""
    nx, ny = len(ops.shape(x)), len(ops.shape(y))
    if nx > 2 or ny > 2:
        return ops.tensordot(x, y, axes=[[nx - 1], [ny - 2 if ny >= 2 else 0]])
    return ops.matmul(x, y)


def batch_dot(x, y, axes=None):
    """Keras 2's batch_dot: a dot product per sample over ``axes`` (default: last of x, second-to-last of y)."""
    nx, ny = len(ops.shape(x)), len(ops.shape(y))
    if axes is None:
        axes = (nx - 1, ny - 2 if ny > 2 else ny - 1)
    elif isinstance(axes, int):
        axes = (axes, axes)
    ax, ay = (a % n for a, n in zip(axes, (nx, ny)))
    if nx == 2 and ny == 2:
        return ops.sum(ops.multiply(x, y), axis=1, keepdims=True)
    letters = "bcdefghijklmnopq"
    sx = "a" + letters[: nx - 1]
    sy = "a" + letters[nx - 1: nx - 1 + ny - 1]
    sy = sy[:ay] + sx[ax] + sy[ay + 1:]
    out = "".join(c for c in sx if c != sx[ax]) + "".join(c for c in sy[1:] if c != sx[ax])
    return ops.einsum(f"{sx},{sy}->{out}", x, y)


def l2_normalize(x, axis=None):
    return ops.l2_normalize(x, axis=-1 if axis is None else axis)


# -- losses ----------------------------------------------------------------------------------------------------
def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary crossentropy (no reduction), as Keras 2's backend function."""
    if from_logits:
        return ops.subtract(ops.add(ops.relu(output), ops.log1p(ops.exp(ops.negative(ops.abs(output))))),
                            ops.multiply(output, target))
    # Keras 2's formula: clip to [eps, 1 - eps], then add eps once more inside each log.
    eps = epsilon()
    output = ops.clip(output, eps, 1.0 - eps)
    return ops.negative(ops.add(ops.multiply(target, ops.log(ops.add(output, eps))),
                                ops.multiply(ops.subtract(1.0, target),
                                             ops.log(ops.add(ops.subtract(1.0, output), eps)))))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy over ``axis`` (no batch reduction), as Keras 2's backend function."""
    if from_logits:
        return ops.negative(ops.sum(ops.multiply(target, ops.log_softmax(output, axis=axis)), axis=axis))
    output = ops.divide(output, ops.sum(output, axis=axis, keepdims=True))
    output = ops.clip(output, epsilon(), 1.0 - epsilon())
    return ops.negative(ops.sum(ops.multiply(target, ops.log(output)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    num_classes = ops.shape(output)[axis]
    target = ops.cast(ops.reshape(target, ops.shape(output)[:-1]), "int32")
    return categorical_crossentropy(ops.one_hot(target, num_classes), output, from_logits, axis)


# -- variables and values --------------------------------------------------------------------------------------
def variable(value, dtype=None, name=None):
    return Variable(np.asarray(value), dtype=dtype or floatx(), name=name)


def constant(value, dtype=None, shape=None):
    arr = np.asarray(value, dtype=dtype or floatx())
    if shape is not None:
        arr = np.broadcast_to(arr, tuple(shape))
    return ops.convert_to_tensor(arr)


def get_value(x):
    """The value of a Variable or tensor as numpy."""
    return x.numpy() if isinstance(x, Variable) else ops.convert_to_numpy(x)


def batch_get_value(xs):
    return [get_value(x) for x in xs]


def set_value(x, value):
    """Assign ``value`` to Variable ``x`` (for example an optimizer's learning rate)."""
    if not isinstance(x, Variable):
        raise ValueError(f"set_value: `x` must be a Variable. Received: {type(x).__name__}")
    x.assign(np.asarray(value, dtype=x.dtype if x.dtype != "bfloat16" else "float32"))


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)


def eval(x):
    return get_value(x)


def zeros(shape, dtype=None, name=None):
    return ops.zeros(tuple(shape), dtype=dtype or floatx())


def ones(shape, dtype=None, name=None):
    return ops.ones(tuple(shape), dtype=dtype or floatx())


def zeros_like(x, dtype=None, name=None):
    return ops.zeros_like(x, dtype=dtype)


def ones_like(x, dtype=None, name=None):
    return ops.ones_like(x, dtype=dtype)


def eye(size, dtype=None, name=None):
    return ops.eye(size, dtype=dtype or floatx())


def cast(x, dtype):
    return ops.cast(x, dtype)


def cast_to_floatx(x):
    return np.asarray(x, dtype=floatx())


def is_keras_tensor(x):
    return isinstance(x, KerasTensor)


def is_tensor(x):
    return ops.is_tensor(x)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return random.uniform(shape, minval, maxval, dtype, seed)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return random.normal(shape, mean, stddev, dtype, seed)


# -- Keras 2 deprecation warnings ------------------------------------------------------------------------------
# Keras 3's `keras.backend` keeps only configuration helpers; the math functions above are Keras 2 spellings.
# They keep working, with one DeprecationWarning per function naming the `kshim.ops` replacement.
_KERAS3_NAMES = {"backend", "floatx", "set_floatx", "epsilon", "set_epsilon", "image_data_format",
                 "set_image_data_format", "clear_session", "is_keras_tensor", "variable", "get_value", "set_value",
                 "batch_get_value", "batch_set_value", "cast_to_floatx", "int_shape", "get_uid", "standardize_dtype",
                 "is_float_dtype", "is_int_dtype"}
_warned = set()


# The Keras 3 replacement of the Keras 2 functions whose name is not a `kshim.ops` function.
_REPLACEMENT = {"pow": "kshim.ops.power", "switch": "kshim.ops.where", "flatten": "kshim.ops.reshape(x, (-1,))",
                "batch_flatten": "kshim.ops.reshape(x, (batch, -1))", "permute_dimensions": "kshim.ops.transpose",
                "repeat_elements": "kshim.ops.repeat", "gather": "kshim.ops.take", "batch_dot": "kshim.ops.einsum",
                "dot": "kshim.ops.matmul or kshim.ops.tensordot",
                "binary_crossentropy": "kshim.losses.binary_crossentropy",
                "categorical_crossentropy": "kshim.losses.categorical_crossentropy",
                "sparse_categorical_crossentropy": "kshim.losses.sparse_categorical_crossentropy",
                "constant": "kshim.ops.convert_to_tensor", "eval": "kshim.ops.convert_to_numpy",
                "random_uniform": "kshim.random.uniform", "random_normal": "kshim.random.normal"}


def _deprecated(fn):
    name = fn.__name__
    replacement = _REPLACEMENT.get(name, f"kshim.ops.{name}")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if name not in _warned:
            _warned.add(name)
            warnings.warn(f"kshim.backend.{name} is a Keras 2 function; in Keras 3 code use {replacement}.",
                          DeprecationWarning, stacklevel=2)
        return fn(*args, **kwargs)

    return wrapper


_OPS_FUNCTIONS = {id(fn) for fn in vars(ops).values() if callable(fn)}
for _name, _obj in list(globals().items()):
    if callable(_obj) and not _name.startswith("_") and _name not in _KERAS3_NAMES and \
            (getattr(_obj, "__module__", None) == __name__ or id(_obj) in _OPS_FUNCTIONS):
        globals()[_name] = _deprecated(_obj)
del _name, _obj, _OPS_FUNCTIONS


# Keras 3 names kshim leaves out on purpose (README.md, "Public names not provided").
_ABSENT = {
    "result_type": ("kshim exposes no dtype-promotion table of its own: each op promotes as Keras 3 does for that"
                    " op (see kshim.ops), so there is no single function to return"),
}


def __getattr__(name):
    _raise_absent("kshim.backend", name, _ABSENT)
