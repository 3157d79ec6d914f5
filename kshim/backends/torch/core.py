"""PyTorch backend: creation, conversion, dtypes, differentiation, compilation and execution.

Also holds the small helpers the other op families share: `_as_tensor` (anything to a tensor, the hot
path), `_torch_dtype` (kshim dtype string to ``torch.dtype``) and `_bin` (two operands, Python scalars kept weak).
"""

import builtins
import contextlib
import functools

import numpy as np
import torch

from kshim.backends import abstract_eval as _ae
from kshim.backends.torch.replay import Replayed

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "uint16": getattr(torch, "uint16", None),  # torch >= 2.3
    "uint32": getattr(torch, "uint32", None),
    "bool": torch.bool,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
    "float8_e4m3fn": getattr(torch, "float8_e4m3fn", None),  # float8 training's quantize-dequantize (casts only)
    "float8_e5m2": getattr(torch, "float8_e5m2", None),
}
_DTYPES = {k: v for k, v in _DTYPES.items() if v is not None}
_NAMES = {v: k for k, v in _DTYPES.items()}
_PYSCALAR = (int, float, bool)
# Python (not numpy) values are converted with JAX's/Keras's defaults: ints -> int32, floats -> float32,
# complex -> complex64.
_PY_DEFAULT = {np.dtype("float64"): torch.float32, np.dtype("int64"): torch.int32,
               np.dtype("complex128"): torch.complex64}
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def _torch_dtype(dtype):
    """``torch.dtype`` for a kshim dtype string (a ``torch.dtype`` or numpy dtype is accepted too)."""
    d = _DTYPES.get(dtype)
    if d is not None:
        return d
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return _DTYPES[np.dtype(dtype).name]
    except (TypeError, KeyError):
        raise ValueError(f"dtype: must be one of {list(_DTYPES)}. Received: dtype={dtype!r}") from None


def _from_host(x):
    """A tensor on DEVICE from numpy arrays, numpy scalars, Python scalars and nested lists."""
    if isinstance(x, np.ndarray):
        arr, default = x, None
    elif isinstance(x, (list, tuple)) and x and isinstance(x[0], torch.Tensor):
        return torch.stack([_as_tensor(v) for v in x])
    else:
        arr = np.asarray(x)
        default = None if isinstance(x, np.generic) else _PY_DEFAULT.get(arr.dtype)
        if default is torch.int32 and arr.size and (arr.min() < _INT32_MIN or arr.max() > _INT32_MAX):
            default = None  # Python ints too large for int32 stay int64
    if arr.dtype == object:
        raise ValueError(f"convert_to_tensor: cannot convert an object array. Received: {type(x).__name__}")
    if not arr.flags.writeable or any(s < 0 for s in arr.strides):
        arr = np.array(arr)  # torch cannot wrap read-only or negatively strided memory
    t = torch.from_numpy(arr)
    if default is not None:
        return t.to(default).to(DEVICE)
    if DEVICE.type != "cpu":
        return t.to(DEVICE)
    # Copy into torch's allocator: the tensor must not alias the caller's array (a later write to the array would
    # change it), and numpy's 16-byte alignment slows torch's CPU GEMM kernels about 2x against 64-byte alignment.
    return t.clone()


def _as_tensor(x):
    """``x`` as a torch tensor on DEVICE. Tensors pass through untouched (the hot path)."""
    if type(x) is torch.Tensor:
        return x
    if getattr(type(x), "_kshim_variable", False):
        return _as_tensor(x.value)
    if isinstance(x, torch.Tensor):
        return x
    return _from_host(x)


def _bin(a, b):
    """Two operands for a binary torch operator: Python scalars stay scalars (weak), except when both are."""
    ta, tb = type(a), type(b)
    if ta is torch.Tensor and (tb is torch.Tensor or tb in _PYSCALAR):
        return a, b
    if tb is torch.Tensor and ta in _PYSCALAR:
        return a, b
    if ta not in _PYSCALAR:
        a = _as_tensor(a)
        if tb not in _PYSCALAR:
            b = _as_tensor(b)
        return a, b
    if tb in _PYSCALAR:
        return _as_tensor(a), _as_tensor(b)
    return a, _as_tensor(b)


def _scalar_as(s, other):
    """Python scalar ``s`` as a 0-d tensor with ``other``'s dtype (float32/int32 if that would lose its kind)."""
    d = other.dtype
    if type(s) is float and not d.is_floating_point:
        d = torch.float32
    elif type(s) is int and d == torch.bool:
        d = torch.int32
    return torch.full((), s, dtype=d, device=other.device)


def _tensors(a, b):
    """Two tensors for ops that need tensors on both sides; a Python scalar takes the other operand's dtype."""
    a, b = _bin(a, b)
    if type(a) in _PYSCALAR:
        a = _scalar_as(a, b)
    elif type(b) in _PYSCALAR:
        b = _scalar_as(b, a)
    return a, b


def _promote(*xs):
    """Tensors cast to their common dtype (for ops such as matmul that require equal dtypes)."""
    xs = [_as_tensor(x) for x in xs]
    d = xs[0].dtype
    for x in xs[1:]:
        if x.dtype != d:
            d = torch.promote_types(d, x.dtype)
    return [x if x.dtype == d else x.to(d) for x in xs]


def _linalg(*xs):
    """Operands of matmul-like ops at a common dtype, and the dtype to cast back to (CUDA lacks int kernels)."""
    xs = _promote(*xs)
    d = xs[0].dtype
    if d.is_floating_point or xs[0].device.type == "cpu":
        return xs, None
    return [x.to(torch.float64) for x in xs], d


def _dim(d):
    """A size as an int, except a symbolic one (a SymInt under torch.export), which stays symbolic so that an
    exported graph keeps its dynamic batch dimension."""
    return d if type(d) is int or isinstance(d, torch.SymInt) else int(d)


def _shape(shape):
    return (shape,) if isinstance(shape, (int, torch.SymInt)) else tuple(_dim(s) for s in shape)


# ----------------------------------------------------------------------------------------------------------------
# Creation, conversion, dtypes, devices


def convert_to_tensor(x, dtype=None):
    x = _as_tensor(x)
    if dtype is None:
        return x
    d = _torch_dtype(dtype)
    return x if x.dtype == d else x.to(d)


def convert_to_numpy(x):
    if isinstance(x, np.ndarray):
        return x
    x = _as_tensor(x)
    if x.requires_grad:
        x = x.detach()
    if x.dtype == torch.bfloat16:
        x = x.to(torch.float32)
    return x.cpu().numpy()


def is_tensor(x):
    return isinstance(x, torch.Tensor)


def dtype(x):
    return _NAMES[_as_tensor(x).dtype]


def standardize_dtype(dtype):
    return _NAMES[_torch_dtype(dtype)]


def cast(x, dtype):
    x = _as_tensor(x)
    d = _torch_dtype(dtype)
    return x if x.dtype == d else x.to(d)


def shape(x):
    if getattr(type(x), "_kshim_variable", False):
        x = x.value
    s = getattr(x, "shape", None)
    return tuple(_dim(d) for d in s) if s is not None else np.shape(x)


def zeros(shape, dtype="float32"):
    return torch.zeros(_shape(shape), dtype=_torch_dtype(dtype), device=DEVICE)


def ones(shape, dtype="float32"):
    return torch.ones(_shape(shape), dtype=_torch_dtype(dtype), device=DEVICE)


def _fill_dtype(fill_value, dtype):
    if dtype is not None:
        return _torch_dtype(dtype)
    tv = type(fill_value)
    if tv is bool:
        return torch.bool
    if tv is int:
        return torch.int32
    if tv is float:
        return torch.float32
    return _as_tensor(fill_value).dtype


def full(shape, fill_value, dtype=None):
    d = _fill_dtype(fill_value, dtype)
    if type(fill_value) in _PYSCALAR:
        return torch.full(_shape(shape), fill_value, dtype=d, device=DEVICE)
    return torch.broadcast_to(_as_tensor(fill_value).to(d), _shape(shape)).clone()


def zeros_like(x, dtype=None):
    return torch.zeros_like(_as_tensor(x), dtype=None if dtype is None else _torch_dtype(dtype))


def ones_like(x, dtype=None):
    return torch.ones_like(_as_tensor(x), dtype=None if dtype is None else _torch_dtype(dtype))


def full_like(x, fill_value, dtype=None):
    x = _as_tensor(x)
    d = x.dtype if dtype is None else _torch_dtype(dtype)
    if type(fill_value) in _PYSCALAR:
        return torch.full_like(x, fill_value, dtype=d)
    return torch.broadcast_to(_as_tensor(fill_value).to(d), x.shape).clone()


def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        vals = [v.item() if isinstance(v, (torch.Tensor, np.ndarray, np.generic)) else v for v in (start, stop, step)]
        d = torch.float32 if any(isinstance(v, float) for v in vals) else torch.int32
    else:
        d = _torch_dtype(dtype)
    return torch.arange(start, stop, step, dtype=d, device=DEVICE)


def eye(N, M=None, k=0, dtype="float32"):
    M = N if M is None else M
    rows = torch.arange(N, device=DEVICE)[:, None]
    cols = torch.arange(M, device=DEVICE)[None, :]
    return (rows + k == cols).to(_torch_dtype(dtype))


def copy(x):
    return _as_tensor(x).clone()


# ----------------------------------------------------------------------------------------------------------------
# Differentiation, compilation and execution


def _detach(x):
    if isinstance(x, torch.Tensor):
        return x.detach()
    if isinstance(x, (list, tuple)):
        return type(x)(_detach(v) for v in x)
    if isinstance(x, dict):
        return {k: _detach(v) for k, v in x.items()}
    return x


@contextlib.contextmanager
def _deterministic_backward():
    """Deterministic kernels for a backward pass on CPU (and, under ``torch.compile``, for the whole step: see
    `_compiled`). Gradients of indexing (an Embedding's) add duplicate
    indices from several threads in no fixed order, so the same step gave different bits from run to run; the
    deterministic kernels add them in index order: the numbers they gave whenever one thread did the work. (Not
    on CUDA, where it would ask cuBLAS for a fixed workspace through an environment variable.)"""
    if DEVICE.type != "cpu" or torch._C._get_deterministic_algorithms():
        yield
        return
    warn_only = torch._C._get_deterministic_algorithms_warn_only()
    # The C switch: torch.use_deterministic_algorithms costs about 60 microseconds a call in Python checks.
    torch._C._set_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch._C._set_deterministic_algorithms(False, warn_only=warn_only)


def value_and_grad(fn, has_aux=False):
    def wrapped(params, *args):
        with torch.enable_grad():
            ps = [_as_tensor(p).detach().requires_grad_(True) for p in params]
            out = fn(ps, *args)
            loss, aux = out if has_aux else (out, None)
            if loss.requires_grad:
                with _deterministic_backward():
                    grads = torch.autograd.grad(loss, ps, allow_unused=True)
                grads = [torch.zeros_like(p) if g is None else g for p, g in zip(ps, grads)]
            else:
                grads = [torch.zeros_like(p) for p in ps]
        loss = loss.detach()
        if has_aux:
            return (loss, _detach(aux)), grads
        return loss, grads

    return wrapped


def stop_gradient(x):
    return _as_tensor(x).detach()


def _compiled(fn, jit_compile):
    """``fn`` as a step runs it: through ``torch.compile`` (True), recorded and replayed (None: the default, see
    `kshim.backends.torch.replay`), or eagerly (False: ``run_eagerly``)."""
    if jit_compile is True:
        compiled = torch.compile(fn)

        def run(*args, **kwargs):
            # torch.compile generates the backward together with the forward and refuses to run it under another
            # deterministic flag than the one it was generated under; the switch covers the whole step here, so
            # the forward and backward graphs both see it on (the inner switch in `value_and_grad` is then a no-op)
            with _deterministic_backward():
                return compiled(*args, **kwargs)

        return run
    if jit_compile is None:
        return Replayed(fn, _as_tensor)
    return fn


def compile_step(fn, donate_argnums=(), jit_compile=None):
    inner = _compiled(fn, jit_compile)

    @functools.wraps(fn)
    def step(*args, **kwargs):
        with torch.no_grad():
            return inner(*args, **kwargs)

    step.replayed = inner if isinstance(inner, Replayed) else None  # for tests and for reading the replays

    return step


# While a compiled stateful step runs, eager calls do not bind the variables to their persistent nn.Parameters
# (see `kshim.backends.torch.layer`): the parameters would be constants of the record, their storage rebound
# outside it. The step's values are fresh leaves (`trainable_leaf`), so ``v.value.grad`` is the gradient all
# the same. A step that asks for the parameters themselves (``self.parameters()``, ``zero_grad`` aside) is
# stopped there, before anything is bound, by `StatefulStepNeedsParameters`: the step returns None, says why in
# ``fallback``, and the caller runs it eagerly, then and from then on. So is a step whose first ``backward()``
# comes before any ``zero_grad()``: eagerly, its gradients would add to those the parameters kept from the step
# before. (What the stopped call did before that point, it does again eagerly: Python side effects happen twice,
# once.) After a compiled step, the parameters' ``.grad`` is not this step's gradient, as it is after an eager one.
STATEFUL_STEP = {"unbound": False, "zeroed": False}
_BACKWARD = torch.Tensor.backward


def _guarded_backward(self, *args, **kwargs):
    if STATEFUL_STEP["unbound"] and not STATEFUL_STEP["zeroed"]:
        raise StatefulStepNeedsParameters("the step calls backward() before zero_grad(): eagerly, its gradients "
                                          "would add to those of the step before")
    return _BACKWARD(self, *args, **kwargs)


class StatefulStepNeedsParameters(Exception):
    pass


def compile_stateful_step(fn, jit_compile=None):
    inner = Replayed(fn, _as_tensor) if jit_compile is None else fn  # torch.compile of loss.backward(): not here

    @functools.wraps(fn)
    def step(*args):
        if step.fallback is not None:
            return None
        STATEFUL_STEP["unbound"], STATEFUL_STEP["zeroed"] = True, False
        torch.Tensor.backward = _guarded_backward
        try:
            with torch.enable_grad():
                return inner(*args)
        except StatefulStepNeedsParameters as e:
            step.fallback = str(e)
            return None
        finally:
            STATEFUL_STEP["unbound"] = False
            torch.Tensor.backward = _BACKWARD

    step.fallback = None  # why the step runs eagerly from now on
    step.replayed = inner if isinstance(inner, Replayed) else None
    return step


def _step_slice(tree, i):
    """Slice ``i`` (a view) of every tensor in a nested batch structure."""
    if isinstance(tree, torch.Tensor):
        return tree[i]
    if isinstance(tree, (list, tuple)):
        return type(tree)(_step_slice(t, i) for t in tree)
    if isinstance(tree, dict):
        return {k: _step_slice(v, i) for k, v in tree.items()}
    return tree


def _leading(tree):
    if isinstance(tree, torch.Tensor):
        return tree.shape[0]
    children = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, (list, tuple)) else ()
    for child in children:
        n = _leading(child)
        if n is not None:
            return n
    return None


def compile_multi_step(fn, num_fixed, num_state, donate_argnums=(), jit_compile=None):
    inner = _compiled(fn, jit_compile)
    split = num_fixed + num_state

    def multi(*args):
        fixed, state, batches = args[:num_fixed], tuple(args[num_fixed:split]), args[split:]
        with torch.no_grad():
            for i in range(_leading(batches)):
                state = tuple(inner(*fixed, *state, *_step_slice(batches, i)))
        return state

    multi.replayed = inner if isinstance(inner, Replayed) else None
    return multi


def stateless_steps():
    return False  # a user's train_step is Keras 3's stateful (data) -> logs, with loss.backward()


def adopt_variable_class(cls):
    pass


def trainable_leaf(x):
    x = _as_tensor(x)
    if x.is_floating_point() and not (x.is_leaf and x.requires_grad):
        x = x.detach().requires_grad_(True)
    return x


def auto_jit_compile():
    return None  # compile_step's default: eager for the first calls, then recorded and replayed


def compiled_eager_call(fn):
    return None  # eager torch is fast already, and a call must keep its autograd graph for loss.backward()


def inference_mode():
    return torch.inference_mode()


def device_name():
    return str(DEVICE)


# ----------------------------------------------------------------------------------------------------------------
# Abstract evaluation (documented in `kshim.backends.interface`, "Abstract evaluation")


def compute_output_spec(fn, args=(), kwargs=None):
    kwargs = {} if kwargs is None else kwargs
    tree = (tuple(args), kwargs)
    specs = _ae.specs_in(tree)
    sizes = _ae.PROBE_SIZES if _ae.has_unknown(specs) else _ae.PROBE_SIZES[:1]

    def probe(size, device):
        inputs = [torch.zeros(_ae.probe_shape(s, size), dtype=_torch_dtype(s.dtype), device=device) for s in specs]
        a, k = _ae.replace_specs(tree, inputs)
        if device.type == "meta":  # concrete tensors among the arguments (variable values) become meta too
            a, k = _ae.map_leaves(lambda x: x.to(device) if isinstance(x, torch.Tensor) else x, (a, k))
        return fn(*a, **k)

    with torch.no_grad():
        try:  # meta tensors: shapes and dtypes only, no memory and no arithmetic
            outs = [probe(n, _META) for n in sizes]
        except Exception as e:  # noqa: BLE001  (an op without a meta kernel, or a real tensor made inside fn)
            try:
                outs = [probe(n, DEVICE) for n in sizes]
            except Exception as e2:
                raise e2 from e
    return _ae.merge_probes(outs[0], outs[-1], lambda x: isinstance(x, torch.Tensor),
                            lambda x: (tuple(x.shape), _NAMES[x.dtype]))


_META = torch.device("meta")


# ----------------------------------------------------------------------------------------------------------------
# Dynamic slices and scatters


def _starts(start_indices):
    if isinstance(start_indices, (list, tuple)):
        return [int(_as_tensor(s)) if not isinstance(s, int) else s for s in start_indices]
    return [int(s) for s in _as_tensor(start_indices).tolist()]


def _block(x, start_indices, shape):
    starts = _starts(start_indices)
    # lax.dynamic_slice's rule: a start is clamped so that the block fits inside the array.
    starts = [builtins.min(builtins.max(s, 0), n - k) for s, n, k in zip(starts, x.shape, shape)]
    return tuple(builtins.slice(s, s + k) for s, k in zip(starts, shape))


def slice(inputs, start_indices, shape):
    x = _as_tensor(inputs)
    return x[_block(x, start_indices, [int(s) for s in shape])]


def slice_update(inputs, start_indices, updates):
    x = _as_tensor(inputs)
    u = _as_tensor(updates)
    out = x.clone()
    out[_block(x, start_indices, list(u.shape))] = u.to(x.dtype)
    return out


def scatter(indices, values, shape):
    indices = _as_tensor(indices).long()
    values = _as_tensor(values)
    out = torch.zeros(tuple(int(s) for s in shape), dtype=values.dtype, device=values.device)
    return out.index_put_(tuple(indices.movedim(-1, 0)), values, accumulate=True)
