"""Float8 training of Dense and EinsumDense (`quantize("float8")`, or a ``"float8_from_<policy>"`` dtype policy),
with Keras 3's variables, update rule and saved layout.

The kernel stays a float trainable variable. In the forward pass the inputs and the kernel are quantized to
``float8_e4m3fn`` and dequantized (`kshim.quantizers.quantize_and_dequantize`) with their current scales; in the
backward pass the gradient of the outputs is quantized the same way to ``float8_e5m2``. Each of the three has a
scalar ``*_scale`` and an ``*_amax_history`` (length ``amax_history_length`` of the policy, 1024 by default), all
float32, trainable, and marked ``overwrite_with_gradient``: their "gradient" is their next value, which the
optimizer assigns as is (`kshim.optimizers.Optimizer`). A training step writes

- ``amax_history <- [max|x|, h[2], ..., h[n-1], h[0]]`` (rolled by one, the new amax first);
- ``scale <- compute_float8_scale(max(old amax_history), old scale, float8 max)``,

so a step quantizes with the scale computed from the history *before* it (delayed scaling). Outside training the
scales are only read. Under a float32 compute dtype the bias is rounded through bfloat16 before it is added, as
Keras 3 does (for XLA's bias-add fusion).
"""

from kshim import ops
from kshim.quantizers import compute_float8_amax_history, compute_float8_scale, quantize_and_dequantize

FORWARD_DTYPE, BACKWARD_DTYPE = "float8_e4m3fn", "float8_e5m2"
_MAX = {FORWARD_DTYPE: 448.0, BACKWARD_DTYPE: 57344.0}
DEFAULT_AMAX_HISTORY_LENGTH = 1024
VARIABLE_NAMES = ("inputs_scale", "inputs_amax_history", "kernel_scale", "kernel_amax_history",
                  "outputs_grad_scale", "outputs_grad_amax_history")


def build(layer):
    """Add the six float8 variables to ``layer`` (ones for the scales, zeros for the histories)."""
    length = getattr(layer._effective_policy(), "amax_history_length", DEFAULT_AMAX_HISTORY_LENGTH)
    for name in VARIABLE_NAMES:
        history = name.endswith("history")
        variable = layer.add_weight(name=name, shape=(length,) if history else (),
                                    initializer="zeros" if history else "ones", dtype="float32", trainable=True,
                                    autocast=False, overwrite_with_gradient=True)
        object.__setattr__(layer, name, variable)
    layer._adapted = True


def _next_scale(amax_history, scale, dtype):
    return compute_float8_scale(ops.max(amax_history, axis=0), scale, ops.cast(_MAX[dtype], "float32"))


def _forward_qdq(compute_dtype, training):
    """Quantize-dequantize to e4m3 with the given scale; the gradient passes the upstream through unchanged and
    gives the scale and amax history their next values (when training)."""

    @ops.custom_gradient
    def qdq(x, scale, amax_history):
        if training:
            new_scale = _next_scale(amax_history, scale, FORWARD_DTYPE)
            new_history = compute_float8_amax_history(x, amax_history)
        else:
            new_scale = new_history = None
        y = quantize_and_dequantize(x, scale, FORWARD_DTYPE, compute_dtype)

        def grad(*upstream, **kwargs):
            return upstream[0], new_scale, new_history

        return y, grad

    return qdq


def _backward_qdq(compute_dtype):
    """The identity forward; the gradient of the outputs is quantize-dequantized to e5m2 with the given scale, and
    the scale and amax history get their next values from it."""

    @ops.custom_gradient
    def qdq(x, scale, amax_history):
        def grad(*upstream, **kwargs):
            g = upstream[0]
            new_scale = _next_scale(amax_history, scale, BACKWARD_DTYPE)
            new_history = compute_float8_amax_history(g, amax_history)
            return quantize_and_dequantize(g, scale, BACKWARD_DTYPE, compute_dtype), new_scale, new_history

        return x, grad

    return qdq


def call(layer, inputs, training, contract):
    """The float8 forward of ``layer`` (Dense or EinsumDense): ``contract(inputs, kernel)`` on the
    quantize-dequantized operands, the outputs' gradient quantized, then bias and activation."""
    if layer.lora_enabled:
        raise NotImplementedError(f"{type(layer).__name__} '{layer.name}': float8 training does not support LoRA "
                                  "(as Keras 3).")
    compute_dtype = layer.compute_dtype
    forward = _forward_qdq(compute_dtype, training)
    kernel = ops.cast(layer._kernel._value, compute_dtype)
    x = contract(forward(inputs, layer.inputs_scale._value, layer.inputs_amax_history._value),
                 forward(kernel, layer.kernel_scale._value, layer.kernel_amax_history._value))
    x = _backward_qdq(compute_dtype)(x, layer.outputs_grad_scale._value, layer.outputs_grad_amax_history._value)
    if layer.bias is not None:
        bias = layer.bias._value
        if compute_dtype == "float32":
            bias = ops.cast(ops.cast(bias, "bfloat16"), ops.dtype(bias))
        x = ops.add(x, bias)
    return layer.activation(x) if layer.activation is not None else x
