"""Host batches on their way into a step: moving them to the backend, grouping them for ``steps_per_execution``,
and stacking a group on a leading step axis."""

import numpy as np

from kshim import config, ops
from kshim.distribution import hooks as distribution_hooks

_DIST = distribution_hooks.ACTIVE


def _batch_size(x):
    """The batch size of a (nested) batch: the first axis of its first array."""
    while isinstance(x, (list, tuple)):
        x = x[0]
    if isinstance(x, dict):
        x = next(iter(x.values()))
    return ops.shape(x)[0]


def _to_backend(x):
    """Move one batch element to the backend; float64 becomes floatx, as in Keras. Under a distribution
    (`kshim.distribution`) the batch is split across the replicas instead."""
    if _DIST.engine is not None:
        return distribution_hooks.put_batch(x)
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [_to_backend(v) for v in x]
    if isinstance(x, dict):
        return {k: _to_backend(v) for k, v in x.items()}
    if ops.is_tensor(x):
        return ops.cast(x, config.floatx()) if ops.dtype(x) == "float64" else x
    x = np.asarray(x)
    if x.dtype == np.float64:
        return ops.convert_to_tensor(x, config.floatx())
    return ops.convert_to_tensor(x)


def _execution_groups(batches, n):
    """``(first step, last step, [batch, ...])`` for each run of up to ``n`` consecutive batches: what one
    execution of ``steps_per_execution=n`` trains on (callbacks' batch hooks run once per execution)."""
    group, first = [], 0
    for step, batch in enumerate(batches):
        group.append(batch)
        if len(group) == n:
            yield first, step, group
            group, first = [], step + 1
    if group:
        yield first, first + len(group) - 1, group


def _run_group(step, multi_step, group, *state):
    """Run one execution: ``multi_step`` once over the group's batches stacked on a leading step axis when they
    stack (same shapes and dtypes, no distribution), else ``step`` batch by batch. Both give the same numbers;
    a last partial group or a last short batch takes the batch-by-batch path, and so does every group while the
    label guard (`kshim.config.enable_label_checks`) is on: it checks after every step."""
    if (len(group) > 1 and _DIST.engine is None and not config.label_checks_enabled()
            and len({_signature(b) for b in group}) == 1):
        xs, ys, sws = (_stack([b[i] for b in group]) for i in range(3))
        return multi_step(*state, _to_backend(xs), _to_backend(ys), _to_backend(sws))
    for xb, yb, swb in group:
        state = step(*state, _to_backend(xb), _to_backend(yb), _to_backend(swb))
    return state


def _signature(tree):
    """The nested shapes and dtypes of a batch (batches stack when theirs are equal)."""
    if tree is None:
        return None
    if isinstance(tree, (list, tuple)):
        return tuple(_signature(t) for t in tree)
    if isinstance(tree, dict):
        return tuple((k, _signature(v)) for k, v in tree.items())
    if ops.is_tensor(tree):
        return tuple(ops.shape(tree)), ops.dtype(tree)
    tree = np.asarray(tree)
    return tree.shape, tree.dtype.str


def _stack(leaves):
    """One batch element from the same element of several batches, stacked on a new leading axis."""
    first = leaves[0]
    if first is None:
        return None
    if isinstance(first, (list, tuple)):
        return type(first)(_stack([leaf[i] for leaf in leaves]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([leaf[k] for leaf in leaves]) for k in first}
    if ops.is_tensor(first):
        return ops.stack(leaves)
    return np.stack([np.asarray(leaf) for leaf in leaves])
