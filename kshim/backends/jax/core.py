"""JAX backend: conversion helpers, creation, dtypes, devices, differentiation and compilation.

The private helpers here (`_as_operand`, `_as_array`, `_as_float`, `_jax_dtype`, `_axis_arg`) are shared by the
other modules of this package.
"""

import builtins
import contextlib

import jax
import jax.extend.core
import jax.numpy as jnp
import numpy as np

from kshim.backends import abstract_eval as _ae

_Array = jax.Array  # tracers are instances of jax.Array too, so everything below works under jit
_PY_SCALARS = (int, float, bool)
_FLOAT32 = jnp.dtype("float32")
_INT32 = jnp.dtype("int32")
_INEXACT = frozenset(jnp.dtype(n) for n in ("float16", "bfloat16", "float32", "float64", "complex64", "complex128"))


def _as_operand(x):
    """``x`` as something every jnp function accepts. Python scalars pass through untouched so they stay weak."""
    if isinstance(x, _Array) or type(x) in _PY_SCALARS:
        return x
    if getattr(x, "_kshim_variable", False):
        return x.value
    return jnp.asarray(x)


def _as_array(x):
    """``x`` as a jax array (Python scalars become weakly typed 0-d arrays)."""
    if isinstance(x, _Array):
        return x
    if getattr(x, "_kshim_variable", False):
        return x.value
    return jnp.asarray(x)


def _as_float(x):
    """``x`` as a floating jax array: integer and bool input becomes float32."""
    x = _as_array(x)
    return x if x.dtype in _INEXACT else x.astype(_FLOAT32)


def _jax_dtype(dtype):
    """A kshim dtype string (or numpy/jax dtype) as the jax dtype it is stored as (int64 -> int32 without x64)."""
    if dtype is None:
        return None
    return jax.dtypes.canonicalize_dtype(jnp.dtype(dtype))


def _axis_arg(axis):
    """jnp wants a tuple, not a list, for several axes."""
    return tuple(axis) if type(axis) is list else axis


# ----------------------------------------------------------------------------------------------------------------
# Creation, conversion, dtypes, devices


def convert_to_tensor(x, dtype=None):
    if getattr(x, "_kshim_variable", False):
        x = x.value
    if dtype is None:
        return x if isinstance(x, _Array) else jnp.asarray(x)
    d = _jax_dtype(dtype)
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


def standardize_dtype(dtype):
    return jnp.dtype(dtype).name


def cast(x, dtype):
    x = _as_array(x)
    d = _jax_dtype(dtype)
    return x if x.dtype == d else x.astype(d)


def shape(x):
    if getattr(x, "_kshim_variable", False):
        x = x.value
    s = getattr(x, "shape", None)
    return tuple(s) if s is not None else np.shape(x)


def zeros(shape, dtype="float32"):
    return jnp.zeros(shape, dtype=_jax_dtype(dtype))


def ones(shape, dtype="float32"):
    return jnp.ones(shape, dtype=_jax_dtype(dtype))


def full(shape, fill_value, dtype=None):
    return jnp.full(shape, _as_operand(fill_value), dtype=_jax_dtype(dtype))


def zeros_like(x, dtype=None):
    return jnp.zeros_like(_as_operand(x), dtype=_jax_dtype(dtype))


def ones_like(x, dtype=None):
    return jnp.ones_like(_as_operand(x), dtype=_jax_dtype(dtype))


def full_like(x, fill_value, dtype=None):
    return jnp.full_like(_as_operand(x), _as_operand(fill_value), dtype=_jax_dtype(dtype))


def arange(start, stop=None, step=1, dtype=None):
    return jnp.arange(start, stop, step, dtype=_jax_dtype(dtype))


def eye(N, M=None, k=0, dtype="float32"):
    return jnp.eye(N, M, k, dtype=_jax_dtype(dtype))


def copy(x):
    return jnp.array(_as_array(x), copy=True)


# ----------------------------------------------------------------------------------------------------------------
# Differentiation, compilation and execution


def value_and_grad(fn, has_aux=False):
    vg = jax.value_and_grad(fn, argnums=0, has_aux=has_aux)

    def wrapped(params, *args, **kwargs):
        out, grads = vg([_as_array(p) for p in params], *args, **kwargs)
        return out, list(grads)

    return wrapped


def stop_gradient(x):
    return jax.lax.stop_gradient(_as_operand(x))


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

    def eager(*args):  # an eager lax.scan would compile its body on every call; also the CPU path for convolutions
        fixed, state, batches = args[:num_fixed], tuple(args[num_fixed:split]), args[split:]
        leaves, treedef = jax.tree_util.tree_flatten(batches)
        for i in range(leaves[0].shape[0]):
            state = tuple(fn(*fixed, *state, *jax.tree_util.tree_unflatten(treedef, [x[i] for x in leaves])))
        return state

    if jit_compile is False:
        return eager
    scanned = jax.jit(multi, donate_argnums=donate_argnums)
    # XLA's CPU compiler rewrites a convolution into its fast form (transposed operands, a library kernel) only
    # outside loops: inside the scan's while loop the kernel gradient of a Conv2D ran 47x slower (jax 0.10.2), so
    # a 28x28 CNN trained 18x slower per sample with steps_per_execution=8. On CPU a step holding a convolution
    # therefore runs its steps as a loop over the compiled single step (the same numbers as steps_per_execution=1,
    # bit for bit); its dispatch cost is nothing next to a convolution's. The choice is made once, from the
    # traced scan (`jit(...).trace` shares jit's trace cache, so nothing is traced twice).
    single = jax.jit(fn, donate_argnums=donate_argnums)  # fn's arguments are the multi-step's, one batch each
    chosen = []

    def looped(*args):
        fixed, state, batches = args[:num_fixed], tuple(args[num_fixed:split]), args[split:]
        leaves, treedef = jax.tree_util.tree_flatten(batches)
        for i in range(leaves[0].shape[0]):
            state = tuple(single(*fixed, *state, *jax.tree_util.tree_unflatten(treedef, [x[i] for x in leaves])))
        return state

    def call(*args):
        if not chosen:
            conv = jax.default_backend() == "cpu" and _holds_convolution(scanned.trace(*args).jaxpr.jaxpr)
            chosen.append(looped if conv else scanned)
        return chosen[0](*args)

    return call


def _holds_convolution(jaxpr):
    """True when ``jaxpr`` (or one nested in it: scan bodies, calls, custom rules) runs a convolution."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "conv_general_dilated":
            return True
        for param in eqn.params.values():
            for sub in param if isinstance(param, (tuple, list)) else (param,):
                sub = sub.jaxpr if isinstance(sub, jax.extend.core.ClosedJaxpr) else sub
                if isinstance(sub, jax.extend.core.Jaxpr) and _holds_convolution(sub):
                    return True
    return False


def compile_stateful_step(fn, jit_compile=None):
    inner = compile_step(fn, jit_compile=jit_compile)

    def step(*args):
        return inner(*args)

    step.fallback = None
    return step


def stateless_steps():
    return True  # a user's train_step is Keras 3's stateless (state, data) -> (logs, state)


def adopt_variable_class(cls):
    # A user loop passes model.trainable_variables to a jitted step, as Keras 3's JAX guides do: inside, each
    # Variable is its value (unflattening gives the array, not a Variable).
    jax.tree_util.register_pytree_node(cls, lambda v: ((v.value,), None), lambda _, children: children[0])
    cls.__jax_array__ = lambda variable: variable.value


def trainable_leaf(x):
    return x


def auto_jit_compile():
    return True


def compiled_eager_call(fn):
    jitted = jax.jit(fn, static_argnums=3)

    def call(trainable, non_trainable, inputs, training):
        if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(inputs)):
            return None  # called inside the user's own jit/grad: the eager path traces into it as it is
        return jitted(trainable, non_trainable, inputs, training)

    return call


def inference_mode():
    return contextlib.nullcontext()


def device_name():
    d = jax.devices()[0]
    return f"{d.platform}:{d.id}"


# ----------------------------------------------------------------------------------------------------------------
# Abstract evaluation (documented in `kshim.backends.interface`, "Abstract evaluation")


def compute_output_spec(fn, args=(), kwargs=None):
    kwargs = {} if kwargs is None else kwargs
    tree = (tuple(args), kwargs)
    specs = _ae.specs_in(tree)

    def call(*arrays):
        a, k = _ae.replace_specs(tree, arrays)
        with jax.ensure_compile_time_eval():  # a Variable created inside `fn` gets a concrete value, not a tracer
            return fn(*a, **k)

    errors = []
    unknown = [(i, j) for i, s in enumerate(specs) for j, d in enumerate(s.shape) if d is None]
    # First one symbol per unknown dimension (an output size that depends on no unknown is then certain), then one
    # symbol shared by all (Keras 3's choice: it lets `a + b` broadcast two unknown batch axes).
    for shared in (False, True) if len(unknown) > 1 else (True,):
        try:
            out = jax.eval_shape(call, *_symbolic_structs(specs, unknown, shared))
        except Exception as e:  # noqa: BLE001  (any failure of the trace means: try the next method)
            errors.append(e)
            continue
        return jax.tree_util.tree_map(
            lambda s: _ae.ShapeDtype((d if type(d) is int else None for d in s.shape), s.dtype.name), out)
    try:  # the two-probe method, on concrete zeros
        outs = [call(*(jnp.zeros(_ae.probe_shape(s, n), _jax_dtype(s.dtype)) for s in specs)) for n in _ae.PROBE_SIZES]
    except Exception as e:
        raise e from errors[-1]
    return _ae.merge_probes(outs[0], outs[1], lambda x: isinstance(x, _Array),
                            lambda x: (tuple(x.shape), x.dtype.name))


def _symbolic_structs(specs, unknown, shared):
    """A `jax.ShapeDtypeStruct` per spec, each unknown dimension a symbol >= 2 (as in Keras 3, so that jax never
    treats it as broadcastable or squeezable)."""
    names = ["d"] if shared else [f"d{n}" for n in range(len(unknown))]
    symbols = jax.export.symbolic_shape(f"({', '.join(names)})", constraints=[f"{n} >= 2" for n in names])
    where = {pos: symbols[0 if shared else n] for n, pos in enumerate(unknown)}
    return [jax.ShapeDtypeStruct(tuple(where.get((i, j), d) for j, d in enumerate(s.shape)), _jax_dtype(s.dtype))
            for i, s in enumerate(specs)]


# ----------------------------------------------------------------------------------------------------------------
# Dynamic slices and scatters


def slice(inputs, start_indices, shape):
    return jax.lax.dynamic_slice(_as_array(inputs), _starts(start_indices), tuple(int(s) for s in shape))


def slice_update(inputs, start_indices, updates):
    x = _as_array(inputs)
    return jax.lax.dynamic_update_slice(x, _as_array(updates).astype(x.dtype), _starts(start_indices))


def _starts(start_indices):
    if isinstance(start_indices, (list, tuple)):
        return [s.value if getattr(s, "_kshim_variable", False) else s for s in start_indices]
    return list(_as_array(start_indices))


def scatter(indices, values, shape):
    indices = _as_array(indices)
    values = _as_array(values)
    zeros = jnp.zeros(tuple(shape), values.dtype)
    key = tuple(jnp.moveaxis(indices, -1, 0))
    return zeros.at[key].add(values)
