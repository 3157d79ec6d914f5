"""EinsumDense: a dense layer whose contraction is an einsum equation, as Keras 3's.

``output = activation(einsum(equation, inputs, kernel) + bias)``. The equation is ``X,Y->Z`` (no ellipsis),
``...X,Y->...Z`` (the leading input axes pass through) or ``X...,Y->Z...`` (the trailing ones do). The kernel's
shape takes each kernel letter's size from the output shape when the letter is an output axis, else from the input;
the bias covers the output axes from the first of ``bias_axes`` on, with size 1 on the axes not named.
"""

import re

from kshim import activations, constraints, initializers, ops, regularizers
from kshim.initializers import VarianceScaling
from kshim.layers.input_spec import InputSpec
from kshim.layers.kernel_adaptation import AdaptableWeight, check_quantization_config
from kshim.layers.layer import Layer


def _ser(module, value):
    return None if value is None else module.serialize(module.get(value))


def _parse(equation):
    """``(input_spec, kernel_spec, output_spec, elided)`` with ``elided`` one of None, "left", "right"."""
    text = equation.replace("...", "0") if isinstance(equation, str) else ""
    for pattern, side in (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$", None),
                          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)$", "left"),
                          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0$", "right")):
        m = re.match(pattern, text)
        if m:
            return m.group(1), m.group(2), m.group(3), side
    raise ValueError("EinsumDense: `equation` must have the form 'X,Y->Z', '...X,Y->...Z' or 'X...,Y->Z...'. "
                     f"Received: equation={equation!r}")


def analyze(equation, bias_axes, input_shape, output_shape):
    """``(kernel_shape, bias_shape or None, full_output_shape, kernel_input_axes, kernel_output_axes)``."""
    in_spec, w_spec, out_spec, side = _parse(equation)
    input_shape = list(input_shape)
    elided = len(input_shape) - len(in_spec)
    out = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    out.insert(0, input_shape[0])
    if elided > 0 and side == "left":
        for i in range(1, elided):
            out.insert(1, input_shape[i])
    elif elided > 0:
        out.extend(input_shape[len(input_shape) - elided:])
    if side == "left":
        in_pos = {c: i + elided - len(input_shape) for i, c in enumerate(in_spec)}
        out_pos = {c: i + elided for i, c in enumerate(out_spec)}
    else:
        in_pos = {c: i for i, c in enumerate(in_spec)}
        out_pos = {c: i for i, c in enumerate(out_spec)}
    for c in in_spec:
        if c in out_pos and out[out_pos[c]] is not None and out[out_pos[c]] != input_shape[in_pos[c]]:
            raise ValueError(f"EinsumDense: the input and output shapes disagree on the shared axis '{c}': the input "
                             f"has {input_shape[in_pos[c]]}, `output_shape` {out[out_pos[c]]}. Received: "
                             f"equation={equation!r}, input_shape={tuple(input_shape)}")
    for c in out_spec:
        if c not in in_spec and c not in w_spec:
            raise ValueError(f"EinsumDense: the output axis '{c}' is in neither the input nor the kernel spec. "
                             f"Received: equation={equation!r}")
    kernel, in_axes, out_axes = [], [], []
    for i, c in enumerate(w_spec):
        if c in out_pos:
            kernel.append(out[out_pos[c]])
            out_axes.append(i)
        elif c in in_pos:
            kernel.append(input_shape[in_pos[c]])
            in_axes.append(i)
        else:
            raise ValueError(f"EinsumDense: the kernel axis '{c}' is in neither the input nor the output spec, so "
                             f"its size is unknown. Received: equation={equation!r}")
    bias = None
    if bias_axes is not None:
        skip = elided if side == "left" else 0
        size = {c: out[i + skip] for i, c in enumerate(out_spec)}
        for c in bias_axes:
            if c not in out_spec:
                raise ValueError(f"EinsumDense: the bias axis '{c}' is not an output axis of '{out_spec}'. "
                                 f"Received: bias_axes={bias_axes!r}")
        first = min(out_spec.find(c) for c in bias_axes)
        bias = [size[c] if c in bias_axes else 1 for c in out_spec[first:]]
        if side != "left":
            bias.extend([1] * max(elided, 0))
    return kernel, bias, out, in_axes, out_axes


def matmul_plan(equation, kernel_shape):
    """``(contracted_axes, contracted_size, output_dims)`` when ``equation`` is a plain projection, else None.

    A plain projection contracts the input's last axes with the kernel's first ones, in the same order, and appends
    the kernel's other axes to the input's leading ones (``abc,cd->abd``, ``abc,cde->abde``, ``abcd,cde->abe``,
    ``...b,bc->...c``): it is ``reshape(x, (..., contracted_size)) @ reshape(kernel, (contracted_size, -1))``,
    reshaped to ``output_dims`` on its last axis."""
    in_spec, w_spec, out_spec, side = _parse(equation)
    if side == "right" or any(len(set(spec)) != len(spec) for spec in (in_spec, w_spec, out_spec)):
        return None
    contracted = "".join(c for c in in_spec if c not in out_spec)
    free = in_spec[:len(in_spec) - len(contracted)]
    if not contracted or in_spec != free + contracted or not w_spec.startswith(contracted):
        return None
    kept = w_spec[len(contracted):]
    if out_spec != free + kept or any(c in w_spec for c in free):
        return None
    size = 1
    for d in kernel_shape[:len(contracted)]:
        size *= d
    return len(contracted), size, tuple(kernel_shape[len(contracted):])


class EinsumDense(AdaptableWeight, Layer):
    """Keras 3's EinsumDense. Weights: ``kernel`` (shape from the equation), then ``bias`` if ``bias_axes``.

    ``lora_rank``/`enable_lora`: see `kshim.layers.kernel_adaptation` (int8 quantization is Dense's and
    Embedding's only, for now)."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, gptq_unpacked_column_size=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        self._init_lora(lora_rank, lora_alpha)
        check_quantization_config("EinsumDense", quantization_config)
        _parse(equation)
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._kernel = self.bias = None

    def build(self, input_shape):
        kernel_shape, bias_shape, _, in_axes, out_axes = analyze(self.equation, self.bias_axes, input_shape,
                                                                 self.partial_output_shape)
        self.input_spec = InputSpec(ndim=len(input_shape))
        init = self.kernel_initializer
        if isinstance(init, VarianceScaling) and (init.input_axes is None or init.output_axes is None):
            # Keras 3 computes the fans from the kernel's input and output axes, not its last two dimensions.
            init = type(init).from_config({**init.get_config(), "input_axes": in_axes, "output_axes": out_axes})
        self._kernel = self.add_weight(name="kernel", shape=tuple(kernel_shape), initializer=init,
                                       regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self._matmul_plan = matmul_plan(self.equation, kernel_shape)
        if bias_shape is not None:
            self.bias = self.add_weight(name="bias", shape=tuple(bias_shape), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    @property
    def kernel(self):
        """The kernel Variable; with LoRA enabled, the merged kernel (a tensor), as Keras 3's property."""
        return self._merged_weight()

    def quantize(self, mode=None, type_check=True, config=None):
        raise NotImplementedError("EinsumDense: kshim does not quantize EinsumDense yet (Dense and Embedding take "
                                  f"'int8'). Received: mode={mode!r}")

    def call(self, inputs, training=None):
        kernel = self._merged_weight() if self.lora_enabled else self._kernel._value
        x = self._project(inputs, kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias.value)
        return self.activation(x) if self.activation is not None else x

    def _project(self, inputs, kernel):
        """``einsum(equation, inputs, kernel)``; a plain projection (see `matmul_plan`) as one matmul."""
        plan = getattr(self, "_matmul_plan", None)
        if plan is None:
            return ops.einsum(self.equation, inputs, kernel)
        n_contracted, size, out_dims = plan
        if ops.ndim(kernel) != 2:
            kernel = ops.reshape(kernel, (size, -1))
        lead = tuple(ops.shape(inputs))[:ops.ndim(inputs) - n_contracted]
        if n_contracted != 1:
            inputs = ops.reshape(inputs, lead + (size,))
        x = ops.matmul(inputs, kernel)
        return x if len(out_dims) == 1 else ops.reshape(x, lead + out_dims)

    def compute_output_shape(self, input_shape):
        return tuple(analyze(self.equation, self.bias_axes, input_shape, self.partial_output_shape)[2])

    def get_config(self):
        return {**super().get_config(), "output_shape": list(self.partial_output_shape), "equation": self.equation,
                "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
                "kernel_initializer": _ser(initializers, self.kernel_initializer),
                "bias_initializer": _ser(initializers, self.bias_initializer),
                "kernel_regularizer": _ser(regularizers, self.kernel_regularizer),
                "bias_regularizer": _ser(regularizers, self.bias_regularizer),
                "activity_regularizer": _ser(regularizers, self.activity_regularizer),
                "kernel_constraint": _ser(constraints, self.kernel_constraint),
                "bias_constraint": _ser(constraints, self.bias_constraint), "quantization_config": None,
                **({"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha} if self.lora_rank else {})}
