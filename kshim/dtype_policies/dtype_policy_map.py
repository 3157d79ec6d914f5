"""`DTypePolicyMap`, as Keras 3's: a dict from layer paths (or regular expressions over them) to dtype policies.

A layer given a map as its ``dtype`` uses the policy its `Layer.path` maps to (else the map's default policy).
Its main use is a layer with sub-layers whose config must say which of them are quantized: the layer's
``get_config`` writes ``{"dtype": DTypePolicyMap({path: policy})}``, the sub-layers are made with
``dtype=self.dtype_policy`` and each one builds with the policy of its path (int8 variables where the map says
``int8_from_float32``), so a quantized model loads from its `.keras` file.

Lookup (``map[path]``): an exact key first, else the one key that matches the whole path as a regular expression
(two matching keys are an error), else the default policy.
"""

import re
from collections.abc import MutableMapping

from kshim.dtype_policies.dtype_policy import DTypePolicy, QuantizedDTypePolicy


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """Layer path -> `DTypePolicy`. ``default_policy`` (a policy or a name) answers paths the map lacks; None
    means the global policy (`kshim.config.dtype_policy()`), looked up each time."""

    _policy_getter = None  # `dtype_policies.get`, bound by the package (policies from names, dicts, policies)

    def __init__(self, default_policy=None, policy_map=None):
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError("DTypePolicyMap: `default_policy` cannot be a DTypePolicyMap. "
                             f"Received: default_policy={default_policy!r}")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError("DTypePolicyMap: `policy_map` must be a dict of path -> policy. Received: "
                            f"policy_map={policy_map!r} of type {type(policy_map).__name__}")
        self._default_policy_arg = default_policy
        self._default_policy = None if default_policy is None else self._policy_getter(default_policy)
        self._policy_map = {}
        for key, policy in (policy_map or {}).items():
            self[key] = policy

    @property
    def default_policy(self):
        """The policy of a path the map lacks (the global policy when none was given)."""
        return self._policy_getter(self._default_policy)

    @property
    def name(self):
        return f"map_{self.default_policy.name}"

    @property
    def compute_dtype(self):
        return self.default_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self.default_policy.variable_dtype

    @property
    def quantization_mode(self):
        return self.default_policy.quantization_mode

    def __getitem__(self, key):
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"DTypePolicyMap: the path '{key}' matches several keys {matches}; each path must "
                             "match at most one key of the map.")
        return self._policy_map[matches[0]] if matches else self.default_policy

    def __setitem__(self, key, policy):
        if key in self._policy_map:
            raise ValueError(f"DTypePolicyMap: the key '{key}' is already in the map (with "
                             f"{self._policy_map[key]!r}); delete it first to replace it.")
        try:
            policy = self._policy_getter(policy)
        except (ValueError, TypeError) as e:
            raise ValueError("DTypePolicyMap: the value must be a dtype policy, or a name or config of one. "
                             f"Received: {policy!r} of type {type(policy).__name__}") from e
        self._policy_map[key] = policy

    def __delitem__(self, key):
        return self._policy_map.pop(key)

    def __contains__(self, key):
        return key in self._policy_map

    def __len__(self):
        return len(self._policy_map)

    def __iter__(self):
        return iter(self._policy_map)

    def __eq__(self, other):
        return (isinstance(other, DTypePolicyMap) and self._default_policy_arg == other._default_policy_arg
                and self._policy_map == other._policy_map)

    __hash__ = object.__hash__

    def convert_input(self, x, autocast, dtype):
        return self.default_policy.convert_input(x, autocast, dtype)

    def get_config(self):
        """``{"default_policy", "policy_map"}`` as Keras 3 writes them: without a default policy, each policy is
        written without its float source (``name``/``source_name`` None), so it follows the global policy of
        the process that loads it."""
        serialize = type(self)._serialize_policy
        policies = {}
        for key, policy in self._policy_map.items():
            entry = serialize(policy)
            if self._default_policy_arg is None:
                inner = dict(entry["config"])
                if isinstance(policy, QuantizedDTypePolicy):
                    inner["source_name"] = None
                else:
                    inner["name"] = None
                entry = {**entry, "config": inner}
            policies[key] = entry
        return {"default_policy": self._default_policy_arg, "policy_map": policies}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["policy_map"] = {key: cls._policy_getter(value) for key, value in
                                (config.get("policy_map") or {}).items()}
        return cls(**config)

    def __repr__(self):
        default = None if self._default_policy is None else self._default_policy.name
        mapping = [(k, v.name) for k, v in self._policy_map.items()]
        return f"<DTypePolicyMap default_policy={default}, mapping={mapping}>"
