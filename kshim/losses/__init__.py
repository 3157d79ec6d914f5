"""kshim.losses: Keras 3's loss functions and classes, and the registry behind ``compile(loss=...)``.

``get(identifier)`` accepts what Keras 3's does: None, a function or class name ("mean_squared_error",
"MeanSquaredError"), a short alias ("mse", "mae", "mape", "msle", "kld", "bce" and their upper-case forms), a
config dict, a callable or a `Loss` instance. kshim also accepts the Keras 2 names "logcosh" and
"kullback_leibler_divergence". A class name gives an instance; a function name gives the function.
"""

import inspect

from kshim.losses.classes import (  # noqa: F401
    CLASSES, BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy, CategoricalFocalCrossentropy,
    CategoricalHinge, CosineSimilarity, Hinge, Huber, KLDivergence, LogCosh, LossFunctionWrapper,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError, Poisson,
    SparseCategoricalCrossentropy, SquaredHinge,
)
from kshim.losses.functions import (  # noqa: F401
    FUNCTIONS, binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
    categorical_focal_crossentropy, categorical_hinge, cosine_similarity, hinge, huber, kl_divergence, kld,
    kullback_leibler_divergence, log_cosh, logcosh, mae, mape, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, mse, msle, poisson, sparse_categorical_crossentropy,
    squared_hinge,
)
from kshim.losses.loss import Loss, reduce_weighted_values  # noqa: F401
from kshim.utils.suggest import unknown_name_error

_ALIASES = {
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "kld": kl_divergence, "KLD": kl_divergence,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "logcosh": log_cosh, "kullback_leibler_divergence": kl_divergence,
}

# Names `get` resolves: every function and class by its own name, and the aliases.
ALL_OBJECTS = {obj.__name__: obj for obj in FUNCTIONS + CLASSES}
ALL_OBJECTS.update(_ALIASES)
# Deserialization also knows the base classes (a saved LossFunctionWrapper config names its class).
_DESERIALIZABLE = {**ALL_OBJECTS, "Loss": Loss, "LossFunctionWrapper": LossFunctionWrapper}


def serialize(loss):
    """A JSON-friendly description of ``loss`` (a Loss instance or a loss function), in Keras 3's format."""
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):
        cls = type(loss)
        builtin = _DESERIALIZABLE.get(cls.__name__) is cls
        return {
            "module": "keras.losses" if builtin else cls.__module__,
            "class_name": cls.__name__,
            "config": loss.get_config(),
            "registered_name": None if builtin else cls.__name__,
        }
    if inspect.isfunction(loss):
        return {"module": "builtins", "class_name": "function", "config": loss.__name__, "registered_name": "function"}
    raise ValueError(f"losses.serialize: `loss` must be a Loss instance or a function. Received: loss={loss!r}")


def _lookup(name, custom_objects):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _DESERIALIZABLE:
        return _DESERIALIZABLE[name]
    raise unknown_name_error("loss", name, ALL_OBJECTS, arg="loss")


def deserialize(config, custom_objects=None):
    """The Loss instance or loss function that `serialize` (or Keras 3) described as ``config``.

    ``config`` is a dict ``{"class_name", "config", ...}`` or a name. ``custom_objects`` maps extra names to
    classes or functions.
    """
    if isinstance(config, str):
        obj = _lookup(config, custom_objects)
        return obj() if inspect.isclass(obj) else obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "losses.deserialize: `config` must be a name or a dict with a 'class_name' key. "
            f"Received: config={config!r}"
        )
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "function":
        return _lookup(inner, custom_objects)
    obj = _lookup(class_name, custom_objects)
    if not inspect.isclass(obj):
        return obj
    return obj.from_config(inner or {})


def get(identifier):
    """The loss for ``identifier``: None, a name, a config dict, a callable or a Loss instance (see the module
    doc). Unknown names raise a ValueError suggesting the closest known ones."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        if identifier not in ALL_OBJECTS:
            raise unknown_name_error("loss", identifier, ALL_OBJECTS, arg="loss")
        obj = ALL_OBJECTS[identifier]
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(
            "losses.get: `loss` must be a name, a config dict, a function or a Loss instance. "
            f"Received: loss={identifier!r}"
        )
    return obj


__all__ = [
    "Loss", "LossFunctionWrapper", "get", "serialize", "deserialize", "reduce_weighted_values",
    *(cls.__name__ for cls in CLASSES), *(fn.__name__ for fn in FUNCTIONS),
    "kld", "kullback_leibler_divergence", "logcosh", "mae", "mape", "mse", "msle",
]
