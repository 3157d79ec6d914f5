"""`Layer`: the base of every layer and model.

A layer owns Variables (created in ``build``, once the input shape is known) and sub-layers (tracked when
assigned as attributes). It can be called eagerly on tensors or numpy arrays, symbolically on KerasTensors (which
only computes shapes), or statelessly with given variable values (`stateless_call`), which is how the compiled
training step runs it.
"""

import warnings

import numpy as np

from kshim import config, constraints, dtype_policies, ops, regularizers
from kshim import initializers as kinit
from kshim.backends import B
from kshim.layers.input_spec import InputSpec, check_input_spec
from kshim.layers.keras_tensor import KerasTensor, is_symbolic
from kshim.layers.layer_policy import PolicyOwner
from kshim.layers.node import Node
from kshim.layers import arguments, symbolic_call
from kshim.layers.symbolic_call import call_flags
from kshim.random import SeedGenerator
from kshim.registry import LAYERS
from kshim.serialization import serialize_layer
from kshim.common import naming
from kshim.common.suggest import unknown_name_error
from kshim.variables import STRUCTURE, Variable, read_values, swap_values, values_lock, values_of

_LAYER_KWARGS = ("input_shape", "input_dim", "batch_size", "batch_input_shape", "input_length", "weights",
                 "input_dtype")


def standardize_dtype(dtype):
    """A plain dtype name from a dtype, a name, or a dtype policy (its variable dtype)."""
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, (dict, dtype_policies.DTypePolicy)) or dtype in ("mixed_float16", "mixed_bfloat16"):
        return dtype_policies.get(dtype).variable_dtype
    return str(getattr(dtype, "name", dtype))


def _attach_mask(outputs, mask):
    """Set ``_keras_mask`` on eager outputs (one mask, or one per output); a value that takes no attributes
    (a tracer) is left as it is."""
    if mask is None:
        return
    if isinstance(outputs, (list, tuple)):
        masks = mask if isinstance(mask, (list, tuple)) and len(mask) == len(outputs) else [mask] * len(outputs)
        for out, m in zip(outputs, masks):
            _attach_mask(out, m)
        return
    try:
        outputs._keras_mask = mask
    except (AttributeError, TypeError):
        pass


def _shapes(tensors):
    """The shape of one KerasTensor, or the list of shapes of several."""
    return tensors.shape if isinstance(tensors, KerasTensor) else [t.shape for t in tensors]

class _Calls:
    """The depth of the current eager layer call, and the layers holding ``add_loss`` losses: an outermost call
    first drops the losses its layers added in earlier calls, as in Keras 3 (the walk only runs when some layer
    holds such a loss)."""

    depth = 0
    pending = set()


_CALLS = _Calls()
_METRICS_TRACKED = [False]  # whether any layer ever held a Metric: until then no call walks the layers for them


_LayerBase = B.layer_base()


class _StatelessDepth:
    """How many stateless calls are running: binding framework objects (see `Layer.__call__`) must not run there."""

    depth = 0


class Layer(PolicyOwner, _LayerBase):
    """The base layer. Subclasses implement ``build(input_shape)``, ``call(inputs, ...)`` and
    ``compute_output_shape(input_shape)``.

    Its base class comes from the backend (`kshim.backends.interface.layer.layer_base`): on torch every layer and
    model is a ``torch.nn.Module`` whose ``parameters()`` are its trainable variables."""

    _call_takes_training = None  # per-class caches, filled on first call

    def __init_subclass__(cls, **kwargs):
        """Every layer takes numpy integers and floats wherever it takes Python ones (``Dense(np.int64(46))``, as
        Keras 2 code computes sizes with numpy): each class's own ``__init__`` sees Python scalars."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_kshim_scalars", False):
            cls.__init__ = arguments.accepting_numpy_scalars(init)
    _call_takes_mask = None
    # What a class is, for the modules below `kshim.models` that must tell (saving, summaries) without importing it.
    _is_model = False  # a Model (compile config, optimizer)
    _is_graph = False  # a Functional model (its layers come from the graph)
    _is_operation = False  # an op on symbolic tensors (`x + 1`): a node of the graph, not one of `model.layers`

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, autocast=True, name=None,
                 **kwargs):
        _LayerBase.__init__(self)
        object.__setattr__(self, "_tracked_layers", [])
        self._own_trainable = []
        self._own_non_trainable = []
        self._seed_generators = []
        self._losses = []
        self._inbound_nodes = []
        self._build_shape = None
        self.built = False
        self._trainable = bool(trainable)
        self.autocast = autocast
        self.input_spec = None
        self.supports_masking = False
        self.activity_regularizer = regularizers.get(activity_regularizer)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: `name` must be a string. Received: name={name!r}")
        self.name = name or naming.uniquify(naming.to_snake_case(type(self).__name__))
        self.dtype_policy = dtype  # after the name: a `DTypePolicyMap` is looked up by the layer's path
        self._batch_input_shape = self._keras2_input_shape(kwargs)
        self._initial_weights = kwargs.pop("weights", None)
        if kwargs:
            bad = next(iter(kwargs))
            known = ["activity_regularizer", "trainable", "dtype", "autocast", "name"] + list(_LAYER_KWARGS)
            raise unknown_name_error(f"keyword argument to {type(self).__name__}", bad, known, arg="kwarg")

    # -- construction helpers ------------------------------------------------------------------------------------
    def _keras2_input_shape(self, kwargs):
        """The batch input shape given through the Keras 2 style first-layer arguments, or None."""
        cls = type(self).__name__
        batch_size = kwargs.pop("batch_size", None)
        kwargs.pop("input_dtype", None)
        input_length = kwargs.pop("input_length", None)
        shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        if "batch_input_shape" in kwargs:
            batch_shape = tuple(kwargs.pop("batch_input_shape"))
            warnings.warn(f"{cls}: `batch_input_shape` is a Keras 2 argument; prefer "
                          "`kshim.Input(batch_shape=...)` as the first layer.", DeprecationWarning, stacklevel=4)
            return batch_shape
        if shape is None and input_dim is not None:
            shape = (input_length, input_dim) if input_length is not None else (input_dim,)
        elif shape is None and input_length is not None:
            shape = (input_length,)
        if shape is None:
            return None
        if isinstance(shape, int):
            shape = (shape,)
        return (batch_size,) + tuple(shape)

    def __setattr__(self, name, value):
        STRUCTURE[0] += 1  # any attribute may hold layers or variables: eager calls re-check the model
        if isinstance(value, Layer) and name != "_self_ref":
            if value not in self._tracked_layers:
                self._tracked_layers.append(value)
                self._hold(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            for v in value:
                if v not in self._tracked_layers:
                    self._tracked_layers.append(v)
                    self._hold(v)
        elif isinstance(value, SeedGenerator) and hasattr(self, "_seed_generators"):
            self._seed_generators.append(value)
        elif getattr(value, "_kshim_metric", False):  # a Metric the layer updates in `call` (`Layer.metrics`)
            tracked = self.__dict__.setdefault("_tracked_metrics", [])
            if not any(m is value for m in tracked):
                tracked.append(value)
            _METRICS_TRACKED[0] = True
        object.__setattr__(self, name, value)

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, autocast=True, regularizer=None,
                   constraint=None, aggregation="none", overwrite_with_gradient=False, name=None):
        """Create a Variable owned by this layer (Keras 3's signature), in the policy's variable dtype unless
        ``dtype`` is given. With ``autocast`` (the default) a float variable is read in the compute dtype inside
        the layer's call when the policy is mixed. With ``overwrite_with_gradient`` the optimizer sets the
        variable to its gradient instead of updating it (float8 training's scales and amax histories)."""
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = standardize_dtype(dtype or self._variable_dtype)
        if initializer is None:
            initializer = "glorot_uniform" if "float" in dtype else "zeros"
        name = name or f"variable_{len(self._own_trainable) + len(self._own_non_trainable)}"
        try:
            var = Variable(kinit.get(initializer), shape=shape, dtype=dtype, trainable=trainable, name=name,
                           regularizer=regularizers.get(regularizer), constraint=constraints.get(constraint),
                           autocast=autocast)
        except MemoryError:
            size = 1
            for d in shape:
                size *= d
            raise ValueError(f"{type(self).__name__} '{self.name}': the weight `{name}` of shape {shape} "
                             f"({size} values of {dtype}) does not fit in memory. Check the layer's arguments "
                             "(units, filters, input_dim...).") from None
        var.path = f"{self.path}/{name}"
        var.overwrite_with_gradient = bool(overwrite_with_gradient)
        (self._own_trainable if trainable else self._own_non_trainable).append(var)
        STRUCTURE[0] += 1
        if not self._trainable:
            var.trainable = False
        return var

    # -- weights -------------------------------------------------------------------------------------------------
    def _sublayers(self):
        return self._tracked_layers

    def _collect(self, own, attr):
        out, seen = [], set()
        for v in own:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._sublayers():
            for v in getattr(layer, attr):
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def weights(self):
        """Every weight: this layer's trainable-created, then non-trainable-created, then sub-layers'."""
        return self._collect(self._own_trainable + self._own_non_trainable, "weights")

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights if not w.trainable]

    @property
    def variables(self):
        """Weights plus random-seed states: everything a stateless call reads or writes."""
        own = self._own_trainable + self._own_non_trainable + [g.state for g in self._seed_generators]
        return self._collect(own, "variables")

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return [v for v in self.variables if not v.trainable]

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self._trainable = value
        for v in self._own_trainable:
            v.trainable = value
        for layer in self._sublayers():
            layer.trainable = value

    # -- dtype policy: see `kshim.layers.layer_policy` ---------------------------------------------------------
    def _cast_variables(self):
        """Inside a call of a mixed-policy layer: bind this layer's own float variables made with ``autocast``
        to their values in the compute dtype (Keras 3 casts on read in an autocast scope). Returns what
        `_uncast_variables` needs to put the float32 values back."""
        if not self.autocast:
            return None
        dtype = self._compute_dtype
        cast = [v for v in self._own_trainable + self._own_non_trainable
                if v.autocast and v._dtype != dtype and ops.is_float_dtype(v._dtype)]
        old = swap_values(cast, [ops.cast(v._value, dtype) for v in cast])
        return cast, old, read_values(cast)

    @staticmethod
    def _uncast_variables(cast):
        if cast is None:
            return
        for v, old, new in zip(*cast):
            if v._value is new:  # a variable the call assigned keeps its new (variable dtype) value
                v._value = old

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        own = self.weights
        weights = list(weights)
        expected = [tuple(v.shape) for v in own]
        received = [tuple(np.shape(w)) for w in weights]
        if len(weights) != len(own) or expected != received:
            raise ValueError(
                f"Layer '{self.name}': set_weights expected {len(own)} arrays with shapes {expected}, "
                f"but received {len(weights)} arrays with shapes {received}."
            )
        for v, w in zip(own, weights):
            v.assign(np.asarray(w))

    def count_params(self):
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                "Build it first by calling it on data or with `build(input_shape)`."
            )
        return int(sum(int(np.prod(v.shape)) for v in self.weights))

    @property
    def metrics(self):
        """The metrics this layer holds as attributes, then its sub-layers' (each once), as in Keras 3."""
        return self._layer_metrics()

    @property
    def metrics_variables(self):
        return [v for m in self.metrics for v in m.variables]

    def _layer_metrics(self):
        if not _METRICS_TRACKED[0]:
            return []
        out = list(self.__dict__.get("_tracked_metrics", ()))
        for layer in self._sublayers():
            out.extend(m for m in layer._layer_metrics() if not any(m is o for o in out))
        return out

    def _layer_metric_variables(self):
        """The variables of `_layer_metrics` (none without a walk when no layer ever tracked a metric)."""
        return [v for m in self._layer_metrics() for v in m.variables]

    @property
    def losses(self):
        """Regularization losses of this layer's weights and activity, and sub-layers' (as tensors)."""
        out = []
        for v in self._own_trainable + self._own_non_trainable:
            if v.regularizer is not None and v.trainable:
                out.append(v.regularizer(v.value))
        out.extend(self._losses)
        for layer in self._sublayers():
            out.extend(layer.losses)
        return out

    def add_loss(self, loss):
        """Add a loss (a scalar tensor) to `losses`; ``fit`` adds it to the loss of the step (a VAE's KL term).
        The next outermost call starts without it."""
        self._losses.append(loss)
        _CALLS.pending.add(id(self))

    def compute_mask(self, inputs, previous_mask=None):
        """The mask of this layer's output: the input's mask passed through if the layer supports masking."""
        return previous_mask if self.supports_masking else None

    # -- build and shapes ----------------------------------------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def _maybe_build(self, input_shape):
        if not self.built:
            self._build_shape = input_shape
            self.build(input_shape)
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape``. The default evaluates ``call()`` abstractly (see
        `compute_output_spec`): a dimension that cannot be known is None."""
        spec = self.compute_output_spec(
            symbolic_call.map_shapes(lambda s: KerasTensor(s, self.compute_dtype), input_shape))
        return symbolic_call.map_tensors(lambda t: t.shape, spec)

    def compute_output_spec(self, inputs, *args, **kwargs):
        """The output KerasTensor(s) of calling the layer on the KerasTensor(s) given, with the call's other
        arguments (more tensors, ``training``, ``mask``, nested structures).

        A layer that defines ``compute_output_shape`` gets its shape(s) with the layer's compute dtype. Otherwise
        ``call()`` is evaluated abstractly through the backend (`kshim.ops.compute_output_spec`: jax
        ``eval_shape`` with symbolic dimensions, torch meta tensors), on the real call signature, with the
        inputs' symbolic mask when ``call`` takes ``mask`` and none is given. No data is touched, the layer's
        Variables and losses are left as they were, and an unknown dimension stays None."""
        own_shape = type(self).compute_output_shape is not Layer.compute_output_shape
        return symbolic_call.output_spec(self, inputs, args, kwargs, own_shape)

    # -- calling -------------------------------------------------------------------------------------------------
    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement `call()`.")

    def __call__(self, *args, **kwargs):
        first = None
        if args:
            inputs, args = args[0], args[1:]
        else:  # the first tensor by keyword, `layer(logits=..., targets=...)` (Keras 3's first call argument)
            first, inputs = arguments.pop_first_argument(self, kwargs)
        if is_symbolic(inputs) or (args and is_symbolic(args)) or (kwargs and is_symbolic(kwargs)):
            outputs = self._symbolic_call(inputs, *args, **kwargs)
            if first is not None:  # the node's config keeps the call as it was written
                self._inbound_nodes[-1].first_keyword = first
            return outputs
        takes_training, takes_mask = call_flags(type(self))
        if not takes_training:
            kwargs.pop("training", None)
        if not takes_mask:
            kwargs.pop("mask", None)
        if self._native_sync_on_call and not _StatelessDepth.depth:
            self._native_call_sync()  # torch: a call under autograd runs on the variables' nn.Parameters
        # Eager masks, as in Keras 3: a tensor's `_keras_mask` reaches a `call` that takes `mask` (unless one is
        # passed), and the output carries the layer's `compute_mask`.
        in_mask = getattr(inputs, "_keras_mask", None)
        if takes_mask and in_mask is not None and kwargs.get("mask") is None:
            kwargs["mask"] = in_mask
        inputs = self._convert_inputs(inputs)
        if not self.built:
            self._maybe_build(_shape_of(inputs))
        if self.input_spec is not None:
            check_input_spec(self, inputs)
        if _CALLS.depth == 0 and _CALLS.pending:
            self._clear_losses()
        _CALLS.depth += 1
        cast = self._cast_variables() if self._mixed else None
        try:
            outputs = self.call(inputs, *args, **kwargs)
        finally:
            _CALLS.depth -= 1
            if cast is not None:
                self._uncast_variables(cast)
        if self.activity_regularizer is not None:
            self._losses = [_activity_loss(self.activity_regularizer, y)
                            for y in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
        if in_mask is not None or type(self).compute_mask is not Layer.compute_mask:
            _attach_mask(outputs, self.compute_mask(inputs, kwargs.get("mask", in_mask)))
        return outputs

    def _convert_inputs(self, x):
        if ops.is_tensor(x):
            if self.autocast and ops.is_float_dtype(ops.dtype(x)) and ops.dtype(x) != self.compute_dtype:
                return ops.cast(x, self.compute_dtype)
            return x
        if isinstance(x, (list, tuple)):
            return type(x)(self._convert_inputs(v) for v in x)
        if isinstance(x, dict):
            return {k: self._convert_inputs(v) for k, v in x.items()}
        if x is None:
            return None
        if getattr(x, "_kshim_variable", False):
            return x.value
        arr = np.asarray(x)
        if arr.dtype.kind in "US" or (arr.dtype.kind == "O" and arr.size and isinstance(arr.flat[0], (str, bytes))):
            return arr  # strings stay on the host (TextVectorization, StringLookup, Hashing read them)
        if arr.dtype.kind == "f" or arr.dtype.kind == "O":
            return ops.convert_to_tensor(arr, dtype=self.compute_dtype)
        return ops.convert_to_tensor(arr)

    def _symbolic_call(self, inputs, *args, **kwargs):
        own_mask = type(self).compute_mask is not Layer.compute_mask
        return symbolic_call.call(self, inputs, args, kwargs, own_mask)

    def stateless_call(self, trainable_values, non_trainable_values, *args, return_losses=False,
                       _metric_values=None, **kwargs):
        """Call the layer with the given variable values; return ``(outputs, new_non_trainable_values)``.

        The layer's own Variables are left unchanged, its metrics' included (what ``call`` assigns to them is
        discarded). The built-in steps pass ``_metric_values`` (aligned with `_layer_metric_variables`) and get
        the metrics' new values back last."""
        trainable = self.trainable_variables
        non_trainable = self.non_trainable_variables
        metric_vars = self._layer_metric_variables()
        # The JAX guides pass `model.trainable_variables` themselves (as Keras 3 allows): use their values.
        trainable_values = values_of(trainable_values)
        non_trainable_values = values_of(non_trainable_values)
        with values_lock:  # the swapped-in values (tracers on jax) stay private to this call
            old_t = swap_values(trainable, trainable_values)
            old_n = swap_values(non_trainable, non_trainable_values)
            old_m = read_values(metric_vars) if _metric_values is None else swap_values(metric_vars, _metric_values)
            _StatelessDepth.depth += 1
            try:
                outputs = self(*args, **kwargs)
                new_non_trainable = read_values(non_trainable)
                new_metrics = read_values(metric_vars)
                losses = self.losses if return_losses else None
            finally:
                _StatelessDepth.depth -= 1
                swap_values(trainable, old_t)
                swap_values(non_trainable, old_n)
                swap_values(metric_vars, old_m)
                self._clear_losses()
        out = (outputs, new_non_trainable) + ((losses,) if return_losses else ())
        return out if _metric_values is None else out + (new_metrics,)

    def _clear_losses(self):
        self._losses = []
        _CALLS.pending.discard(id(self))
        for layer in self._sublayers():
            layer._clear_losses()

    # -- introspection -------------------------------------------------------------------------------------------
    def _node_attr(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has no defined {what}: it has not been called on a symbolic input yet "
                "(add it to a model with a known input shape, or call it on `kshim.Input(...)`)."
            )
        return getattr(self._inbound_nodes[0], attr)

    @property
    def input(self):
        return self._node_attr("inputs", "input")

    @property
    def output(self):
        return self._node_attr("outputs", "output")

    @property
    def input_shape(self):
        if self._inbound_nodes:
            return _shapes(self._inbound_nodes[0].inputs)
        if self._build_shape is not None:
            return self._build_shape
        raise AttributeError(f"Layer '{self.name}' has no defined input shape: it is not built yet.")

    @property
    def output_shape(self):
        if self._inbound_nodes:
            return _shapes(self._inbound_nodes[0].outputs)
        if self._build_shape is not None:
            return self.compute_output_shape(self._build_shape)
        raise AttributeError(f"Layer '{self.name}' has no defined output shape: it is not built yet.")

    # -- config --------------------------------------------------------------------------------------------------
    def get_config(self):
        cfg = {"name": self.name, "trainable": self.trainable,
               "dtype": dtype_policies.serialize(self._dtype_policy)}
        if self._batch_input_shape is not None:
            cfg["batch_input_shape"] = list(self._batch_input_shape)
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "batch_input_shape" in config:
            config["batch_input_shape"] = tuple(config["batch_input_shape"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return cls(**config)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _activity_loss(regularizer, output):
    """Keras 3's activity loss: the regularizer of one output, divided by the batch size."""
    loss = regularizer(output)
    if ops.ndim(output) > 0 and ops.shape(output)[0]:
        loss = ops.divide(loss, float(ops.shape(output)[0]))
    return loss


def _shape_of(x):
    if isinstance(x, (list, tuple)):
        return [tuple(ops.shape(v)) for v in x]
    if isinstance(x, dict):
        return {k: tuple(ops.shape(v)) for k, v in x.items()}
    return tuple(ops.shape(x))


__all__ = ["Layer", "InputSpec", "Node", "standardize_dtype"]


LAYERS.bind(base=Layer, module="keras.layers", serialize=serialize_layer)

