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
    torch: runs ``fn`` under ``torch.no_grad()`` eagerly; ``jit_compile=True`` wraps it in ``torch.compile``.
    Gradients inside ``fn`` come from `value_and_grad`, which re-enables them where needed."""


def compile_multi_step(fn, num_fixed, num_state, donate_argnums=(), jit_compile=None):
    """Many steps of ``fn`` in one compiled call (``steps_per_execution``).

    ``fn(*fixed, *state, *batch)`` returns the new state: a tuple of ``num_state`` values structured as given.
    Returns ``multi(*fixed, *state, *batches)``, where every tensor in ``batches`` (nested lists/tuples/dicts, None
    allowed) is stacked on a new leading axis of N steps: it runs ``fn`` on slice 0, 1, ..., N-1 in turn, threading
    the state, and returns the final state (a tuple), the values of N calls of ``compile_step(fn)``.
    ``donate_argnums`` index ``multi``'s arguments. jax: one ``jax.jit`` of a ``lax.scan`` over the steps
    (``jit_compile=False``: a Python loop); torch: a Python loop under ``torch.no_grad()`` over views of the
    stacked tensors, with no host synchronisation (``jit_compile=True`` compiles ``fn`` with ``torch.compile``)."""


def inference_mode():
    """A context manager for pure inference (``torch.inference_mode``; a no-op on jax)."""


def device_name():
    """A short description of where tensors live, e.g. "cpu" or "cuda:0"."""


# ----------------------------------------------------------------------------------------------------------------
# Convolution and pooling
#
# Shared conventions (Keras 3's ``keras.ops`` of the same names, with the arguments already standardized by
# ``kshim.ops.convolution``):
# - ``inputs`` has rank 3, 4 or 5 (1-D, 2-D or 3-D), laid out (batch, spatial..., channels) for
#   ``data_format="channels_last"`` or (batch, channels, spatial...) for "channels_first".
# - ``strides``, ``dilation_rate``, ``pool_size`` and ``output_padding`` are an int or a tuple with one int per
#   spatial axis.
# - ``padding`` is "valid" or "same" (lower case). "same" pads as TensorFlow does: ``out = ceil(n / stride)``, the
#   total padding ``max((out - 1) * stride + (k - 1) * dilation + 1 - n, 0)`` split ``total // 2`` before and the
#   rest after (see `kshim.backends.conv_shapes`).
# - Every function is differentiable with respect to ``inputs`` and the kernels.


def conv(inputs, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1, bias=None):
    """N-D cross-correlation (what deep learning calls convolution), plus ``bias`` (out_channels,) if given.

    ``kernel`` has Keras's layout (spatial..., in_channels // groups, out_channels). The number of groups is
    ``in_channels // kernel.shape[-2]`` (in_channels must be a multiple of it); group g reads input channels
    [g*ci, (g+1)*ci) and writes output channels [g*co, (g+1)*co), with ``co = out_channels // groups``.
    torch adds the bias inside its convolution kernel (one pass over the output instead of two)."""


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format="channels_last", dilation_rate=1,
                   bias=None):
    """Depthwise convolution: each input channel c convolved with its own ``depth_multiplier`` filters, plus
    ``bias`` (in_channels * depth_multiplier,) if given.

    ``kernel`` is (spatial..., in_channels, depth_multiplier); output channel ``c * depth_multiplier + m`` is
    input channel c convolved with ``kernel[..., c, m]``."""


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format="channels_last",
                   dilation_rate=1, bias=None):
    """N-D transposed convolution (the gradient of `conv` with respect to its input), Keras 3's semantics, plus
    ``bias`` (out_channels,) if given.

    ``kernel`` is (spatial..., out_channels, in_channels). Per spatial axis of length n, with
    ``k_eff = (k - 1) * dilation + 1``, the output length is: "valid": ``(n - 1) * stride + k_eff + op`` where
    ``op`` is ``output_padding`` or, when None, ``max(k_eff, stride) - k_eff``; "same": ``n * stride`` when
    ``output_padding`` is None, else ``(n - 1) * stride + k_eff % 2 + output_padding``. The values are those of
    the full transposed convolution (length ``(n - 1) * stride + k_eff``) cropped by
    `kshim.backends.conv_shapes.conv_transpose_pads` (zeros where the output extends past it)."""


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """Maximum over each window (``strides`` defaults to ``pool_size``). "same" padding never wins the max
    (it pads with -inf)."""


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """Mean over each window (``strides`` defaults to ``pool_size``). With "same" padding each window's sum is
    divided by the number of real (non-padded) elements it covers, as Keras and TensorFlow do."""


# ----------------------------------------------------------------------------------------------------------------
# Recurrence


def scan(fn, init, xs, reverse=False):
    """Loop ``carry, y = fn(carry, x)`` over the leading axis of ``xs``, as ``jax.lax.scan``.

    ``init``/``carry`` is a tensor or a list/tuple of tensors (the same structure, shapes and dtypes every step);
    ``xs`` is a tensor or a tuple of tensors with the same leading length T; ``y`` is a tensor or a tuple of
    tensors. Returns ``(final_carry, ys)`` with each ``y`` stacked on a new leading axis. With ``reverse`` the
    steps run from T-1 down to 0 and ``ys[t]`` is still the output for ``xs[t]``. ``fn`` must be pure (jax traces
    it once): it may read tensors it closes over but must not assign Variables.
    jax: ``lax.scan`` inside jit, a Python loop on concrete values (eager calls and eager gradients: an eager
    ``lax.scan`` would compile its body on every call); torch: a Python loop and ``torch.stack``."""


def lstm(inputs, h0, c0, kernel, recurrent_kernel, bias, go_backwards=False):
    """A fused LSTM over the whole sequence with Keras 3's formula and weight layout, tanh/sigmoid activations.

    ``inputs`` (batch, T, in); ``h0``, ``c0`` (batch, u); ``kernel`` (in, 4u), ``recurrent_kernel`` (u, 4u),
    ``bias`` (4u,), gates i, f, c, o. ``z = x_t @ kernel + h @ recurrent_kernel + bias``;
    ``c = sigmoid(z_f) * c + sigmoid(z_i) * tanh(z_c)``; ``h = sigmoid(z_o) * tanh(c)``. With ``go_backwards``
    the sequence is read from its last step. Returns ``(outputs, h_T, c_T)``, ``outputs`` (batch, T, u) in the
    order the steps were processed (reversed for ``go_backwards``, as Keras).
    jax: one input projection and ``lax.scan`` (jitted); torch: ``torch.lstm`` (cuDNN on CUDA)."""


def gru(inputs, h0, kernel, recurrent_kernel, bias, go_backwards=False):
    """A fused GRU with Keras 3's ``reset_after=True`` formula and layout, tanh/sigmoid activations.

    ``kernel`` (in, 3u), ``recurrent_kernel`` (u, 3u), ``bias`` (2, 3u) (input bias, recurrent bias), gates
    z, r, h: ``z = sigmoid(x_z + h_z)``, ``r = sigmoid(x_r + h_r)``, ``hh = tanh(x_h + r * h_h)``,
    ``h = z * h + (1 - z) * hh``. Returns ``(outputs, h_T)`` as `lstm`.
    jax: one input projection and ``lax.scan`` (jitted); torch: ``torch.gru`` with gates reordered to r, z, n."""


# ----------------------------------------------------------------------------------------------------------------
# Images


def resize(images, size, interpolation="bilinear", antialias=False, data_format="channels_last"):
    """``images`` (rank 3, one image, or rank 4, a batch) with its two spatial axes resized to ``size`` =
    (height, width), with ``jax.image.resize``'s semantics (which Keras 3 uses on jax): half-pixel centres;
    ``interpolation`` one of "bilinear", "nearest", "bicubic" (Keys, a = -0.5), "lanczos3", "lanczos5";
    ``antialias`` widens the kernel when downsampling. The exact weights are documented in
    `kshim.backends.image_weights`. A spatial axis whose size is unchanged is returned as is. Integer inputs give
    float32 outputs except with "nearest", which only copies pixels. jax: ``jax.image.resize``; torch: the same
    weight matrices contracted with ``torch.tensordot`` (and index gathers for "nearest")."""


# ----------------------------------------------------------------------------------------------------------------
# Fused primitives (optimizer list ops, the counter hash), documented in `kshim.backends.fused_interface`.

from kshim.backends.fused_interface import *  # noqa: E402,F401,F403

PRIMITIVES = tuple(
    name for name, obj in list(globals().items()) if callable(obj) and not name.startswith("_")
)
