"""`Optimizer`: the base class every optimizer derives from, with Keras 3's API and numbers.

An optimizer's math is written once, in ``update_step(gradient, variable, learning_rate)``, which updates the
optimizer's slot variables and the model variable with ``Variable.assign`` (assign rebinds a value, it never
mutates a tensor in place). The same code serves both ways of calling an optimizer:

- stateful: ``apply_gradients(grads_and_vars)`` / ``apply(grads, trainable_variables)``;
- pure: ``stateless_apply(optimizer_values, grads, trainable_values) -> (new_trainable, new_optimizer)``, which
  binds the given arrays to the variables with `swap_values`, runs the same ``apply``, reads the new values back
  and restores the old ones. It has no Python branching on tensor values, so it runs inside ``jax.jit``.

``variables`` are ordered as Keras 3 orders them (``iteration``, ``learning_rate`` when it is a variable, the
EMA averages and gradient accumulators when asked for, then each optimizer's slots), with Keras 3's names, so
saved optimizer state lines up with Keras files.
"""

import difflib
import inspect
import numbers
import os
import re
import sys
import warnings

from kshim import config, ops
from kshim.optimizers import fused_update, schedules
from kshim.optimizers.clipping import clip_by_global_norm, clip_by_norm
from kshim.utils.naming import to_snake_case, uniquify
from kshim.variables import Variable, read_values, swap_values

_KERAS2_CONFIG_KEYS = ("jit_compile", "is_legacy_optimizer")
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_stacklevel():
    """The ``stacklevel`` that points a warning at the first caller outside kshim.optimizers."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame, level = frame.f_back, level + 1
    return level


# ------------------------------------------------------------------------------------------------------------------
# Argument checks shared by every optimizer. Errors name the class, the argument and the value received.


def check_number(cls_name, arg, value, low=None, high=None, low_open=False, high_open=False):
    """Raise ``ValueError`` unless ``value`` is a real number in the given (closed unless said) interval."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if ok:
        return
    if low is not None and high is not None:
        where = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    elif low is not None:
        where = f"a number {'>' if low_open else '>='} {low}"
    elif high is not None:
        where = f"a number {'<' if high_open else '<='} {high}"
    else:
        where = "a number"
    raise ValueError(f"{cls_name}: `{arg}` must be {where}. Received: {arg}={value!r}")


def _check_optional(cls_name, arg, value, **kw):
    if value is not None:
        check_number(cls_name, arg, value, **kw)


# ------------------------------------------------------------------------------------------------------------------


class Optimizer:
    """Base class of all optimizers; subclass it and override ``build``, ``update_step`` and ``get_config``.

    Args (as Keras 3): learning_rate (a float, a `LearningRateSchedule`, or a callable with no arguments),
    weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
    loss_scale_factor, gradient_accumulation_steps, name. Keras 2 spellings: ``lr`` for learning_rate, and
    ``decay`` for time-based decay ``lr / (1 + decay * iterations)`` (both warn with a DeprecationWarning).
    """

    _valid_args_cache = {}

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        cls_name = type(self).__name__
        learning_rate, self.decay = self._keras2_kwargs(kwargs, learning_rate)
        _check_optional(cls_name, "weight_decay", weight_decay, low=0)
        _check_optional(cls_name, "clipnorm", clipnorm, low=0)
        _check_optional(cls_name, "clipvalue", clipvalue, low=0)
        _check_optional(cls_name, "global_clipnorm", global_clipnorm, low=0)
        _check_optional(cls_name, "loss_scale_factor", loss_scale_factor, low=0, low_open=True)
        n_clip = sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm))
        if n_clip > 1:
            raise ValueError(
                f"{cls_name}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm!r}, clipvalue={clipvalue!r}, global_clipnorm={global_clipnorm!r}"
            )
        if gradient_accumulation_steps is not None and (
                not isinstance(gradient_accumulation_steps, numbers.Integral) or gradient_accumulation_steps < 2):
            raise ValueError(
                f"{cls_name}: `gradient_accumulation_steps` must be an integer >= 2. "
                f"Received: gradient_accumulation_steps={gradient_accumulation_steps!r}"
            )
        if use_ema:
            check_number(cls_name, "ema_momentum", ema_momentum, low=0, high=1)
            if ema_overwrite_frequency is not None and (
                    not isinstance(ema_overwrite_frequency, numbers.Integral) or ema_overwrite_frequency < 1):
                raise ValueError(
                    f"{cls_name}: `ema_overwrite_frequency` must be an integer >= 1 or None. "
                    f"Received: ema_overwrite_frequency={ema_overwrite_frequency!r}"
                )
        self.name = name if name is not None else uniquify(to_snake_case(cls_name))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = bool(use_ema)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._trainable_variables_indices = {}
        self._exclude_from_weight_decay = set()
        self._exclude_from_weight_decay_pattern = None
        self._exclude_from_weight_decay_cache = {}
        self._step_memo = None
        self._iterations = self.add_variable((), initializer="zeros", dtype="int32", name="iteration")
        self._learning_rate = self._make_learning_rate(learning_rate)

    # -- constructor helpers -------------------------------------------------------------------------------------
    def _keras2_kwargs(self, kwargs, learning_rate):
        """Handle Keras 2's ``lr`` and ``decay``; reject any other unknown keyword with a suggestion."""
        cls_name = type(self).__name__
        if "lr" in kwargs:
            warnings.warn(f"{cls_name}: `lr` is deprecated; use `learning_rate` instead.", DeprecationWarning,
                          stacklevel=_user_stacklevel())
            learning_rate = kwargs.pop("lr")
        decay = kwargs.pop("decay", None)
        if decay is not None:
            check_number(cls_name, "decay", decay, low=0)
            warnings.warn(
                f"{cls_name}: `decay` is deprecated (Keras 2). kshim applies it as Keras 2 did, "
                "lr / (1 + decay * iterations); use a `keras.optimizers.schedules.InverseTimeDecay` instead.",
                DeprecationWarning, stacklevel=_user_stacklevel(),
            )
            decay = float(decay) or None
        if kwargs:
            valid = self._valid_args()
            bad = sorted(kwargs)[0]
            close = difflib.get_close_matches(bad, valid, n=1, cutoff=0.6)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise ValueError(
                f"{cls_name}: unknown argument `{bad}`.{hint} Received: {bad}={kwargs[bad]!r}. "
                f"Valid arguments: {', '.join(valid)}."
            )
        return learning_rate, decay

    @classmethod
    def _valid_args(cls):
        names = cls._valid_args_cache.get(cls)
        if names is None:
            params = inspect.signature(cls.__init__).parameters.values()
            names = [p.name for p in params if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
            names = names + ["lr", "decay"]
            cls._valid_args_cache[cls] = names
        return names

    def _make_learning_rate(self, learning_rate):
        if isinstance(learning_rate, schedules.LearningRateSchedule) or (
                callable(learning_rate) and not getattr(learning_rate, "_kshim_variable", False)
                and not ops.is_tensor(learning_rate)):
            return learning_rate
        value = self._learning_rate_float(learning_rate)
        return self.add_variable((), initializer=value, dtype=config.floatx(), name="learning_rate")

    def _learning_rate_float(self, learning_rate):
        value = learning_rate
        if getattr(value, "_kshim_variable", False) or ops.is_tensor(value) or hasattr(value, "__array__"):
            value = ops.convert_to_numpy(value).item() if not hasattr(value, "item") else value.item()
        check_number(type(self).__name__, "learning_rate", value, low=0)
        return float(value)

    # -- state ---------------------------------------------------------------------------------------------------
    @property
    def iterations(self):
        """The number of optimizer steps applied (divided by ``gradient_accumulation_steps`` when set)."""
        if self.gradient_accumulation_steps:
            return ops.floor_divide(self._iterations.value, self.gradient_accumulation_steps)
        return self._iterations

    @property
    def variables(self):
        return self._variables[:]

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none", name=None):
        """Create and track an optimizer variable. ``initializer`` may be a name, a callable or a number."""
        dtype = dtype or config.floatx()
        shape = tuple(int(d) for d in shape)
        if isinstance(initializer, str) and initializer == "zeros":
            initializer = ops.zeros(shape, dtype=dtype)
        elif isinstance(initializer, numbers.Number):
            initializer = ops.full(shape, initializer, dtype=dtype)
        variable = Variable(initializer, shape=shape, dtype=dtype, trainable=False, name=name,
                            aggregation=aggregation)
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A variable shaped like ``reference_variable``, named ``{reference path with / as _}_{name}``."""
        ref = getattr(reference_variable, "path", None) or str(reference_variable.name).replace(":", "_")
        return self.add_variable(reference_variable.shape, initializer=initializer,
                                 dtype=reference_variable.dtype, name=f"{ref.replace('/', '_')}_{name or 'var'}")

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot per trainable variable for each name in ``name``; slots are interleaved per variable, as
        Keras 3 creates them. Returns a list (one name) or a tuple of lists (several names)."""
        names = [name] if isinstance(name, str) else list(name)
        inits = initializer if isinstance(initializer, (list, tuple)) else [initializer] * len(names)
        if len(inits) != len(names):
            raise ValueError(
                f"{type(self).__name__}: the number of names must match the number of initializers. "
                f"Received: name={name!r}, initializer={initializer!r}"
            )
        slots = tuple([] for _ in names)
        for variable in trainable_variables:
            for i, (n, init) in enumerate(zip(names, inits)):
                slots[i].append(self.add_variable_from_reference(variable, name=n, initializer=init))
        return slots[0] if isinstance(name, str) else slots

    def build(self, variables):
        """Create the optimizer state for ``variables``. Subclasses call ``super().build`` first."""
        variables = list(variables)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(variables, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = self.add_optimizer_variables(variables, "gradient_accumulator")
        self._trainable_variables = variables
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(variables)}
        self.built = True

    def _get_variable_index(self, variable):
        return self._trainable_variables_indices[id(variable)]

    # -- learning rate -------------------------------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate: the learning-rate Variable (``float(...)`` works), or the schedule's value
        at the current iteration."""
        return self._get_current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        previous = self._learning_rate
        if isinstance(learning_rate, schedules.LearningRateSchedule) or (
                callable(learning_rate) and not getattr(learning_rate, "_kshim_variable", False)
                and not ops.is_tensor(learning_rate)):
            self._learning_rate = learning_rate
            if isinstance(previous, Variable):
                self._variables = [v for v in self._variables if v is not previous]
            return
        if not isinstance(previous, Variable):
            raise TypeError(
                f"{type(self).__name__}: this optimizer was created with a schedule or a callable as its "
                "`learning_rate`, so its learning rate cannot be set to a number. Create the optimizer with a "
                "float `learning_rate` to make it settable."
            )
        previous.assign(self._learning_rate_float(learning_rate))

    lr = learning_rate  # Keras 2 spelling

    def _get_current_learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            return lr(self._iterations.value)
        if isinstance(lr, Variable):
            return lr
        return lr()

    def _step_learning_rate(self):
        """The learning rate this step uses, as a tensor: the schedule, then Keras 2's ``decay`` if given."""
        lr = self._get_current_learning_rate()
        if isinstance(lr, Variable):
            lr = lr.value
        if self.decay:
            step = ops.cast(self._iterations.value, ops.dtype(lr) if ops.is_tensor(lr) else config.floatx())
            lr = ops.divide(lr, ops.add(1.0, ops.multiply(self.decay, step)))
        return lr

    # -- applying gradients --------------------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply ``[(gradient, variable), ...]``; returns the ``iterations`` variable (as tf.keras did)."""
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            return self._iterations
        grads, trainable_variables = zip(*grads_and_vars)
        self.apply(list(grads), list(trainable_variables))
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Update ``trainable_variables`` (the variables the optimizer was built with when None) with ``grads``."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"{type(self).__name__}: when `apply` gets gradients without variables, the optimizer must "
                    "already be built. Call `optimizer.build(trainable_variables)` first."
                )
            if len(grads) != len(self._trainable_variables):
                raise ValueError(
                    f"{type(self).__name__}: got {len(grads)} gradients, but the optimizer was built with "
                    f"{len(self._trainable_variables)} trainable variables."
                )
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if not self.built:
                self.build(trainable_variables)
                self.built = True
            for v in trainable_variables:
                if id(v) not in self._trainable_variables_indices:
                    raise ValueError(
                        f"{type(self).__name__}: unknown variable {v!r}. This optimizer can only update the "
                        "variables it was built with; create a new optimizer for new variables."
                    )
        self._apply(grads, trainable_variables)

    def _apply(self, grads, trainable_variables):
        if any(g is None for g in grads):
            pairs = [(g, v) for g, v in zip(grads, trainable_variables) if g is not None]
            if not pairs:
                raise ValueError(f"{type(self).__name__}: no gradients provided for any variable.")
            missing = [v.path for g, v in zip(grads, trainable_variables) if g is None]
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss. If using "
                "`model.compile()`, did you forget to provide a `loss` argument?", stacklevel=_user_stacklevel(),
            )
            grads = [g for g, _ in pairs]
            trainable_variables = [v for _, v in pairs]
        if self.loss_scale_factor is not None:
            grads = [ops.divide(g, self.loss_scale_factor) for g in grads]
        self._backend_apply_gradients(grads, trainable_variables)
        for variable in trainable_variables:
            if getattr(variable, "constraint", None) is not None:
                variable.assign(variable.constraint(variable))
        self._iterations.assign(ops.add(self._iterations.value, 1))

    def _backend_apply_gradients(self, grads, trainable_variables):
        """Clipping, weight decay and the update; gradient accumulation and EMA written without tensor branches
        (both outcomes are computed and one is selected with ``where``), so the step stays traceable."""
        learning_rate = self._step_learning_rate()
        if self.gradient_accumulation_steps:
            steps = self.gradient_accumulation_steps
            is_update = ops.equal(ops.mod(ops.add(self._iterations.value, 1), steps), 0)
            accumulators = [self._accumulated_gradients[self._get_variable_index(v)] for v in trainable_variables]
            old_trainable = read_values(trainable_variables)
            old_state = read_values(self._variables)
            sums = [ops.add(g, a.value) for g, a in zip(grads, accumulators)]
            grads = [ops.divide(s, steps) for s in sums]
            self._update(grads, trainable_variables, learning_rate)
            for v, old in zip(trainable_variables, old_trainable):
                v.assign(ops.where(is_update, v.value, old))
            for v, old in zip(self._variables, old_state):
                if v.value is not old:
                    v.assign(ops.where(is_update, v.value, old))
            for a, s in zip(accumulators, sums):
                a.assign(ops.where(is_update, ops.zeros_like(s), s))
        else:
            self._update(grads, trainable_variables, learning_rate)
        if self.use_ema:
            self._update_model_variables_moving_average(self._trainable_variables)
            if self.ema_overwrite_frequency:
                overwrite = ops.equal(ops.mod(ops.add(self._iterations_value(), 1), self.ema_overwrite_frequency), 0)
                for var, average in zip(self._trainable_variables, self._model_variables_moving_average):
                    var.assign(ops.where(overwrite, average.value, var.value))

    def _update(self, grads, trainable_variables, learning_rate):
        grads = self._clip_gradients(grads)
        self._apply_weight_decay(trainable_variables, learning_rate)
        self._step_memo = {}
        try:
            self._backend_update_step(grads, trainable_variables, learning_rate)
        finally:
            self._step_memo = None

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if fused_update.applies(self, grads, trainable_variables):  # SGD, Adam, RMSprop: one list op per step
            self._update_all(grads, trainable_variables, learning_rate)
            return
        for grad, variable in zip(grads, trainable_variables):
            self.update_step(grad, variable, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        """Update ``variable`` (and this optimizer's slots for it) from ``gradient``. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_step`.")

    def _step_constants(self, learning_rate, dtype):
        """The per-step scalars of ``_compute_step_constants``, computed once per step and dtype (not once per
        variable), so the eager path does not repeat the same scalar math for every variable."""
        memo = self._step_memo
        if memo is None:
            return self._compute_step_constants(learning_rate, dtype)
        constants = memo.get(dtype)
        if constants is None:
            constants = memo[dtype] = self._compute_step_constants(learning_rate, dtype)
        return constants

    def _compute_step_constants(self, learning_rate, dtype):
        return (ops.cast(learning_rate, dtype),)

    def _iterations_value(self):
        it = self._iterations.value
        return ops.floor_divide(it, self.gradient_accumulation_steps) if self.gradient_accumulation_steps else it

    def _local_step(self, dtype, offset=1):
        """``iterations + offset`` as ``dtype`` (Keras's ``local_step`` is ``iterations + 1``)."""
        return ops.cast(ops.add(self._iterations_value(), offset), dtype)

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """The pure update: ``(optimizer values, grads, trainable values) -> (new trainable values, new optimizer
        values)``, all lists of arrays aligned with ``trainable_variables`` / ``variables`` of the built optimizer.
        The optimizer's own variables and the model variables keep their values."""
        if not self.built:
            raise ValueError(
                f"{type(self).__name__}: to call `stateless_apply`, the optimizer must be built. Call "
                "`optimizer.build(trainable_variables)` first."
            )
        if len(optimizer_variables) != len(self._variables):
            raise ValueError(
                f"{type(self).__name__}: `optimizer_variables` must match `optimizer.variables` one to one. "
                f"Received {len(optimizer_variables)} values for {len(self._variables)} variables."
            )
        if len(trainable_variables) != len(self._trainable_variables):
            raise ValueError(
                f"{type(self).__name__}: `trainable_variables` must match the {len(self._trainable_variables)} "
                f"variables the optimizer was built with. Received {len(trainable_variables)} values."
            )
        model_vars, state_vars = self._trainable_variables, self._variables
        old_model = swap_values(model_vars, trainable_variables)
        old_state = swap_values(state_vars, optimizer_variables)
        try:
            self._apply(list(grads), model_vars)
            return read_values(model_vars), read_values(state_vars)
        finally:
            swap_values(model_vars, old_model)
            swap_values(state_vars, old_state)

    _donated = False

    def _stateless_apply_donated(self, optimizer_variables, grads, trainable_variables):
        """`stateless_apply` for a compiled train step that donates its inputs: the fused update may overwrite the
        given trainable and optimizer values (see `kshim.optimizers.fused_update`). Same results."""
        self._donated = True
        try:
            return self.stateless_apply(optimizer_variables, grads, trainable_variables)
        finally:
            self._donated = False

    # -- clipping, weight decay, EMA, loss scaling ----------------------------------------------------------------
    def _clip_gradients(self, grads):
        if self.clipnorm:
            return [clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue:
            return [ops.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for the variables in ``var_list`` and those whose name contains any of
        ``var_names``."""
        self._exclude_from_weight_decay = {id(v) for v in var_list or ()}
        self._exclude_from_weight_decay_pattern = re.compile("|".join(set(var_names))) if var_names else None
        self._exclude_from_weight_decay_cache = {}

    def _use_weight_decay(self, variable):
        key = id(variable)
        use = self._exclude_from_weight_decay_cache.get(key)
        if use is None:
            pattern = self._exclude_from_weight_decay_pattern
            use = key not in self._exclude_from_weight_decay and not (
                pattern is not None and pattern.search(variable.name) is not None)
            self._exclude_from_weight_decay_cache[key] = use
        return use

    def _apply_weight_decay(self, variables, learning_rate):
        """Decoupled weight decay, before the update: ``v <- v - v * weight_decay * lr``."""
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                lr = ops.cast(learning_rate, variable.dtype)
                variable.assign(ops.subtract(variable.value,
                                             ops.multiply(ops.multiply(variable.value, self.weight_decay), lr)))

    def _update_model_variables_moving_average(self, trainable_variables):
        not_first_step = ops.not_equal(self._iterations_value(), 0)
        for var, average in zip(trainable_variables, self._model_variables_moving_average):
            momentum = ops.multiply(ops.cast(not_first_step, var.dtype), self.ema_momentum)
            average.assign(ops.add(ops.multiply(momentum, average.value),
                                   ops.multiply(ops.subtract(1, momentum), var.value)))

    def finalize_variable_values(self, var_list):
        """With ``use_ema``, overwrite the model variables with their moving averages (fit calls this at the
        end of training)."""
        if not self.use_ema:
            return
        if len(var_list) != len(self._model_variables_moving_average):
            raise ValueError(
                f"{type(self).__name__}: got {len(var_list)} variables to overwrite, but the optimizer keeps "
                f"{len(self._model_variables_moving_average)} moving averages."
            )
        for var, average in zip(var_list, self._model_variables_moving_average):
            var.assign(ops.copy(average.value))  # a buffer of its own: jax donates each variable's buffer

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` when a factor is set (gradients are divided by it in ``apply``)."""
        return loss if self.loss_scale_factor is None else ops.multiply(loss, self.loss_scale_factor)

    # -- weights and saving -------------------------------------------------------------------------------------
    def set_weights(self, weights):
        if not self.built:
            raise ValueError(
                f"{type(self).__name__}: `set_weights` needs a built optimizer. "
                "Call `optimizer.build(trainable_variables)` first."
            )
        for variable, weight in zip(self._variables, weights):
            if tuple(variable.shape) != tuple(ops.shape(weight) if ops.is_tensor(weight) else weight.shape):
                raise ValueError(
                    f"{type(self).__name__}: variable '{variable.path}' has shape {variable.shape}, "
                    f"but the given weight has shape {tuple(weight.shape)}."
                )
            variable.assign(weight)

    def get_weights(self):
        return [v.numpy() for v in self._variables]

    def save_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        if len(store.keys()) != len(self._variables):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}', because it has {len(self._variables)} "
                f"variables whereas the saved optimizer has {len(store.keys())} variables.", stacklevel=2,
            )
            return
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    # -- config --------------------------------------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif isinstance(lr, Variable):
            lr = float(lr.numpy())
        config_ = {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }
        if self.decay:
            config_["decay"] = self.decay
        return config_

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in _KERAS2_CONFIG_KEYS:  # written by Keras 2 (tf.keras) optimizers; meaningless here
            config.pop(key, None)
        if not config.get("decay", 1):
            config.pop("decay")  # Keras 2 always wrote decay=0.0
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"
