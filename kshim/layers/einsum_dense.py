"""EinsumDense: a dense layer whose contraction is an einsum equation, as Keras 3's.

``output = activation(einsum(equation, inputs, kernel) + bias)``. The equation is ``X,Y->Z`` (no ellipsis),
``...X,Y->...Z`` (the leading input axes pass through) or ``X...,Y->Z...`` (the trailing ones do). The kernel's
shape takes each kernel letter's size from the output shape when the letter is an output axis, else from the input;
the bias covers the output axes from the first of ``bias_axes`` on, with size 1 on the axes not named.
"""

import re
import string

from kshim import activations, constraints, initializers, ops, regularizers
from kshim.initializers import VarianceScaling
from kshim.layers import float8_training
from kshim.layers.input_spec import InputSpec
from kshim.layers.kernel_adaptation import AdaptableWeight, check_quantization_config
from kshim.layers.layer import Layer
from kshim.ops import nn as nn_ops
from kshim.quantizers import abs_max_quantize


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


def _full_specs(equation, ndim):
    """The equation's three specs with an ellipsis replaced by fresh labels for the ``ndim``-axis input."""
    in_spec, w_spec, out_spec, side = _parse(equation)
    elided = ndim - len(in_spec)
    if side is None or elided <= 0:
        return in_spec, w_spec, out_spec
    fresh = "".join(sorted(set(string.ascii_letters) - set(in_spec + w_spec + out_spec)))[:elided]
    if side == "left":
        return fresh[::-1] + in_spec, w_spec, fresh[::-1] + out_spec
    return in_spec + fresh, w_spec, out_spec + fresh


class ScaleLayout:
    """Where an int8 scale of one einsum operand lives, Keras 3's layout: the absmax is reduced over the operand's
    contracted axes (``reduced``, kept as size 1), then its axes are ordered as the output's (``perm``), size-1
    axes are added for the output axes the operand lacks (``expand``) and, when the operand contracts more axes
    than it lacks, the extra ones are dropped (``squeeze``). The result broadcasts against the einsum's output."""

    def __init__(self, spec, out_spec):
        self.reduced = tuple(i for i, c in enumerate(spec) if c not in out_spec)
        expand = [i for i, c in enumerate(out_spec) if c not in spec]
        perm = [spec.index(c) for c in out_spec if c in spec]
        squeeze, at = [], len(perm)
        for axis in self.reduced:
            if expand:
                at = expand.pop(0)
            else:  # Keras 3 puts a contracted axis it cannot place where it placed the last one, then squeezes it
                squeeze.append(axis)
            perm.insert(at, axis)
        self.perm, self.expand, self.squeeze = tuple(perm), tuple(expand), tuple(squeeze)

    def shape(self, operand_shape):
        """The stored scale's shape for an operand of ``operand_shape``."""
        shape = [1 if i in self.reduced else d for i, d in enumerate(operand_shape)]
        shape = [shape[i] for i in self.perm]
        for a in sorted(self.expand):
            shape.insert(a, 1)
        for a in sorted(self.squeeze, reverse=True):
            shape.pop(a)
        return tuple(shape)

    def to_output(self, scale):
        """A keepdims absmax scale laid out against the output."""
        scale = ops.transpose(scale, self.perm)
        if self.expand:
            scale = ops.expand_dims(scale, self.expand)
        return ops.squeeze(scale, self.squeeze) if self.squeeze else scale

    def to_operand(self, scale):
        """The stored scale back in the operand's layout (broadcasting against it)."""
        if self.squeeze:
            scale = ops.expand_dims(scale, self.squeeze)
        if self.expand:
            scale = ops.squeeze(scale, self.expand)
        inverse = sorted(range(len(self.perm)), key=self.perm.__getitem__)
        return ops.transpose(scale, inverse)


class EinsumDense(AdaptableWeight, Layer):
    """Keras 3's EinsumDense. Weights: ``kernel`` (shape from the equation), then ``bias`` if ``bias_axes``.

    ``lora_rank``/`enable_lora` and `quantize("int8")`: see `kshim.layers.kernel_adaptation`. Quantized, the
    kernel is int8 and ``kernel_scale`` is its absmax scale over the contracted axes, laid out against the output
    as Keras 3 stores it (`ScaleLayout`); the inputs are quantized the same way over their contracted axes and the
    einsum runs on integers, exactly. `quantize("float8")`: see `kshim.layers.float8_training`."""

    _float8_supported = True
    _int4_supported = True

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
        in_spec, w_spec, out_spec = _full_specs(self.equation, len(input_shape))
        self._input_layout, self._kernel_layout = ScaleLayout(in_spec, out_spec), ScaleLayout(w_spec, out_spec)
        init = self.kernel_initializer
        if isinstance(init, VarianceScaling) and (init.input_axes is None or init.output_axes is None):
            # Keras 3 computes the fans from the kernel's input and output axes, not its last two dimensions.
            init = type(init).from_config({**init.get_config(), "input_axes": in_axes, "output_axes": out_axes})
        if self.quantization_mode == "int8":
            self._int8_build(tuple(kernel_shape))
        elif self.quantization_mode == "int4":
            self._int4_build(tuple(kernel_shape), getattr(self._effective_policy(), "block_size", None))
        else:
            if self.quantization_mode == "float8":  # its variables come first, as Keras 3 creates them
                float8_training.build(self)
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

    # -- int8: the scale layout (see `kshim.layers.kernel_adaptation` for the rest) ---------------------------------
    def _int8_scale_shape(self, shape):
        return self._kernel_layout.shape(shape)

    def _int8_quantize_weight(self, value):
        q, scale = abs_max_quantize(value, axis=self._kernel_layout.reduced, to_numpy=True)
        return q, self._kernel_layout.to_output(scale)

    def _int8_scale_for_weight(self, scale):
        return self._kernel_layout.to_operand(scale)

    # -- int4: Keras 3 flattens the kernel to (contracted, other) = (rows, columns) by a plain reshape, quantizes
    # it as Dense's (groups of rows), and reshapes the dequantized matrix back for the einsum ---------------------
    def _int4_rows_columns(self, shape):
        rows = columns = 1
        for i, d in enumerate(shape):
            if i in self._kernel_layout.reduced:
                rows *= d
            else:
                columns *= d
        return rows, columns

    def _int4_matrix(self, value):
        return value.reshape(self._int4_rows_columns(value.shape))

    def _int4_build(self, shape, block_size):
        AdaptableWeight._int4_build(self, self._int4_rows_columns(shape), block_size)
        self._int4_kernel_shape = tuple(shape)

    def _int4_kernel(self):
        return ops.reshape(AdaptableWeight._int4_kernel(self), self._int4_kernel_shape)

    def call(self, inputs, training=None):
        if self.quantization_mode == "float8":
            return float8_training.call(self, inputs, training, self._project)
        if self.quantization_mode == "int4":  # Keras 3: a float einsum with the dequantized kernel
            x = self._project(inputs, self._int4_kernel())
        elif self.quantization_mode == "int8":
            x = self._int8_call(inputs, training)
            if self.bias is not None:
                x = ops.add(x, self.bias.value)
        else:
            x = self._project(inputs, self._merged_weight() if self.lora_enabled else self._kernel._value,
                              None if self.bias is None else self.bias.value)
        return self.activation(x) if self.activation is not None else x

    def _int8_call(self, inputs, training):
        """Keras 3's int8 einsum: the inputs quantized (absmax over their contracted axes), an exact integer
        einsum, the result divided by both scales; the inputs' gradient flows through the dequantized kernel."""
        q, inputs_scale = abs_max_quantize(inputs, axis=self._input_layout.reduced)
        x = self._project(ops.cast(q, "int32"), ops.cast(self._kernel._value, "int32"))
        scale = ops.multiply(self._input_layout.to_output(inputs_scale), self.kernel_scale._value)
        # No gradient through the quantizer (its scale depends on the inputs): Keras 3's custom gradient sends the
        # inputs' gradient through the dequantized kernel instead, added below without changing the value.
        x = ops.stop_gradient(ops.divide(ops.cast(x, self.compute_dtype), scale))
        if training:
            exact = self._project(inputs, self._dequantized())
            x = ops.add(x, ops.subtract(exact, ops.stop_gradient(exact)))
        if self.lora_enabled:
            lora = ops.matmul(ops.einsum(self.equation, inputs, self.lora_kernel_a._value), self.lora_kernel_b._value)
            x = ops.cast(ops.add(x, ops.multiply(self.lora_alpha / self.lora_rank, lora)), self.compute_dtype)
        return x

    def _project(self, inputs, kernel, bias=None):
        """``einsum(equation, inputs, kernel) + bias``; a plain projection (see `matmul_plan`) as one matmul, and
        as one `dense` (torch: a fused addmm) when the bias covers exactly the kernel's output axes."""
        plan = getattr(self, "_matmul_plan", None)
        if plan is None:
            x = ops.einsum(self.equation, inputs, kernel)
            return x if bias is None else ops.add(x, bias)
        n_contracted, size, out_dims = plan
        if ops.ndim(kernel) != 2:
            kernel = ops.reshape(kernel, (size, -1))
        lead = tuple(ops.shape(inputs))[:ops.ndim(inputs) - n_contracted]
        if n_contracted != 1:
            inputs = ops.reshape(inputs, lead + (size,))
        if bias is not None and tuple(ops.shape(bias)) == out_dims:
            x = nn_ops.dense(inputs, kernel, bias if len(out_dims) == 1 else ops.reshape(bias, (-1,)))
            bias = None
        else:
            x = ops.matmul(inputs, kernel)
        if len(out_dims) != 1:
            x = ops.reshape(x, lead + out_dims)
        return x if bias is None else ops.add(x, bias)

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
                "bias_constraint": _ser(constraints, self.bias_constraint),
                "quantization_config": self._quantization_config(),
                **({"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha} if self.lora_rank else {})}
