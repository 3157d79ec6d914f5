"""What the trainer calls: the active engine, and the few places training touches it.

``ACTIVE.engine`` is None without a distribution, and every hook below is then skipped by a single attribute
check (``_to_backend`` in the trainer, the ``sync``/``gather`` checks in the step): one-device training pays
nothing else.
"""

import warnings

import numpy as np

from kshim import config, ops
from kshim.losses import Loss
from kshim.variables import read_values, swap_values


class _Active:
    engine = None  # the current distribution's backend engine, or None
    sync = None  # the engine's in-step all-reduce (torch), or None
    gather = None  # the engine's gather of predict outputs, or None


ACTIVE = _Active()


def activate(engine):
    ACTIVE.engine = engine
    ACTIVE.sync = getattr(engine, "sync", None)
    ACTIVE.gather = getattr(engine, "gather", None)


def put_batch(x):
    """One batch element (array, tensor, or a list/dict of them) placed for the data-parallel step."""
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [put_batch(v) for v in x]
    if isinstance(x, dict):
        return {k: put_batch(v) for k, v in x.items()}
    if ops.is_tensor(x):
        if ops.dtype(x) == "float64":
            x = ops.cast(x, config.floatx())
    else:
        x = np.asarray(x)
        if x.dtype == np.float64:
            x = x.astype(config.floatx())
    return ACTIVE.engine.put_batch(x)


def _losses(compile_loss):
    """The `Loss` objects held (directly or in lists/dicts) by a compiled loss."""
    found, todo = [], list(vars(compile_loss).values())
    while todo:
        item = todo.pop()
        if isinstance(item, Loss):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
        elif isinstance(item, dict):
            todo.extend(item.values())
    return found


def _check_loss_reductions(model):
    for loss in _losses(model._compile_loss):
        reduction = getattr(loss, "reduction", None)
        if reduction == "sum":
            raise ValueError(
                f"fit: under a torch DataParallel distribution each process computes the loss of its own shard and "
                f"the shard gradients are averaged, which is the global-batch gradient for mean reductions only. The "
                f"loss '{loss.name}' has reduction='sum'. Use reduction='sum_over_batch_size' (the default), or the "
                f"JAX backend, whose sharded step is exact for every reduction. Received: reduction='sum'")
        if reduction == "mean_with_sample_weight":
            warnings.warn(f"fit: the loss '{loss.name}' divides by the sum of the sample weights of each process's "
                          "shard, so with unequal weights per shard the update differs slightly from one device's.",
                          stacklevel=3)


def prepare_fit(model):
    """Once per ``fit``, after the model and optimizer are built: check the loss and make the model's values
    identical on every replica (jax: replicated on the mesh; torch: process 0's values)."""
    engine = ACTIVE.engine
    if engine is None:
        return
    if engine.splits_loss and engine.num_replicas > 1 and model._compile_loss is not None:
        _check_loss_reductions(model)
    variables = list(model.trainable_variables) + list(model.non_trainable_variables)
    if model.optimizer is not None:
        variables += list(model.optimizer.variables)
    swap_values(variables, engine.put_variables(read_values(variables)))
