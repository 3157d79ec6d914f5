"""`GRUCell` and `GRU` (Cho et al. 2014), with Keras 3's formula, arguments and weight layout.

Weights: kernel (in, 3u), recurrent_kernel (u, 3u), gates in the order z, r, h; bias (2, 3u) (input bias,
recurrent bias) with ``reset_after=True`` (the default), (3u,) otherwise.
``z = rec_act(x_z + h_z)``, ``r = rec_act(x_r + h_r)``; ``reset_after``: ``hh = act(x_h + r * (h @ U_h + b_h))``,
else ``hh = act(x_h + (r * h) @ U_h)``; ``h = z * h + (1 - z) * hh``.

`GRU` runs the backend's fused kernel (``kshim.ops.gru``: torch's native GRU, jax's jitted scan) when the
configuration is the one that kernel computes (``reset_after=True`` among others, see `GRU.fused_ok`), and the
generic ``kshim.ops.rnn`` loop otherwise.
"""

from kshim import ops
from kshim.layers.recurrent.rnn import FusedRNN, GatedCell


class GRUCell(GatedCell):
    """One GRU step: state ``h``, output ``h``."""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.reset_after = bool(reset_after)
        self._init_gates(recurrent_activation, implementation)

    def build(self, input_shape):
        self._add_cell_weights(input_shape, (2, 3 * self.units) if self.reset_after else (3 * self.units,))

    def call(self, inputs, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        u = self.units
        dp_mask = self.get_dropout_mask(inputs) if training else None
        rec_dp_mask = self.get_recurrent_dropout_mask(h_tm1) if training else None
        kernel, recurrent_kernel = self.kernel.value, self.recurrent_kernel.value
        input_bias = recurrent_bias = None
        if self.bias is not None:
            bias = self.bias.value
            input_bias, recurrent_bias = (bias[0], bias[1]) if self.reset_after else (bias, None)
        if isinstance(dp_mask, list) or isinstance(rec_dp_mask, list):
            xs, hs = self._per_gate_inputs(inputs, h_tm1, dp_mask, rec_dp_mask)
        else:
            if dp_mask is not None:
                inputs = ops.multiply(inputs, dp_mask)
            xs, hs = [inputs] * 3, [h_tm1] * 3
        if xs[0] is xs[1] is xs[2]:
            x = ops.matmul(xs[0], kernel)
            x = ops.add(x, input_bias) if input_bias is not None else x
            x_z, x_r, x_h = ops.split(x, 3, axis=-1)
        else:
            ks = ops.split(kernel, 3, axis=1)
            x_z, x_r, x_h = [ops.matmul(a, k) for a, k in zip(xs, ks)]
            if input_bias is not None:
                b = ops.split(input_bias, 3, axis=0)
                x_z, x_r, x_h = ops.add(x_z, b[0]), ops.add(x_r, b[1]), ops.add(x_h, b[2])
        rks = ops.split(recurrent_kernel, 3, axis=1)
        if hs[0] is hs[1] and self.reset_after:
            inner = ops.matmul(hs[0], recurrent_kernel)
            inner = ops.add(inner, recurrent_bias) if recurrent_bias is not None else inner
            r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
        else:
            r_z, r_r = ops.matmul(hs[0], rks[0]), ops.matmul(hs[1], rks[1])
            if recurrent_bias is not None:
                rb = ops.split(recurrent_bias, 3, axis=0)
                r_z, r_r = ops.add(r_z, rb[0]), ops.add(r_r, rb[1])
            if self.reset_after:
                r_h = ops.matmul(hs[2], rks[2])
                r_h = ops.add(r_h, rb[2]) if recurrent_bias is not None else r_h
        z = self.recurrent_activation(ops.add(x_z, r_z))
        r = self.recurrent_activation(ops.add(x_r, r_r))
        if self.reset_after:
            recurrent_h = ops.multiply(r, r_h)
        else:
            recurrent_h = ops.matmul(ops.multiply(r, hs[2]), rks[2])
        hh = self.activation(ops.add(x_h, recurrent_h))
        h = ops.add(ops.multiply(z, h_tm1), ops.multiply(ops.subtract(1.0, z), hh))
        return h, [h] if isinstance(states, (list, tuple)) else h

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


class GRU(FusedRNN):
    """Gated Recurrent Unit layer (Keras 3's arguments, weights and numbers; ``reset_after=True`` by default)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        cell = GRUCell(
            units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
            reset_after=reset_after, seed=seed, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name="gru_cell", implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self._set_use_cudnn(use_cudnn)

    _fused_needs = ("reset_after=True, tanh/sigmoid activations, use_bias=True, no mask, unroll=False and no "
                    "recurrent dropout")

    reset_after = property(lambda self: self.cell.reset_after)

    def fused_ok(self, mask=None, training=False):
        """`FusedRNN.fused_ok`, and ``reset_after=True``."""
        return self.cell.reset_after and super().fused_ok(mask, training)

    def _fused_kernel(self, sequences, initial_state):
        cell = self.cell
        return ops.gru(sequences, initial_state[0], cell.kernel.value, cell.recurrent_kernel.value, cell.bias.value,
                       go_backwards=self.go_backwards)

    def get_config(self):
        return {**self._layer_config(), "reset_after": self.reset_after}
