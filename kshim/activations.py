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


ACTIVATIONS.register_all((relu, leaky_relu, relu6, elu, selu, softplus, softsign, silu, gelu, sigmoid, hard_sigmoid,
                          hard_silu, tanh, softmax, log_softmax, mish, exponential, linear),
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
