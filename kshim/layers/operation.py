"""Operations on symbolic tensors as nodes of the functional graph (``x + 1``, ``x[:, 0]``, ``ops.mean(x)``).

An op called on a `KerasTensor` (see `kshim.ops.symbolic`) becomes an `Operation`: a layer without weights whose
``call`` is the op's backend function, so the graph replays, saves, loads, clones and summarizes it like any layer.
Its output spec comes from abstract evaluation of that function (`Layer.compute_output_spec`: jax ``eval_shape``
with symbolic dimensions, torch meta tensors), never from data. As in Keras 3, the op's tensor arguments are the
node's call arguments and its other arguments are the operation's config: ``ops.mean(x, axis=1)`` is written
``{"module": "keras.src.ops.numpy", "class_name": "Mean", "config": {"name": "mean", "axis": 1, ...}}`` called on
``x``, so `.keras` files go both ways with Keras 3. Operations are not in ``model.layers`` (Keras 3's rule).
"""

import inspect

from kshim import ops
from kshim.layers.layer import Layer
from kshim.layers import symbolic_call
from kshim.ops import symbolic
from kshim.registry import family
from kshim.common import naming

# Parameter names that hold tensors: the node's call arguments. Every other argument is the operation's config.
_TENSOR_PARAMS = frozenset(("x", "x1", "x2", "xs", "a", "b", "y", "condition", "inputs", "indices", "images",
                            "kernel", "depthwise_kernel", "pointwise_kernel", "bias", "weights", "transform",
                            "coordinates", "key", "values", "updates", "arrays", "tensors", "scores", "mask",
                            "sorted_sequence", "bins"))
_CLASSES = {}  # (Keras module, op name) -> the Operation subclass named as Keras 3 names it ("Add", "GetItem")
_SIGNATURES = {}


def _camel(name):
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _snake(class_name):
    return naming.to_snake_case(class_name)


class Operation(Layer):
    """One op of ``kshim.ops`` in a functional graph: ``call(*tensors)`` is ``op(*tensors, **arguments)``."""

    _is_operation = True
    _call_flags = (False, False)  # an op takes neither `training` nor `mask`
    _call_takes_training = _call_takes_mask = False
    op_name = None  # set on each subclass
    keras_module = None

    def __init__(self, name=None, **arguments):
        super().__init__(name=name or naming.uniquify(self.op_name))
        self.autocast = False  # an op keeps its inputs' dtypes
        self.arguments = arguments
        self.built = True
        # the image ops live only in their namespace (keras.ops.image), the others at the top of kshim.ops too
        fn = getattr(ops.image if self.keras_module == "keras.src.ops.image" else ops, self.op_name, None)
        if fn is None:
            raise ValueError(f"Operation: kshim.ops has no op `{self.op_name}` (Keras class "
                             f"{type(self).__name__}). Received: op={self.op_name!r}")
        self._fn = getattr(fn, "__wrapped__", fn)

    def call(self, *args, **kwargs):
        if self.op_name == "get_item" and len(args) == 2 and isinstance(args[1], list):
            args = (args[0], tuple(args[1]))  # a saved index tuple comes back from JSON as a list
        return self._fn(*args, **self.arguments, **kwargs)

    def compute_output_spec(self, *args, **kwargs):
        return symbolic_call.abstract_eval(self, self.call, args, kwargs)

    def get_config(self):
        return {"name": self.name, **self.arguments}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def operation_class(module, op_name):
    """The `Operation` subclass of op ``op_name``, named as Keras 3's class for it (``Add``, ``GetItem``)."""
    key = (module, op_name)
    cls = _CLASSES.get(key)
    if cls is None:
        class_name = _camel(op_name)
        cls = type(class_name, (Operation,), {"op_name": op_name, "keras_module": module,
                                               "_keras_config_exact": (module, class_name),
                                               "_call_flags": (False, False),  # per class (see `call_flags`)
                                               "__module__": __name__})
        _CLASSES[key] = cls
    return cls


def _parameters(fn):
    params = _SIGNATURES.get(fn)
    if params is None:
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            params = []
        _SIGNATURES[fn] = params
    return params


def _symbolic_op(op, args, kwargs):
    """The graph node of ``op(*args, **kwargs)`` with symbolic tensors among the arguments: tensor arguments are
    the node's call arguments (positional until the first config argument, then by keyword), the rest is config."""
    module, name = op.keras_op
    fn = op.__wrapped__
    params = _parameters(fn)
    if not params:
        return operation_class(module, name)()(*args, **kwargs)
    bound = inspect.signature(fn).bind(*args, **kwargs)
    call_args, call_kwargs, config = [], {}, {}
    for p in params:
        if p.name not in bound.arguments:
            continue
        value = bound.arguments[p.name]
        if p.kind == p.VAR_POSITIONAL:
            call_args.extend(value)
        elif p.kind == p.VAR_KEYWORD:
            call_kwargs.update(value)
        elif p.name in _TENSOR_PARAMS or symbolic.has_symbolic((value,), {}):
            if config or call_kwargs or p.kind == p.KEYWORD_ONLY:
                call_kwargs[p.name] = value
            else:
                call_args.append(value)
        else:
            config[p.name] = value
    return operation_class(module, name)(**config)(*call_args, **call_kwargs)


def _deserialize(config, custom_objects=None):
    """The `Operation` of a Keras 3 op config (``{"module": "keras.src.ops.numpy", "class_name": "Add", ...}``)."""
    class_name = config["class_name"]
    op_name = "get_item" if class_name == "GetItem" else _snake(class_name)
    return operation_class(config.get("module"), op_name).from_config(dict(config.get("config") or {}))


symbolic.BUILD[0] = _symbolic_op
family("operation").bind(base=Operation, module="keras.src.ops", deserialize=_deserialize)
