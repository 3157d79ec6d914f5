"""`Optimizer`: the base class every optimizer derives from, with Keras 3's API and numbers.

An optimizer's math is written once, as a pure function over lists of arrays of one dtype:
``update(grads, params, state, learning_rate, step) -> (new params, new state)``, on `kshim.ops` and the fused
list ops of `kshim.ops.foreach` (see `kshim.optimizers.fused_update` for how it runs). Everything else is here,
once, for every optimizer: the shared constructor arguments, the variables, gradient clipping, weight decay,
gradient accumulation, EMA, loss scaling, learning-rate schedules and Keras 2's ``lr``/``decay``, configs.
Both ways of calling an optimizer run the same pure step (`Optimizer._step`):

- pure: ``stateless_apply(optimizer_values, grads, trainable_values) -> (new_trainable, new_optimizer)`` reads and
  writes no variable and has no Python branch on a tensor value, so it runs inside ``jax.jit``;
- stateful: ``apply_gradients(grads_and_vars)`` / ``apply(grads, trainable_variables)`` reads the variables,
  runs the step and assigns the new values.

``variables`` are ordered as Keras 3 orders them (``iteration``, ``learning_rate`` when it is a variable, the
EMA averages and gradient accumulators when asked for, then each optimizer's slots), with Keras 3's names, so
saved optimizer state lines up with Keras files.
"""

import numbers
import re
import warnings

from kshim import config, ops
from kshim.optimizers import fused_update, schedules
from kshim.optimizers.arguments import check_number, check_shared_arguments, keras2_arguments, user_stacklevel
from kshim.optimizers.clipping import clip_by_global_norm, clip_by_norm
from kshim.common.naming import to_snake_case, uniquify
from kshim.variables import Variable, note_assigned, read_values, swap_values

_KERAS2_CONFIG_KEYS = ("jit_compile", "is_legacy_optimizer")


def each(op, *lists):
    """``[op(x, ...) for x, ... in zip(*lists)]``: a `kshim.ops` function over lists, for what `kshim.ops.foreach`
    does not fuse."""
    return [op(*xs) for xs in zip(*lists)]


def local_step(step, dtype, offset=1):
    """``step + offset`` as ``dtype`` (Keras's ``local_step`` is ``iterations + 1``)."""
    return ops.cast(ops.add(step, offset), dtype)


# ------------------------------------------------------------------------------------------------------------------


class Optimizer:
    """Base class of all optimizers: the Keras-shaped adapter around one pure `update`.

    A subclass takes its own arguments and passes the rest (``**kwargs``) here, names them in ``hyperparameters``
    (for `get_config`), lists its state in `slots` / `scalar_slots` and writes its math once, in `update`. A
    subclass written the Keras way (``build`` plus ``update_step`` on variables) works too.

    Args (as Keras 3): learning_rate (a float, a `LearningRateSchedule`, or a callable with no arguments),
    weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
    loss_scale_factor, gradient_accumulation_steps, name. Keras 2 spellings: ``lr`` for learning_rate, and
    ``decay`` for time-based decay ``lr / (1 + decay * iterations)`` (both warn with a DeprecationWarning).
    """

    hyperparameters = ()  # a subclass's own constructor arguments, kept as attributes and written by get_config

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        cls_name = type(self).__name__
        learning_rate, self.decay = keras2_arguments(type(self), kwargs, learning_rate)
        check_shared_arguments(cls_name, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                               global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                               ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                               gradient_accumulation_steps=gradient_accumulation_steps)
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
        self._iterations = self.add_variable((), initializer="zeros", dtype="int32", name="iteration")
        self._learning_rate = self._make_learning_rate(learning_rate)

    # -- constructor helpers -------------------------------------------------------------------------------------
    @staticmethod
    def default_epsilon(epsilon):
        """``epsilon``, or `kshim.config.epsilon()` for None (Keras 2 wrote ``epsilon=None``)."""
        return config.epsilon() if epsilon is None else epsilon

    @staticmethod
    def cast(learning_rate, params):
        """This step's learning rate as the dtype of ``params`` (a list of arrays of one dtype)."""
        return ops.cast(learning_rate, ops.dtype(params[0]))

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
            for i, (n, init) in enumerate(zip(names, inits)):  # None for a variable set to its gradient, as Keras
                slots[i].append(None if getattr(variable, "overwrite_with_gradient", False) else
                                self.add_variable_from_reference(variable, name=n, initializer=init))
        return slots[0] if isinstance(name, str) else slots

    def build(self, variables):
        """Create the optimizer state for ``variables``: EMA averages and gradient accumulators when asked for,
        then the groups of `slots` and the `scalar_slots`. A subclass written the Keras way may extend it."""
        if self.built:
            return
        variables = list(variables)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(variables, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = [self.add_variable_from_reference(v, name="gradient_accumulator")
                                           for v in variables]
        self._trainable_variables = variables
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(variables)}
        self._slots = {}
        for group in self.slots():
            names = [g if isinstance(g, str) else g[0] for g in group]
            inits = ["zeros" if isinstance(g, str) else g[1] for g in group]
            self._slots.update(zip(names, self.add_optimizer_variables(variables, names, initializer=inits)))
        dtype = variables[0].dtype if variables else config.floatx()
        self._scalar_slots = {name: self.add_variable((), initializer=init, dtype=dtype, name=name)
                              for name, init in self.scalar_slots()}
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

    def _step_learning_rate(self, state, iterations):
        """The learning rate a step uses, as a tensor (``state``: optimizer variable id -> value): the schedule,
        then Keras 2's ``decay`` if given."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = lr(iterations)
        elif isinstance(lr, Variable):
            lr = state[id(lr)]
        else:
            lr = lr()
        if self.decay:
            step = ops.cast(iterations, ops.dtype(lr) if ops.is_tensor(lr) else config.floatx())
            lr = ops.divide(lr, ops.add(1.0, ops.multiply(self.decay, step)))
        return lr

    # -- the math: each optimizer writes it once, as a pure update over lists ------------------------------------
    def slots(self):
        """The optimizer's per-variable state, as groups made in Keras's order: each group is a list of names (or
        ``(name, initializer)`` pairs); each name gets one slot per trainable variable, interleaved in a group."""
        return []

    def scalar_slots(self):
        """``[(name, initial value)]``: one-value optimizer variables made after the slots (Nadam's product)."""
        return []

    def update(self, grads, params, state, learning_rate, step, inplace=False):
        """The optimizer's math, pure: ``(new params, new state)`` from lists of arrays of one dtype.

        ``grads`` and ``params`` are aligned lists; ``state`` maps each slot name to its list (aligned with
        ``params``) and each scalar slot name to its value; ``learning_rate`` is this step's rate (a tensor) and
        ``step`` the number of steps applied before this one (``iterations``, an int tensor). The math uses
        `kshim.ops.foreach` where it can. ``inplace=True`` (only for classes with ``inplace_update``, inside a
        compiled step that donates its inputs) lets it write each new value into the old one it replaces.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `update` (or Keras's `update_step`).")

    inplace_update = False  # whether `update` honours ``inplace`` (then it runs in pieces, see fused_update)

    def update_step(self, gradient, variable, learning_rate):
        """Keras's per-variable hook, for subclasses written the Keras way: when a subclass overrides it, each
        step calls it once per variable, with the variables bound to the step's values (the built-in optimizers
        define `update` instead)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update` (or Keras's `update_step`).")

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
            for v in trainable_variables:
                if id(v) not in self._trainable_variables_indices:
                    raise ValueError(
                        f"{type(self).__name__}: unknown variable {v!r}. This optimizer can only update the "
                        "variables it was built with; create a new optimizer for new variables."
                    )
        indices = [self._trainable_variables_indices[id(v)] for v in trainable_variables]
        params = read_values(self._trainable_variables)
        new_params, new_values = self._step(read_values(self._variables), grads, params, indices)
        swap_values(self._variables, new_values)
        note_assigned(self._variables)
        for variable, old, new in zip(self._trainable_variables, params, new_params):
            if new is not old:
                variable.assign(new)

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """The pure update: ``(optimizer values, grads, trainable values) -> (new trainable values, new optimizer
        values)``, all lists of arrays aligned with ``trainable_variables`` / ``variables`` of the built optimizer.
        Reads and writes no variable, and has no Python branch on a tensor value, so it runs inside ``jax.jit``."""
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
        grads = list(grads)
        return self._step(list(optimizer_variables), grads, list(trainable_variables), list(range(len(grads))),
                          donated=self._donated)

    _donated = False

    def _stateless_apply_donated(self, optimizer_variables, grads, trainable_variables):
        """`stateless_apply` for a compiled train step that donates its inputs: the update may overwrite the given
        trainable and optimizer values (see `kshim.optimizers.fused_update`). Same results."""
        self._donated = True
        try:
            return self.stateless_apply(optimizer_variables, grads, trainable_variables)
        finally:
            self._donated = False

    def _step(self, optimizer_values, grads, params, indices, donated=False):
        """One optimizer step over values: ``grads[j]`` is for ``params[indices[j]]`` (``params``: the values of
        all the variables it was built with). Returns (new params, new optimizer values); a value that did not
        change is returned as is. Gradient accumulation and EMA are written without tensor branches (both outcomes
        are computed and one is selected with ``where``), so the step stays traceable."""
        state = dict(zip(map(id, self._variables), optimizer_values))
        params = list(params)
        if any(g is None for g in grads):
            pairs = [(g, i) for g, i in zip(grads, indices) if g is not None]
            if not pairs:
                raise ValueError(f"{type(self).__name__}: no gradients provided for any variable.")
            missing = [self._trainable_variables[i].path for g, i in zip(grads, indices) if g is None]
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss. If using "
                "`model.compile()`, did you forget to provide a `loss` argument?", stacklevel=user_stacklevel(),
            )
            grads, indices = [g for g, _ in pairs], [i for _, i in pairs]
        iterations = state[id(self._iterations)]
        steps = self.gradient_accumulation_steps
        if any(getattr(self._trainable_variables[i], "overwrite_with_gradient", False) for i in indices):
            grads, indices = self._overwrite_with_gradients(state, grads, params, indices, iterations)
        if self.loss_scale_factor is not None:
            grads = [ops.divide(g, self.loss_scale_factor) for g in grads]
        step = ops.floor_divide(iterations, steps) if steps else iterations
        learning_rate = self._step_learning_rate(state, iterations)
        if steps:
            is_update = ops.equal(ops.mod(ops.add(iterations, 1), steps), 0)
            accumulators = [self._accumulated_gradients[i] for i in indices]
            sums = [ops.add(g, state[id(a)]) for g, a in zip(grads, accumulators)]
            old_params, old_state = list(params), dict(state)
            self._update(state, [ops.divide(s, steps) for s in sums], params, indices, learning_rate, step, False)
            for i in indices:
                params[i] = ops.where(is_update, params[i], old_params[i])
            for key, old in old_state.items():
                if state[key] is not old:
                    state[key] = ops.where(is_update, state[key], old)
            for a, s in zip(accumulators, sums):
                state[id(a)] = ops.where(is_update, ops.zeros_like(s), s)
        else:
            self._update(state, grads, params, indices, learning_rate, step, donated)
        if self.use_ema:
            self._update_moving_averages(state, params, step)
        for i in indices:
            constraint = getattr(self._trainable_variables[i], "constraint", None)
            if constraint is not None:
                params[i] = ops.cast(constraint(params[i]), self._trainable_variables[i].dtype)
        state[id(self._iterations)] = ops.add(iterations, 1)
        return params, [state[id(v)] for v in self._variables]

    def _overwrite_with_gradients(self, state, grads, params, indices, iterations):
        """Keras 3's rule for variables with ``overwrite_with_gradient`` (float8 training's scales and amax
        histories, whose "gradient" is their next value): the variable becomes its gradient, with no learning rate,
        clipping or decay; under gradient accumulation it takes the elementwise maximum of the gradients seen since
        the last update step. Returns the other (gradient, index) pairs."""
        rest_grads, rest_indices = [], []
        steps = self.gradient_accumulation_steps
        is_update = ops.equal(ops.mod(ops.add(iterations, 1), steps), 0) if steps else None
        for g, i in zip(grads, indices):
            variable = self._trainable_variables[i]
            if not getattr(variable, "overwrite_with_gradient", False):
                rest_grads.append(g)
                rest_indices.append(i)
                continue
            g = ops.cast(g, variable.dtype)
            if steps:
                key = id(self._accumulated_gradients[i])
                peak = ops.maximum(g, state[key])
                params[i] = ops.where(is_update, peak, params[i])
                state[key] = ops.where(is_update, ops.zeros_like(g), peak)
            else:
                params[i] = g
        return rest_grads, rest_indices

    def _update(self, state, grads, params, indices, learning_rate, step, donated):
        """Clipping, weight decay, then the optimizer's math, on ``params`` and ``state`` (updated in the dict and
        list given)."""
        grads = self._clip_gradients(grads)
        if self.weight_decay is not None or self._decays_per_variable:  # decoupled, before the update:
            for i in indices:                                             # w <- w - w * weight_decay * lr
                variable = self._trainable_variables[i]
                decay = self._weight_decay_for(variable) if self._use_weight_decay(variable) else None
                if decay is not None:
                    lr = ops.cast(learning_rate, variable.dtype)
                    params[i] = ops.subtract(params[i], ops.multiply(ops.multiply(params[i], decay), lr))
        if fused_update.has_own_update_step(self):
            self._run_update_steps(state, grads, params, indices, learning_rate)
        else:
            fused_update.run(self, state, grads, params, indices, learning_rate, step, donated)

    def _run_update_steps(self, state, grads, params, indices, learning_rate):
        """A subclass's own ``update_step``, once per variable, with all variables bound to this step's values."""
        variables = self._variables
        trainables = [self._trainable_variables[i] for i in indices]
        old_state = swap_values(variables, [state[id(v)] for v in variables])
        old_params = swap_values(trainables, [params[i] for i in indices])
        try:
            for grad, variable in zip(grads, trainables):
                self.update_step(grad, variable, learning_rate)
            state.update(zip(map(id, variables), read_values(variables)))
            for i, value in zip(indices, read_values(trainables)):
                params[i] = value
        finally:
            swap_values(variables, old_state)
            swap_values(trainables, old_params)

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

    _decays_per_variable = False  # True: `_weight_decay_for` may differ per variable (Muon), so always ask it

    def _weight_decay_for(self, variable):
        """The decoupled weight decay of ``variable`` (None: none); `weight_decay` unless a subclass says."""
        return self.weight_decay

    def _use_weight_decay(self, variable):
        key = id(variable)
        use = self._exclude_from_weight_decay_cache.get(key)
        if use is None:
            pattern = self._exclude_from_weight_decay_pattern
            use = key not in self._exclude_from_weight_decay and not (
                pattern is not None and pattern.search(variable.name) is not None)
            self._exclude_from_weight_decay_cache[key] = use
        return use

    def _update_moving_averages(self, state, params, step):
        """EMA of every model variable (its first step copies it), then the optional overwrite, on values."""
        not_first_step = ops.not_equal(step, 0)
        averages = self._model_variables_moving_average
        for i, (variable, average) in enumerate(zip(self._trainable_variables, averages)):
            if average is None:  # a variable set to its gradient has no average (Keras 3)
                continue
            momentum = ops.multiply(ops.cast(not_first_step, variable.dtype), self.ema_momentum)
            state[id(average)] = ops.add(ops.multiply(momentum, state[id(average)]),
                                         ops.multiply(ops.subtract(1, momentum), params[i]))
        if self.ema_overwrite_frequency:
            overwrite = ops.equal(ops.mod(ops.add(step, 1), self.ema_overwrite_frequency), 0)
            for i, average in enumerate(averages):
                if average is not None:
                    params[i] = ops.where(overwrite, state[id(average)], params[i])

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
            if average is not None:
                var.assign(ops.copy(average.value))  # its own buffer: jax donates each variable's buffer

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` when a factor is set (gradients are divided by it in ``apply``)."""
        return loss if self.loss_scale_factor is None else ops.multiply(loss, self.loss_scale_factor)

    def _loss_scale(self, optimizer_values):
        """What a compiled train step multiplies the loss by before differentiating (None: nothing), read from
        the step's optimizer values: ``loss_scale_factor`` here, the dynamic scale in `LossScaleOptimizer`."""
        return self.loss_scale_factor

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
        config_.update({name: getattr(self, name) for name in self.hyperparameters})
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
