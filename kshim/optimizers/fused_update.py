"""The fused update path: an optimizer's ``update_step`` for every variable at once, with `kshim.ops.foreach`.

An optimizer (SGD, Adam, RMSprop) may define ``_update_all(grads, variables, learning_rate)``: the same math as
its ``update_step``, bit for bit, as one list op per step of the formula instead of one op per variable (torch:
``torch._foreach_*``). `applies` says when it is used: the class that defines the ``update_step`` in effect also
defines ``_update_all`` (a subclass that overrides ``update_step`` keeps its own), every variable has one dtype
and every gradient its variable's shape; anything else takes the per-variable path, with its checks.

Inside a compiled train step the step's inputs are donated (`Optimizer._stateless_apply_donated`), so `run` lets
the update write the new values into the old ones (in place on torch, as ``torch.optim`` does; jax reuses donated
buffers itself), piece by piece so each piece stays in cache (`kshim.ops.foreach.blocked`). Everywhere else
(``apply``, ``stateless_apply``) it makes new values and leaves its inputs alone.
"""

from kshim import ops
from kshim.ops import foreach
from kshim.variables import read_values, swap_values

_OWNERS = {}  # optimizer class -> whether its update_step comes with an _update_all


def applies(optimizer, grads, variables):
    cls = type(optimizer)
    ok = _OWNERS.get(cls)
    if ok is None:
        owner = next(k for k in cls.__mro__ if "update_step" in vars(k))
        ok = _OWNERS[cls] = "_update_all" in vars(owner)
    if not ok or not variables:
        return False
    dtype = variables[0].dtype
    for g, v in zip(grads, variables):
        if v.dtype != dtype or getattr(g, "shape", None) != v.shape:
            return False
    return True


def slots(optimizer, slot_variables, variables):
    """The slot variables (one per variable the optimizer was built with) of ``variables``, in their order."""
    index = optimizer._trainable_variables_indices
    return [slot_variables[index[id(v)]] for v in variables]


def _may_overwrite(optimizer, value_lists):
    """In place only inside a donated step, without gradient accumulation (which keeps the old values to select
    from), and when no two variables share one tensor."""
    if not optimizer._donated or optimizer.gradient_accumulation_steps:
        return False
    n = sum(len(values) for values in value_lists)
    return len({id(x) for values in value_lists for x in values}) == n


def run(optimizer, update, variable_lists, grads, dtype):
    """Run ``update(inplace, *values, grads)`` -- list ops only, returning the new values in the order of
    ``variable_lists`` (the model variables, then slot lists) -- and bind the results to the variables."""
    values = [read_values(vs) for vs in variable_lists]
    grads = [ops.cast(g, dtype) for g in grads]
    if _may_overwrite(optimizer, values):
        new = foreach.blocked(lambda *lists: update(True, *lists), values + [grads], len(values))
    else:
        new = update(False, *values, grads)
    for vs, vals in zip(variable_lists, new):
        swap_values(vs, vals)
