"""Loss configs in Keras 3's format, on the ``loss`` registry (filled in `kshim.losses`)."""

import inspect

from kshim.losses.loss import Loss
from kshim.registry import LOSSES
from kshim.utils.suggest import unknown_name_error

# Registered for deserialization only (a saved LossFunctionWrapper config names its class); `get` refuses them.
BASE_NAMES = ("Loss", "LossFunctionWrapper")


def _known():
    return [name for name in LOSSES.names() if name not in BASE_NAMES]


def serialize(loss):
    """A JSON-friendly description of ``loss`` (a Loss instance or a loss function), in Keras 3's format."""
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):
        cls = type(loss)
        builtin = LOSSES.find(cls.__name__) is cls
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
    return LOSSES.lookup(name, custom_objects, arg="loss", known=_known())


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
    """The loss for ``identifier``: None, a name, a config dict, a callable or a Loss instance (see
    `kshim.losses`). Unknown names raise a ValueError suggesting the closest known ones."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        if identifier in BASE_NAMES:
            raise unknown_name_error("loss", identifier, _known(), arg="loss")
        obj = LOSSES.lookup(identifier, arg="loss", known=_known())
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
