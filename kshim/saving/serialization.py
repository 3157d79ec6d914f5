"""Keras 3 style object configs: ``{"module", "class_name", "config", "registered_name"}``."""

_CUSTOM_OBJECTS = {}


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a class or function so configs can name it (as ``package>name``)."""

    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        _CUSTOM_OBJECTS[key] = obj
        obj._registered_name = key
        return obj

    return decorator


def _module_of(obj):
    from kshim.layers.layer import Layer

    if isinstance(obj, Layer):
        from kshim.models.model import Model

        return "keras" if isinstance(obj, Model) else "keras.layers"
    return "keras"


def serialize_keras_object(obj):
    """The Keras 3 config dict of a layer, model or other configurable object."""
    if obj is None:
        return None
    cls = type(obj)
    registered = getattr(cls, "_registered_name", None)
    out = {"module": _module_of(obj), "class_name": cls.__name__, "config": obj.get_config(),
           "registered_name": registered}
    build_shape = getattr(obj, "_build_shape", None)
    if build_shape is not None and getattr(obj, "built", False):
        out["build_config"] = {"input_shape": list(build_shape) if isinstance(build_shape, tuple) else build_shape}
    return out


def _lookup(class_name, custom_objects):
    if custom_objects and class_name in custom_objects:
        return custom_objects[class_name]
    if class_name in _CUSTOM_OBJECTS:
        return _CUSTOM_OBJECTS[class_name]
    from kshim import layers, models
    from kshim.models.functional import Functional

    if class_name == "Functional":
        return Functional
    for ns in (layers, models):
        obj = getattr(ns, class_name, None)
        if obj is not None:
            return obj
    import kshim

    return getattr(kshim, class_name, None)


def deserialize_keras_object(config, custom_objects=None):
    """Rebuild an object from its Keras 3 config dict."""
    if config is None:
        return None
    class_name = config.get("registered_name") or config["class_name"]
    cls = _lookup(class_name, custom_objects) or _lookup(config["class_name"], custom_objects)
    if cls is None:
        raise ValueError(
            f"Unknown class in config: class_name={config['class_name']!r}. If it is a custom class, pass it "
            "in `custom_objects` or decorate it with `@kshim.saving.register_keras_serializable()`."
        )
    inner = config.get("config", {})
    try:
        obj = cls.from_config(inner, custom_objects=custom_objects)
    except TypeError:
        obj = cls.from_config(inner)
    build = config.get("build_config")
    if build and not getattr(obj, "built", True) and build.get("input_shape") is not None:
        shape = build["input_shape"]
        obj.build(tuple(shape) if shape and not isinstance(shape[0], (list, tuple)) else shape)
    return obj
