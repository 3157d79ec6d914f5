"""PyTorch backend: control flow, as Python branches and loops over tensors. A branch or loop bound that depends on
a tensor reads it on the host, which keeps a recorded step eager for that signature (see `replay`)."""

import torch
from torch.utils import _pytree as pytree

from kshim.backends.torch.core import _as_tensor


def _unwrap(tree):
    return pytree.tree_map(lambda v: v.value if getattr(type(v), "_kshim_variable", False) else v, tree)


def _tensor_leaves(tree):
    return pytree.tree_map(lambda v: v if v is None else _as_tensor(v), tree)


def cond(pred, true_fn, false_fn):
    pred = _unwrap(pred)
    if isinstance(pred, torch.Tensor) and pred.device.type == "meta":
        return true_fn()  # abstract evaluation: both branches have the same shapes, so either one describes them
    return true_fn() if bool(pred) else false_fn()


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    is_seq = isinstance(loop_vars, (tuple, list))
    state = _tensor_leaves(tuple(_unwrap(loop_vars)) if is_seq else (_unwrap(loop_vars),))
    done = 0
    while (maximum_iterations is None or done < maximum_iterations) and bool(cond(*state)):
        out = body(*state)
        state = tuple(out) if is_seq else (out,)
        done += 1
    return state if is_seq else state[0]


def fori_loop(lower, upper, body_fun, init_val):
    val = _tensor_leaves(_unwrap(init_val))
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def switch(index, branches, *operands):
    index = int(_unwrap(index))
    return branches[min(max(index, 0), len(branches) - 1)](*_unwrap(operands))


def vectorized_map(function, elements):
    return torch.vmap(function)(_tensor_leaves(_unwrap(elements)))


def associative_scan(f, elems, reverse=False, axis=0):
    leaves, spec = pytree.tree_flatten(_tensor_leaves(_unwrap(elems)))
    n = leaves[0].shape[axis]
    if any(t.shape[axis] != n for t in leaves):
        raise ValueError("associative_scan: every array of `elems` must have the same length along `axis`. "
                         f"Received: shapes={[tuple(t.shape) for t in leaves]}, axis={axis}")
    order = range(n - 1, -1, -1) if reverse else range(n)
    outs, acc = [None] * n, None
    for i in order:
        x = [t.narrow(axis, i, 1) for t in leaves]
        acc = x if acc is None else pytree.tree_leaves(f(pytree.tree_unflatten(acc, spec),
                                                         pytree.tree_unflatten(x, spec)))
        outs[i] = acc
    return pytree.tree_unflatten([torch.cat([o[j] for o in outs], dim=axis) for j in range(len(leaves))], spec)


def custom_gradient(f):
    class _Custom(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            y, grad_fn = f(*args)
            ctx.grad_fn = grad_fn
            ctx.tensor_args = [isinstance(a, torch.Tensor) for a in args]
            return y

        @staticmethod
        def backward(ctx, *upstream):
            grads = ctx.grad_fn(*upstream)
            grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
            full, it = [], iter(grads)
            for is_tensor in ctx.tensor_args:
                full.append(next(it, None) if is_tensor else None)
            return tuple(full)

    def fn(*args):
        args = [_as_tensor(a) if hasattr(a, "__array__") and not isinstance(a, torch.Tensor) else a
                for a in _unwrap(args)]
        return _Custom.apply(*args)

    fn.__name__ = getattr(f, "__name__", "custom_gradient")
    return fn
