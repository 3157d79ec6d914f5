"""Convolutional LSTM: `ConvLSTM1D`, `ConvLSTM2D`, `ConvLSTM3D` (Shi et al., 2015), Keras 3's arguments, weights and
numbers.

The LSTM's matrix products become convolutions: the input convolution has the layer's ``strides``, ``padding``
and ``dilation_rate``, the recurrent one stride 1 and "same" padding. Weights: kernel (kernel_size..., in,
4 filters), recurrent_kernel (kernel_size..., filters, 4 filters), bias (4 filters,), gates i, f, c, o.
"""

from kshim import activations, constraints, initializers, ops, regularizers
from kshim.layers.core import _data_format
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer
from kshim.layers.recurrent.rnn import RNN, DropoutRNNCell, serialize
from kshim.layers.reshaping import _int_tuple
from kshim.ops.convolution import conv_output_shape


def _padding(cls, padding):
    value = str(padding).lower()
    if value not in ("valid", "same"):
        raise ValueError(f"{cls}: `padding` must be 'valid' or 'same'. Received: padding={padding!r}")
    return value


class ConvLSTMCell(Layer, DropoutRNNCell):
    """One ConvLSTM step over (batch, spatial..., channels) inputs: states ``[h, c]``, output ``h``."""

    dropout_mask_count = 4

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if rank not in (1, 2, 3):
            raise ValueError(f"{cls}: `rank` must be 1, 2 or 3. Received: rank={rank!r}")
        self.rank = rank
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"{cls}: `filters` must be a positive integer. Received: filters={filters!r}")
        self.filters = filters
        self.kernel_size = _int_tuple(cls, "kernel_size", kernel_size, rank)
        self.strides = _int_tuple(cls, "strides", strides, rank)
        self.padding = _padding(cls, padding)
        self.data_format = _data_format(cls, data_format)
        self.dilation_rate = _int_tuple(cls, "dilation_rate", dilation_rate, rank)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{cls}: `strides > 1` is not compatible with `dilation_rate > 1`. Received: "
                             f"strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_dropout(min(1.0, max(0.0, dropout)), min(1.0, max(0.0, recurrent_dropout)), seed)
        self.input_spec = InputSpec(ndim=rank + 2)
        self.state_size = [-1, -1]  # spatial states: `get_initial_state` gives their shapes

    def build(self, inputs_shape, states_shape=None):
        inputs_shape = tuple(inputs_shape)
        channel_axis = 1 if self.data_format == "channels_first" else -1
        self.spatial_dims = inputs_shape[2:] if self.data_format == "channels_first" else inputs_shape[1:-1]
        if None in self.spatial_dims:
            raise ValueError(f"{type(self).__name__} '{self.name}': the spatial dimensions must be known. "
                             f"Received: input_shape={inputs_shape}")
        self.input_dim = inputs_shape[channel_axis]
        if self.input_dim is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the channel axis must be known. "
                             f"Received: input_shape={inputs_shape}")
        n = 4 * self.filters
        self.kernel = self.add_weight(shape=self.kernel_size + (self.input_dim, n), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=self.kernel_size + (self.filters, n), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            bias_initializer = self.bias_initializer
            if self.unit_forget_bias:
                base, f = self.bias_initializer, self.filters

                def bias_initializer(shape, dtype=None):
                    ones = initializers.get("ones")
                    return ops.concatenate([base((f,), dtype=dtype), ones((f,), dtype=dtype),
                                            base((2 * f,), dtype=dtype)])

            self.bias = self.add_weight(shape=(n,), name="bias", initializer=bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def _state_shape(self, batch_size):
        if self.data_format == "channels_last":
            shape = (batch_size,) + tuple(self.spatial_dims) + (self.input_dim,)
        else:
            shape = (batch_size, self.input_dim) + tuple(self.spatial_dims)
        return self.compute_output_shape(shape)[0]

    def get_initial_state(self, batch_size=None):
        shape = self._state_shape(batch_size)
        return [ops.zeros(shape, dtype=self.compute_dtype), ops.zeros(shape, dtype=self.compute_dtype)]

    def compute_output_shape(self, inputs_shape, states_shape=None):
        out = conv_output_shape(tuple(inputs_shape), self.filters, self.kernel_size, strides=self.strides,
                                padding=self.padding, data_format=self.data_format, dilation_rate=self.dilation_rate)
        return tuple(out), [tuple(out), tuple(out)]

    def _bias_shape(self):
        return (1,) * (self.rank + 1) + (-1,) if self.data_format == "channels_last" else (1, -1) + (1,) * self.rank

    def _input_conv(self, x, kernel, bias):
        out = ops.conv(x, kernel, strides=self.strides, padding=self.padding, data_format=self.data_format,
                       dilation_rate=self.dilation_rate)
        return out if bias is None else ops.add(out, ops.reshape(bias, self._bias_shape()))

    def _recurrent_conv(self, h, kernel):
        return ops.conv(h, kernel, strides=1, padding="same", data_format=self.data_format)

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        dp_mask = self.get_dropout_mask(inputs) if training else None
        rec_dp_mask = self.get_recurrent_dropout_mask(h_tm1) if training else None
        channel_axis = self.rank + 1 if self.data_format == "channels_last" else 1
        kernel, recurrent_kernel = self.kernel.value, self.recurrent_kernel.value
        bias = self.bias.value if self.bias is not None else None
        if dp_mask is None and rec_dp_mask is None:  # all four gates in one convolution each
            z = ops.add(self._input_conv(inputs, kernel, bias), self._recurrent_conv(h_tm1, recurrent_kernel))
            z = ops.split(z, 4, axis=channel_axis)
        else:
            ks = ops.split(kernel, 4, axis=self.rank + 1)
            rks = ops.split(recurrent_kernel, 4, axis=self.rank + 1)
            bs = ops.split(bias, 4) if bias is not None else [None] * 4
            z = []
            for g in range(4):
                x = inputs if dp_mask is None else ops.multiply(inputs, dp_mask[g])
                h = h_tm1 if rec_dp_mask is None else ops.multiply(h_tm1, rec_dp_mask[g])
                z.append(ops.add(self._input_conv(x, ks[g], bs[g]), self._recurrent_conv(h, rks[g])))
        act, rec_act = self.activation, self.recurrent_activation
        i, f, o = rec_act(z[0]), rec_act(z[1]), rec_act(z[3])
        c = ops.add(ops.multiply(f, c_tm1), ops.multiply(i, act(z[2])))
        h = ops.multiply(o, act(c))
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), **_cell_config(self)}


def _cell_config(cell):
    return {
        "filters": cell.filters, "kernel_size": cell.kernel_size, "strides": cell.strides, "padding": cell.padding,
        "data_format": cell.data_format, "dilation_rate": cell.dilation_rate,
        "activation": activations.serialize(cell.activation),
        "recurrent_activation": activations.serialize(cell.recurrent_activation), "use_bias": cell.use_bias,
        "kernel_initializer": serialize(initializers, cell.kernel_initializer),
        "recurrent_initializer": serialize(initializers, cell.recurrent_initializer),
        "bias_initializer": serialize(initializers, cell.bias_initializer),
        "unit_forget_bias": cell.unit_forget_bias,
        "kernel_regularizer": serialize(regularizers, cell.kernel_regularizer),
        "recurrent_regularizer": serialize(regularizers, cell.recurrent_regularizer),
        "bias_regularizer": serialize(regularizers, cell.bias_regularizer),
        "kernel_constraint": serialize(constraints, cell.kernel_constraint),
        "recurrent_constraint": serialize(constraints, cell.recurrent_constraint),
        "bias_constraint": serialize(constraints, cell.bias_constraint),
        "dropout": cell.dropout, "recurrent_dropout": cell.recurrent_dropout, "seed": cell.seed,
    }


class ConvLSTM(RNN):
    """A `ConvLSTMCell` run over the time axis of (batch, time, spatial..., channels) inputs."""

    _RANK = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        cell = ConvLSTMCell(
            self._RANK, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, name="conv_lstm_cell", dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.input_spec = InputSpec(ndim=self._RANK + 3)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        state = self.cell.compute_output_shape((batch,) + tuple(sequences_shape[2:]))[0][1:]
        out = (batch, steps) + state if self.return_sequences else (batch,) + state
        if self.return_state:
            return [out, (batch,) + state, (batch,) + state]
        return out

    def get_config(self):
        config = {**super().get_config(), **_cell_config(self.cell),
                  "activity_regularizer": serialize(regularizers, self.activity_regularizer)}
        del config["cell"]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


# The cell's arguments read through the layer, as Keras 3's properties.
for _name in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
              "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
              "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout"):
    setattr(ConvLSTM, _name, property(lambda self, _n=_name: getattr(self.cell, _n)))


class ConvLSTM1D(ConvLSTM):
    """1-D convolutional LSTM over (batch, time, steps, channels)."""
    _RANK = 1


class ConvLSTM2D(ConvLSTM):
    """2-D convolutional LSTM over (batch, time, rows, cols, channels)."""
    _RANK = 2


class ConvLSTM3D(ConvLSTM):
    """3-D convolutional LSTM over (batch, time, d1, d2, d3, channels)."""
    _RANK = 3
