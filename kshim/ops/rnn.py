"""Recurrence ops: `scan` and the fused `lstm`/`gru` kernels are backend primitives; `rnn`, the generic loop with
Keras 3's masking semantics, is written once here on top of `scan`."""

from kshim.backends import B

scan = B.scan
lstm = B.lstm
gru = B.gru


def _time_major(x):
    return B.transpose(x, (1, 0) + tuple(range(2, len(B.shape(x)))))


def _select(mask_t, new, old):
    """``new`` where the (batch, 1) bool ``mask_t`` is set, else ``old`` (the mask broadcast over any rank)."""
    extra = len(B.shape(new)) - 2
    if extra > 0:
        mask_t = B.reshape(mask_t, tuple(B.shape(mask_t)) + (1,) * extra)
    return B.where(mask_t, new, old)


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None, unroll=False,
        input_length=None, time_major=False, zero_output_for_mask=False, return_all_outputs=True):
    """Iterate ``output_t, states = step_function(input_t, states)`` over the time axis (Keras 3's
    ``backend.rnn``).

    ``inputs`` is (batch, time, ...) (or (time, batch, ...) with ``time_major``); ``initial_states`` a list of
    tensors. ``mask`` (batch, time) marks the steps to use: at a masked step every state keeps its previous value
    and the output repeats the previous output (the first state), or is zero with ``zero_output_for_mask``.
    ``go_backwards`` reads the sequence (and mask) from the end; the outputs are then in reversed order, as
    Keras. ``constants`` are appended to the states passed to ``step_function``. ``unroll`` runs a Python loop
    (jax unrolls it into the graph); otherwise `scan`. Returns ``(last_output, outputs, new_states)``, where
    ``outputs`` is (batch, time, ...) (just the last step, (batch, 1, ...), when unrolled without
    ``return_all_outputs``).
    """
    x = inputs if time_major else _time_major(inputs)
    steps = B.shape(x)[0]
    if steps == 0:
        raise ValueError("rnn: the input sequence has no timesteps. Received: inputs with time axis of length 0")
    if mask is not None:
        mask = B.cast(mask, "bool")
        if len(B.shape(mask)) == 2:
            mask = B.expand_dims(mask, -1)
        if not time_major:
            mask = _time_major(mask)
    if go_backwards:
        x = B.flip(x, 0)
        if mask is not None:
            mask = B.flip(mask, 0)
    constants = tuple(constants or ())

    def step(states, x_t, mask_t=None):
        output, new_states = step_function(x_t, tuple(states) + constants)
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        if mask_t is not None:
            previous = B.zeros_like(output) if zero_output_for_mask else states[0]
            output = _select(mask_t, output, previous)
            new_states = [_select(mask_t, n, s) for n, s in zip(new_states, states)]
        return new_states, output

    states = list(initial_states)
    if unroll:
        outputs = []
        for t in range(steps):
            states, output = step(states, x[t], None if mask is None else mask[t])
            if return_all_outputs or t == steps - 1:
                outputs.append(output)
        outputs = B.stack(outputs, 0)
    elif mask is None:
        states, outputs = B.scan(lambda s, x_t: step(s, x_t), states, x)
    else:
        states, outputs = B.scan(lambda s, xm: step(s, xm[0], xm[1]), states, (x, mask))
    last_output = outputs[-1]
    if not time_major:
        outputs = _time_major(outputs)
    return last_output, outputs, states


__all__ = ["scan", "lstm", "gru", "rnn"]
