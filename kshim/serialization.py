"""Keras 3 style object configs: ``{"module", "class_name", "config", "registered_name"}``.

This module sits just above `kshim.registry` and below every family: layers, models, losses, metrics and
optimizers use it for their nested configs, and it finds their classes and config hooks through the registry, so it
imports none of them (`kshim.saving`, which reads and writes files, is above the layers and below the models).

`serialize_keras_object` writes what Keras 3 writes (a built layer also gets ``build_config``, a model its
``compile_config``), so configs go both ways between kshim and Keras 3. `deserialize_keras_object` never runs code
from a config: it never imports the ``module`` a config names, and classes are found only among kshim's own
layers, models, optimizers, losses and metrics, the classes registered with `register_keras_serializable`, and the
``custom_objects`` given. Python lambdas (``__lambda__``: marshalled bytecode, as in ``Lambda`` layers) are
refused unless ``safe_mode=False``; then they are rebuilt (see `deserialize_function`).
"""

import base64
import binascii
import builtins
import inspect
import marshal
import sys
import types
import warnings

import numpy as np

import kshim
from kshim.registry import (  # noqa: F401  (the custom objects live in the registry; re-exported here)
    _CUSTOM_NAMES, _CUSTOM_OBJECTS, CustomObjectScope, _stack, compile_allowed as _compile_allowed,
    custom_object_scope, family, get_custom_objects, get_registered_name, get_registered_object, in_safe_mode,
    loading_scope, pushed as _pushed,
)


# -- serializing -----------------------------------------------------------------------------------------------
def _class_module(cls, default):
    """Keras's ``module`` field: the public Keras module of a built-in class, else the class's own module."""
    return default if cls.__module__.startswith("kshim.") else cls.__module__


_LAYERS = family("layer")
_OPERATIONS = family("operation", home=("kshim.layers.operation",))
# the families whose instances have a config hook
_SERIALIZED = ("layer", "optimizer", "loss", "metric", "initializer", "regularizer", "constraint",
               "learning rate schedule", "dtype policy")


def serialize_keras_object(obj):
    """The Keras 3 config of a layer, model, optimizer, loss, metric or plain value."""
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    for kind in _SERIALIZED:  # an instance of a family's base class: its module is loaded, so its hook is bound
        fam = family(kind)
        if fam.base is not None and fam.serializer is not None and isinstance(obj, fam.base):
            return fam.serializer(obj)
    if inspect.isfunction(obj):  # Keras 3 names a function by its registered name ("package>name") in `config`
        return {"module": "builtins", "class_name": "function", "config": _CUSTOM_NAMES.get(obj, obj.__name__),
                "registered_name": "function"}
    if hasattr(obj, "get_config"):
        cls = type(obj)
        return {"module": _class_module(cls, "keras"), "class_name": cls.__name__, "config": obj.get_config(),
                "registered_name": _CUSTOM_NAMES.get(cls)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
    raise ValueError(f"serialize_keras_object: cannot serialize {obj!r} (type {type(obj).__name__}): it is not a "
                     "layer, model, optimizer, loss, metric, function or plain value.")


def with_registration(config, obj):
    """``config`` with the ``module`` and ``registered_name`` of ``obj``'s registered class, if it has one."""
    registered = _CUSTOM_NAMES.get(type(obj))
    if registered:
        config = dict(config, module=type(obj).__module__, registered_name=registered)
    return config


_with_registration = with_registration


def serialize_layer(layer):
    """A layer's (or model's) Keras 3 config. Classes say how they differ by attributes: ``_keras_config_module``
    (the public Keras module of a built-in class), ``_keras_config_exact`` (a class's fixed ``(module,
    registered_name)``, not inherited), ``_keras_config_unbuilt`` (the graph records no build shape)."""
    cls = type(layer)
    registered = _CUSTOM_NAMES.get(cls)
    builtin = cls.__module__.startswith("kshim.")
    exact = cls.__dict__.get("_keras_config_exact")
    if exact:
        module, registered = exact
    else:
        module = _class_module(cls, getattr(cls, "_keras_config_module", "keras.layers"))
        if not builtin and registered is None:
            registered = cls.__name__  # what Keras 3 writes for an unregistered custom class
    config = layer.get_config()
    if not builtin and isinstance(config, dict):  # objects a custom config holds (a DTypePolicyMap...), as Keras 3
        config = {k: serialize_keras_object(v) if hasattr(v, "get_config") and not isinstance(v, type) else v
                  for k, v in config.items()}
    out = {"module": module, "class_name": cls.__name__, "config": config, "registered_name": registered}
    if getattr(cls, "_keras_config_unbuilt", False):
        out["build_config"] = {"input_shape": None}
    else:
        build_shape = getattr(layer, "_build_shape", None)
        if hasattr(layer, "get_build_config"):  # a layer whose build takes several shapes (Keras's shapes_dict)
            if getattr(layer, "built", False):
                out["build_config"] = layer.get_build_config()
        elif build_shape is not None and getattr(layer, "built", False):
            out["build_config"] = {"input_shape": _shape_list(build_shape)}
    if hasattr(layer, "get_compile_config"):
        out["compile_config"] = layer.get_compile_config()
    return out


def serialize_call_argument(value):
    """A non-tensor argument of a layer or op call in a model graph, as Keras 3 writes it (``x[1:, ...]``: slices
    and Ellipsis; numbers, strings, None as they are)."""
    if isinstance(value, slice):
        return {"class_name": "__slice__", "config": {"start": serialize_call_argument(value.start),
                                                      "stop": serialize_call_argument(value.stop),
                                                      "step": serialize_call_argument(value.step)}}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    return serialize_keras_object(value)


def deserialize_call_argument(config):
    """The value of a `serialize_call_argument` config (other configs as `deserialize_keras_object` reads them)."""
    class_name = config.get("class_name")
    if class_name == "__slice__":
        inner = config.get("config") or {}
        return slice(inner.get("start"), inner.get("stop"), inner.get("step"))
    if class_name == "__ellipsis__":
        return Ellipsis
    return deserialize_keras_object(config)


def _shape_list(shape):
    if isinstance(shape, dict):
        return {k: _shape_list(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple, dict)):
        return [_shape_list(s) for s in shape]
    return list(shape)


# -- Python functions (Lambda layers) --------------------------------------------------------------------------
def serialize_function(fn):
    """Keras 3's config of a function in a ``Lambda`` layer.

    A Python lambda becomes ``{"class_name": "__lambda__", "config": {"code", "defaults", "closure"}}``, its code
    object marshalled and base64-encoded (readable only by the same Python version); defaults and closure values
    that are not plain JSON values are written as object configs. A named function is written by name
    (``class_name: "function"``); loading finds it among registered functions and ``custom_objects``."""
    if isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>":
        code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
        defaults = None if fn.__defaults__ is None else [serialize_keras_object(v) for v in fn.__defaults__]
        closure = None if not fn.__closure__ else [serialize_keras_object(c.cell_contents) for c in fn.__closure__]
        return {"class_name": "__lambda__", "config": {"code": code, "defaults": defaults, "closure": closure}}
    if inspect.isfunction(fn):
        return serialize_keras_object(fn)
    name = getattr(fn, "__name__", None)
    if callable(fn) and isinstance(name, str):  # a builtin or compiled function (numpy ufunc, jnp/torch op)
        registered = _CUSTOM_NAMES.get(fn)
        return {"module": "builtins", "class_name": "function", "config": registered or name,
                "registered_name": registered or "function"}
    raise ValueError(f"serialize_function: expected a function. Received: {fn!r} (type {type(fn).__name__})")


def _lambda_globals():
    """The globals a rebuilt lambda runs with: Python's builtins, plus ``keras``/``kshim``, ``ops``, ``K`` and
    ``np``, the names Keras code usually reaches for (the defining module's globals are not in the file)."""
    return {"__builtins__": builtins, "keras": kshim, "kshim": kshim, "ops": kshim.ops, "K": kshim.backend,
            "np": np, "numpy": np}


def _load_lambda(code, defaults, closure, where):
    if not isinstance(code, str):
        raise ValueError(f"{where}: a lambda's `code` must be a base64 string of marshalled bytecode. "
                         f"Received: code={code!r}")
    try:
        raw = base64.decodebytes(code.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error):
        raw = code.encode("raw_unicode_escape")  # Keras 2 wrote some lambdas unencoded
    try:
        fn_code = marshal.loads(raw)
    except (ValueError, EOFError, TypeError) as e:
        raise ValueError(f"{where}: the lambda's bytecode cannot be read ({e}). It was probably written by another "
                         f"Python version (this is {sys.version.split()[0]}); bytecode only loads in the version "
                         "that wrote it. Recreate the Lambda layer in code instead.") from e
    if not isinstance(fn_code, types.CodeType):
        raise ValueError(f"{where}: the lambda's `code` does not hold a code object. Received: {type(fn_code)}")
    if defaults is not None:
        defaults = tuple(deserialize_keras_object(v) for v in defaults)
    cells = None
    if closure:
        cells = tuple(types.CellType(deserialize_keras_object(v)) for v in closure)
    if len(cells or ()) != len(fn_code.co_freevars):
        raise ValueError(f"{where}: the lambda's closure has {len(cells or ())} value(s), but its code expects "
                         f"{len(fn_code.co_freevars)} ({', '.join(fn_code.co_freevars) or 'none'}).")
    return types.FunctionType(fn_code, _lambda_globals(), fn_code.co_name, defaults, cells)


def deserialize_function(config, custom_objects=None, where="deserialize_function"):
    """The function a `serialize_function` config describes.

    A ``__lambda__`` config (Keras 3's ``{"code", "defaults", "closure"}`` or ``{"value": [code, defaults,
    closure]}``, or Keras 2's bare ``[code, defaults, closure]`` list) is bytecode: refused in safe mode, else
    rebuilt with `_lambda_globals`. Anything else is deserialized as usual (a named function must be registered,
    a kshim built-in, or in ``custom_objects``)."""
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        _check_safe(config, where)
        inner = config.get("config") or {}
        if "value" in inner:
            code, defaults, closure = inner["value"]
        else:
            code, defaults, closure = inner.get("code"), inner.get("defaults"), inner.get("closure")
        return _load_lambda(code, defaults, closure, where)
    if isinstance(config, (list, tuple)) and len(config) == 3 and isinstance(config[0], str):
        _check_safe(config, where)
        return _load_lambda(config[0], config[1], config[2], where)
    fn = deserialize_keras_object(config, custom_objects)
    if isinstance(config, str) and not callable(fn):
        fn = get_registered_object(config, custom_objects)
    if not callable(fn):
        raise ValueError(f"{where}: cannot find the function {config!r}. If it is a custom function, pass it in "
                         "`custom_objects` or decorate it with `@kshim.saving.register_keras_serializable()`.")
    return fn


# -- deserializing ---------------------------------------------------------------------------------------------
def _builtin_class(class_name):
    """A kshim layer or model class called ``class_name``, or None."""
    obj = _LAYERS.find(class_name)
    if inspect.isclass(obj) and issubclass(obj, _LAYERS.ensure().base):
        return obj
    return None


def _lookup(config, custom_objects):
    """The class a layer config names: custom objects and registered names first, then kshim's layers."""
    class_name, registered = config.get("class_name"), config.get("registered_name")
    for name in (registered, class_name):
        if name:
            obj = get_registered_object(name, custom_objects)
            if obj is not None:
                return obj
    return _builtin_class(class_name)


def _check_safe(config, where):
    if in_safe_mode():
        raise ValueError(
            f"{where}: the file asks to rebuild Python code (a lambda or a `Lambda` layer), which would run code "
            "stored in the file. This is refused in safe mode. If you trust the file's source, load it with "
            "`safe_mode=False`."
        )


def deserialize_keras_object(config, custom_objects=None, safe_mode=None, **kwargs):
    """Rebuild an object from its Keras 3 config dict (lists and plain dicts are rebuilt item by item).

    ``custom_objects`` maps class names (or ``package>name``) to classes. Nothing is imported and no code from
    the config is run; ``safe_mode=False`` is needed for ``Lambda`` layers.
    """
    if safe_mode is not None:
        with _pushed("safe_mode", bool(safe_mode)):
            return deserialize_keras_object(config, custom_objects=custom_objects)
    if config is None or isinstance(config, (str, bool, int, float)):
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(v, custom_objects) for v in config]
    if not isinstance(config, dict):
        raise ValueError(f"deserialize_keras_object: expected a config dict. Received: {config!r}")
    if "class_name" not in config:
        return {k: deserialize_keras_object(v, custom_objects) for k, v in config.items()}
    class_name = config["class_name"]
    inner = config.get("config")
    if class_name == "__lambda__":
        return deserialize_function(config, custom_objects, where="deserialize_keras_object")
    if class_name == "__tuple__":
        return tuple(deserialize_keras_object(v, custom_objects) for v in inner["value"])
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner.get("dtype"))
    if class_name in ("__keras_tensor__", "__tensor__"):
        raise ValueError(f"deserialize_keras_object: a {class_name} config can only appear in a model graph.")
    module = config.get("module") or ""
    special = _deserialize_by_module(config, module, custom_objects)
    if special is not _NOT_FOUND:
        return special
    cls = _lookup(config, custom_objects)  # a Lambda's bytecode is checked against safe mode in its from_config
    if cls is None:
        raise ValueError(
            f"Unknown layer class '{class_name}' (module {module!r}, registered name "
            f"{config.get('registered_name')!r}). kshim does not implement it. If it is a custom class, pass it in "
            "`custom_objects={'" + class_name + "': " + class_name + "}` or decorate it with "
            "`@kshim.saving.register_keras_serializable()`."
        )
    if not inspect.isclass(cls):
        return cls  # a registered function
    obj = _from_config(cls, dict(inner or {}), custom_objects)
    _build_from_config(obj, config.get("build_config"))
    compile_config = config.get("compile_config")
    if compile_config and _compile_allowed() and hasattr(obj, "compile_from_config"):
        try:
            obj.compile_from_config(compile_config)
        except (ValueError, TypeError, NotImplementedError) as e:
            warnings.warn(f"Model '{obj.name}' was loaded but not compiled: its compile config could not be used "
                          f"({e}). Call `model.compile(...)` before training it.", stacklevel=2)
    return obj


_NOT_FOUND = object()


# The families whose configs are recognized by their Keras module (schedules before optimizers: their module is
# inside "keras.optimizers"), and whether a registered subclass of the family's base class is recognized too.
_BY_MODULE = (("learning rate schedule", False), ("optimizer", True), ("loss", True), ("metric", True),
              ("initializer", False), ("regularizer", False), ("constraint", False))


def _deserialize_by_module(config, module, custom_objects):
    """Optimizers, losses, metrics, schedules and initializers, by the Keras module their config names."""
    class_name = config["class_name"]
    if class_name == "DTypePolicy" or module == "keras.dtype_policies":
        return (config.get("config") or {}).get("name", "float32")
    if module.startswith("keras.src.ops."):  # an op on symbolic tensors in a model graph (`x + 1`, `ops.mean`)
        return _OPERATIONS.ensure().deserializer(config, custom_objects)
    if class_name == "function":
        name = config.get("registered_name")
        obj = get_registered_object(name, custom_objects) if name and name != "function" else None
        obj = obj or get_registered_object(config.get("config"), custom_objects)
        if obj is not None:
            return obj
        fn_name = config.get("config")
        for kind in ("loss", "metric", "activation"):
            try:
                return family(kind).ensure().deserializer(fn_name, None)
            except (ValueError, KeyError, TypeError):
                continue
        raise ValueError(f"Unknown function '{fn_name}' in config. If it is a custom function, pass it in "
                         f"`custom_objects` or decorate it with `@kshim.saving.register_keras_serializable()`.")
    registered = get_registered_object(config.get("registered_name") or "", custom_objects)
    for kind, by_subclass in _BY_MODULE:
        fam = family(kind)
        if module.startswith(fam.ensure().module) or (
                by_subclass and inspect.isclass(registered) and issubclass(registered, fam.base)):
            return fam.deserializer(config, _with(custom_objects, class_name, registered))
    return _NOT_FOUND


def _with(custom_objects, name, obj):
    objects = dict(custom_objects or {})
    if obj is not None:
        objects[name] = obj
    return objects


# Config keys newer Keras 3 versions write for features kshim does not have; dropped when they hold the
# "feature off" value, so a plain layer loads (a quantized or LoRA layer still fails, naming the key).
_KERAS_ONLY_DEFAULTS = {"quantization_config": None, "lora_rank": None, "lora_alpha": None, "optional": False}


# The same for initializers nested in a layer config (Keras 3.13+ writes VarianceScaling's fan axes).
_KERAS_ONLY_INITIALIZER_DEFAULTS = {"input_axes": None, "output_axes": None}


def _strip_nested_defaults(value):
    """Copy of a layer config with the off-by-default Keras-only keys of nested initializer configs removed."""
    if isinstance(value, list):
        return [_strip_nested_defaults(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _strip_nested_defaults(v) for k, v in value.items()}
    if str(out.get("module", "")).startswith("keras.initializers") and isinstance(out.get("config"), dict):
        out["config"] = {k: v for k, v in out["config"].items()
                         if not (k in _KERAS_ONLY_INITIALIZER_DEFAULTS and v == _KERAS_ONLY_INITIALIZER_DEFAULTS[k])}
    return out


# Layer arguments that name a function: a custom one (registered or in custom_objects) is resolved here, since
# the layers' own lookups only know the built-in functions.
_FUNCTION_KEYS = ("activation", "recurrent_activation")


def _resolve_function(value, custom_objects):
    name = value
    if isinstance(value, dict) and value.get("class_name") == "function":
        name = value.get("config")
        registered = value.get("registered_name")
        found = get_registered_object(registered, custom_objects) if registered not in (None, "function") else None
        if found is not None:
            return found
    if not isinstance(name, str):
        return value
    found = get_registered_object(name, custom_objects)
    if found is None and ">" not in name:  # kshim and Keras <= 3.6 wrote a registered function by its bare name
        matches = [obj for key, obj in _CUSTOM_OBJECTS.items() if key.endswith(f">{name}")]
        found = matches[0] if len(matches) == 1 else None
    return found if found is not None and callable(found) else name


def _from_config(cls, inner, custom_objects):
    inner.pop("shared_object_id", None)
    for key, default in _KERAS_ONLY_DEFAULTS.items():
        if key in inner and inner[key] == default and not _accepts_arg(cls, key):
            inner.pop(key)
    inner = {k: (v if k == "layers" else _strip_nested_defaults(v)) for k, v in inner.items()}
    for key in _FUNCTION_KEYS:
        if key in inner:
            inner[key] = _resolve_function(inner[key], custom_objects)
    if _accepts_custom_objects(cls.from_config):
        return cls.from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


def _accepts_arg(cls, name):
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def _accepts_custom_objects(fn):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "custom_objects" in params


def _build_from_config(obj, build_config):
    """Build a layer for the input shape its config recorded (a model may say how, in
    ``_build_from_saved_shape``: a subclassed model is called once on zeros)."""
    if not build_config or getattr(obj, "built", True):
        return
    if hasattr(obj, "build_from_config"):
        obj.build_from_config(build_config)
        return
    shape = build_config.get("input_shape")
    if shape is None:
        return
    shape = _shape_tuple(shape)
    if hasattr(obj, "_build_from_saved_shape"):
        obj._build_from_saved_shape(shape)
    elif hasattr(obj, "_maybe_build"):
        obj._maybe_build(shape)
    else:
        obj.build(shape)


def _shape_tuple(shape):
    if isinstance(shape, dict):
        return {k: _shape_tuple(v) for k, v in shape.items()}
    if shape and isinstance(shape[0], (list, tuple, dict)):
        return [_shape_tuple(s) for s in shape]
    return tuple(shape)
