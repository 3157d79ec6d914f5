"""The registry at the bottom of kshim: name -> object for every family, and the custom objects.

Each family (layers, losses, metrics, optimizers, activations, initializers, regularizers, constraints,
schedules) has one `Registry`, created with `family(kind)` and filled where its objects are defined.
`register_keras_serializable`, `custom_object_scope` and `get_custom_objects` go through the same module:
the custom objects are one more table here, consulted before the families.

This module imports nothing from kshim but the "did you mean" helper and the config, so any module may import it.
A family whose members live above the module asking for them (a saved file naming a ``Sequential``) names its home
packages: a lookup that misses loads them, as ``kshim.<name>`` loads on first use.
"""

import contextlib
import importlib
import inspect
import threading

from kshim.common.suggest import unknown_name_error
from kshim.config import unsafe_deserialization_enabled


class Configurable:
    """The config round trip the family base classes share (initializers, regularizers, constraints, losses,
    metrics): no config by default, and ``from_config`` calls the constructor with the config."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

class Registry:
    """One family's names: ``name -> object``, aliases, and the family's ``serialize``/``deserialize`` hooks.

    ``kind`` names the family in errors ("loss", "optimizer", ...); ``home`` lists the modules that fill it
    (loaded on a missed lookup); ``case_insensitive`` makes lookups ignore letter case (optimizers).
    """

    def __init__(self, kind, home=(), case_insensitive=False):
        self.kind = kind
        self.home = tuple(home)
        self.case_insensitive = case_insensitive
        self._objects = {}
        self._loaded = not self.home
        self.base = None  # the family's base class, set by `bind`
        self.module = None  # the Keras module prefix its configs name ("keras.losses")
        self.serializer = None
        self.deserializer = None
        self.getter = None

    def bind(self, base=None, module=None, serialize=None, deserialize=None, get=None):
        """Set the family's base class, Keras module and hooks (called where the family is defined):
        ``serialize(obj)``, ``deserialize(config, custom_objects)`` and ``get(identifier)``."""
        self.base, self.module, self.serializer, self.deserializer = base, module, serialize, deserialize
        self.getter = get

    def resolve(self, identifier):
        """The family's own ``get(identifier)`` (``kshim.initializers.get``, ...), for modules below it."""
        return self.ensure().getter(identifier)

    def ensure(self):
        """This registry with its home modules loaded (so its hooks are bound)."""
        self._load_home()
        return self

    def _key(self, name):
        return name.lower() if self.case_insensitive and isinstance(name, str) else name

    def register(self, obj=None, name=None, aliases=()):
        """Register ``obj`` under its ``__name__`` (or ``name``) and ``aliases``; usable as a decorator."""
        if obj is None:
            return lambda o: self.register(o, name=name, aliases=aliases)
        for key in (name or obj.__name__, *aliases):
            self._objects[self._key(key)] = obj
        return obj

    def register_all(self, objects, aliases=None):
        """Register each object under its ``__name__``, then the ``{alias: object}`` dict ``aliases``."""
        for obj in objects:
            self.register(obj)
        for alias, obj in (aliases or {}).items():
            self._objects[self._key(alias)] = obj

    def _load_home(self):
        if not self._loaded:
            self._loaded = True
            for module in self.home:
                importlib.import_module(module)

    def find(self, name, custom_objects=None):
        """The object registered as ``name`` (``custom_objects`` first), or None."""
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        if not isinstance(name, str):
            return None
        obj = self._objects.get(self._key(name))
        if obj is None and not self._loaded:
            self._load_home()
            obj = self._objects.get(self._key(name))
        return obj

    def lookup(self, name, custom_objects=None, arg=None, known=None):
        """The object registered as ``name``, else a ValueError naming ``arg`` and suggesting close names."""
        obj = self.find(name, custom_objects)
        if obj is None:
            known = self.names() if known is None else known
            raise unknown_name_error(self.kind, name, list(known) + list(custom_objects or ()),
                                     arg=arg or self.kind)
        return obj

    def names(self):
        self._load_home()
        return list(self._objects)

    def items(self):
        self._load_home()
        return list(self._objects.items())

    def __contains__(self, name):
        return self.find(name) is not None

    def name_of(self, obj):
        """The first name ``obj`` was registered under, or None."""
        for name, known in self._objects.items():
            if known is obj:
                return name
        return None

    def get(self, identifier, arg=None):
        """None stays None; a name or a ``{"class_name", "config"}`` dict becomes an instance of the registered
        class (a registered function is returned); any other callable is returned as is."""
        if identifier is None:
            return None
        if isinstance(identifier, dict):
            cls = self.lookup(identifier.get("class_name"), arg="class_name")
            return cls.from_config(identifier.get("config", {})) if inspect.isclass(cls) else cls
        if isinstance(identifier, str):
            obj = self.lookup(identifier, arg=arg)
            return obj() if inspect.isclass(obj) else obj
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {self.kind} identifier: {arg or self.kind}={identifier!r}")

    def serialize(self, obj):
        """``obj``'s Keras 3 config, ``{"module", "class_name", "config", "registered_name"}``, with the family's
        Keras module (what initializers, regularizers, constraints, optimizers and schedules write)."""
        return {"module": self.module, "class_name": type(obj).__name__, "config": obj.get_config(),
                "registered_name": None}

    def deserialize(self, config, custom_objects=None):
        """The object a `serialize` config (or a bare name) describes: ``custom_objects`` first (by class name,
        then by registered name), then the family."""
        if isinstance(config, str):
            return self.get(config)
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(f"{self.kind}: `config` must be a name or a dict with a 'class_name' key. "
                             f"Received: config={config!r}")
        name = config["class_name"]
        cls = self.find(name, custom_objects)
        if cls is None and config.get("registered_name"):
            cls = (custom_objects or {}).get(config["registered_name"])
        if cls is None:
            cls = self.lookup(name, arg="class_name")
        return cls.from_config(dict(config.get("config") or {})) if inspect.isclass(cls) else cls


_FAMILIES = {}


def family(kind, home=(), case_insensitive=False):
    """The registry of family ``kind`` (made on first call)."""
    registry = _FAMILIES.get(kind)
    if registry is None:
        registry = _FAMILIES[kind] = Registry(kind, home=home, case_insensitive=case_insensitive)
    return registry


# Families whose members sit above the modules that look them up: layers and models (a config names a
# ``Sequential``), and losses/metrics/optimizers (a compile config names them). Their home packages load on a
# missed lookup.
LAYERS = family("layer", home=("kshim.layers", "kshim.models"))
LOSSES = family("loss", home=("kshim.losses",))
METRICS = family("metric", home=("kshim.metrics",))
METRIC_FUNCTIONS = family("metric function", home=("kshim.metrics",))
OPTIMIZERS = family("optimizer", home=("kshim.optimizers",), case_insensitive=True)
SCHEDULES = family("learning rate schedule", home=("kshim.optimizers.schedules",))
ACTIVATIONS = family("activation", home=("kshim.activations",))
INITIALIZERS = family("initializer", home=("kshim.initializers",))
REGULARIZERS = family("regularizer", home=("kshim.regularizers",))
CONSTRAINTS = family("constraint", home=("kshim.constraints",))
DTYPE_POLICIES = family("dtype policy", home=("kshim.dtype_policies",))


# -- custom objects (register_keras_serializable, custom_object_scope) -----------------------------------------
_CUSTOM_OBJECTS = {}  # "package>name" -> class or function
_CUSTOM_NAMES = {}  # class or function -> "package>name"
_SCOPE = threading.local()  # stacks of custom_objects dicts, safe_mode flags and compile flags


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a class or function so configs can name it (as ``package>name``)."""
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: `package` must be a string without '>'. "
                         f"Received: package={package!r}")

    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: class {obj.__name__} must define `get_config()` "
                             "to be serializable.")
        _CUSTOM_OBJECTS[key] = obj
        _CUSTOM_NAMES[obj] = key
        if inspect.isclass(obj):
            obj._registered_name = key
        return obj

    return decorator


def get_registered_name(obj):
    """The name ``obj`` was registered under (``package>name``), else its ``__name__``."""
    return _CUSTOM_NAMES.get(obj, getattr(obj, "__name__", None))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class or function registered (or passed in ``custom_objects``, or in scope) as ``name``, or None."""
    for objects in (custom_objects or {}, *reversed(_stack("custom")), _CUSTOM_OBJECTS, module_objects or {}):
        if name in objects:
            return objects[name]
    return None


def get_custom_objects():
    """The global registry (a live dict: ``get_custom_objects()["MyLayer"] = MyLayer`` registers it)."""
    return _CUSTOM_OBJECTS


# -- scopes ----------------------------------------------------------------------------------------------------
def _stack(kind):
    stacks = getattr(_SCOPE, "stacks", None)
    if stacks is None:
        stacks = _SCOPE.stacks = {"custom": [], "safe_mode": [], "compile": []}
    return stacks[kind]


@contextlib.contextmanager
def pushed(kind, value):
    """Push ``value`` on the ``kind`` stack ("custom", "safe_mode" or "compile") for the ``with`` block."""
    stack = _stack(kind)
    stack.append(value)
    try:
        yield
    finally:
        stack.pop()


class CustomObjectScope:
    """``with CustomObjectScope({"MyLayer": MyLayer}):`` makes the names known to deserialization."""

    def __init__(self, *custom_objects):
        self._objects = {}
        for objects in custom_objects:
            self._objects.update(objects or {})
        self._ctx = None

    def __enter__(self):
        self._ctx = pushed("custom", self._objects)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


custom_object_scope = CustomObjectScope


def in_safe_mode():
    if unsafe_deserialization_enabled():  # `kshim.config.enable_unsafe_deserialization` wins, as in Keras 3
        return False
    stack = _stack("safe_mode")
    return stack[-1] if stack else True


def compile_allowed():
    stack = _stack("compile")
    return stack[-1] if stack else True


def loading_scope(custom_objects=None, safe_mode=True, compile=True):
    """The context `load_model` deserializes in: custom objects, safe mode and whether models get compiled."""
    stack = contextlib.ExitStack()
    stack.enter_context(pushed("custom", dict(custom_objects or {})))
    stack.enter_context(pushed("safe_mode", bool(safe_mode)))
    stack.enter_context(pushed("compile", bool(compile)))
    return stack
