"""Core ops: creation, conversion, dtypes, differentiation and compilation (the contract's core family)."""

import numpy as _np

from kshim.backends import B
from kshim.ops import symbolic as _symbolic
from kshim.ops.control_flow import *  # noqa: F401,F403  (Keras 3 keeps its control flow in ops.core)
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
compiled_eager_call = B.compiled_eager_call
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


slice = B.slice
slice_update = B.slice_update
scatter = B.scatter


def scatter_update(inputs, indices, updates, reduction=None):
    """A copy of ``inputs`` with ``updates[i]`` written at ``indices[i]`` (Keras 3's ``ops.scatter_update``);
    ``reduction="add"`` adds them instead."""
    if reduction is None:
        return B.scatter_update(inputs, indices, updates)
    if reduction == "add":
        return B.add(inputs, B.scatter(indices, B.cast(updates, B.dtype(B.convert_to_tensor(inputs))),
                                       B.shape(B.convert_to_tensor(inputs))))
    raise NotImplementedError(f"scatter_update: kshim supports `reduction` None or 'add'. Received: "
                              f"reduction={reduction!r}")


def unstack(x, num=None, axis=0):
    """The slices of ``x`` along ``axis``, as a list (Keras 3's ``ops.unstack``)."""
    x = B.convert_to_tensor(x)
    n = B.shape(x)[axis]
    if num is not None and num != n:
        raise ValueError(f"unstack: `num` must equal the size of `axis`. Received: num={num}, "
                         f"x.shape={tuple(B.shape(x))}, axis={axis}")
    return [B.squeeze(p, axis=axis) for p in B.split(x, n, axis=axis)]


def saturate_cast(x, dtype):
    """``x`` cast to ``dtype`` with its values first clipped to that dtype's range (Keras 3's
    ``ops.saturate_cast``)."""
    dtype = B.standardize_dtype(dtype)
    x = B.convert_to_tensor(x)
    if dtype.startswith(("int", "uint")):
        lo, hi = int(_np.iinfo(dtype).min), int(_np.iinfo(dtype).max)
        src = B.dtype(x)
        if not src.startswith(("int", "uint", "bool")):
            # the bounds as floats of x's dtype, rounded toward zero so that the cast cannot overflow
            f = _np.dtype("float32" if src == "bfloat16" else src)
            lo, hi = (float(_np.nextafter(f.type(b), f.type(0))) if int(f.type(b)) != b else float(b)
                      for b in (lo, hi))
            x = B.clip(x, lo, hi)
        elif src != "bool":
            x = B.clip(x, max(lo, int(_np.iinfo(src).min)), min(hi, int(_np.iinfo(src).max)))
    elif dtype in ("float16", "float32", "float64"):
        x = B.clip(x, float(_np.finfo(dtype).min), float(_np.finfo(dtype).max))
    return B.cast(x, dtype)


__all__ = [name for name, value in list(vars().items()) if not name.startswith("_") and callable(value)]

_symbolic.install(globals(), ["cast", "copy", "stop_gradient", "slice", "slice_update", "scatter", "scatter_update",
                             "unstack", "saturate_cast"], "keras.src.ops.core")
