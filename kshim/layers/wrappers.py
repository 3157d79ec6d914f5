"""Layer wrappers: `Bidirectional` (an RNN run both ways) and `TimeDistributed` (a layer applied to each step)."""

import warnings

from kshim import ops
from kshim.layers.layer import Layer, call_flags
from kshim.serialization import deserialize_keras_object, serialize_keras_object

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _serialize(layer):
    return serialize_keras_object(layer)


def _deserialize(config, custom_objects=None):
    return deserialize_keras_object(config, custom_objects=custom_objects)


def _clone(layer, **overrides):
    """A new, unbuilt layer with ``layer``'s config and the given overrides."""
    config = {**layer.get_config(), **overrides}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return type(layer).from_config(config)


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs a copy of an RNN layer forward and another backward over the sequence and merges their outputs.

    Weights are the forward layer's, then the backward layer's, as in Keras 3."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: `layer` must be a kshim layer instance such as `LSTM(8)`. "
                             f"Received: layer={layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: `backward_layer` must be a kshim layer instance. "
                             f"Received: backward_layer={backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: `merge_mode` must be one of {list(_MERGE_MODES)}. "
                             f"Received: merge_mode={merge_mode!r}")
        super().__init__(**kwargs)
        if self._batch_input_shape is None and layer._batch_input_shape is not None:
            self._batch_input_shape = layer._batch_input_shape
        self.forward_layer = _clone(layer, name=f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            backward_layer = _clone(layer, name=f"backward_{_strip(layer.name, 'backward_')}", go_backwards=True)
        self.backward_layer = backward_layer
        self._verify()
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        if weights:
            n = len(weights)
            self.forward_layer._initial_weights = list(weights[: n // 2])
            self.backward_layer._initial_weights = list(weights[n // 2:])
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify(self):
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError("Bidirectional: the forward and backward layers must have different `go_backwards`. "
                             f"Received: forward go_backwards={fwd.go_backwards}, "
                             f"backward go_backwards={bwd.go_backwards}")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ValueError(f"Bidirectional: the forward and backward layers must have the same `{attr}`. "
                                 f"Received: {getattr(fwd, attr)} (forward) and {getattr(bwd, attr)} (backward)")

    # -- building and shapes -------------------------------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        self.forward_layer._maybe_build(tuple(sequences_shape))
        self.backward_layer._maybe_build(tuple(sequences_shape))
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        out = self.forward_layer.compute_output_shape(sequences_shape)
        states = []
        if self.return_state:
            out, states = tuple(out[0]), [tuple(s) for s in out[1:]]
        if self.merge_mode == "concat":
            out = tuple(out[:-1]) + (None if out[-1] is None else 2 * out[-1],)
        outs = [out, out] if self.merge_mode is None else [tuple(out)]
        if self.return_state:
            return outs + states + states
        return outs if self.merge_mode is None else outs[0]

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            output_mask = [mask, mask] if self.merge_mode is None else mask
        else:
            output_mask = [None, None] if self.merge_mode is None else None
        if self.return_state and self.forward_layer.states is not None:
            n = 2 * len(self.forward_layer.states)
            head = output_mask if isinstance(output_mask, list) else [output_mask]
            return head + [None] * n
        return output_mask

    # -- calling -------------------------------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=None):
        takes_training, takes_mask = call_flags(type(self.forward_layer))
        kwargs = {}
        if takes_training:
            kwargs["training"] = training
        if takes_mask and mask is not None:
            kwargs["mask"] = mask
        fwd_kwargs, bwd_kwargs = dict(kwargs), dict(kwargs)
        if initial_state is not None:
            initial_state = list(initial_state)
            half = len(initial_state) // 2
            fwd_kwargs["initial_state"] = initial_state[:half]
            bwd_kwargs["initial_state"] = initial_state[half:]
        y = self.forward_layer(sequences, **fwd_kwargs)
        y_rev = self.backward_layer(sequences, **bwd_kwargs)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output = [ops.concatenate([y, y_rev], axis=-1)]
        elif self.merge_mode == "sum":
            output = [ops.add(y, y_rev)]
        elif self.merge_mode == "ave":
            output = [ops.divide(ops.add(y, y_rev), 2.0)]
        elif self.merge_mode == "mul":
            output = [ops.multiply(y, y_rev)]
        else:
            output = [y, y_rev]
        if self.return_state:
            return output + states
        return output if self.merge_mode is None else output[0]

    # -- states --------------------------------------------------------------------------------------------------
    @property
    def states(self):
        if self.forward_layer.states and self.backward_layer.states:
            return tuple(self.forward_layer.states) + tuple(self.backward_layer.states)
        return None

    def reset_states(self, states=None):
        if not self.stateful:
            raise AttributeError(f"Bidirectional '{self.name}': reset_states() needs a stateful layer.")
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        states = list(states)
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    reset_state = reset_states

    # -- config --------------------------------------------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode, "layer": _serialize(self.forward_layer),
                "backward_layer": _serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"], custom_objects)
        if "batch_input_shape" in config:
            config["batch_input_shape"] = tuple(config["batch_input_shape"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return cls(**config)


class TimeDistributed(Layer):
    """Applies ``layer`` to every timestep of a (batch, timesteps, ...) input.

    A layer without state (no non-trainable variables, no random draws) and without a mask to honour runs once
    on the (batch * timesteps, ...) reshaped input, which gives the same numbers as Keras 3's per-step loop in one
    call. Otherwise it runs once per timestep, as Keras 3 does (each step updates the layer's state in turn)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: `layer` must be a kshim layer instance such as `Dense(8)`. "
                             f"Received: layer={layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def _child_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(f"TimeDistributed '{self.name}': the input must have at least 3 axes (batch, "
                             f"timesteps, ...). Received: input_shape={input_shape}")
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        self.layer._maybe_build(self._child_shape(tuple(input_shape)))
        self.built = True

    def compute_output_shape(self, input_shape):
        child = tuple(self.layer.compute_output_shape(self._child_shape(tuple(input_shape))))
        return (child[0], input_shape[1]) + child[1:]

    def call(self, inputs, training=None, mask=None):
        shape = ops.shape(inputs)
        batch, steps = shape[0], shape[1]
        takes_training, takes_mask = call_flags(type(self.layer))
        kwargs = {"training": training} if takes_training else {}
        if mask is not None:
            mshape = ops.shape(mask)
            if len(mshape) < 2 or tuple(mshape[:2]) != (batch, steps):
                raise ValueError(f"TimeDistributed '{self.name}': the mask's first two axes must be (batch, "
                                 f"timesteps) = {(batch, steps)}. Received: mask shape {tuple(mshape)}")
        if not (takes_mask and mask is not None) and not self.layer.non_trainable_variables:
            y = self.layer.call(ops.reshape(inputs, (batch * steps,) + tuple(shape[2:])), **kwargs)
            return ops.reshape(y, (batch, steps) + tuple(ops.shape(y)[1:]))
        outputs = []
        for t in range(steps):
            if takes_mask and mask is not None:
                kwargs["mask"] = mask[:, t]
            outputs.append(self.layer.call(inputs[:, t], **kwargs))
        return ops.stack(outputs, axis=1)

    def get_config(self):
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        if "batch_input_shape" in config:
            config["batch_input_shape"] = tuple(config["batch_input_shape"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return cls(**config)
