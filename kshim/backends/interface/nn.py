"""The contract's nn family: activations and softmax (formulas as Keras 3).
Implemented by ``kshim/backends/<backend>/nn.py``; bound by `kshim.ops.nn`."""


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
