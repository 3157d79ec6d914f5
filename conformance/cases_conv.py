"""Cases for convolution and pooling: the ops (conv, depthwise_conv, separable_conv, conv_transpose, max_pool,
average_pool) and every conv and pooling layer, with forward values and gradients wrt the inputs and every weight.

Each layer case builds the layer, sets fixed weights (a pure function of the case's seed and the weight shapes),
and returns ``out``, ``loss = sum(out * w)`` and ``grad_x``, ``grad_<weight name>``. The forward value has a numpy
reference written here from the definitions (TensorFlow's "same" padding, Keras 3's transposed-convolution sizes,
average pooling over the real elements only); the op cases also compare central-difference gradients.
Everything kshim-side is imported inside the case functions.
"""

import itertools

import numpy as np

from conformance.case import case, kshim, numeric_grad, ops, rng, weights_for, weighted_sum, weighted_sum_np


# ----------------------------------------------------------------------------------------------------------------
# numpy references (channels_last; float64)


def _tuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _same_pads(size, k, s, d=1):
    ke = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + ke - size, 0)
    return total // 2, total - total // 2


def np_conv(x, kernel, strides=1, padding="valid", dilation=1):
    """Grouped N-D cross-correlation with the kernel (k..., in // groups, out); padding valid/same/causal."""
    n = x.ndim - 2
    ks, s, d = kernel.shape[:n], _tuple(strides, n), _tuple(dilation, n)
    if padding == "same":
        x = np.pad(x, [(0, 0)] + [_same_pads(x.shape[1 + i], ks[i], s[i], d[i]) for i in range(n)] + [(0, 0)])
    elif padding == "causal":
        x = np.pad(x, [(0, 0), ((ks[0] - 1) * d[0], 0), (0, 0)])
    ci, co = kernel.shape[-2:]
    groups = x.shape[-1] // ci
    outs = [(x.shape[1 + i] - (ks[i] - 1) * d[i] - 1) // s[i] + 1 for i in range(n)]
    y = np.zeros((x.shape[0], *outs, co))
    cg = co // groups
    for tap in itertools.product(*[range(k) for k in ks]):
        sl = tuple(slice(tap[i] * d[i], tap[i] * d[i] + (outs[i] - 1) * s[i] + 1, s[i]) for i in range(n))
        patch = x[(slice(None),) + sl]
        for g in range(groups):
            y[..., g * cg:(g + 1) * cg] += patch[..., g * ci:(g + 1) * ci] @ kernel[tap][:, g * cg:(g + 1) * cg]
    return y


def np_depthwise_conv(x, kernel, strides=1, padding="valid", dilation=1):
    c, m = kernel.shape[-2:]
    return np_conv(x, kernel.reshape(kernel.shape[:-2] + (1, c * m)), strides, padding, dilation)


def np_conv_transpose(x, kernel, strides=1, padding="valid", output_padding=None, dilation=1):
    """Keras 3's transposed convolution: the stride-dilated input, padded, convolved with the flipped kernel."""
    n = x.ndim - 2
    ks, s, d = kernel.shape[:n], _tuple(strides, n), _tuple(dilation, n)
    op = (None,) * n if output_padding is None else _tuple(output_padding, n)
    dil = np.zeros((x.shape[0], *[(x.shape[1 + i] - 1) * s[i] + 1 for i in range(n)], x.shape[-1]))
    dil[(slice(None),) + tuple(slice(None, None, si) for si in s)] = x
    pads = []
    for i in range(n):
        ke = (ks[i] - 1) * d[i] + 1
        if padding == "valid":
            pads.append((ke - 1, ke - 1 + (max(ke, s[i]) - ke if op[i] is None else op[i])))
        else:
            total = s[i] + ke - 2 if op[i] is None else ke + ke % 2 - 2 + op[i]
            left = min(total // 2 + total % 2, ke - 1)
            pads.append((left, total - left))
    dil = np.pad(dil, [(0, 0)] + pads + [(0, 0)])
    flipped = np.swapaxes(np.flip(kernel, axis=tuple(range(n))), -1, -2)
    return np_conv(dil, flipped, 1, "valid", d)


def np_pool(x, pool, strides=None, padding="valid", mode="max"):
    n = x.ndim - 2
    k = _tuple(pool, n)
    s = k if strides is None else _tuple(strides, n)
    if padding == "same":
        x = np.pad(x, [(0, 0)] + [_same_pads(x.shape[1 + i], k[i], s[i]) for i in range(n)] + [(0, 0)],
                   constant_values=np.nan)
    outs = [(x.shape[1 + i] - k[i]) // s[i] + 1 for i in range(n)]
    taps = [x[(slice(None),) + tuple(slice(t[i], t[i] + (outs[i] - 1) * s[i] + 1, s[i]) for i in range(n))]
            for t in itertools.product(*[range(ki) for ki in k])]
    return np.nanmax(taps, axis=0) if mode == "max" else np.nanmean(taps, axis=0)


def _first_to_last(x):
    return np.moveaxis(x, 1, -1)


def _last_to_first(x):
    return np.moveaxis(x, -1, 1)


# ----------------------------------------------------------------------------------------------------------------
# Op cases (numpy reference with central-difference gradients)

XC = rng(700).normal(size=(2, 6, 5, 4)).astype(np.float32)
KC = rng(701).normal(scale=0.5, size=(3, 2, 2, 6)).astype(np.float32)  # 2 groups
KD = rng(702).normal(scale=0.5, size=(3, 3, 4, 2)).astype(np.float32)
KP = rng(703).normal(scale=0.5, size=(1, 1, 8, 3)).astype(np.float32)
KT = rng(704).normal(scale=0.5, size=(3, 3, 4, 3)).astype(np.float32)  # (k, k, out, in)
XP = rng(705).normal(size=(2, 5, 7, 3)).astype(np.float32)


def _op_case(name, fn, np_fn, inputs, covers=()):
    """``fn(*tensors)`` on fixed inputs: out, loss and the gradient of every input, with a numpy reference."""
    inputs = [np.ascontiguousarray(a) for a in inputs]  # numeric_grad perturbs a C-ordered view

    def run():
        args = [ops.convert_to_tensor(a) for a in inputs]
        loss, grads = ops.value_and_grad(lambda p: weighted_sum(fn(*p)))(args)
        res = {"out": fn(*args), "loss": loss}
        res.update({f"grad{i}": g for i, g in enumerate(grads)})
        return res

    def reference():
        a64 = [a.astype(np.float64) for a in inputs]
        res = {"out": np_fn(*a64), "loss": weighted_sum_np(np_fn(*a64))}
        for i in range(len(a64)):
            res[f"grad{i}"] = numeric_grad(lambda *a: weighted_sum_np(np_fn(*a)), a64, i)
        return res

    run.__doc__ = f"ops.{name.split('.')[1]} on fixed inputs: the output and the gradient of every input."
    case(name, family="ops", rtol=2e-5, atol=2e-5, reference=reference, ref_rtol=1e-4, ref_atol=5e-5,
         covers=covers)(run)


_op_case("ops.conv.grouped_strided_same", lambda x, k: ops.conv(x, k, (2, 1), "same"),
         lambda x, k: np_conv(x, k, (2, 1), "same"), [XC, KC])
_op_case("ops.conv.dilated_channels_first", lambda x, k: ops.conv(x, k, 1, "same", "channels_first", 2),
         lambda x, k: _last_to_first(np_conv(_first_to_last(x), k, 1, "same", 2)),
         [np.moveaxis(XC, -1, 1), KD[..., :1]])
_op_case("ops.depthwise_conv", lambda x, k: ops.depthwise_conv(x, k, 2, "same"),
         lambda x, k: np_depthwise_conv(x, k, 2, "same"), [XC, KD])
_op_case("ops.separable_conv", lambda x, d, p: ops.separable_conv(x, d, p, 1, "valid", None, 1),
         lambda x, d, p: np_conv(np_depthwise_conv(x, d), p), [XC, KD, KP])
_op_case("ops.conv_transpose", lambda x, k: ops.conv_transpose(x, k, 2, "same", 1),
         lambda x, k: np_conv_transpose(x, k, 2, "same", 1), [XP, KT])
_op_case("ops.conv_transpose.valid", lambda x, k: ops.conv_transpose(x, k, (2, 3), "valid"),
         lambda x, k: np_conv_transpose(x, k, (2, 3), "valid"), [XP, KT])
_op_case("ops.max_pool", lambda x: ops.max_pool(x, 3, 2, "same"), lambda x: np_pool(x, 3, 2, "same"), [XP])
_op_case("ops.average_pool", lambda x: ops.average_pool(x, 3, 2, "same"),
         lambda x: np_pool(x, 3, 2, "same", "mean"), [XP])
_op_case("ops.average_pool.valid_channels_first",
         lambda x: ops.average_pool(x, (2, 3), (1, 2), "valid", "channels_first"),
         lambda x: _last_to_first(np_pool(_first_to_last(x), (2, 3), (1, 2), "valid", "mean")),
         [np.moveaxis(XP, -1, 1)])


# ----------------------------------------------------------------------------------------------------------------
# Layer cases


def _snake(name):
    """The coverage name of a layer class, as `conformance.cases_ops.public_names` spells it."""
    import re

    return "layers." + re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _layer_weights(seed, shapes):
    r = rng(seed)
    return [r.normal(scale=0.5, size=s).astype(np.float32) for s in shapes]


def _swap_call(layer, values, x):
    from kshim.variables import swap_values

    old = swap_values(layer.weights, values)
    try:
        return layer(x)
    finally:
        swap_values(layer.weights, old)


def _weight_shapes(cls, kw, channels):
    """The Keras 3 weight shapes of a conv layer (as the case states them; set_weights checks kshim agrees)."""
    import re

    rank = int(re.search(r"(\d)D", cls).group(1))
    k = _tuple(kw.get("kernel_size", 1), rank)
    bias = kw.get("use_bias", True)
    if cls.startswith("Conv") and cls.endswith("Transpose"):
        shapes = [k + (kw["filters"], channels)]
        out = kw["filters"]
    elif cls.startswith("Conv"):
        shapes = [k + (channels // kw.get("groups", 1), kw["filters"])]
        out = kw["filters"]
    elif cls.startswith("Depthwise"):
        shapes, out = [k + (channels, kw.get("depth_multiplier", 1))], channels * kw.get("depth_multiplier", 1)
    else:  # Separable
        dm = kw.get("depth_multiplier", 1)
        shapes, out = [k + (channels, dm), (1,) * rank + (channels * dm, kw["filters"])], kw["filters"]
    return shapes + ([(out,)] if bias else [])


def _np_layer(cls, kw, x, weights):
    """The numpy forward value of a conv or pooling layer (channels_first handled by moving the axis)."""
    first = kw.get("data_format") == "channels_first"
    x = _first_to_last(x.astype(np.float64)) if first else x.astype(np.float64)
    w = [a.astype(np.float64) for a in weights]
    s, p, d = kw.get("strides", 1), kw.get("padding", "valid"), kw.get("dilation_rate", 1)
    if "Global" in cls:
        axes = tuple(range(1, x.ndim - 1))
        y = x.max(axis=axes, keepdims=True) if "Max" in cls else x.mean(axis=axes, keepdims=True)
        if not kw.get("keepdims", False):
            return y.reshape(y.shape[0], -1)
    elif "Pooling" in cls:
        y = np_pool(x, kw["pool_size"], kw.get("strides"), p, "max" if "Max" in cls else "mean")
    else:
        if cls.endswith("Transpose"):
            y = np_conv_transpose(x, w[0], s, p, kw.get("output_padding"), d)
        elif cls.startswith("Conv"):
            y = np_conv(x, w[0], s, p, d)
        elif cls.startswith("Depthwise"):
            y = np_depthwise_conv(x, w[0], s, p, d)
        else:
            y = np_conv(np_depthwise_conv(x, w[0], s, p, d), w[1])
        if kw.get("use_bias", True):
            y = y + w[-1]
        y = np.tanh(y) if kw.get("activation") == "tanh" else y
    return _last_to_first(y) if first else y


def layer_case(name, cls, kw, shape, seed, aliases=()):
    """Register ``layers.<name>``: ``cls(**kw)`` on a fixed input of ``shape``, out and every gradient."""
    x = rng(seed).normal(size=shape).astype(np.float32)
    channels = shape[1] if kw.get("data_format") == "channels_first" else shape[-1]
    shapes = [] if "Pool" in cls else _weight_shapes(cls, kw, channels)
    weights = _layer_weights(seed + 1, shapes)

    def run():
        layer = getattr(kshim.layers, cls)(**kw)
        layer.build(shape)
        layer.set_weights(weights)
        xt = ops.convert_to_tensor(x)
        out = layer(xt)
        w = weights_for(ops.shape(out))
        params = [xt] + [ops.convert_to_tensor(a) for a in weights]
        loss, grads = ops.value_and_grad(
            lambda p: ops.sum(ops.multiply(_swap_call(layer, p[1:], p[0]), w)))(params)
        res = {"out": out, "loss": loss, "grad_x": grads[0],
               "weight_names": np.array([v.name for v in layer.weights], dtype=str)}
        res.update({f"grad_{v.name}": g for v, g in zip(layer.weights, grads[1:])})
        return res

    run.__doc__ = f"{cls}({', '.join(f'{k}={v!r}' for k, v in kw.items())}) on {shape}: out and gradients."
    covers = tuple(_snake(c) for c in (cls,) + tuple(aliases))
    case(f"layers.{name}", family="layers", rtol=2e-5, atol=2e-5, ref_rtol=1e-4, ref_atol=5e-5, covers=covers,
         reference=lambda: {"out": _np_layer(cls, kw, x, weights)})(run)


_CONV_CASES = [
    ("conv1d", "Conv1D", dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 9, 2), ("Convolution1D",)),
    ("conv1d.causal_dilated", "Conv1D", dict(filters=3, kernel_size=3, dilation_rate=2, padding="causal",
                                             activation="tanh"), (2, 8, 2), ()),
    ("conv1d.groups_channels_first", "Conv1D", dict(filters=4, kernel_size=2, groups=2,
                                                    data_format="channels_first"), (2, 4, 7), ()),
    ("conv2d", "Conv2D", dict(filters=4, kernel_size=(3, 2), strides=(2, 1), padding="same", activation="tanh"),
     (2, 7, 6, 3), ("Convolution2D",)),
    ("conv2d.dilated_valid_no_bias", "Conv2D", dict(filters=3, kernel_size=3, dilation_rate=2, use_bias=False),
     (2, 8, 7, 2), ()),
    ("conv2d.groups_channels_first", "Conv2D", dict(filters=6, kernel_size=3, strides=2, groups=3,
                                                    data_format="channels_first"), (2, 3, 7, 8), ()),
    ("conv3d", "Conv3D", dict(filters=3, kernel_size=2, strides=2, padding="same"), (2, 3, 4, 5, 2),
     ("Convolution3D",)),
    ("conv1d_transpose", "Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 5, 2),
     ("Convolution1DTranspose",)),
    ("conv2d_transpose", "Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, output_padding=1),
     (2, 4, 5, 2), ("Convolution2DTranspose",)),
    ("conv2d_transpose.same_channels_first", "Conv2DTranspose",
     dict(filters=2, kernel_size=(3, 4), strides=(2, 3), padding="same", data_format="channels_first"),
     (2, 3, 4, 3), ()),
    ("conv3d_transpose", "Conv3DTranspose", dict(filters=2, kernel_size=2, strides=(1, 2, 2), padding="same"),
     (2, 2, 3, 3, 2), ("Convolution3DTranspose",)),
    ("depthwise_conv1d", "DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2, padding="same"), (2, 7, 3), ()),
    ("depthwise_conv2d", "DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"),
     (2, 7, 6, 3), ()),
    ("depthwise_conv2d.dilated_channels_first", "DepthwiseConv2D",
     dict(kernel_size=3, dilation_rate=2, data_format="channels_first"), (2, 3, 7, 7), ()),
    ("separable_conv1d", "SeparableConv1D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 9, 3),
     ("SeparableConvolution1D",)),
    ("separable_conv2d", "SeparableConv2D", dict(filters=4, kernel_size=3, depth_multiplier=2,
                                                 data_format="channels_first", activation="tanh"), (2, 3, 7, 6),
     ("SeparableConvolution2D",)),
]

_POOL_CASES = [
    ("max_pooling1d", "MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3), ("MaxPool1D",)),
    ("max_pooling2d", "MaxPooling2D", dict(pool_size=2), (2, 7, 6, 3), ("MaxPool2D",)),
    ("max_pooling2d.same_odd", "MaxPooling2D", dict(pool_size=3, strides=2, padding="same",
                                                    data_format="channels_first"), (2, 2, 7, 6), ()),
    ("max_pooling3d", "MaxPooling3D", dict(pool_size=2, strides=(1, 2, 2), padding="same"), (2, 3, 5, 4, 2),
     ("MaxPool3D",)),
    ("average_pooling1d", "AveragePooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3),
     ("AvgPool1D",)),
    ("average_pooling2d", "AveragePooling2D", dict(pool_size=(2, 3), strides=(2, 1)), (2, 7, 6, 3),
     ("AvgPool2D",)),
    ("average_pooling2d.same_odd", "AveragePooling2D", dict(pool_size=3, strides=2, padding="same",
                                                            data_format="channels_first"), (2, 2, 7, 6), ()),
    ("average_pooling3d", "AveragePooling3D", dict(pool_size=2, strides=(1, 2, 2), padding="same"),
     (2, 3, 5, 4, 2), ("AvgPool3D",)),
]
for _kind, _alias in (("Max", "Max"), ("Average", "Avg")):
    for _n, _shape in ((1, (2, 5, 3)), (2, (2, 4, 5, 3)), (3, (2, 3, 4, 3, 2))):
        _POOL_CASES.append((f"global_{_kind.lower()}_pooling{_n}d", f"Global{_kind}Pooling{_n}D", {}, _shape,
                            (f"Global{_alias}Pool{_n}D",)))
        _POOL_CASES.append((f"global_{_kind.lower()}_pooling{_n}d.keepdims_channels_first",
                            f"Global{_kind}Pooling{_n}D", dict(keepdims=True, data_format="channels_first"),
                            _shape, ()))

for _i, (_name, _cls, _kw, _shape, _aliases) in enumerate(_CONV_CASES + _POOL_CASES):
    layer_case(_name, _cls, _kw, _shape, 710 + 2 * _i, _aliases)


XM = rng(760).normal(size=(3, 5, 4)).astype(np.float32)
MASK = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 0, 1], [1, 1, 1, 1, 1]], bool)


@case("layers.global_average_pooling1d.mask", family="layers", rtol=2e-6, atol=2e-6,
      reference=lambda: {"out": np.stack([XM[i][MASK[i]].mean(axis=0) for i in range(3)]),
                         "grad_x": np.where(MASK[..., None], weights_for((3, 4))[:, None, :]
                                            / MASK.sum(axis=1)[:, None, None], 0.0)})
def _global_average_masked():
    """GlobalAveragePooling1D with a (batch, steps) mask: the mean of the unmasked steps, and its gradient."""
    layer = kshim.layers.GlobalAveragePooling1D()
    x = ops.convert_to_tensor(XM)
    mask = ops.convert_to_tensor(MASK)
    w = weights_for((3, 4))
    loss, (g,) = ops.value_and_grad(lambda p: ops.sum(ops.multiply(layer(p[0], mask=mask), w)))([x])
    return {"out": layer(x, mask=mask), "loss": loss, "grad_x": g}
