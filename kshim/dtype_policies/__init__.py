"""kshim.dtype_policies: Keras 3's dtype policies (`DTypePolicy`, the quantized ones), `get`, `serialize`,
`deserialize`. See `kshim.dtype_policies.dtype_policy`."""

from kshim import config, ops
from kshim.dtype_policies.dtype_policy import (QUANTIZATION_MODES, DTypePolicy, FloatDTypePolicy, Int4DTypePolicy,
                                               QuantizedDTypePolicy, QuantizedFloat8DTypePolicy, dtype_policy,
                                               quantized_policy, set_dtype_policy)
from kshim.dtype_policies.dtype_policy_map import DTypePolicyMap
from kshim.registry import DTYPE_POLICIES

ALL_OBJECTS = (DTypePolicy, FloatDTypePolicy, QuantizedDTypePolicy, QuantizedFloat8DTypePolicy, Int4DTypePolicy,
               DTypePolicyMap)
# The Keras module each class's config names: the float policies are top-level Keras names.
_MODULES = {DTypePolicy: "keras", FloatDTypePolicy: "keras", QuantizedDTypePolicy: "keras.dtype_policies",
            QuantizedFloat8DTypePolicy: "keras.dtype_policies", Int4DTypePolicy: "keras.dtype_policies",
            DTypePolicyMap: "keras.dtype_policies"}


def serialize(policy):
    """The policy as Keras 3 writes it: ``{"module", "class_name", "config", "registered_name"}``."""
    return {"module": _MODULES.get(type(policy), "keras.dtype_policies"), "class_name": type(policy).__name__,
            "config": policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A policy from `serialize`'s dict."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("dtype_policies.deserialize: `config` must be a dict with a 'class_name' key. "
                         f"Received: config={config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or {c.__name__: c for c in ALL_OBJECTS}.get(name)
    if cls is None:
        raise ValueError(f"dtype_policies.deserialize: unknown policy class {name!r}; expected one of "
                         f"{[c.__name__ for c in ALL_OBJECTS]}. Received: config={config!r}")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier):
    """A policy from None (the global one), a policy, a name, a config dict or a dtype."""
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.startswith(QUANTIZATION_MODES):
            return quantized_policy(identifier)
        return DTypePolicy(identifier)
    try:
        return DTypePolicy(ops.standardize_dtype(identifier))
    except (ValueError, TypeError, KeyError):
        raise ValueError("Cannot interpret `dtype` argument: expected a string or a DTypePolicy. "
                         f"Received: dtype={identifier!r}") from None


config.bind_dtype_policies(get)
DTypePolicyMap._policy_getter = staticmethod(get)
DTypePolicyMap._serialize_policy = staticmethod(serialize)
DTYPE_POLICIES.register_all(ALL_OBJECTS)
DTYPE_POLICIES.bind(base=DTypePolicy, module="keras.dtype_policies", get=get, serialize=serialize,
                    deserialize=deserialize)

__all__ = ["DTypePolicy", "FloatDTypePolicy", "QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy", "DTypePolicyMap",
           "Int4DTypePolicy",
           "QUANTIZATION_MODES", "get", "serialize", "deserialize", "set_dtype_policy", "dtype_policy"]
