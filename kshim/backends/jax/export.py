"""JAX backend: ONNX export through the ``jax2onnx`` package (the ``onnx`` extra)."""

import contextlib
import logging

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from kshim import backends


def _jax2onnx():
    try:  # jax2onnx is optional (the `onnx` extra)
        import jax2onnx
    except ImportError as e:
        raise ImportError("export(format='onnx') on the jax backend needs the `jax2onnx` package: "
                          "`pip install jax2onnx` (or `pip install kshim[onnx]`).") from e
    return jax2onnx


def _pair(v):
    return (int(v),) * 2 if isinstance(v, int) else tuple(int(d) for d in v)


def _onnx_max_pool(original):
    """2-D max pooling with batch and channels folded into one axis. jax2onnx lowers a window reduction to an
    ONNX MaxPool over every axis; onnxruntime pools over at most 3 axes, so a (N, H, W, C) window (1, kh, kw, 1)
    does not run, while a (N*C, H, W) window (1, kh, kw) does. Same numbers as the backend's max_pool."""

    def max_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
        x = jnp.asarray(inputs)
        if x.ndim != 4 or not jnp.issubdtype(x.dtype, jnp.floating):
            return original(inputs, pool_size, strides, padding, data_format)
        k = _pair(pool_size)
        s = k if strides is None else _pair(strides)
        if data_format == "channels_last":
            x = x.transpose(0, 3, 1, 2)
        channels, h, w = x.shape[1], x.shape[2], x.shape[3]
        pooled = lax.reduce_window(x.reshape((-1, h, w)), np.array(-np.inf, x.dtype), lax.max, (1,) + k, (1,) + s,
                                   padding.upper())
        out = pooled.reshape((-1, channels) + pooled.shape[1:])
        return out.transpose(0, 2, 3, 1) if data_format == "channels_last" else out

    return max_pool


@contextlib.contextmanager
def _onnx_friendly_ops():
    """While tracing for ONNX, the backend's max_pool is the folded variant above (`kshim.ops.max_pool` looks
    `max_pool` up on ``kshim.backends.B`` at call time)."""
    original = backends.B.max_pool
    backends.B.max_pool = _onnx_max_pool(original)
    try:
        yield
    finally:
        backends.B.max_pool = original


def _input_structs(input_specs):
    """Shape-dtype structs with symbolic dimensions for the None entries: one "batch" shared by every input's
    first axis, its own name for any other."""
    scope = jax.export.SymbolicScope()
    structs = []
    for i, (shape, dtype) in enumerate(input_specs):
        names = [("batch" if axis == 0 else f"input{i}_dim{axis}") if d is None else str(int(d))
                 for axis, d in enumerate(shape)]
        dims = jax.export.symbolic_shape(", ".join(names), scope=scope) if names else ()
        structs.append(jax.ShapeDtypeStruct(dims, np.dtype(dtype)))
    return structs


def export_onnx(fn, values, input_specs, filepath, input_names, output_names, opset_version=None):
    j2o = _jax2onnx()

    def serve(*inputs):
        return tuple(fn(values, list(inputs)))

    kwargs = {} if opset_version is None else {"opset": opset_version}
    quiet = logging.getLogger("onnx_ir")  # it warns about untyped shape constants it leaves out of the file
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with _onnx_friendly_ops():
            j2o.to_onnx(serve, _input_structs(input_specs), return_mode="file", output_path=str(filepath),
                        input_names=list(input_names), output_names=list(output_names), **kwargs)
    finally:
        quiet.setLevel(level)
