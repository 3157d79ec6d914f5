"""`RNN`: the recurrent layer that runs a cell over the time axis, and `DropoutRNNCell`, the cells' dropout masks.

A cell is a layer with ``call(inputs, states, training=False) -> (output, new_states)`` and a ``state_size``.
`RNN` builds the cell, draws the cell's dropout masks once per call (so they are fixed across timesteps, as in
Keras, and drawn outside the traced loop), runs ``kshim.ops.rnn`` (masking, ``go_backwards``, ``unroll``), and
keeps the last states in non-trainable Variables when ``stateful``. Those Variables are part of
``non_trainable_variables`` (so the trainer's pure step carries them from batch to batch) but not of ``weights``
(so ``get_weights`` lists the same arrays as Keras 3).
"""

import numpy as np

from kshim import activations, constraints, initializers, ops, regularizers
from kshim import random as krandom
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer, call_flags
from kshim.layers.recurrent.stacked_cells import StackedRNNCells
from kshim.serialization import deserialize_keras_object, serialize_keras_object
from kshim.variables import Variable


def serialize(module, value):
    """The Keras config of an initializer, regularizer or constraint (strings stay strings, None stays None)."""
    if value is None or isinstance(value, str):
        return value
    return module.serialize(module.get(value))


def check_units(cls, units):
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
        raise ValueError(f"{cls}: `units` must be a positive integer. Received: units={units!r}")
    return int(units)


def check_rate(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value <= 1:
        raise ValueError(f"{cls}: `{name}` must be a float between 0 and 1. Received: {name}={value!r}")
    return float(value)


def cell_weights_config(cell):
    """The arguments every built-in cell shares, serialized as Keras 3 does."""
    return {
        "units": cell.units, "activation": activations.serialize(cell.activation), "use_bias": cell.use_bias,
        "kernel_initializer": serialize(initializers, cell.kernel_initializer),
        "recurrent_initializer": serialize(initializers, cell.recurrent_initializer),
        "bias_initializer": serialize(initializers, cell.bias_initializer),
        "kernel_regularizer": serialize(regularizers, cell.kernel_regularizer),
        "recurrent_regularizer": serialize(regularizers, cell.recurrent_regularizer),
        "bias_regularizer": serialize(regularizers, cell.bias_regularizer),
        "kernel_constraint": serialize(constraints, cell.kernel_constraint),
        "recurrent_constraint": serialize(constraints, cell.recurrent_constraint),
        "bias_constraint": serialize(constraints, cell.bias_constraint),
        "dropout": cell.dropout, "recurrent_dropout": cell.recurrent_dropout, "seed": cell.seed,
    }


def is_tanh(fn):
    return fn is activations.tanh or fn is ops.tanh


def is_sigmoid(fn):
    return fn is activations.sigmoid or fn is ops.sigmoid


class DropoutRNNCell:
    """Mixin for cells: dropout masks drawn once per sequence and reused at every timestep.

    ``dropout_mask_count`` None gives one mask; an integer gives that many independent masks (one per gate, as
    Keras's LSTM/GRU draw when ``recurrent_dropout`` is set). Masks come from kshim's counter-based generator, so
    a seeded run draws the same masks on both backends.
    """

    dropout_mask_count = None

    def _init_dropout(self, dropout, recurrent_dropout, seed):
        cls = type(self).__name__
        self.dropout = check_rate(cls, "dropout", dropout)
        self.recurrent_dropout = check_rate(cls, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        if self.dropout > 0 or self.recurrent_dropout > 0:
            self.seed_generator = krandom.SeedGenerator(seed, name="seed_generator")
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    def _create_dropout_mask(self, step_input, rate):
        ones = ops.ones_like(step_input)
        if self.dropout_mask_count is None:
            return krandom.dropout(ones, rate, seed=self.seed_generator)
        return [krandom.dropout(ones, rate, seed=self.seed_generator) for _ in range(self.dropout_mask_count)]

    def get_dropout_mask(self, step_input):
        if self._dropout_mask is None and 0 < self.dropout < 1:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_input):
        if self._recurrent_dropout_mask is None and 0 < self.recurrent_dropout < 1:
            self._recurrent_dropout_mask = self._create_dropout_mask(step_input, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None


class RecurrentCell(Layer, DropoutRNNCell):
    """The shared part of the built-in cells: kernel (in, gates*units), recurrent_kernel (units, gates*units) and
    an optional bias, with their initializers, regularizers and constraints, and the dropout settings."""

    gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.units = check_units(type(self).__name__, units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_dropout(dropout, recurrent_dropout, seed)
        self.state_size = self.units
        self.output_size = self.units

    def _add_cell_weights(self, input_shape, bias_shape, bias_initializer=None):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the last axis of the input must be known. "
                             f"Received: input_shape={tuple(input_shape)}")
        n = self.gates * self.units
        self.kernel = self.add_weight(shape=(input_dim, n), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, n), initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=bias_shape, initializer=bias_initializer or self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in sizes]

    def get_config(self):
        return {**super().get_config(), **cell_weights_config(self)}


class GatedCell(RecurrentCell):
    """What `LSTMCell` and `GRUCell` share: a recurrent activation for the gates, and (``implementation=1``, as
    Keras chooses with recurrent dropout) one dropout mask per gate."""

    def _init_gates(self, recurrent_activation, implementation):
        self.recurrent_activation = activations.get(recurrent_activation)
        # As Keras: with recurrent dropout, each gate gets its own input and recurrent dropout mask.
        self.implementation = 1 if self.recurrent_dropout else implementation
        if self.implementation == 1:
            self.dropout_mask_count = self.gates

    def _per_gate_inputs(self, inputs, h_tm1, dp_mask, rec_dp_mask):
        """One (input, state) pair per gate, each with its own dropout mask (None: unmasked)."""
        def per_gate(mask):
            return mask if isinstance(mask, list) else [mask] * self.gates

        xs = [inputs if m is None else ops.multiply(inputs, m) for m in per_gate(dp_mask)]
        hs = [h_tm1 if m is None else ops.multiply(h_tm1, m) for m in per_gate(rec_dp_mask)]
        return xs, hs

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation)}


class RNN(Layer):
    """Runs ``cell`` over the time axis of (batch, timesteps, features) inputs (Keras 3's arguments)."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        cls = type(self).__name__
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not callable(getattr(cell, "call", None)) or getattr(cell, "state_size", None) is None:
            raise ValueError(f"{cls}: `cell` must have a `call(inputs, states)` method and a `state_size` "
                             f"attribute. Received: cell={cell!r}")
        if not isinstance(cell.state_size, (int, np.integer, list, tuple)):
            raise ValueError(f"{cls}: the cell's `state_size` must be an integer or a list of integers. "
                             f"Received: state_size={cell.state_size!r}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.states = None
        self._expected_batch_size = None
        size = cell.state_size
        self.state_size = [int(size)] if isinstance(size, (int, np.integer)) else [int(s) for s in size]
        self.single_state = isinstance(size, (int, np.integer))

    # -- weights and states --------------------------------------------------------------------------------------
    @property
    def variables(self):
        own = super().variables
        return own + [v for v in self.states if all(v is not o for o in own)] if self.states else own

    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = tuple(sequences_shape)
        if len(sequences_shape) < 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected inputs of shape (batch, timesteps, "
                             f"features). Received: input_shape={sequences_shape}")
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._maybe_build((sequences_shape[0],) + sequences_shape[2:])
        self._feature_shape = sequences_shape[2:]
        if self.stateful:
            if self.states is not None:
                self.reset_states()
            else:
                batch = sequences_shape[0]
                if batch is None:
                    raise ValueError(
                        f"{type(self).__name__} '{self.name}': `stateful=True` needs a fixed batch size. Start the "
                        "model with `kshim.Input(batch_shape=(batch, timesteps, features))`, or give the first "
                        "layer `batch_input_shape=(batch, timesteps, features)` or `batch_size=`. "
                        f"Received: input_shape={sequences_shape}")
                self._create_state_variables(batch)
        self.built = True

    def _create_state_variables(self, batch_size):
        self.states = []
        for i, value in enumerate(self.get_initial_state(batch_size)):
            v = Variable(value, trainable=False, name="rnn_state" if i == 0 else f"rnn_state_{i}")
            v.path = f"{self.name}/{v.name}"
            self.states.append(v)
        self._expected_batch_size = batch_size

    def get_initial_state(self, batch_size):
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            state = fn(batch_size=batch_size)
            return list(state) if isinstance(state, (list, tuple)) else [state]
        return [ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in self.state_size]

    def reset_states(self, states=None):
        """Set the states of a stateful layer to zeros (or to the given arrays)."""
        if not self.stateful:
            raise AttributeError(f"{type(self).__name__} '{self.name}': reset_states() needs `stateful=True`.")
        if self.states is None:
            return
        if states is None:
            for v in self.states:
                v.assign(ops.zeros(v.shape, dtype=v.dtype))
            return
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != len(self.states):
            raise ValueError(f"{type(self).__name__} '{self.name}': reset_states expected {len(self.states)} "
                             f"arrays, one per state. Received: {len(states)}")
        for v, s in zip(self.states, states):
            v.assign(np.asarray(s) if not ops.is_tensor(s) else s)

    reset_state = reset_states

    # -- shapes and masks ----------------------------------------------------------------------------------------
    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, length = sequences_shape[0], sequences_shape[1]
        output_size = getattr(self.cell, "output_size", None) or self.state_size[0]
        out = (batch, length, output_size) if self.return_sequences else (batch, output_size)
        if self.return_state:
            return [out] + [(batch, s) for s in self.state_size]
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None for _ in self.state_size]
        return output_mask

    # -- calling -------------------------------------------------------------------------------------------------
    _feature_shape = None

    def call(self, sequences, initial_state=None, mask=None, training=False):
        shape = tuple(ops.shape(sequences))
        if self._feature_shape is not None and (len(shape) < 3 or shape[2:] != self._feature_shape):
            raise ValueError(f"{type(self).__name__} '{self.name}' was built for inputs of shape (batch, timesteps)"
                             f" + {self._feature_shape}; its weights fix the feature size. Received: "
                             f"inputs.shape={shape}")
        if not ops.is_float_dtype(ops.dtype(sequences)):  # integer sequences: as floats (the cell's dtype)
            sequences = ops.cast(sequences, self.compute_dtype)
        batch = shape[0]
        if initial_state is None:
            initial_state = [v.value for v in self.states] if self.stateful else self.get_initial_state(batch)
        else:
            initial_state = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            initial_state = [ops.cast(s.value if getattr(s, "_kshim_variable", False) else
                                      ops.convert_to_tensor(s), self.compute_dtype) for s in initial_state]
        if len(initial_state) != len(self.state_size):
            raise ValueError(f"{type(self).__name__} '{self.name}': expected {len(self.state_size)} initial "
                             f"state tensor(s). Received: {len(initial_state)}")
        if self.stateful and self._expected_batch_size is not None and batch != self._expected_batch_size:
            raise ValueError(f"{type(self).__name__} '{self.name}' is stateful: every batch must have the batch "
                             f"size its states were built for. Expected batch size: {self._expected_batch_size}, "
                             f"received: {batch}")
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        self._config_dropout_masks(sequences, initial_state, training)
        try:
            last_output, outputs, states = self.inner_loop(sequences, initial_state, mask, training=training)
        finally:
            self._reset_dropout_masks()
        if self.stateful:
            for v, s in zip(self.states, states):
                v.assign(ops.stop_gradient(s))
        output = outputs if self.return_sequences else last_output
        if self.return_state:
            return [output] + list(states)
        return output

    def _config_dropout_masks(self, sequences, initial_state, training):
        """Draw the cell's masks now, outside the (traced) loop, so every timestep reuses them."""
        cell = self.cell
        if training and isinstance(cell, DropoutRNNCell):
            cell.get_dropout_mask(sequences[:, 0])
            cell.get_recurrent_dropout_mask(initial_state[0])

    def _reset_dropout_masks(self):
        if isinstance(self.cell, DropoutRNNCell):
            self.cell.reset_dropout_mask()
            self.cell.reset_recurrent_dropout_mask()

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """The generic path: ``kshim.ops.rnn`` over ``cell.call``. Returns (last_output, outputs, states)."""
        cell = self.cell
        kwargs = {"training": training} if call_flags(type(cell))[0] else {}

        def step(inputs, states):
            output, new_states = cell.call(inputs, list(states), **kwargs)
            return output, new_states if isinstance(new_states, (list, tuple)) else [new_states]

        return ops.rnn(step, sequences, initial_state, go_backwards=self.go_backwards, mask=mask,
                       unroll=self.unroll, zero_output_for_mask=self.zero_output_for_mask,
                       return_all_outputs=self.return_sequences)

    # -- config --------------------------------------------------------------------------------------------------
    def _rnn_config(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}

    def _layer_config(self):
        """The config of a built-in layer (SimpleRNN, LSTM, GRU): its own and its cell's arguments, flat."""
        return {**Layer.get_config(self), **self._rnn_config(), **cell_weights_config(self.cell),
                "activity_regularizer": serialize(regularizers, self.activity_regularizer)}

    def get_config(self):
        return {**super().get_config(), **self._rnn_config(), "cell": serialize_keras_object(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if "cell" in config:
            config["cell"] = deserialize_keras_object(config["cell"], custom_objects=custom_objects)
        return super().from_config(config)


class FusedRNN(RNN):
    """What `LSTM` and `GRU` share: the cell's arguments read through, ``use_cudnn``, and a call that runs the
    backend's fused kernel (`_fused_kernel`) when `fused_ok` and the generic loop otherwise."""

    # What the fused kernel needs, for the error when ``use_cudnn=True`` cannot be honoured.
    _fused_needs = "tanh/sigmoid activations, use_bias=True, no mask, unroll=False and no recurrent dropout"

    units = property(lambda self: self.cell.units)
    activation = property(lambda self: self.cell.activation)
    recurrent_activation = property(lambda self: self.cell.recurrent_activation)
    use_bias = property(lambda self: self.cell.use_bias)
    dropout = property(lambda self: self.cell.dropout)
    recurrent_dropout = property(lambda self: self.cell.recurrent_dropout)

    def _set_use_cudnn(self, use_cudnn):
        self.input_spec = InputSpec(ndim=3)
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{type(self).__name__}: `use_cudnn` must be 'auto', True or False. "
                             f"Received: use_cudnn={use_cudnn!r}")
        self.use_cudnn = use_cudnn

    def fused_ok(self, mask=None, training=False):
        """Whether the fused kernel computes this call: ``use_cudnn`` is not False, tanh and sigmoid activations,
        a bias, no mask, not unrolled, no recurrent dropout in training and one (not per-gate) input dropout."""
        cell = self.cell
        dropping = training and (0 < cell.recurrent_dropout < 1 or
                                 (0 < cell.dropout < 1 and cell.dropout_mask_count is not None))
        return (self.use_cudnn is not False and mask is None and not self.unroll and cell.use_bias
                and is_tanh(cell.activation) and is_sigmoid(cell.recurrent_activation) and not dropping)

    def _layer_config(self):
        return {**super()._layer_config(), "recurrent_activation": activations.serialize(self.recurrent_activation)}

    def _fused_kernel(self, sequences, initial_state):
        """``(outputs, *final_states)`` of the backend's fused op over the (input-dropped) ``sequences``."""
        raise NotImplementedError

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.fused_ok(mask, training):
            if self.use_cudnn is True:
                raise ValueError(f"{type(self).__name__} '{self.name}': use_cudnn=True, but this configuration "
                                 f"cannot use the fused kernel (it needs {self._fused_needs}). Pass "
                                 "use_cudnn='auto' to fall back to the generic loop.")
            return super().inner_loop(sequences, initial_state, mask, training=training)
        dp_mask = self.cell.get_dropout_mask(sequences[:, 0]) if training else None
        if dp_mask is not None:
            sequences = ops.multiply(sequences, ops.expand_dims(dp_mask, 1))
        outputs, *states = self._fused_kernel(sequences, initial_state)
        return outputs[:, -1], outputs, states
