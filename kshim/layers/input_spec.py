"""`InputSpec`: what a layer accepts (rank and fixed axis sizes), checked with a clear error."""

from kshim import ops


class InputSpec:
    """Constraints on a layer's input: ``ndim``, ``min_ndim``, ``max_ndim``, ``axes`` ({axis: size}), ``shape``."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = dtype
        self.shape = tuple(shape) if shape is not None else None
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = dict(axes or {})
        self.name = name
        self.optional = optional

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes}


def _shape(x):
    return tuple(x.shape) if hasattr(x, "_keras_history") else tuple(ops.shape(x))


def check_input_spec(layer, inputs):
    """Raise a ValueError naming the layer, the expected shape and the received one if ``inputs`` do not fit."""
    specs = layer.input_spec if isinstance(layer.input_spec, (list, tuple)) else [layer.input_spec]
    xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    for i, (spec, x) in enumerate(zip(specs, xs)):
        if spec is None or x is None:
            continue
        shape = _shape(x)
        where = f'Input {i} of layer "{layer.name}" is incompatible with the layer:'
        if spec.ndim is not None and len(shape) != spec.ndim:
            raise ValueError(f"{where} expected ndim={spec.ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        if spec.min_ndim is not None and len(shape) < spec.min_ndim:
            raise ValueError(f"{where} expected min_ndim={spec.min_ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        if spec.max_ndim is not None and len(shape) > spec.max_ndim:
            raise ValueError(f"{where} expected max_ndim={spec.max_ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        for axis, size in spec.axes.items():
            if size is None or -len(shape) > axis or axis >= len(shape):
                continue
            if shape[axis] is not None and shape[axis] != size:
                raise ValueError(f"{where} expected axis {axis} of input shape to have value {size}, "
                                 f"but received input with shape {shape}")
        if spec.shape is not None:
            for expected, got in zip(spec.shape, shape):
                if expected is not None and got is not None and expected != got:
                    raise ValueError(f"{where} expected shape={spec.shape}, found shape={shape}")
