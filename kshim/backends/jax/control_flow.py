"""JAX backend: control flow. Each primitive is its ``jax.lax`` counterpart when a traced value decides it (inside
``jax.jit``), and plain Python on concrete values (eager calls: a ``lax`` loop would compile its body each call)."""

import jax
from jax import lax

from kshim.backends.jax.core import _as_array
from kshim.backends.jax.rnn import _staged


def _unwrap(tree):
    """Variables in ``tree`` as their arrays (jax's control flow takes arrays only)."""
    return jax.tree_util.tree_map(lambda v: v.value if getattr(v, "_kshim_variable", False) else v, tree,
                                  is_leaf=lambda v: getattr(v, "_kshim_variable", False))


def _any_staged(tree):
    return any(_staged(leaf) for leaf in jax.tree_util.tree_leaves(tree))


def cond(pred, true_fn, false_fn):
    pred = _unwrap(pred)
    if not _staged(pred):
        return true_fn() if bool(pred) else false_fn()
    return lax.cond(pred, true_fn, false_fn)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    is_seq = isinstance(loop_vars, (tuple, list))
    state = tuple(_unwrap(loop_vars)) if is_seq else (_unwrap(loop_vars),)
    state = jax.tree_util.tree_map(_as_array, state)

    def step(s):
        out = body(*s)
        return tuple(out) if is_seq else (out,)

    if maximum_iterations is None:
        out = lax.while_loop(lambda s: cond(*s), step, state)
    else:
        out = lax.while_loop(lambda s: jax.numpy.logical_and(cond(*s[0]), s[1] < maximum_iterations),
                             lambda s: (step(s[0]), s[1] + 1), (state, 0))[0]
    return out if is_seq else out[0]


def fori_loop(lower, upper, body_fun, init_val):
    init_val = jax.tree_util.tree_map(_as_array, _unwrap(init_val))
    if not _any_staged((lower, upper, init_val)) and isinstance(lower, int) and isinstance(upper, int):
        val = init_val
        for i in range(lower, upper):
            val = body_fun(i, val)
        return val
    return lax.fori_loop(lower, upper, body_fun, init_val)


def switch(index, branches, *operands):
    index = _unwrap(index)
    operands = _unwrap(operands)
    if not _staged(index):
        return branches[min(max(int(index), 0), len(branches) - 1)](*operands)
    return lax.switch(index, branches, *operands)


def vectorized_map(function, elements):
    return jax.vmap(function)(_unwrap(elements))


def associative_scan(f, elems, reverse=False, axis=0):
    return lax.associative_scan(f, jax.tree_util.tree_map(_as_array, _unwrap(elems)), reverse=bool(reverse),
                                axis=axis)


def custom_gradient(f):
    with_grad = jax.custom_gradient(f)

    def fn(*args, **kwargs):
        return with_grad(*_unwrap(args), **_unwrap(kwargs))

    fn.__name__ = getattr(f, "__name__", "custom_gradient")
    return fn
