"""Cases for lower precision: layers computing in float16/bfloat16 under mixed policies, a seeded mixed-precision
fit (mixed_bfloat16 with Adam; mixed_float16 with dynamic loss scaling and skipped steps), and int8 quantization.

Tolerances are stated per case and follow the dtype: bfloat16 has 8 bits of mantissa (relative step 2**-8 ~ 4e-3,
so rtol 2e-2 after a few ops), float16 has 11 (2**-11 ~ 5e-4, rtol 5e-3). The backends' half-precision kernels
round differently (accumulation order, fused ops), which is why these are not bit-identical. The int8 cases
compare the quantized weights and the integer matmul bit for bit (exact) and the dequantized outputs at float32
rounding. The loss-scale bookkeeping (iterations, scale, counter) is exact: both backends skip the same steps.
"""

import numpy as np

from conformance.case import case, kshim, ops, rng

_X = rng(1800).normal(size=(6, 5)).astype(np.float32)
_Y = rng(1801).normal(size=(6, 1)).astype(np.float32)


def _dense_stack(policy):
    layers = kshim.layers
    kshim.utils.set_random_seed(18)
    model = kshim.Sequential([kshim.Input((5,)), layers.Dense(7, activation="gelu", dtype=policy),
                              layers.LayerNormalization(dtype=policy), layers.Dense(3, dtype=policy),
                              layers.Activation("softmax", dtype="float32")])
    return model


def _layer_case(policy, tol):
    def run():
        model = _dense_stack(policy)
        mid = kshim.Model(model.inputs, model.layers[2].output)
        out = mid(_X)
        return {"hidden": np.asarray(ops.convert_to_numpy(ops.cast(out, "float32"))),
                "hidden_dtype": np.array(ops.dtype(out)), "probs": np.asarray(ops.convert_to_numpy(model(_X))),
                "weights": model.get_weights()}

    run.__doc__ = f"Dense/LayerNormalization under {policy}: half-precision activations, float32 variables."
    case(f"precision.layers[{policy}]", family="precision", rtol=tol, atol=tol,
         covers=("dtype_policies.DTypePolicy",))(run)


_layer_case("mixed_bfloat16", 2e-2)
_layer_case("mixed_float16", 5e-3)


def _fit(policy):
    kshim.config.set_dtype_policy(policy)
    try:
        model = _dense_stack(None)
    finally:
        kshim.config.set_dtype_policy(None)
    big = policy == "mixed_float16"
    optimizer = kshim.optimizers.SGD(0.002, momentum=0.5) if big else kshim.optimizers.Adam(0.01)
    model.compile(optimizer=optimizer, loss="mse")
    if big:
        model.optimizer.dynamic_growth_steps = 2
    x = _X * (40.0 if big else 1.0)  # float16: gradients overflow at the first scales, those steps are skipped
    history = model.fit(x, _Y, batch_size=2, epochs=2, shuffle=False, verbose=0)
    out = {"loss": np.asarray(history.history["loss"], np.float64), "weights": model.get_weights(),
           "predict": np.asarray(model.predict(x, verbose=0))}
    if big:
        out.update(iterations=np.asarray(model.optimizer.iterations.numpy()),
                   scale=np.asarray(model.optimizer.dynamic_scale.numpy()),
                   counter=np.asarray(model.optimizer.step_counter.numpy()))
    return out


@case("precision.fit.mixed_bfloat16", family="precision", rtol=2e-2, atol=2e-2)
def _fit_bf16():
    """A seeded mixed_bfloat16 fit (Adam, 6 steps): history, float32 weights, predictions."""
    return _fit("mixed_bfloat16")


@case("precision.fit.mixed_float16_loss_scaling", family="precision", rtol=5e-3, atol=5e-3,
      covers=("optimizers.LossScaleOptimizer", "mixed_precision.LossScaleOptimizer"))
def _fit_fp16():
    """A seeded mixed_float16 fit with the automatic LossScaleOptimizer: the first steps overflow and are
    skipped; iterations, scale and counter agree exactly, weights within float16 tolerance."""
    return _fit("mixed_float16")


@case("precision.quantize.int8", family="precision", rtol=1e-6, atol=1e-6,
      covers=("quantizers.abs_max_quantize",))
def _int8():
    """`Dense.quantize("int8")`: the int8 kernel and the integer matmul of the quantized inputs (bit for bit),
    and the de-scaled outputs; the same for an `EinsumDense` whose equation is a general einsum (an integer
    einsum, with its scale laid out against the output)."""
    layers = kshim.layers
    kshim.utils.set_random_seed(19)
    dense = layers.Dense(4)
    dense.build((None, 5))
    float_out = np.asarray(ops.convert_to_numpy(dense(_X)))
    dense.quantize("int8")
    q, _ = kshim.quantizers.abs_max_quantize(_X, axis=-1)
    integer = ops.matmul(ops.cast(q, "int32"), ops.cast(dense._kernel.value, "int32"))
    out = np.asarray(ops.convert_to_numpy(dense(_X)))
    einsum = layers.EinsumDense("abc,dc->abd", (3, 4), bias_axes="d")
    einsum.build((None, 3, 5))
    einsum.quantize("int8")
    x3 = _X.reshape(2, 3, 5)
    return {"einsum_kernel_int8": einsum._kernel.numpy(), "einsum_kernel_scale": einsum.kernel_scale.numpy(),
            "einsum_outputs": np.asarray(ops.convert_to_numpy(einsum(x3))),
            "kernel_int8": dense._kernel.numpy(), "inputs_int8": np.asarray(ops.convert_to_numpy(q)),
            "integer_matmul": np.asarray(ops.convert_to_numpy(integer)), "kernel_scale": dense.kernel_scale.numpy(),
            "outputs": out, "close_to_float": np.array(bool(np.abs(out - float_out).max() < 0.05))}
