"""Core ops: creation, conversion, dtypes, differentiation and compilation (the contract's core family)."""

from kshim.backends import B
from kshim.ops import symbolic as _symbolic
from kshim.backends.abstract_eval import ShapeDtype  # noqa: F401  (what compute_output_spec returns per array)

convert_to_tensor = B.convert_to_tensor
convert_to_numpy = B.convert_to_numpy
is_tensor = B.is_tensor
standardize_dtype = B.standardize_dtype
cast = B.cast
shape = B.shape
zeros = B.zeros
ones = B.ones
full = B.full
zeros_like = B.zeros_like
ones_like = B.ones_like
full_like = B.full_like
arange = B.arange
eye = B.eye
copy = B.copy
stop_gradient = B.stop_gradient
value_and_grad = B.value_and_grad
compile_step = B.compile_step
compile_multi_step = B.compile_multi_step
compile_stateful_step = B.compile_stateful_step
auto_jit_compile = B.auto_jit_compile
inference_mode = B.inference_mode
stateless_steps = B.stateless_steps  # Keras 3's per-backend contract of a user's train_step (see the contract)
trainable_leaf = B.trainable_leaf
adopt_variable_class = B.adopt_variable_class
compute_output_spec = B.compute_output_spec


def dtype(x):
    """The kshim dtype string of ``x`` (a tensor, a Variable or a numpy array)."""
    return B.dtype(convert_to_tensor(x)) if not is_tensor(x) else B.dtype(x)


def ndim(x):
    """The number of axes of ``x``."""
    return len(shape(x))


def size(x):
    """The number of elements of ``x``."""
    n = 1
    for d in shape(x):
        n *= d
    return n


def is_float_dtype(dtype_name):
    return str(dtype_name).startswith(("float", "bfloat"))


def is_int_dtype(dtype_name):
    return str(dtype_name).startswith(("int", "uint"))


__all__ = [name for name, value in list(vars().items()) if not name.startswith("_") and callable(value)]

_symbolic.install(globals(), ["cast", "copy", "stop_gradient"], "keras.src.ops.core")
