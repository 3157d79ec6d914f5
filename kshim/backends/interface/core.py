"""The contract's core family: creation, conversion, dtypes and devices; differentiation, compilation and
execution. Implemented by ``kshim/backends/<backend>/core.py``; bound by `kshim.ops.core`."""

# ----------------------------------------------------------------------------------------------------------------
# Creation, conversion, dtypes, devices


def convert_to_tensor(x, dtype=None):
    """A backend tensor holding ``x``. float64 numpy input keeps float64 unless ``dtype`` says otherwise."""


def convert_to_numpy(x):
    """A numpy array with ``x``'s values (moves to host, detaches from any autograd graph)."""


def is_tensor(x):
    """True if ``x`` is a native backend tensor (not numpy, not a Variable)."""


def dtype(x):
    """The kshim dtype string of tensor ``x``, e.g. "float32"."""


def cast(x, dtype):
    """``x`` converted to ``dtype`` (a no-op, returning ``x``, if it already has it)."""


def shape(x):
    """The static shape of ``x`` as a tuple of Python ints."""


def zeros(shape, dtype="float32"):
    """A tensor of zeros."""


def ones(shape, dtype="float32"):
    """A tensor of ones."""


def full(shape, fill_value, dtype=None):
    """A tensor filled with ``fill_value``."""


def zeros_like(x, dtype=None):
    """Zeros with ``x``'s shape (and dtype unless given)."""


def ones_like(x, dtype=None):
    """Ones with ``x``'s shape (and dtype unless given)."""


def full_like(x, fill_value, dtype=None):
    """``fill_value`` with ``x``'s shape (and dtype unless given)."""


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in [start, stop), as numpy's arange."""


def eye(N, M=None, k=0, dtype="float32"):
    """A 2-D identity-like matrix with ones on diagonal ``k``."""


def standardize_dtype(dtype):
    """The kshim dtype string ("float32", "int32", "bool", ...) for ``dtype``: a kshim string, a numpy dtype or the
    framework's own dtype object. Files and configs store this name."""


def copy(x):
    """A new tensor with the same values."""


# ----------------------------------------------------------------------------------------------------------------
# Differentiation, compilation and execution


def value_and_grad(fn, has_aux=False):
    """Wrap ``fn(params, *args)`` where ``params`` is a list of float tensors and ``fn`` returns a scalar loss
    (or ``(loss, aux)`` when ``has_aux``). The wrapper returns ``(loss, grads)`` or ``((loss, aux), grads)``, where
    ``grads`` is a list aligned with ``params``. The returned values carry no autograd history. A parameter that
    does not influence the loss gets a zero gradient."""


def stop_gradient(x):
    """``x``, treated as a constant by differentiation."""


def compile_step(fn, donate_argnums=(), jit_compile=None):
    """A compiled version of the pure function ``fn`` (nested lists/tuples of tensors in and out).

    jax: ``jax.jit`` with ``donate_argnums`` (``jit_compile=False`` runs it eagerly instead).
    torch: under ``torch.no_grad()``; by default (``jit_compile=None``) eagerly for the first calls of each
    argument signature, then recorded once and replayed (`kshim.backends.torch.replay`: the same aten calls, bit
    for bit, without the Python around them); ``jit_compile=False`` always eagerly; ``jit_compile=True`` through
    ``torch.compile``. Gradients inside ``fn`` come from `value_and_grad`, which re-enables them where needed."""


def compile_stateful_step(fn, jit_compile=None):
    """``fn`` compiled as `compile_step` compiles it, but with gradients enabled: ``fn`` is a pure function of its
    tensor arguments that runs a stateful step (Keras 3's torch ``train_step``, with ``loss.backward()``) on
    values swapped into the variables. torch: recorded and replayed (``jit_compile=None``), the backward included,
    where the replay's check finds it bit-identical to eager, eager otherwise; eager for True and False. jax: as
    `compile_step` (its steps are stateless; the trainer does not call this there). The returned step has a
    ``fallback`` attribute: None, or why the caller must run the step eagerly from now on; a call that sets it
    returns None, having left every variable as it found it (torch: the step asked for ``self.parameters()``, or
    called ``backward()`` before ``zero_grad()``)."""


def compile_multi_step(fn, num_fixed, num_state, donate_argnums=(), jit_compile=None):
    """Many steps of ``fn`` in one compiled call (``steps_per_execution``).

    ``fn(*fixed, *state, *batch)`` returns the new state: a tuple of ``num_state`` values structured as given.
    Returns ``multi(*fixed, *state, *batches)``, where every tensor in ``batches`` (nested lists/tuples/dicts, None
    allowed) is stacked on a new leading axis of N steps: it runs ``fn`` on slice 0, 1, ..., N-1 in turn, threading
    the state, and returns the final state (a tuple), the values of N calls of ``compile_step(fn)``.
    ``donate_argnums`` index ``multi``'s arguments. jax: one ``jax.jit`` of a ``lax.scan`` over the steps
    (``jit_compile=False``: a Python loop); torch: a Python loop under ``torch.no_grad()`` over views of the
    stacked tensors, with no host synchronisation, each step run as `compile_step` runs it."""


def auto_jit_compile():
    """The ``jit_compile`` that ``compile(jit_compile="auto")`` resolves to (what `compile_step` then gets, and
    what ``model.jit_compile`` reads): jax True (always ``jax.jit``); torch None (`compile_step`'s own default,
    record and replay)."""


def compiled_eager_call(fn):
    """A faster version of ``fn(trainable values, non-trainable values, inputs, training)`` for the eager calls
    of a built model (``model(x)``: `kshim.models.eager_call`), or None where eager calls should run as they are.
    ``training`` is static (a Python value); the others are nested lists/tuples of tensors. The returned function
    returns None instead of running when an input is abstract (a tracer of the framework's own transformation),
    and the caller then calls the model eagerly.

    jax: ``jax.jit`` of ``fn`` (an eager call dispatches every op on its own, about 14x a jitted forward on a tiny
    MLP; one jitted call replaces them); the caller keys the cache by model structure and input signature.
    torch: None (an eager torch call is already within about 1.3x of a raw forward, and it must keep its autograd
    graph for ``loss.backward()``)."""


def stateless_steps():
    """Keras 3's contract for a user's ``train_step``/``test_step`` on this backend. True (jax): the steps are
    stateless, ``train_step(self, state, data) -> (logs, state)`` with ``state = (trainable values, non-trainable
    values, optimizer values, metric values)``, compiled like the built-in step. False (torch): they are stateful,
    ``train_step(self, data) -> logs``, reading and assigning the variables and differentiating with
    ``loss.backward()``. The trainer asks this; it never names a backend."""


def trainable_leaf(x):
    """``x`` as a leaf of autograd that records its gradient in ``.grad`` (torch: ``x.detach()
    .requires_grad_(True)`` unless it is one already), for a stateful step that calls ``loss.backward()``; ``x``
    itself where steps are stateless (jax)."""


def adopt_variable_class(cls):
    """Teach the framework to take a `kshim.Variable` (``cls``) where user code passes an array. jax: a pytree
    node whose leaf is its value (``jax.jit``/``jax.value_and_grad`` of ``model.trainable_variables`` see arrays)
    and ``__jax_array__``; torch: nothing."""


def inference_mode():
    """A context manager for pure inference (``torch.inference_mode``; a no-op on jax). A tensor made inside may
    be refused by a later differentiated step (torch refuses inference tensors): `copy` the ones to keep."""


def device_name():
    """A short description of where tensors live, e.g. "cpu" or "cuda:0"."""


# ----------------------------------------------------------------------------------------------------------------
# Abstract evaluation: output shapes and dtypes without touching data (symbolic layer calls and symbolic ops).
# Shared structures and the two-probe method: `kshim.backends.abstract_eval`.


def compute_output_spec(fn, args=(), kwargs=None):
    """What ``fn(*args, **kwargs)`` returns, described without computing it.

    ``args``/``kwargs`` are nested lists, tuples and dicts. A *spec* leaf (a class with ``_kshim_symbolic = True``
    and ``shape``, ``dtype``: a `KerasTensor`) stands for an array of that shape and dtype, None marking an
    unknown dimension; every other leaf (tensors, Python values, None, flags) is passed to ``fn`` as it is.
    Returns ``fn``'s output structure with each array replaced by a
    `kshim.backends.abstract_eval.ShapeDtype` ``(shape, dtype)``. An output dimension that depends on an unknown
    input dimension is None, never a number: neither the shape of a probe nor a guess.

    jax: ``jax.eval_shape`` with symbolic dimensions (``jax.export.symbolic_shape``, each >= 2): first one symbol
    per unknown dimension, then, if that fails (``a + b`` cannot broadcast two different symbols), one symbol for
    all of them, as Keras 3 does; ``fn`` runs under ``jax.ensure_compile_time_eval`` so that weights created
    inside it are concrete. torch: meta tensors (concrete tensors among the arguments move to "meta" too), probed
    twice with every unknown dimension set to 83 and then 89; an output dimension that differs is None. Both
    fall back to the same two probes on concrete zeros when the first method fails (an op without a meta kernel
    or a symbolic rule, a real tensor created inside ``fn``), and raise the probe's error if that fails too.
    ``fn`` may run several times: it must leave no state behind (a Layer restores its Variables, see
    `Layer.compute_output_spec`)."""


# ----------------------------------------------------------------------------------------------------------------
# Dynamic slices and scatters (Keras 3's core ``slice``, ``slice_update``, ``scatter``)


def slice(inputs, start_indices, shape):
    """The block of ``inputs`` of size ``shape`` starting at ``start_indices`` (ints or an int tensor: a traced
    start works under jit, as ``lax.dynamic_slice``)."""


def slice_update(inputs, start_indices, updates):
    """A copy of ``inputs`` with the block at ``start_indices`` replaced by ``updates``."""


def scatter(indices, values, shape):
    """A zero tensor of ``shape`` with ``values[i]`` added at ``indices[i]`` (duplicates add up), ``values``'s
    dtype."""
