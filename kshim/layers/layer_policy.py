"""A layer's dtype policy (the `Layer` base class's share of it): ``dtype_policy``, the dtypes it names, the
quantization mode, and `Layer.path`, which a `DTypePolicyMap` policy is looked up by.

``path`` is Keras 3's: the layer's name, prefixed by the path of the layer that holds it (``"block/dense"``). Keras 3
derives it from the name scope the layer is first built in: a Sequential's layers and a subclassed model's are
built inside the model's scope (``"sequential/dense"``, ``"my_model/dense"``), a Functional model's outside any
(``"dense"``). Here the holder is the first layer or non-Functional model that keeps the layer (as an attribute,
or in a Sequential's stack), which gives the same paths for models written the usual ways; a variable's path is
its layer's path when it is created.
"""

import weakref

from kshim import dtype_policies
from kshim.common.properties import read_only
from kshim.dtype_policies import DTypePolicyMap


class PolicyOwner:
    """Mixin of `Layer`: the dtype policy and the layer path."""

    _mixed = False  # whether the policy computes in another dtype than its variables' (set with `dtype_policy`)

    @property
    def dtype_policy(self):
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        policy = dtype_policies.get(value)
        current = self.__dict__.get("_dtype_policy")
        if isinstance(current, DTypePolicyMap) and not isinstance(policy, DTypePolicyMap):
            # As Keras 3: a layer whose policy is a map sets its own entry (`quantize` does this).
            if self.path in current:
                del current[self.path]
            current[self.path] = policy
        else:
            self._dtype_policy = policy
        self._apply_policy()

    def _effective_policy(self):
        """The policy this layer follows: its policy, or the entry of its path in a `DTypePolicyMap`."""
        policy = self._dtype_policy
        if isinstance(policy, DTypePolicyMap):
            return policy[self.path] if "name" in self.__dict__ else policy.default_policy
        return policy

    def _apply_policy(self):
        policy = self._effective_policy()
        self._compute_dtype = policy.compute_dtype
        self._variable_dtype = self._dtype = policy.variable_dtype
        # Mixed: float variables are read in the compute dtype inside `call` (see `Layer._cast_variables`).
        self._mixed = policy.compute_dtype != policy.variable_dtype

    dtype = read_only("_variable_dtype", "The variable dtype (Keras 3's alias of `variable_dtype`).")
    compute_dtype = read_only("_compute_dtype")
    variable_dtype = read_only("_variable_dtype")
    input_dtype = read_only("_compute_dtype", "The dtype float inputs are cast to (with `autocast`).")

    @property
    def quantization_mode(self):
        """The quantization mode of the layer's policy ("int8", ...), or None."""
        return self._effective_policy().quantization_mode

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the layer's weights (Dense, EinsumDense and Embedding implement ``"int8"``)."""
        raise NotImplementedError(f"Layer {type(self).__name__} does not have a `quantize()` method implemented.")

    # -- path ------------------------------------------------------------------------------------------------------
    @property
    def path(self):
        """``"<holder's path>/<name>"``, or the name for a layer no other layer holds (see the module docstring)."""
        ref = self.__dict__.get("_holder")
        holder = ref() if ref is not None else None
        return self.name if holder is None else f"{holder.path}/{self.name}"

    def _hold(self, layer):
        """Record ``self`` as the holder of ``layer`` (the first holder that is not a Functional model). The paths
        below it just changed: re-resolve their map policies, and move the paths of the variables they already
        have (a sub-layer built before it is assigned, as in a `build` method, gets Keras's path)."""
        if self._is_graph or layer is self or "_holder" in layer.__dict__:
            return
        old = layer.path + "/"
        object.__setattr__(layer, "_holder", weakref.ref(self))
        new = layer.path + "/"
        stack, seen = [layer], set()
        while stack:
            current = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if isinstance(current.__dict__.get("_dtype_policy"), DTypePolicyMap):
                current._apply_policy()
            for variable in current.__dict__.get("_own_trainable", []) + current.__dict__.get("_own_non_trainable", []):
                if variable.path.startswith(old):
                    variable.path = new + variable.path[len(old):]
            stack.extend(current.__dict__.get("_tracked_layers", ()))
