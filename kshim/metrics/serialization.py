"""Metric serialization in Keras 3's format (``{"module", "class_name", "config", "registered_name"}``)."""

import inspect

from kshim.registry import METRIC_FUNCTIONS, METRICS
from kshim.utils.suggest import unknown_name_error


def serialize_function(fn):
    """A metric function as Keras 3 stores it: by name."""
    if not callable(fn):
        return fn
    return {"module": "builtins", "class_name": "function", "config": getattr(fn, "__name__", repr(fn)),
            "registered_name": "function"}


def deserialize_function(config, custom_objects=None):
    """The metric function named by ``config`` (a name or `serialize_function`'s dict)."""
    if callable(config):
        return config
    name = config.get("config") if isinstance(config, dict) else config
    custom_objects = custom_objects or {}
    if name in custom_objects:
        return custom_objects[name]
    return METRIC_FUNCTIONS.lookup(name, custom_objects, arg="fn")


def serialize(metric):
    """``metric`` as a JSON-friendly dict (a metric function becomes its name record)."""
    if metric is None or isinstance(metric, (str, dict)):
        return metric
    if inspect.isfunction(metric) or not hasattr(metric, "get_config"):
        return serialize_function(metric)
    return {"module": "keras.metrics", "class_name": type(metric).__name__, "config": metric.get_config(),
            "registered_name": None}


def deserialize(config, custom_objects=None):
    """A metric (or metric function) from `serialize`'s output or from a registered name."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        cls = METRICS.lookup(config, custom_objects, arg="metrics")
        return cls() if inspect.isclass(cls) else cls
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "deserialize: `config` must be a metric name or a dict with 'class_name' and 'config'. "
            f"Received: config={config!r}"
        )
    class_name = config["class_name"]
    if class_name == "function":
        return deserialize_function(config, custom_objects)
    cls = custom_objects.get(class_name) or METRICS.find(class_name)
    if cls is None and config.get("registered_name"):
        cls = custom_objects.get(config["registered_name"])
    if cls is None:
        raise unknown_name_error("metric", class_name, METRICS.names() + list(custom_objects), arg="class_name")
    inner = dict(config.get("config") or {})
    if "fn" in inner:
        inner["fn"] = deserialize_function(inner["fn"], custom_objects)
    return cls.from_config(inner)
