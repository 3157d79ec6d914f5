"""JAX backend: neural-network activations (formulas as Keras 3). Integer input is promoted to float32."""

import jax

from kshim.backends.jax.core import _axis_arg, _as_float, _as_operand

# jax.nn's custom_jvp activations spend ~0.4 ms in Python per eager call; wrapped in jit they take ~10 us (and
# inside an outer jit the wrapper costs nothing).
_relu = jax.jit(jax.nn.relu)
_gelu = jax.jit(jax.nn.gelu, static_argnames="approximate")
_softmax = jax.jit(jax.nn.softmax, static_argnames="axis")


def relu(x):
    return _relu(_as_operand(x))


def sigmoid(x):
    return jax.nn.sigmoid(_as_float(x))


def softplus(x):
    return jax.nn.softplus(_as_float(x))


def softsign(x):
    return jax.nn.soft_sign(_as_float(x))


def silu(x):
    return jax.nn.silu(_as_float(x))


def gelu(x, approximate=True):
    return _gelu(_as_float(x), approximate=bool(approximate))


def elu(x, alpha=1.0):
    return jax.nn.elu(_as_float(x), alpha)


def selu(x):
    # jax's constants are Keras's: alpha=1.6732632423543772, scale=1.0507009873554805
    return jax.nn.selu(_as_float(x))


def leaky_relu(x, negative_slope=0.2):
    return jax.nn.leaky_relu(_as_float(x), negative_slope)


def log_sigmoid(x):
    return jax.nn.log_sigmoid(_as_float(x))


def softmax(x, axis=-1):
    return _softmax(_as_float(x), axis=_axis_arg(axis))


def log_softmax(x, axis=-1):
    return jax.nn.log_softmax(_as_float(x), axis=_axis_arg(axis))
