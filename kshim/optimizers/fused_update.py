"""How an optimizer's pure ``update`` runs over a step's values: by dtype, in one call of list ops per group.

`Optimizer.update` is written once, over lists of arrays of one dtype, with `kshim.ops.foreach` (torch:
``torch._foreach_*``; each element is bit for bit what the single-tensor op gives). `run` hands it the variables
of each dtype together (the scalars of the formula depend on the dtype), a gradient cast to its variable's dtype
and broadcast to its shape, and the slots of those variables.

Inside a compiled train step the step's inputs are donated (`Optimizer._stateless_apply_donated`), so an optimizer
with ``inplace_update`` may write the new values into the old ones (in place on torch, as ``torch.optim`` does;
jax reuses donated buffers itself), piece by piece so each piece stays in cache (`kshim.ops.foreach.blocked`).
Everywhere else (``apply``, ``stateless_apply``) it makes new values and leaves its inputs alone.
"""

from kshim import ops
from kshim.ops import foreach

_OWN_UPDATE_STEP = {}  # optimizer class -> whether its math is a Keras-style update_step of its own


def has_own_update_step(optimizer):
    """Whether the class that defines the math in effect wrote it as Keras's per-variable ``update_step``."""
    cls = type(optimizer)
    own = _OWN_UPDATE_STEP.get(cls)
    if own is None:
        owner = next(k for k in cls.__mro__ if "update" in vars(k) or "update_step" in vars(k))
        own = _OWN_UPDATE_STEP[cls] = "update_step" in vars(owner) and owner.__name__ != "Optimizer"
    return own


def groups(optimizer, indices):
    """``indices`` (positions in the optimizer's variables) grouped by dtype, in order of first appearance."""
    out = {}
    for j, i in enumerate(indices):
        out.setdefault(optimizer._trainable_variables[i].dtype, []).append((j, i))
    return list(out.values())


def _may_overwrite(optimizer, donated, value_lists):
    """In place only inside a donated step, for an update that supports it, and when no two values share one
    tensor (gradient accumulation, which keeps the old values to select from, never donates)."""
    if not donated or not optimizer.inplace_update:
        return False
    n = sum(len(values) for values in value_lists)
    return len({id(x) for values in value_lists for x in values}) == n


def run(optimizer, state, grads, params, indices, learning_rate, step, donated):
    """Run ``optimizer.update`` for ``params[i] for i in indices`` (``grads`` aligned with ``indices``); the new
    values go into ``params`` and ``state`` (optimizer variable id -> value)."""
    slots, scalars = optimizer._slots, optimizer._scalar_slots
    names = list(slots)
    scalar_values = {name: state[id(v)] for name, v in scalars.items()}  # each group starts from the same ones
    new_scalars = {}
    for members in groups(optimizer, indices):
        idx = [i for _, i in members]
        variables = [optimizer._trainable_variables[i] for i in idx]
        dtype = variables[0].dtype
        g = []
        for (j, _), variable in zip(members, variables):
            grad = ops.cast(grads[j], dtype)
            if tuple(ops.shape(grad)) != tuple(variable.shape):
                grad = ops.broadcast_to(grad, variable.shape)
            g.append(grad)
        p = [params[i] for i in idx]
        lists = [[state[id(slots[name][i])] for i in idx] for name in names]

        def update(inplace, p, *rest):
            new_p, new_state = optimizer.update(rest[-1], p, {**dict(zip(names, rest[:-1])), **scalar_values},
                                                learning_rate, step, inplace=inplace)
            new_scalars.update((name, new_state[name]) for name in scalars)
            return [new_p] + [new_state[name] for name in names]

        if _may_overwrite(optimizer, donated, [p] + lists):
            new = foreach.blocked(lambda *ls: update(True, *ls), [p] + lists + [g], 1 + len(names))
        else:
            new = update(False, p, *lists, g)
        for i, value in zip(idx, new[0]):
            params[i] = value
        for name, values in zip(names, new[1:]):
            for i, value in zip(idx, values):
                state[id(slots[name][i])] = value
    for name, value in new_scalars.items():
        state[id(scalars[name])] = value
