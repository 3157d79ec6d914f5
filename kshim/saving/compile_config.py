"""A model's ``compile_config``: the arguments of ``compile`` in Keras 3's format, and back.

Keras 3 writes ``{"optimizer": <optimizer config>, "loss", "loss_weights", "metrics", "weighted_metrics",
"run_eagerly", "steps_per_execution", "jit_compile"}``; names stay names, loss and metric objects become their
configs and functions become ``{"class_name": "function", "config": <name>}``.
"""

import inspect

from kshim import losses, metrics, optimizers
from kshim.registry import _stack, get_registered_object
from kshim.serialization import deserialize_keras_object, serialize_keras_object, with_registration

_KEYS = ("loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile")


def _serialize_value(value, kind):

    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_serialize_value(v, kind) for v in value]
    if isinstance(value, dict):
        return {k: _serialize_value(v, kind) for k, v in value.items()}
    if inspect.isclass(value):
        value = value()
    if kind == "loss" and isinstance(value, losses.Loss):
        return losses.serialize(value)
    if kind == "metric" and isinstance(value, metrics.Metric):
        return metrics.serialize(value)
    return serialize_keras_object(value)


def get_compile_config(model):
    """The ``compile_config`` of a compiled model (``{}`` when it was not compiled)."""

    args = getattr(model, "_compile_args", None)
    if not getattr(model, "compiled", False) or args is None:
        return {}
    optimizer = model.optimizer
    config = {"optimizer": None if optimizer is None else with_registration(optimizers.serialize(optimizer),
                                                                            optimizer)}
    config["loss"] = _serialize_value(args.get("loss"), "loss")
    config["loss_weights"] = _serialize_value(args.get("loss_weights"), "loss")
    config["metrics"] = _serialize_value(args.get("metrics"), "metric")
    config["weighted_metrics"] = _serialize_value(args.get("weighted_metrics"), "metric")
    for key in ("run_eagerly", "steps_per_execution", "jit_compile"):
        config[key] = args.get(key)
    if args.get("auto_scale_loss", True) is not True:
        config["auto_scale_loss"] = args["auto_scale_loss"]
    return config


def _deserialize_value(value, kind, custom_objects):

    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        found = get_registered_object(value, custom_objects)
        return value if found is None else found
    if isinstance(value, list):
        return [_deserialize_value(v, kind, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_value(v, kind, custom_objects) for k, v in value.items()}
    if isinstance(value, dict):
        objects = dict(custom_objects or {})
        for name in (value.get("registered_name"), value.get("config") if value["class_name"] == "function"
                     else None):
            if isinstance(name, str):
                found = get_registered_object(name, custom_objects)
                if found is not None:
                    objects[value["class_name"] if value["class_name"] != "function" else name] = found
        if kind == "loss":
            return losses.deserialize(value, custom_objects=objects)
        return metrics.deserialize(value, custom_objects=objects)
    return value


def compile_args_from_config(config, custom_objects=None):
    """The keyword arguments of ``compile`` that ``config`` describes."""

    config = dict(config)
    optimizer = config.pop("optimizer", None)
    if isinstance(optimizer, dict):
        optimizer = deserialize_keras_object(optimizer, custom_objects)
    elif isinstance(optimizer, str):
        optimizer = optimizers.get(optimizer)
    args = {"optimizer": optimizer if optimizer is not None else "rmsprop"}
    args["loss"] = _deserialize_value(config.get("loss"), "loss", custom_objects)
    args["loss_weights"] = config.get("loss_weights")
    args["metrics"] = _deserialize_value(config.get("metrics"), "metric", custom_objects)
    args["weighted_metrics"] = _deserialize_value(config.get("weighted_metrics"), "metric", custom_objects)
    if config.get("run_eagerly") is not None:
        args["run_eagerly"] = bool(config["run_eagerly"])
    if config.get("steps_per_execution") is not None:
        args["steps_per_execution"] = int(config["steps_per_execution"])
    jit = config.get("jit_compile", "auto")
    # A file records the value its backend resolved ("auto" is true on jax); kshim picks per backend instead.
    args["jit_compile"] = "auto" if jit is True or jit is None else jit
    if "auto_scale_loss" in config:
        args["auto_scale_loss"] = config["auto_scale_loss"]
    return args


def compile_from_config(model, config):
    """Compile ``model`` as ``config`` says, and create the optimizer's variables when the model is built."""

    custom = {}
    for objects in _stack("custom"):
        custom.update(objects)
    model.compile(**compile_args_from_config(config, custom))
    if model.built and model.optimizer is not None and hasattr(model, "_ensure_optimizer_built"):
        model._ensure_optimizer_built()
