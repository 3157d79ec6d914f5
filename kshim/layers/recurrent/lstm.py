"""`LSTMCell` and `LSTM` (Hochreiter 1997), with Keras 3's formula, arguments and weight layout.

Weights: kernel (in, 4u), recurrent_kernel (u, 4u), bias (4u,), gates in the order i, f, c, o.
``z = x @ kernel + h @ recurrent_kernel + bias``; ``i, f, o = recurrent_activation(z_i, z_f, z_o)``;
``c = f * c + i * activation(z_c)``; ``h = o * activation(c)``.

`LSTM` runs the backend's fused kernel (``kshim.ops.lstm``: torch's native LSTM, jax's jitted scan) when the
configuration is the one that kernel computes, and the generic ``kshim.ops.rnn`` loop otherwise (see
`LSTM.fused_ok`).
"""

from kshim import initializers, ops
from kshim.layers.recurrent.rnn import FusedRNN, GatedCell


class LSTMCell(GatedCell):
    """One LSTM step: states ``[h, c]``, output ``h``."""

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self._init_gates(recurrent_activation, implementation)
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        bias_initializer = None
        if self.unit_forget_bias:
            base, u = self.bias_initializer, self.units

            def bias_initializer(shape, dtype=None):
                ones = initializers.get("ones")
                return ops.concatenate([base((u,), dtype=dtype), ones((u,), dtype=dtype), base((2 * u,), dtype=dtype)])

        self._add_cell_weights(input_shape, (4 * self.units,), bias_initializer)

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        dp_mask = self.get_dropout_mask(inputs) if training else None
        rec_dp_mask = self.get_recurrent_dropout_mask(h_tm1) if training else None
        kernel, recurrent_kernel = self.kernel.value, self.recurrent_kernel.value
        bias = self.bias.value if self.bias is not None else None
        if isinstance(dp_mask, list) or isinstance(rec_dp_mask, list):
            xs, hs = self._per_gate_inputs(inputs, h_tm1, dp_mask, rec_dp_mask)
            ks = ops.split(kernel, 4, axis=1)
            rks = ops.split(recurrent_kernel, 4, axis=1)
            bs = ops.split(bias, 4, axis=0) if bias is not None else [None] * 4
            z = []
            for x, h, k, rk, b in zip(xs, hs, ks, rks, bs):
                zx = ops.matmul(x, k)
                zx = ops.add(zx, b) if b is not None else zx
                z.append(ops.add(zx, ops.matmul(h, rk)))
        else:
            if dp_mask is not None:
                inputs = ops.multiply(inputs, dp_mask)
            z = ops.add(ops.matmul(inputs, kernel), ops.matmul(h_tm1, recurrent_kernel))
            if bias is not None:
                z = ops.add(z, bias)
            z = ops.split(z, 4, axis=1)
        act, rec_act = self.activation, self.recurrent_activation
        i, f, o = rec_act(z[0]), rec_act(z[1]), rec_act(z[3])
        c = ops.add(ops.multiply(f, c_tm1), ops.multiply(i, act(z[2])))
        h = ops.multiply(o, act(c))
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class LSTM(FusedRNN):
    """Long Short-Term Memory layer (Keras 3's arguments, weights and numbers)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        cell = LSTMCell(
            units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True), name="lstm_cell",
            implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self._set_use_cudnn(use_cudnn)

    unit_forget_bias = property(lambda self: self.cell.unit_forget_bias)

    def _fused_kernel(self, sequences, initial_state):
        cell = self.cell
        return ops.lstm(sequences, initial_state[0], initial_state[1], cell.kernel.value, cell.recurrent_kernel.value,
                        cell.bias.value, go_backwards=self.go_backwards)

    def get_config(self):
        return {**self._layer_config(), "unit_forget_bias": self.unit_forget_bias}
