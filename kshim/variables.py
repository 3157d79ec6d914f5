"""`Variable`: a named, mutable holder of one backend tensor.

A Variable's value is a native tensor. ``assign`` rebinds it to a new tensor (no in-place mutation), which makes
stateless execution trivial: `swap_values` binds given values (for example jax tracers inside a compiled step),
runs the frontend code, reads the new values back, and restores the old ones.
"""

import contextlib
import threading

import numpy as np

from kshim import config, ops
from kshim.registry import INITIALIZERS
from kshim.common.naming import scoped_path, uniquify
from kshim.common.properties import read_only


STRUCTURE = [0]  # bumped by whatever may change a model's variables, their trainable flags or its layers (see
#                   `kshim.models.eager_call`, whose cached forward of the last call trusts it while it is unchanged)


class Variable:
    """A mutable tensor with a name, a dtype and a ``trainable`` flag, usable wherever a tensor is.

    ``initializer`` is an array-like value, or a callable ``initializer(shape, dtype)`` (an initializer object or
    its string name) together with ``shape``.
    """

    _kshim_variable = True
    __array_priority__ = 100
    _native = None  # the backend's framework object for this variable, once framework code asked for one
    #                 (torch: the persistent nn.Parameter that `Layer.parameters()` hands out; see backends/*/layer.py)

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name=None, regularizer=None,
                 constraint=None, autocast=True, aggregation="none", synchronization="auto"):
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"Variable: `name` must be a string without '/'. Received: name={name!r}")
        self.name = name or uniquify("variable")
        self.path = scoped_path(self.name)
        self._trainable = bool(trainable)
        self.regularizer = regularizer
        self.constraint = constraint
        self.aggregation = aggregation
        self.synchronization = synchronization
        self.autocast = bool(autocast)  # read in the compute dtype inside a mixed-policy layer's call
        self.overwrite_with_gradient = False  # the optimizer assigns its gradient instead (float8 scales)
        if isinstance(initializer, str) or (callable(initializer) and not ops.is_tensor(initializer)):
            if shape is None:
                raise ValueError(
                    f"Variable '{self.name}': `shape` is required when `initializer` is a callable. "
                    f"Received: initializer={initializer!r}, shape=None"
                )
            dtype = dtype or config.floatx()
            value = INITIALIZERS.resolve(initializer)(tuple(int(d) for d in shape), dtype=dtype)
        else:
            value = initializer.value if getattr(initializer, "_kshim_variable", False) else initializer
            if dtype is None and isinstance(value, (float, np.floating)) or (
                    dtype is None and isinstance(value, np.ndarray) and value.dtype == np.float64):
                dtype = config.floatx()
            if isinstance(value, np.ndarray):
                value = np.array(value, copy=True)  # never alias the caller's array
            value = ops.convert_to_tensor(value, dtype=dtype)
            if shape is not None and tuple(ops.shape(value)) != tuple(shape):
                raise ValueError(
                    f"Variable '{self.name}': the initial value has shape {tuple(ops.shape(value))}, "
                    f"but `shape` is {tuple(shape)}."
                )
        self._value = value
        self._dtype = ops.dtype(value)
        self._shape = tuple(ops.shape(value))
        for log in _creation_logs:
            log.append((self, value))
        for log in _assign_logs:
            log.append(self)

    # -- value --------------------------------------------------------------------------------------------------
    value = read_only("_value")


    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        STRUCTURE[0] += 1

    def assign(self, value):
        """Set the variable to ``value`` (same shape), cast to the variable's dtype. Returns the new value."""
        if getattr(value, "_kshim_variable", False):
            value = value.value
        if ops.is_tensor(value):
            value = ops.cast(value, self._dtype)
        else:  # copy on the host first: a variable must never alias the caller's array
            value = ops.convert_to_tensor(np.array(value, copy=True) if isinstance(value, np.ndarray) else value,
                                          self._dtype)
        new_shape = tuple(ops.shape(value))
        if new_shape != self._shape:
            raise ValueError(
                f"Variable '{self.path}': the assigned value has shape {new_shape}, "
                f"but the variable has shape {self._shape}."
            )
        if _stateless_scopes:
            _stateless_scopes[-1].record(self)
        self._value = value
        for log in _assign_logs:
            log.append(self)
        return value

    def assign_add(self, delta):
        return self.assign(ops.add(self._value, delta))

    def assign_sub(self, delta):
        return self.assign(ops.subtract(self._value, delta))

    def numpy(self):
        """A copy of the value as a numpy array (writing to it does not change the variable)."""
        return np.array(ops.convert_to_numpy(self._value), copy=True)

    shape = read_only("_shape")
    dtype = read_only("_dtype")

    @property
    def ndim(self):
        return len(self._shape)

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self._shape}, dtype={self._dtype}>"

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr.astype(dtype) if dtype is not None else arr

    def __len__(self):
        return self._shape[0]

    def __getitem__(self, idx):
        return self._value[idx]

    # -- arithmetic, so a Variable is usable like a tensor ---------------------------------------------------------
    def __add__(self, other): return ops.add(self._value, other)
    def __radd__(self, other): return ops.add(other, self._value)
    def __sub__(self, other): return ops.subtract(self._value, other)
    def __rsub__(self, other): return ops.subtract(other, self._value)
    def __mul__(self, other): return ops.multiply(self._value, other)
    def __rmul__(self, other): return ops.multiply(other, self._value)
    def __truediv__(self, other): return ops.divide(self._value, other)
    def __rtruediv__(self, other): return ops.divide(other, self._value)
    def __pow__(self, other): return ops.power(self._value, other)
    def __matmul__(self, other): return ops.matmul(self._value, other)
    def __rmatmul__(self, other): return ops.matmul(other, self._value)
    def __neg__(self): return ops.negative(self._value)
    def __abs__(self): return ops.abs(self._value)
    def __lt__(self, other): return ops.less(self._value, other)
    def __le__(self, other): return ops.less_equal(self._value, other)
    def __gt__(self, other): return ops.greater(self._value, other)
    def __ge__(self, other): return ops.greater_equal(self._value, other)

    def __float__(self): return float(self.numpy())
    def __int__(self): return int(self.numpy())
    def __bool__(self): return bool(self.numpy())

    __hash__ = object.__hash__


# `Layer.stateless_call` binds other values (jax tracers, while a step is traced) to shared variables for the
# length of a call. Under this lock, so that another thread (a concurrent `predict`) never reads them: whoever
# reads variable values to pass them into a step, or builds a model, holds it too.
values_lock = threading.RLock()


_creation_logs = []  # one list per active `restore_state`: (variable, initial value) for each Variable created
_assign_logs = []  # one list per active `assignments`: each Variable created or assigned inside it


@contextlib.contextmanager
def assignments():
    """Yields a list that gets every Variable created, ``assign``-ed or `note_assigned` inside the block (repeats
    included): a compiled stateful step finds with it the variables its step changes."""
    log = []
    _assign_logs.append(log)
    try:
        yield log
    finally:
        _assign_logs.remove(log)


@contextlib.contextmanager
def restore_state(variables):
    """On exit, give ``variables`` back the values they have now, and every Variable created inside the block its
    initial value: whatever the block assigned (an abstract evaluation's tracers, for example) is undone."""
    log = []
    with values_lock:  # what the block assigns (tracers) stays private to it: see `values_lock`
        _creation_logs.append(log)
        old = [v._value for v in variables]
        try:
            yield
        finally:
            _creation_logs.remove(log)
            swap_values(variables, old)
            for v, value in log:
                v._value = value


ops.adopt_variable_class(Variable)  # user code of the framework takes a Variable as an array (jax.jit of a state)


def note_assigned(variables):
    """For `assignments`: a stateful update (``optimizer.apply``) gave ``variables`` new values by `swap_values`."""
    for log in _assign_logs:
        log.extend(variables)


def swap_values(variables, values):
    """Bind ``values`` to ``variables`` (no checks; this is the stateless-execution hot path).

    Returns the previous values, so the caller can restore them with another `swap_values`.
    """
    old = [v._value for v in variables]
    for v, val in zip(variables, values):
        v._value = val
    return old


def values_of(values):
    """``values`` as a list, each kshim Variable among them replaced by its value: the stateless APIs
    (``stateless_call``, ``stateless_update_state``, ...) take Variables where they take values, as Keras 3 does
    (the JAX guides pass ``model.trainable_variables`` themselves)."""
    values = list(values)
    if any(isinstance(v, Variable) for v in values):
        return [v.value if isinstance(v, Variable) else v for v in values]
    return values


def read_values(variables):
    return [v._value for v in variables]


_stateless_scopes = []  # the active `StatelessScope`s, innermost last


class StatelessScope:
    """A block in which variables read the values of ``state_mapping`` and assignments never reach the variables.

    ``state_mapping`` is a list of ``(variable, value)`` pairs. Inside the block, each of those variables holds its
    value; whatever the block assigns (to them or any other variable) is kept by the scope: read it with
    ``get_current_value(variable)``, which gives None for a variable the scope neither mapped nor saw assigned.
    On exit every variable gets back the value it had before. ``collect_losses`` and ``initialize_variables`` are
    Keras 3's arguments; kshim's variables are always initialised at creation.
    """

    def __init__(self, state_mapping=None, collect_losses=False, initialize_variables=True):
        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        self.losses = []
        self._originals = {}  # id(variable) -> (variable, value before the block)
        self._final = {}
        self._mapping = []
        for pair in state_mapping or ():
            try:
                variable, value = pair
            except (TypeError, ValueError):
                raise ValueError("StatelessScope: `state_mapping` must be a list of (Variable, value) pairs. "
                                 f"Received an entry: {pair!r}") from None
            if not getattr(variable, "_kshim_variable", False):
                raise ValueError("StatelessScope: each key of `state_mapping` must be a kshim Variable. "
                                 f"Received: {variable!r}")
            if tuple(ops.shape(value)) != variable.shape:
                raise ValueError(f"StatelessScope: the value for '{variable.path}' has shape "
                                 f"{tuple(ops.shape(value))}; expected the variable's shape {variable.shape}.")
            self._mapping.append((variable, ops.cast(value, variable.dtype)))

    def record(self, variable):
        """Remember ``variable``'s value from before the block (once), so that exit can restore it."""
        self._originals.setdefault(id(variable), (variable, variable._value))

    def add_loss(self, loss):
        self.losses.append(loss)

    def get_current_value(self, variable):
        key = id(variable)
        if key in self._final:
            return self._final[key]
        if _stateless_scopes and _stateless_scopes[-1] is self and key in self._originals:
            return variable._value
        return None

    def __enter__(self):
        values_lock.acquire()
        _stateless_scopes.append(self)
        for variable, value in self._mapping:
            self.record(variable)
            variable._value = value
        return self

    def __exit__(self, *exc):
        try:
            self._final = {key: v._value for key, (v, _) in self._originals.items()}
            for variable, old in self._originals.values():
                variable._value = old
            if len(_stateless_scopes) > 1:  # an outer scope sees the block as one of its own assignments
                for variable, _ in self._originals.values():
                    _stateless_scopes[-2].record(variable)
        finally:
            _stateless_scopes.remove(self)
            values_lock.release()
        return False


def in_stateless_scope():
    return bool(_stateless_scopes)


def get_stateless_scope():
    return _stateless_scopes[-1] if _stateless_scopes else None
