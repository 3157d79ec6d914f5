"""The backend interface: every primitive the frontend may call, documented once.

Each backend package (``kshim.backends.jax``, ``kshim.backends.torch``) exposes a module-level function for every
name in `PRIMITIVES`, with the signature and semantics written here. ``kshim.ops`` binds these functions directly
(one hop); composite ops are written once in ``kshim.ops`` on top of them.

Conventions every primitive follows:
- Inputs may be backend tensors, numpy arrays, Python scalars or nested lists, or kshim Variables (any object
  with ``_kshim_variable = True`` and a ``.value`` attribute). Outputs are native backend tensors
  (``jax.Array`` / ``torch.Tensor``).
- Python scalars are "weak": ``add(float32_tensor, 2.0)`` stays float32.
- ``dtype`` arguments are kshim dtype strings ("float32", "int32", "bool", ...) or None.
  JAX without x64 stores "int64"/"float64" as "int32"/"float32".
- ``axis`` is None (all axes), an int or a tuple of ints; negative axes count from the end.
- Semantics follow numpy (and Keras 3's ``keras.ops`` of the same name) unless stated otherwise.
- Integer arithmetic on int32 wraps around (two's complement) on both backends; kshim's random numbers rely on it.
"""

# ----------------------------------------------------------------------------------------------------------------
# Creation, conversion, dtypes, devices


def convert_to_tensor(x, dtype=None):
    """A backend tensor holding ``x``. float64 numpy input keeps float64 unless ``dtype`` says otherwise."""


def convert_to_numpy(x):
    """A numpy array with ``x``'s values (moves to host, detaches from any autograd graph)."""


def is_tensor(x):
    """True if ``x`` is a native backend tensor (not numpy, not a Variable)."""


def dtype(x):
    """The kshim dtype string of tensor ``x``, e.g. "float32"."""


def cast(x, dtype):
    """``x`` converted to ``dtype`` (a no-op, returning ``x``, if it already has it)."""


def shape(x):
    """The static shape of ``x`` as a tuple of Python ints."""


def zeros(shape, dtype="float32"):
    """A tensor of zeros."""


def ones(shape, dtype="float32"):
    """A tensor of ones."""


def full(shape, fill_value, dtype=None):
    """A tensor filled with ``fill_value``."""


def zeros_like(x, dtype=None):
    """Zeros with ``x``'s shape (and dtype unless given)."""


def ones_like(x, dtype=None):
    """Ones with ``x``'s shape (and dtype unless given)."""


def full_like(x, fill_value, dtype=None):
    """``fill_value`` with ``x``'s shape (and dtype unless given)."""


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in [start, stop), as numpy's arange."""


def eye(N, M=None, k=0, dtype="float32"):
    """A 2-D identity-like matrix with ones on diagonal ``k``."""


def copy(x):
    """A new tensor with the same values."""


# ----------------------------------------------------------------------------------------------------------------
# Elementwise math


def add(x1, x2):
    """x1 + x2, broadcasting."""


def subtract(x1, x2):
    """x1 - x2, broadcasting."""


def multiply(x1, x2):
    """x1 * x2, broadcasting."""


def divide(x1, x2):
    """True division x1 / x2 (integers give floats)."""


def floor_divide(x1, x2):
    """Floor division, as numpy's ``//``."""


def mod(x1, x2):
    """Remainder with the sign of the divisor, as numpy's ``%``."""


def power(x1, x2):
    """x1 ** x2."""


def negative(x):
    """-x."""


def abs(x):
    """|x|."""


def sign(x):
    """-1, 0 or 1 by the sign of x."""


def sqrt(x):
    """Square root."""


def square(x):
    """x * x."""


def reciprocal(x):
    """1 / x."""


def exp(x):
    """e ** x."""


def expm1(x):
    """e ** x - 1, accurate near 0."""


def log(x):
    """Natural logarithm."""


def log1p(x):
    """log(1 + x), accurate near 0."""


def sin(x):
    """Sine."""


def cos(x):
    """Cosine."""


def tan(x):
    """Tangent."""


def tanh(x):
    """Hyperbolic tangent."""


def arctan(x):
    """Inverse tangent."""


def erf(x):
    """The error function."""


def floor(x):
    """Round toward -inf."""


def ceil(x):
    """Round toward +inf."""


def round(x, decimals=0):
    """Round half to even, as numpy."""


def clip(x, x_min, x_max):
    """``x`` limited to [x_min, x_max]; the bounds may be scalars or tensors."""


def maximum(x1, x2):
    """Elementwise maximum (either argument may be a scalar)."""


def minimum(x1, x2):
    """Elementwise minimum (either argument may be a scalar)."""


def equal(x1, x2):
    """x1 == x2 as bool."""


def not_equal(x1, x2):
    """x1 != x2 as bool."""


def less(x1, x2):
    """x1 < x2 as bool."""


def less_equal(x1, x2):
    """x1 <= x2 as bool."""


def greater(x1, x2):
    """x1 > x2 as bool."""


def greater_equal(x1, x2):
    """x1 >= x2 as bool."""


def logical_and(x1, x2):
    """Elementwise and, as bool."""


def logical_or(x1, x2):
    """Elementwise or, as bool."""


def logical_not(x):
    """Elementwise not, as bool."""


def isnan(x):
    """True where x is NaN."""


def isinf(x):
    """True where x is +-inf."""


def isfinite(x):
    """True where x is neither NaN nor inf."""


def where(condition, x1, x2):
    """``x1`` where ``condition`` is true, else ``x2`` (broadcasting; scalars allowed)."""


def bitwise_and(x, y):
    """Bitwise and of integer tensors."""


def bitwise_or(x, y):
    """Bitwise or of integer tensors."""


def bitwise_xor(x, y):
    """Bitwise xor of integer tensors."""


def left_shift(x, y):
    """x << y on integer tensors (bits shifted out are dropped; int32 wraps)."""


def right_shift(x, y):
    """x >> y on integer tensors: arithmetic (sign-extending) for signed types."""


# ----------------------------------------------------------------------------------------------------------------
# Reductions


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis``."""


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (integer input gives a float result)."""


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``."""


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``."""


def prod(x, axis=None, keepdims=False):
    """Product over ``axis``."""


def var(x, axis=None, keepdims=False):
    """Population variance (ddof=0) over ``axis``."""


def std(x, axis=None, keepdims=False):
    """Population standard deviation (ddof=0) over ``axis``."""


def any(x, axis=None, keepdims=False):
    """Logical or over ``axis``."""


def all(x, axis=None, keepdims=False):
    """Logical and over ``axis``."""


def argmax(x, axis=None, keepdims=False):
    """Index of the first maximum along ``axis`` (over the flattened tensor if None)."""


def argmin(x, axis=None, keepdims=False):
    """Index of the first minimum along ``axis``."""


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, computed stably."""


def cumsum(x, axis=None):
    """Cumulative sum along ``axis`` (over the flattened tensor if None)."""


def cumprod(x, axis=None):
    """Cumulative product along ``axis`` (over the flattened tensor if None)."""


def sort(x, axis=-1):
    """Values sorted ascending along ``axis``."""


def argsort(x, axis=-1):
    """Indices that sort ``x`` ascending along ``axis`` (stable)."""


def top_k(x, k, sorted=True):
    """(values, indices) of the ``k`` largest entries along the last axis; ties go to the lower index."""


# ----------------------------------------------------------------------------------------------------------------
# Shapes and indexing


def reshape(x, newshape):
    """``x`` with a new shape; one entry may be -1."""


def transpose(x, axes=None):
    """Axes permuted (reversed if ``axes`` is None)."""


def expand_dims(x, axis):
    """A new axis of length 1 at ``axis`` (an int or a tuple of ints)."""


def squeeze(x, axis=None):
    """Axes of length 1 removed (all of them if ``axis`` is None)."""


def concatenate(xs, axis=0):
    """Tensors joined along an existing axis."""


def stack(xs, axis=0):
    """Tensors joined along a new axis."""


def split(x, indices_or_sections, axis=0):
    """A list of sub-tensors, as numpy's split."""


def tile(x, repeats):
    """``x`` repeated ``repeats`` times along each axis, as numpy's tile."""


def repeat(x, repeats, axis=None):
    """Each element repeated, as numpy's repeat."""


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape``."""


def flip(x, axis=None):
    """Order of elements reversed along ``axis``."""


def take(x, indices, axis=None):
    """Elements of ``x`` at integer ``indices`` along ``axis`` (flattened if None)."""


def take_along_axis(x, indices, axis=None):
    """numpy's take_along_axis."""


def one_hot(x, num_classes, axis=-1, dtype="float32"):
    """One-hot encoding of integer ``x``; out-of-range indices give all zeros."""


def pad(x, pad_width, mode="constant", constant_values=0):
    """numpy's pad for ``mode`` in "constant", "reflect", "symmetric", "edge"."""


def tril(x, k=0):
    """Lower triangle of the last two axes."""


def triu(x, k=0):
    """Upper triangle of the last two axes."""


def diag(x, k=0):
    """numpy's diag."""


def slice_along_axis(x, start, stop, axis):
    """``x[..., start:stop, ...]`` with the slice on ``axis`` (static Python ints)."""


def scatter_update(x, indices, updates):
    """A copy of ``x`` with ``x[tuple(indices[i])] = updates[i]`` for each row of the int ``indices``."""


def unique_int(x):
    """Sorted unique values of a host-known integer tensor, as numpy's unique (not differentiable, not jitted)."""


# ----------------------------------------------------------------------------------------------------------------
# Linear algebra


def matmul(x1, x2):
    """Matrix product with numpy's matmul broadcasting."""


def dot(x1, x2):
    """numpy's dot."""


def tensordot(x1, x2, axes=2):
    """numpy's tensordot."""


def einsum(subscripts, *operands):
    """numpy's einsum."""


# ----------------------------------------------------------------------------------------------------------------
# Neural-network primitives (formulas as Keras 3)


def relu(x):
    """max(x, 0)."""


def sigmoid(x):
    """1 / (1 + exp(-x))."""


def softplus(x):
    """log(1 + exp(x)), computed stably."""


def softsign(x):
    """x / (1 + |x|)."""


def silu(x):
    """x * sigmoid(x)."""


def gelu(x, approximate=True):
    """Gaussian error linear unit; tanh approximation when ``approximate`` (Keras 3's default)."""


def elu(x, alpha=1.0):
    """x if x > 0 else alpha * (exp(x) - 1)."""


def selu(x):
    """scale * elu(x, alpha) with Keras's alpha=1.67326324, scale=1.05070098."""


def leaky_relu(x, negative_slope=0.2):
    """x if x >= 0 else negative_slope * x."""


def log_sigmoid(x):
    """log(sigmoid(x)), computed stably."""


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, computed stably."""


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``."""


# ----------------------------------------------------------------------------------------------------------------
# Differentiation, compilation and execution


def value_and_grad(fn, has_aux=False):
    """Wrap ``fn(params, *args)`` where ``params`` is a list of float tensors and ``fn`` returns a scalar loss
    (or ``(loss, aux)`` when ``has_aux``). The wrapper returns ``(loss, grads)`` or ``((loss, aux), grads)``, where
    ``grads`` is a list aligned with ``params``. The returned values carry no autograd history. A parameter that
    does not influence the loss gets a zero gradient."""


def stop_gradient(x):
    """``x``, treated as a constant by differentiation."""


def compile_step(fn, donate_argnums=(), jit_compile=None):
    """A compiled version of the pure function ``fn`` (nested lists/tuples of tensors in and out).

    jax: ``jax.jit`` with ``donate_argnums`` (``jit_compile=False`` runs it eagerly instead).
    torch: under ``torch.no_grad()``; by default (``jit_compile=None``) eagerly for the first calls of each
    argument signature, then recorded once and replayed (`kshim.backends.torch.replay`: the same aten calls, bit
    for bit, without the Python around them); ``jit_compile=False`` always eagerly; ``jit_compile=True`` through
    ``torch.compile``. Gradients inside ``fn`` come from `value_and_grad`, which re-enables them where needed."""


def compile_multi_step(fn, num_fixed, num_state, donate_argnums=(), jit_compile=None):
    """Many steps of ``fn`` in one compiled call (``steps_per_execution``).

    ``fn(*fixed, *state, *batch)`` returns the new state: a tuple of ``num_state`` values structured as given.
    Returns ``multi(*fixed, *state, *batches)``, where every tensor in ``batches`` (nested lists/tuples/dicts, None
    allowed) is stacked on a new leading axis of N steps: it runs ``fn`` on slice 0, 1, ..., N-1 in turn, threading
    the state, and returns the final state (a tuple), the values of N calls of ``compile_step(fn)``.
    ``donate_argnums`` index ``multi``'s arguments. jax: one ``jax.jit`` of a ``lax.scan`` over the steps
    (``jit_compile=False``: a Python loop); torch: a Python loop under ``torch.no_grad()`` over views of the
    stacked tensors, with no host synchronisation, each step run as `compile_step` runs it."""


def inference_mode():
    """A context manager for pure inference (``torch.inference_mode``; a no-op on jax)."""


def device_name():
    """A short description of where tensors live, e.g. "cpu" or "cuda:0"."""


# ----------------------------------------------------------------------------------------------------------------
# Layer kernels (convolution, pooling, recurrence, images), documented in `kshim.backends.kernels_interface`.

from kshim.backends.kernels_interface import *  # noqa: E402,F401,F403


# ----------------------------------------------------------------------------------------------------------------
# Fused primitives (optimizer list ops, the counter hash), documented in `kshim.backends.fused_interface`.

from kshim.backends.fused_interface import *  # noqa: E402,F401,F403


# ----------------------------------------------------------------------------------------------------------------
# Native interop (the layer base class, torch modules and jax functions in layers), documented in
# `kshim.backends.interop_interface`.

from kshim.backends.interop_interface import *  # noqa: E402,F401,F403

PRIMITIVES = tuple(
    name for name, obj in list(globals().items()) if callable(obj) and not name.startswith("_")
)
