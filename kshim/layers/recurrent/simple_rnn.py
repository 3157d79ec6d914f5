"""`SimpleRNNCell` and `SimpleRNN`: ``h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)``.

Weights as Keras 3: kernel (in, units), recurrent_kernel (units, units), bias (units,).
"""

from kshim import ops
from kshim.layers.input_spec import InputSpec
from kshim.layers.recurrent.rnn import RNN, RecurrentCell


class SimpleRNNCell(RecurrentCell):
    """One step of a fully connected RNN whose output is fed back as its state."""

    def build(self, input_shape):
        self._add_cell_weights(input_shape, (self.units,))

    def call(self, sequence, states, training=False):
        prev_output = states[0] if isinstance(states, (list, tuple)) else states
        if training:
            dp_mask = self.get_dropout_mask(sequence)
            rec_dp_mask = self.get_recurrent_dropout_mask(prev_output)
            if dp_mask is not None:
                sequence = ops.multiply(sequence, dp_mask)
            if rec_dp_mask is not None:
                prev_output = ops.multiply(prev_output, rec_dp_mask)
        h = ops.matmul(sequence, self.kernel.value)
        if self.bias is not None:
            h = ops.add(h, self.bias.value)
        output = self.activation(ops.add(h, ops.matmul(prev_output, self.recurrent_kernel.value)))
        return output, [output] if isinstance(states, (list, tuple)) else output


class SimpleRNN(RNN):
    """A fully connected RNN over the time axis (Keras 3's arguments; always the generic loop)."""

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, **kwargs):
        cell = SimpleRNNCell(
            units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True), name="simple_rnn_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    units = property(lambda self: self.cell.units)
    activation = property(lambda self: self.cell.activation)
    use_bias = property(lambda self: self.cell.use_bias)
    dropout = property(lambda self: self.cell.dropout)
    recurrent_dropout = property(lambda self: self.cell.recurrent_dropout)

    def get_config(self):
        return self._layer_config()
