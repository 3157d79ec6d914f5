"""`StackedRNNCells`: several RNN cells run as one, each cell's output the next one's input (Keras 3's
``keras.layers.StackedRNNCells``; ``RNN([cell, cell])`` wraps a list of cells in one).

The states are flat: ``state_size`` lists every cell's state sizes in order (Keras 3 nests them per cell; the
`RNN` layer flattens them either way, so an RNN's ``return_state`` outputs agree).
"""

from kshim import ops
from kshim.layers.layer import Layer, call_flags
from kshim.serialization import deserialize_keras_object, serialize_keras_object


def _sizes(cell):
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


class StackedRNNCells(Layer):
    """Runs ``cells`` one after the other at each timestep."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError(f"StackedRNNCells: every cell must have a `call` method. Received: {cell!r}")
            if getattr(cell, "state_size", None) is None:
                raise ValueError(f"StackedRNNCells: every cell must have a `state_size`. Received: {cell!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [s for cell in self.cells for s in _sizes(cell)]

    @property
    def output_size(self):
        last = self.cells[-1]
        return getattr(last, "output_size", None) or _sizes(last)[0]

    def get_initial_state(self, batch_size=None):
        states = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                state = fn(batch_size=batch_size)
                states.extend(state if isinstance(state, (list, tuple)) else [state])
            else:
                states.extend(ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in _sizes(cell))
        return states

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                cell.built = True
            input_shape = (tuple(input_shape)[0], getattr(cell, "output_size", None) or _sizes(cell)[0])
        self.built = True

    def call(self, inputs, states, training=False):
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        new_states, start = [], 0
        for cell in self.cells:
            n = len(_sizes(cell))
            kwargs = {"training": training} if isinstance(cell, Layer) and call_flags(type(cell))[0] else {}
            inputs, cell_states = cell.call(inputs, states[start:start + n], **kwargs)
            new_states.extend(cell_states if isinstance(cell_states, (list, tuple)) else [cell_states])
            start += n
        return inputs, new_states

    def get_config(self):
        return {**super().get_config(), "cells": [serialize_keras_object(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [deserialize_keras_object(c, custom_objects=custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)
