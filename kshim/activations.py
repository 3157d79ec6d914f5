"""Activation functions with Keras 3's names, arguments and formulas; `get` resolves them by name."""

from kshim import ops
from kshim.registry import ACTIVATIONS, get_registered_name, get_registered_object


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit with Keras's options: values below ``threshold`` get slope ``negative_slope``
    (``x - threshold`` scaled), values at or below the threshold are otherwise 0, and ``max_value`` caps it."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    x = ops.convert_to_tensor(x)
    negative_part = ops.relu(ops.subtract(threshold, x)) if negative_slope != 0.0 else None
    if threshold != 0.0:
        out = ops.multiply(x, ops.cast(ops.greater(x, threshold), ops.dtype(x)))
    else:
        out = ops.relu(x)
    if max_value is not None:
        out = ops.clip(out, 0.0, float(max_value))
    if negative_part is not None:
        out = ops.subtract(out, ops.multiply(negative_slope, negative_part))
    return out


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope=negative_slope)


def relu6(x):
    return ops.relu6(x)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha=alpha)


def selu(x):
    return ops.selu(x)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def silu(x):
    return ops.silu(x)


swish = silu


def gelu(x, approximate=False):
    """Gaussian error linear unit. Keras's activation defaults to the exact (erf) form."""
    return ops.gelu(x, approximate=approximate)


def sigmoid(x):
    return ops.sigmoid(x)


def hard_sigmoid(x):
    return ops.hard_sigmoid(x)


def hard_silu(x):
    return ops.hard_silu(x)


hard_swish = hard_silu


def tanh(x):
    return ops.tanh(x)


def softmax(x, axis=-1):
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis=axis)


def mish(x):
    return ops.mish(x)


def exponential(x):
    return ops.exp(x)


def linear(x):
    return x


def celu(x, alpha=1.0):
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    x = ops.convert_to_tensor(x)
    negative = ops.multiply(alpha, ops.subtract(ops.exp(ops.divide(ops.minimum(x, 0.0), alpha)), 1.0))
    return ops.add(ops.relu(x), ops.minimum(negative, 0.0))


def glu(x, axis=-1):
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves ``a, b`` of ``x`` along ``axis``."""
    return ops.glu(x, axis=axis)


def hard_tanh(x):
    """``clip(x, -1, 1)``."""
    return ops.hard_tanh(x)


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    return ops.hard_shrink(x, threshold=threshold)


def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    return ops.soft_shrink(x, threshold=threshold)


def tanh_shrink(x):
    """``x - tanh(x)``."""
    return ops.tanh_shrink(x)


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``."""
    return ops.threshold(x, threshold, default_value)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return ops.negative(ops.softplus(ops.negative(x)))


def sparse_plus(x):
    """0 for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)**2 / 4`` between."""
    x = ops.convert_to_tensor(x)
    middle = ops.multiply(0.25, ops.square(ops.add(x, 1.0)))
    return ops.where(ops.less_equal(x, -1.0), ops.zeros_like(x), ops.where(ops.greater_equal(x, 1.0), x, middle))


def sparse_sigmoid(x):
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` between."""
    x = ops.convert_to_tensor(x)
    return ops.clip(ops.multiply(0.5, ops.add(x, 1.0)), 0.0, 1.0)


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``."""
    x = ops.convert_to_tensor(x)
    return ops.multiply(0.5, ops.add(x, ops.sqrt(ops.add(ops.square(x), float(b)))))


def sparsemax(x, axis=-1):
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis`` (Martins & Astudillo, 2016):
    ``max(x - tau, 0)``, with ``tau`` chosen so the result sums to 1.

    Keras 3.15 computes ``tau`` from the sum of the running sums over the support instead of the support's sum,
    so its outputs do not sum to 1 (``[1, 0.5, 0]`` gives ``[0.25, 0, 0]`` there, ``[0.75, 0.25, 0]`` here);
    kshim follows the formula of the paper Keras's docstring cites."""
    x = ops.convert_to_tensor(x)
    axis = axis % len(ops.shape(x))
    n = ops.shape(x)[axis]
    z = ops.flip(ops.sort(x, axis=axis), axis=axis)  # descending
    cumulative = ops.cumsum(z, axis=axis)
    shape = [1] * len(ops.shape(x))
    shape[axis] = n
    k = ops.reshape(ops.cast(ops.arange(1, n + 1), ops.dtype(x)), tuple(shape))
    support = ops.cast(ops.greater(ops.add(1.0, ops.multiply(k, z)), cumulative), ops.dtype(x))
    k_z = ops.sum(support, axis=axis, keepdims=True)
    tau = ops.divide(ops.subtract(ops.sum(ops.multiply(support, z), axis=axis, keepdims=True), 1.0), k_z)
    return ops.relu(ops.subtract(x, tau))


ACTIVATIONS.register_all((relu, leaky_relu, relu6, elu, selu, softplus, softsign, silu, gelu, sigmoid, hard_sigmoid,
                          hard_silu, tanh, softmax, log_softmax, mish, exponential, linear, celu, glu, hard_tanh,
                          hard_shrink, soft_shrink, tanh_shrink, threshold, log_sigmoid, sparse_plus, sparse_sigmoid,
                          squareplus, sparsemax),
                         {"swish": silu, "hard_swish": hard_silu})


def serialize(activation):
    """A built-in activation's name; any other function's Keras 3 config, which names it by its registered name
    (``package>name``) so that `get` finds it again."""
    name = ACTIVATIONS.name_of(activation)
    if name is not None:
        return name
    fn_name = getattr(activation, "__name__", None)
    if fn_name is None:
        raise ValueError(f"activations.serialize: expected a function. Received: activation={activation!r}")
    return {"module": "builtins", "class_name": "function", "config": get_registered_name(activation),
            "registered_name": "function"}


def deserialize(name):
    return get(name)


def get(identifier):
    """The activation function for a name, a function or None (the identity, ``linear``)."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        if identifier.get("class_name") == "function":  # a function's Keras 3 config
            identifier = identifier.get("config")
        else:
            identifier = identifier.get("config", identifier).get("name", identifier.get("class_name"))
    if isinstance(identifier, str):
        found = ACTIVATIONS.find(identifier) or get_registered_object(identifier)
        return found if found is not None else ACTIVATIONS.lookup(identifier, arg="activation")
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation identifier: activation={identifier!r}")


ACTIVATIONS.bind(serialize=serialize, deserialize=lambda config, custom_objects=None: get(config), get=get)
