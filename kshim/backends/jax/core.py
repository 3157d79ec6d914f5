"""JAX backend: conversion helpers, creation, dtypes, devices, differentiation and compilation.

The private helpers here (`_j`, `_a`, `_f`, `_dt`, `_ax`) are shared by the other modules of this package.
"""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

_Array = jax.Array  # tracers are instances of jax.Array too, so everything below works under jit
_PY_SCALARS = (int, float, bool)
_FLOAT32 = jnp.dtype("float32")
_INT32 = jnp.dtype("int32")
_INEXACT = frozenset(jnp.dtype(n) for n in ("float16", "bfloat16", "float32", "float64", "complex64", "complex128"))


def _j(x):
    """``x`` as something every jnp function accepts. Python scalars pass through untouched so they stay weak."""
    if isinstance(x, _Array) or type(x) in _PY_SCALARS:
        return x
    if getattr(x, "_kshim_variable", False):
        return x.value
    return jnp.asarray(x)


def _a(x):
    """``x`` as a jax array (Python scalars become weakly typed 0-d arrays)."""
    if isinstance(x, _Array):
        return x
    if getattr(x, "_kshim_variable", False):
        return x.value
    return jnp.asarray(x)


def _f(x):
    """``x`` as a floating jax array: integer and bool input becomes float32."""
    x = _a(x)
    return x if x.dtype in _INEXACT else x.astype(_FLOAT32)


def _dt(dtype):
    """A kshim dtype string (or numpy/jax dtype) as the jax dtype it is stored as (int64 -> int32 without x64)."""
    if dtype is None:
        return None
    return jax.dtypes.canonicalize_dtype(jnp.dtype(dtype))


def _ax(axis):
    """jnp wants a tuple, not a list, for several axes."""
    return tuple(axis) if type(axis) is list else axis


# ----------------------------------------------------------------------------------------------------------------
# Creation, conversion, dtypes, devices


def convert_to_tensor(x, dtype=None):
    if getattr(x, "_kshim_variable", False):
        x = x.value
    if dtype is None:
        return x if isinstance(x, _Array) else jnp.asarray(x)
    d = _dt(dtype)
    if isinstance(x, _Array):
        return x if x.dtype == d else x.astype(d)
    return jnp.asarray(x, dtype=d)


def convert_to_numpy(x):
    if getattr(x, "_kshim_variable", False):
        x = x.value
    return np.asarray(x)


def is_tensor(x):
    return isinstance(x, _Array)


def dtype(x):
    if isinstance(x, _Array):
        return x.dtype.name
    if getattr(x, "_kshim_variable", False):
        return x.value.dtype.name
    d = getattr(x, "dtype", None)
    if d is None:
        return jnp.asarray(x).dtype.name
    return jax.dtypes.canonicalize_dtype(jnp.dtype(d)).name


def cast(x, dtype):
    x = _a(x)
    d = _dt(dtype)
    return x if x.dtype == d else x.astype(d)


def shape(x):
    if getattr(x, "_kshim_variable", False):
        x = x.value
    s = getattr(x, "shape", None)
    return tuple(s) if s is not None else np.shape(x)


def zeros(shape, dtype="float32"):
    return jnp.zeros(shape, dtype=_dt(dtype))


def ones(shape, dtype="float32"):
    return jnp.ones(shape, dtype=_dt(dtype))


def full(shape, fill_value, dtype=None):
    return jnp.full(shape, _j(fill_value), dtype=_dt(dtype))


def zeros_like(x, dtype=None):
    return jnp.zeros_like(_j(x), dtype=_dt(dtype))


def ones_like(x, dtype=None):
    return jnp.ones_like(_j(x), dtype=_dt(dtype))


def full_like(x, fill_value, dtype=None):
    return jnp.full_like(_j(x), _j(fill_value), dtype=_dt(dtype))


def arange(start, stop=None, step=1, dtype=None):
    return jnp.arange(start, stop, step, dtype=_dt(dtype))


def eye(N, M=None, k=0, dtype="float32"):
    return jnp.eye(N, M, k, dtype=_dt(dtype))


def copy(x):
    return jnp.array(_a(x), copy=True)


# ----------------------------------------------------------------------------------------------------------------
# Differentiation, compilation and execution


def value_and_grad(fn, has_aux=False):
    vg = jax.value_and_grad(fn, argnums=0, has_aux=has_aux)

    def wrapped(params, *args, **kwargs):
        out, grads = vg([_a(p) for p in params], *args, **kwargs)
        return out, list(grads)

    return wrapped


def stop_gradient(x):
    return jax.lax.stop_gradient(_j(x))


def compile_step(fn, donate_argnums=(), jit_compile=None):
    if jit_compile is False:
        return fn
    return jax.jit(fn, donate_argnums=donate_argnums)


def compile_multi_step(fn, num_fixed, num_state, donate_argnums=(), jit_compile=None):
    split = num_fixed + num_state

    def multi(*args):
        fixed, state, batches = args[:num_fixed], tuple(args[num_fixed:split]), tuple(args[split:])

        def body(carry, batch):
            return tuple(fn(*fixed, *carry, *batch)), None

        return jax.lax.scan(body, state, batches)[0]

    if jit_compile is not False:
        return jax.jit(multi, donate_argnums=donate_argnums)

    def eager(*args):  # an eager lax.scan would compile its body on every call
        fixed, state, batches = args[:num_fixed], tuple(args[num_fixed:split]), args[split:]
        leaves, treedef = jax.tree_util.tree_flatten(batches)
        for i in range(leaves[0].shape[0]):
            state = tuple(fn(*fixed, *state, *jax.tree_util.tree_unflatten(treedef, [x[i] for x in leaves])))
        return state

    return eager


STATELESS_STEPS = True  # a user's train_step is Keras 3's stateless (state, data) -> (logs, state)


def adopt_variable_class(cls):
    # A user loop passes model.trainable_variables to a jitted step, as Keras 3's JAX guides do: inside, each
    # Variable is its value (unflattening gives the array, not a Variable).
    jax.tree_util.register_pytree_node(cls, lambda v: ((v.value,), None), lambda _, children: children[0])
    cls.__jax_array__ = lambda variable: variable.value


def trainable_leaf(x):
    return x


def inference_mode():
    return contextlib.nullcontext()


def device_name():
    d = jax.devices()[0]
    return f"{d.platform}:{d.id}"
