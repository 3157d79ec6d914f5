"""The contract's control-flow family: branches, loops, maps and custom gradients (Keras 3's ``keras.ops`` core
control flow). Implemented by ``kshim/backends/<backend>/control_flow.py``; bound by `kshim.ops.control_flow`.

Functions passed in (``true_fn``, ``body``, ...) are written in ``kshim.ops`` and take and return tensors or
nested tuples/lists/dicts of them. jax maps each primitive to ``jax.lax`` (traced once, so it works under
``jax.jit``) and runs a plain Python loop or branch on concrete values; torch runs Python control flow, which the
record-and-replay step leaves eager when a branch or a loop bound reads a tensor on the host."""


def cond(pred, true_fn, false_fn):
    """``true_fn()`` if the scalar ``pred`` is true, else ``false_fn()``. Both branches return the same structure,
    shapes and dtypes (jax: ``lax.cond`` when ``pred`` is traced)."""


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Keras 3's ``while_loop``: ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (and fewer than
    ``maximum_iterations`` steps ran). A tuple or list ``loop_vars`` is unpacked into ``cond``/``body`` and the
    result is a tuple; a single value is passed as it is and returned alone. jax: ``lax.while_loop`` (forward
    only under differentiation, as in Keras 3)."""


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``, from ``init_val``. jax: ``lax.fori_loop``
    (a differentiable scan when the bounds are Python ints)."""


def switch(index, branches, *operands):
    """``branches[index](*operands)``, ``index`` clamped to ``[0, len(branches) - 1]`` (jax: ``lax.switch``)."""


def vectorized_map(function, elements):
    """``function`` mapped over the leading axis of ``elements`` (a tensor or a nest of them), results stacked
    (jax: ``jax.vmap``; torch: ``torch.vmap``)."""


def associative_scan(f, elems, reverse=False, axis=0):
    """The inclusive scan of the associative binary ``f`` over ``axis`` of ``elems`` (a tensor or a nest of
    tensors of equal length along ``axis``), as ``jax.lax.associative_scan``: ``out[i] = f(out[i-1], elems[i])``.
    With ``reverse`` the scan runs from the end."""


def custom_gradient(f):
    """Decorator: ``f(*args)`` returns ``(y, grad_fn)`` where ``grad_fn(*upstream, **kwargs)`` (``upstream`` one
    tensor per output of ``y``; Keras 3 passes it as the keyword ``upstream`` too) returns the gradient for each
    positional tensor argument of ``f``. The decorated function returns ``y``, and both backends' autodiff
    (``value_and_grad``) use ``grad_fn``."""
