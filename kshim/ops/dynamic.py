"""Ops whose output shape depends on the values of their input (Keras 3's ``nonzero`` and ``unique``), and
``vectorize`` (numpy's, over the backend's ``vectorized_map``), under Keras 3's ``keras.ops.numpy``.

``nonzero`` and ``unique`` run eagerly; under a compiled step (jax.jit) only ``unique`` with a fixed ``size`` works.
On symbolic tensors (the Functional API) their output length cannot be known, so only ``unique(..., size=n)``
makes a graph node; the others raise an error that says so."""

import re

import numpy as np

from kshim.backends import B
from kshim.ops import symbolic as _symbolic


def _refuse_symbolic(op, x, hint):
    if _symbolic.LIVE[0] and _symbolic.has_symbolic((x,), None):
        raise ValueError(f"{op}: the length of its output depends on the values of `x`, which a symbolic tensor "
                         f"does not have{hint}. Received: a symbolic x of shape {tuple(x.shape)} (call it eagerly, "
                         "or inside a layer's call)")


def _nonzero(x):
    x = B.convert_to_tensor(x)
    if len(B.shape(x)) == 0:
        raise ValueError("nonzero: `x` must have at least one axis (numpy's rule). Received: x.shape=()")
    return B.nonzero(x)


def nonzero(x):
    """The indices of the non-zero elements of ``x``: a tuple of ``x.ndim`` int32 tensors, one per axis."""
    _refuse_symbolic("nonzero", x, "")
    return _nonzero(x)


def _unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None, size=None,
            fill_value=None):
    x = B.convert_to_tensor(x)
    ndim = len(B.shape(x))
    if axis is not None and (not isinstance(axis, int) or not -ndim <= axis < ndim):
        raise ValueError(f"unique: `axis` must be None or an int in [-{ndim}, {ndim}). Received: axis={axis!r}")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise ValueError(f"unique: `size` must be None or a non-negative int. Received: size={size!r}")
    return B.unique(x, sorted=sorted, return_index=return_index, return_inverse=return_inverse,
                    return_counts=return_counts, axis=axis, size=size, fill_value=fill_value)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None, size=None,
           fill_value=None):
    """numpy's unique, with Keras 3's arguments: the sorted unique values of ``x`` (flattened, or the unique
    slices along ``axis``), then as asked the int32 first-occurrence indices, inverse and counts (a tuple when more
    than the values). ``size`` fixes the output length (cut, or padded: values with ``fill_value``, default 0;
    counts and first indices with 0), the only way it works under jit or on a symbolic tensor."""
    if size is None:
        _refuse_symbolic("unique", x, "; pass `size` for a fixed output length")
    return _unique_op(x, sorted=sorted, return_index=return_index, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, size=size, fill_value=fill_value)


_unique_op = _symbolic.twin(_unique, "unique", "keras.src.ops.numpy")

# ----------------------------------------------------------------------------------------------------------------
# vectorize

_DIMS = r"\((?:\w+(?:,\s*\w+)*)?\)"
_SIGNATURE = re.compile(rf"^\s*{_DIMS}(?:\s*,\s*{_DIMS})*\s*->\s*{_DIMS}(?:\s*,\s*{_DIMS})*\s*$")


def _parse_signature(signature):
    """``"(m,n),(n)->(m)"`` as ([("m", "n"), ("n",)], [("m",)])."""
    if not isinstance(signature, str) or not _SIGNATURE.match(signature):
        raise ValueError("vectorize: `signature` must be a generalized ufunc signature such as '(m,n),(n)->(m)'. "
                         f"Received: signature={signature!r}")
    ins, outs = signature.split("->")
    parse = lambda side: [tuple(d.strip() for d in g.split(",") if d.strip())  # noqa: E731
                          for g in re.findall(r"\(([^)]*)\)", side)]
    return parse(ins), parse(outs)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """numpy's vectorize: a function that applies ``pyfunc`` to every element (or, with ``signature``, every core
    sub-array) of its broadcast positional arguments, and stacks the results. ``excluded``: positions (ints) or
    keywords (strs) passed to ``pyfunc`` unchanged; other keyword arguments are passed unchanged too."""
    if not callable(pyfunc):
        raise ValueError(f"vectorize: `pyfunc` must be callable. Received: pyfunc={pyfunc!r}")
    excluded = frozenset(excluded or ())
    if any(not isinstance(e, (int, str)) for e in excluded):
        raise ValueError("vectorize: `excluded` must hold argument positions (ints) or names (strs). Received: "
                         f"excluded={sorted(excluded, key=repr)!r}")
    in_dims, out_dims = _parse_signature(signature) if signature is not None else (None, None)

    def vectorized(*args, **kwargs):
        positions = [i for i in range(len(args)) if i not in excluded]
        tensors = [B.convert_to_tensor(args[i]) for i in positions]
        core = in_dims if in_dims is not None else [()] * len(tensors)
        if len(core) != len(tensors):
            raise ValueError(f"vectorize: the signature {signature!r} takes {len(core)} arrays. Received: "
                             f"{len(tensors)} (positions {positions}; excluded={sorted(excluded, key=repr)})")
        sizes, loops = {}, []
        for t, dims in zip(tensors, core):
            shape = tuple(B.shape(t))
            if len(shape) < len(dims):
                raise ValueError(f"vectorize: an argument needs at least {len(dims)} axes for its core dimensions "
                                 f"{dims} (signature {signature!r}). Received: shape={shape}")
            for name, n in zip(dims, shape[len(shape) - len(dims):]):
                if sizes.setdefault(name, n) != n:
                    raise ValueError(f"vectorize: core dimension {name!r} has inconsistent sizes "
                                     f"{sizes[name]} and {n}. Received: shape={shape}")
            loops.append(shape[:len(shape) - len(dims)])
        loop = tuple(np.broadcast_shapes(*loops)) if loops else ()

        def call(*vectorized_args):
            full = list(args)
            for i, v in zip(positions, vectorized_args):
                full[i] = v
            return pyfunc(*full, **kwargs)

        if loop == ():
            return _check_outputs(call(*tensors), out_dims, signature, 0)
        count = int(np.prod(loop))
        cores = [tuple(B.shape(t))[len(lp):] for t, lp in zip(tensors, loops)]
        if count:
            flat = tuple(B.reshape(B.broadcast_to(t, loop + c), (count,) + c) for t, c in zip(tensors, cores))
        else:  # no element: map one zero element for the output shapes, then keep none of it
            flat = tuple(B.zeros((1,) + c, B.dtype(t)) for t, c in zip(tensors, cores))
        out = B.vectorized_map(lambda xs: call(*xs), flat)
        unflat = (lambda o: B.reshape(o if count else B.slice_along_axis(o, 0, 0, 0), loop + tuple(B.shape(o))[1:]))
        out = tuple(unflat(o) for o in out) if isinstance(out, (tuple, list)) else unflat(out)
        return _check_outputs(out, out_dims, signature, len(loop))

    vectorized.__name__ = getattr(pyfunc, "__name__", "vectorized")
    vectorized.__doc__ = getattr(pyfunc, "__doc__", None)
    return vectorized


def _check_outputs(out, out_dims, signature, loop_rank):
    """``out`` as ``pyfunc`` returned it, after checking it against the signature's outputs (their number and
    ranks)."""
    if out_dims is None:
        return out
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if len(outs) != len(out_dims) or (len(out_dims) == 1 and isinstance(out, (tuple, list))):
        raise ValueError(f"vectorize: the signature {signature!r} gives {len(out_dims)} outputs. Received: "
                         f"{len(outs) if isinstance(out, (tuple, list)) else 1} from `pyfunc`")
    for o, dims in zip(outs, out_dims):
        if len(B.shape(o)) - loop_rank != len(dims):
            raise ValueError(f"vectorize: an output of `pyfunc` must have {len(dims)} core axes {dims} (signature "
                             f"{signature!r}). Received: shape={tuple(B.shape(o))[loop_rank:]}")
    return out


__all__ = ["nonzero", "unique", "vectorize"]
