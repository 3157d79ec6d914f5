"""Neural-network ops: activations and softmax. Composites are written here once, on the primitives."""

from kshim.backends import B
from kshim.ops import symbolic as _symbolic

relu = B.relu
sigmoid = B.sigmoid
softplus = B.softplus
softsign = B.softsign
silu = B.silu
swish = B.silu
gelu = B.gelu
elu = B.elu
selu = B.selu
leaky_relu = B.leaky_relu
log_sigmoid = B.log_sigmoid
softmax = B.softmax
log_softmax = B.log_softmax


def relu6(x):
    """min(max(x, 0), 6)."""
    return B.clip(x, 0.0, 6.0)


def hard_sigmoid(x):
    """Keras 3's piecewise-linear sigmoid: relu6(x + 3) / 6."""
    return B.divide(B.clip(B.add(x, 3.0), 0.0, 6.0), 6.0)


def hard_silu(x):
    """x * hard_sigmoid(x)."""
    return B.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def mish(x):
    """x * tanh(softplus(x))."""
    return B.multiply(x, B.tanh(B.softplus(x)))


def exponential(x):
    """e ** x."""
    return B.exp(x)


def linear(x):
    """The identity."""
    return x


__all__ = [
    "relu", "sigmoid", "softplus", "softsign", "silu", "swish", "gelu", "elu", "selu", "leaky_relu",
    "log_sigmoid", "softmax", "log_softmax", "relu6", "hard_sigmoid", "hard_silu", "hard_swish", "mish",
    "exponential", "linear",
]

_symbolic.install(globals(), __all__, "keras.src.ops.nn")
