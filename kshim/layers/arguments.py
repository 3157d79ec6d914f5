"""How a layer takes its arguments: numpy scalars wherever a constructor expects a Python number
(``Dense(np.int64(46))``, Keras 2's spelling), and the first call argument given by keyword
(``layer(logits=..., targets=...)``)."""

import functools
import inspect

import numpy as np


def python_scalars(value):
    """`value` with numpy scalars (``np.int64(46)``, ``np.float32(0.5)``, ``np.bool_``) made Python ones, inside
    lists, tuples and dicts too: what every layer constructor sees (see `Layer.__init_subclass__`)."""
    if isinstance(value, np.generic) and value.ndim == 0 and value.dtype.kind in "biuf":
        return value.item()
    if type(value) in (list, tuple):
        return type(value)(python_scalars(v) for v in value)
    if type(value) is dict:
        return {k: python_scalars(v) for k, v in value.items()}
    return value


def accepting_numpy_scalars(init):
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *(python_scalars(a) for a in args), **{k: python_scalars(v) for k, v in kwargs.items()})
    __init__._kshim_scalars = True
    return __init__


def pop_first_argument(layer, kwargs):
    """(name, value) of ``call``'s first parameter, given by keyword, taken out of ``kwargs``."""
    cls = type(layer)
    name = cls.__dict__.get("_first_call_arg")
    if name is None:
        try:
            params = list(inspect.signature(cls.call).parameters.values())[1:]
        except (TypeError, ValueError):
            params = []
        name = params[0].name if params and params[0].kind in (params[0].POSITIONAL_ONLY,
                                                               params[0].POSITIONAL_OR_KEYWORD) else ""
        cls._first_call_arg = name
    if not name or name not in kwargs:
        raise TypeError(f"{cls.__name__}: a layer is called with its inputs, positionally or by the name of "
                        f"`call`'s first argument ({name or 'inputs'!r}). Received: keyword arguments "
                        f"{sorted(kwargs)}")
    return name, kwargs.pop(name)
