"""Cases for the normalization, embedding, reshaping, regularization and activation layers.

Each deterministic layer case builds the layer with fixed weights, runs it through `Layer.stateless_call` (the
trainer's mechanism) on fixed inputs, and returns the output, ``loss = weighted_sum(out) + layer losses`` and its
gradients with respect to the float input and every trainable weight, plus the new non-trainable values
(BatchNormalization's moving statistics in training). The numpy reference (float64) gives the same keys, with
central-difference gradients. The random layers (spatial dropout, Gaussian noise/dropout, alpha dropout) are
seeded, compared across backends (the masks bit for bit), and checked against their defining structure.
"""

import numpy as np

from conformance.case import (_Lazy, away_from, case, kshim, numeric_grad, ops, rng, weighted_sum, weighted_sum_np,
                             weights_for)
from conformance.cases_ops import _snake

# ----------------------------------------------------------------------------------------------------------------
# The generic layer case


def _split(result):
    """``np_fn`` returns ``out`` or ``(out, extras)``; extras may hold ``"reg"``, an extra loss term."""
    if isinstance(result, tuple):
        return result[0], dict(result[1])
    return result, {}


def layer_case(name, make, x, *, weights=None, frozen=(), np_fn=None, training=False, call_kwargs=None,
               covers=(), rtol=1e-5, atol=1e-6, ref_rtol=1e-4, ref_atol=1e-5, grad_x=True, numgrad=True):
    """Register ``layers.<name>``: ``make()`` built for ``x``, ``weights`` ({name: array} in the layer's weight
    order, ``frozen`` names not differentiated), called statelessly with ``training`` and ``call_kwargs``.

    ``np_fn(x, *weights)`` (float64) gives the reference output (and optional extras such as ``new_moving_mean``
    or ``reg``); its gradients are taken numerically for ``x`` (if ``grad_x`` and float) and each non-frozen
    weight."""
    x = np.asarray(x)
    weights = dict(weights or {})
    call_kwargs = dict(call_kwargs or {})
    diff_x = grad_x and x.dtype.kind == "f"
    wnames = list(weights)
    diff_w = [n for n in wnames if n not in frozen]

    def run():
        layer = make()
        xt = ops.convert_to_tensor(x)
        if not layer.built:
            layer.build(tuple(x.shape))
        if weights:
            assert [v.name for v in layer.weights] == wnames, [v.name for v in layer.weights]
            layer.set_weights([weights[n] for n in wnames])
        t_vars, n_vars = layer.trainable_variables, layer.non_trainable_variables
        assert [v.name for v in t_vars] == diff_w, [v.name for v in t_vars]
        n_values = [v.value for v in n_vars]
        kw = {k: (ops.convert_to_tensor(v) if isinstance(v, np.ndarray) else v) for k, v in call_kwargs.items()}

        def loss_fn(params):
            xx = params[0] if diff_x else xt
            tw = params[1:] if diff_x else params
            out, new_n, losses = layer.stateless_call(list(tw), n_values, xx, training=training,
                                                      return_losses=True, **kw)
            loss = weighted_sum(out)
            for extra in losses:
                loss = ops.add(loss, extra)
            return loss, (out, new_n)

        params = ([xt] if diff_x else []) + [v.value for v in t_vars]
        (loss, (out, new_n)), grads = ops.value_and_grad(loss_fn, has_aux=True)(params)
        res = {"out": out, "loss": loss}
        gnames = (["x"] if diff_x else []) + diff_w
        res.update({f"grad_{g}": v for g, v in zip(gnames, grads)})
        res.update({f"new_{v.name}": val for v, val in zip(n_vars, new_n) if "seed" not in v.name})
        return res

    reference = None
    if np_fn is not None:
        def reference():
            args = [x.astype(np.float64) if x.dtype.kind == "f" else x] + \
                   [np.asarray(weights[n], np.float64) for n in wnames]
            out, extras = _split(np_fn(*args))
            res = {"out": out}
            res.update({k: v for k, v in extras.items() if k != "reg"})
            if numgrad:
                def total(*a):
                    o, e = _split(np_fn(*a))
                    return weighted_sum_np(o) + float(e.get("reg", 0.0))

                res["loss"] = total(*args)
                idx = ([0] if diff_x else []) + [1 + wnames.index(n) for n in diff_w]
                for g, i in zip((["x"] if diff_x else []) + diff_w, idx):
                    if f"grad_{g}" not in res:  # an analytic gradient from np_fn (at a kink) wins
                        res[f"grad_{g}"] = numeric_grad(total, args, i)
            return res

    run.__doc__ = f"layers.{name}: forward and gradients wrt the input and trainable weights (stateless call)."
    case(f"layers.{name}", family="layers", rtol=rtol, atol=atol, reference=reference, ref_rtol=ref_rtol,
         ref_atol=ref_atol, covers=tuple(covers))(run)


def _cov(*class_names):
    return tuple(f"layers.{_snake(n)}" for n in class_names)


L = _Lazy("kshim.layers")  # resolved inside the case functions only

# ----------------------------------------------------------------------------------------------------------------
# Normalization

XN = (rng(600).normal(size=(4, 3, 5)) * 2 + 1).astype(np.float32)
XN4 = (rng(601).normal(size=(3, 2, 3, 4)) * 1.5 - 0.5).astype(np.float32)


def _vec(seed, n, lo=-1.0, hi=1.0):
    return rng(seed).uniform(lo, hi, size=n).astype(np.float32)


BN_W = {"gamma": _vec(610, 5, 0.5, 1.5), "beta": _vec(611, 5), "moving_mean": _vec(612, 5),
        "moving_variance": _vec(613, 5, 0.5, 2.0)}
BN_W1 = {"gamma": _vec(614, 2, 0.5, 1.5), "beta": _vec(615, 2), "moving_mean": _vec(616, 2),
         "moving_variance": _vec(617, 2, 0.5, 2.0)}
MOVING = ("moving_mean", "moving_variance")


def _bshape(ndim, axis, n):
    s = [1] * ndim
    s[axis] = n
    return tuple(s)


def _np_bn(momentum, epsilon, axis, training, mask=None):
    def fn(x, gamma, beta, mm, mv):
        ax = axis % x.ndim
        red = tuple(i for i in range(x.ndim) if i != ax)
        b = _bshape(x.ndim, ax, x.shape[ax])
        if training:
            if mask is None:
                mean, var = x.mean(axis=red), x.var(axis=red)
            else:
                w = np.broadcast_to(mask[..., None], x.shape).astype(np.float64)
                mean = (x * w).sum(axis=red) / (w.sum(axis=red) + 1e-7)
                var = (((x - mean.reshape(b)) * w) ** 2).sum(axis=red) / (w.sum(axis=red) + 1e-7)
        else:
            mean, var = mm, mv
        out = (x - mean.reshape(b)) / np.sqrt(var.reshape(b) + epsilon) * gamma.reshape(b) + beta.reshape(b)
        if not training:
            return out
        return out, {"new_moving_mean": mm * momentum + mean * (1 - momentum),
                     "new_moving_variance": mv * momentum + var * (1 - momentum)}
    return fn


BN_COV = _cov("BatchNormalization")
layer_case("batch_normalization.inference", lambda: L.BatchNormalization(), XN, weights=BN_W, frozen=MOVING,
           np_fn=_np_bn(0.99, 1e-3, -1, False), covers=BN_COV)
layer_case("batch_normalization.train", lambda: L.BatchNormalization(momentum=0.9, epsilon=0.01), XN,
           weights=BN_W, frozen=MOVING, training=True, np_fn=_np_bn(0.9, 0.01, -1, True), atol=1e-5,
           covers=BN_COV)
layer_case("batch_normalization.train_axis1", lambda: L.BatchNormalization(axis=1), XN4, weights=BN_W1,
           frozen=MOVING, training=True, np_fn=_np_bn(0.99, 1e-3, 1, True), atol=1e-5, covers=BN_COV)
BN_MASK = rng(618).uniform(size=XN.shape[:2]) > 0.3
layer_case("batch_normalization.train_masked", lambda: L.BatchNormalization(), XN, weights=BN_W, frozen=MOVING,
           training=True, call_kwargs={"mask": BN_MASK}, np_fn=_np_bn(0.99, 1e-3, -1, True, BN_MASK), atol=1e-5,
           covers=BN_COV)


def _frozen_bn():
    layer = L.BatchNormalization()
    layer.trainable = False
    return layer


layer_case("batch_normalization.frozen_in_training", _frozen_bn, XN, weights=BN_W,
           frozen=("gamma", "beta") + MOVING, training=True,
           np_fn=lambda x, g, b, mm, mv: (_np_bn(0.99, 1e-3, -1, False)(x, g, b, mm, mv),
                                          {"new_moving_mean": mm, "new_moving_variance": mv}), covers=BN_COV)
layer_case("batch_normalization.renorm",
           lambda: L.BatchNormalization(renorm=True, renorm_clipping={"rmax": 1.2, "dmax": 0.3}), XN,
           weights={**BN_W, "moving_stddev": np.sqrt(BN_W["moving_variance"]), "renorm_mean": _vec(619, 5),
                    "renorm_stddev": _vec(620, 5, 0.8, 1.6)},
           frozen=MOVING + ("moving_stddev", "renorm_mean", "renorm_stddev"), training=True, atol=1e-5,
           covers=BN_COV)


def _np_ln(axes, epsilon=1e-3, rms=False):
    def fn(x, *w):
        var = x.var(axis=axes, keepdims=True)
        if rms:
            return x / np.sqrt(var + epsilon) * w[0]
        mean = x.mean(axis=axes, keepdims=True)
        shape = [1] * x.ndim
        for a in axes:
            shape[a] = x.shape[a]
        gamma, beta = (v.reshape(shape) for v in w)
        return (x - mean) / np.sqrt(var + epsilon) * gamma + beta
    return fn


LN_COV = _cov("LayerNormalization")
layer_case("layer_normalization", lambda: L.LayerNormalization(), XN,
           weights={"gamma": _vec(630, 5, 0.5, 1.5), "beta": _vec(631, 5)}, np_fn=_np_ln((2,)), covers=LN_COV)
layer_case("layer_normalization.axes", lambda: L.LayerNormalization(axis=[1, 2], epsilon=0.1), XN,
           weights={"gamma": rng(632).uniform(0.5, 1.5, (3, 5)).astype(np.float32),
                    "beta": rng(633).uniform(-1, 1, (3, 5)).astype(np.float32)},
           np_fn=_np_ln((1, 2), 0.1), covers=LN_COV)


def _rms_ln():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return L.LayerNormalization(rms_scaling=True)


layer_case("layer_normalization.rms_scaling", _rms_ln, XN, weights={"gamma": _vec(634, 5, 0.5, 1.5)},
           np_fn=_np_ln((2,), rms=True), covers=LN_COV)


def _np_gn(groups, axis, epsilon=1e-3):
    def fn(x, gamma, beta):
        ax = axis % x.ndim
        c = x.shape[ax]
        gshape = list(x.shape)
        gshape[ax:ax + 1] = [groups, c // groups]
        xg = x.reshape(gshape)
        red = tuple(i for i in range(1, xg.ndim) if i != ax)
        mean, var = xg.mean(axis=red, keepdims=True), xg.var(axis=red, keepdims=True)
        norm = ((xg - mean) / np.sqrt(var + epsilon)).reshape(x.shape)
        b = _bshape(x.ndim, ax, c)
        return norm * gamma.reshape(b) + beta.reshape(b)
    return fn


GN_COV = _cov("GroupNormalization")
layer_case("group_normalization", lambda: L.GroupNormalization(groups=2), XN4,
           weights={"gamma": _vec(640, 4, 0.5, 1.5), "beta": _vec(641, 4)}, np_fn=_np_gn(2, -1), covers=GN_COV)
layer_case("group_normalization.channels_first", lambda: L.GroupNormalization(groups=2, axis=1, epsilon=0.1),
           XN4, weights={"gamma": _vec(642, 2, 0.5, 1.5), "beta": _vec(643, 2)}, np_fn=_np_gn(2, 1, 0.1),
           covers=GN_COV)
layer_case("group_normalization.instance", lambda: L.GroupNormalization(groups=-1), XN4,
           weights={"gamma": _vec(644, 4, 0.5, 1.5), "beta": _vec(645, 4)}, np_fn=_np_gn(4, -1), covers=GN_COV)
layer_case("unit_normalization", lambda: L.UnitNormalization(), XN,
           np_fn=lambda x: x / np.sqrt((x ** 2).sum(axis=-1, keepdims=True)), covers=_cov("UnitNormalization"))
layer_case("unit_normalization.axes", lambda: L.UnitNormalization(axis=[1, 2]), XN,
           np_fn=lambda x: x / np.sqrt((x ** 2).sum(axis=(1, 2), keepdims=True)), covers=_cov("UnitNormalization"))

# ----------------------------------------------------------------------------------------------------------------
# Embedding and Masking

IDS = rng(650).integers(0, 6, size=(3, 4)).astype(np.int32)
IDS[0, -1] = 0
TABLE = rng(651).uniform(-1, 1, size=(6, 3)).astype(np.float32)
layer_case("embedding", lambda: L.Embedding(6, 3), IDS, weights={"embeddings": TABLE},
           np_fn=lambda ids, table: table[ids], covers=_cov("Embedding"))
layer_case("embedding.regularized", lambda: L.Embedding(6, 3, embeddings_regularizer=kshim.regularizers.L2(0.1)),
           IDS, weights={"embeddings": TABLE},
           np_fn=lambda ids, table: (table[ids], {"reg": 0.1 * np.sum(table ** 2)}), covers=_cov("Embedding"))


@case("layers.embedding.mask_zero", family="layers", exact=True,
      reference=lambda: {"mask": IDS != 0, "no_mask": np.array(True)})
def _embedding_mask():
    """Embedding(mask_zero=True).compute_mask is inputs != 0; without mask_zero there is no mask."""
    ids = ops.convert_to_tensor(IDS)
    return {"mask": L.Embedding(6, 3, mask_zero=True).compute_mask(ids),
            "no_mask": np.array(L.Embedding(6, 3).compute_mask(ids) is None)}


XM = rng(652).normal(size=(3, 5, 4)).astype(np.float32)
XM[:, 1] = 0.0
XM[0, 3] = 0.0
XM[2, 4, 0] = 0.0
XM_KEEP = np.any(XM != 0, axis=-1, keepdims=True)
# The masked timesteps sit exactly at the mask value, where a finite difference would unmask them: their gradient
# is 0 (the output there is the constant 0), the others pass the loss weights through.
layer_case("masking", lambda: L.Masking(), XM,
           np_fn=lambda x: (np.where(XM_KEEP, x, 0.0),
                            {"grad_x": np.where(XM_KEEP, weights_for(XM.shape), 0.0)}), covers=_cov("Masking"))


@case("layers.masking.mask", family="layers", exact=True, reference=lambda: {"mask": np.any(XM != 0, axis=-1)})
def _masking_mask():
    """Masking().compute_mask: True where any feature differs from mask_value."""
    return {"mask": L.Masking().compute_mask(ops.convert_to_tensor(XM))}


# ----------------------------------------------------------------------------------------------------------------
# Reshaping

XR3 = rng(660).normal(size=(2, 4, 3)).astype(np.float32)
XR4 = rng(661).normal(size=(2, 3, 4, 2)).astype(np.float32)


def _np_bilinear(x, axis, factor):
    n = x.shape[axis]
    src = np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = _bshape(x.ndim, axis, n * factor)
    frac = (src - lo).reshape(w)
    return np.take(x, lo, axis=axis) * (1 - frac) + np.take(x, hi, axis=axis) * frac


def _pad(x, widths):
    return np.pad(x, widths)


RESHAPING = [
    ("permute", lambda: L.Permute((2, 1)), XR3, lambda x: x.transpose(0, 2, 1), "Permute"),
    ("permute.rank4", lambda: L.Permute((3, 1, 2)), XR4, lambda x: x.transpose(0, 3, 1, 2), "Permute"),
    ("repeat_vector", lambda: L.RepeatVector(3), XR3[:, 0], lambda x: np.repeat(x[:, None], 3, axis=1),
     "RepeatVector"),
    ("up_sampling1d", lambda: L.UpSampling1D(3), XR3, lambda x: np.repeat(x, 3, axis=1), "UpSampling1D"),
    ("up_sampling2d", lambda: L.UpSampling2D((2, 3)), XR4,
     lambda x: np.repeat(np.repeat(x, 2, axis=1), 3, axis=2), "UpSampling2D"),
    ("up_sampling2d.channels_first", lambda: L.UpSampling2D(2, data_format="channels_first"), XR4,
     lambda x: np.repeat(np.repeat(x, 2, axis=2), 2, axis=3), "UpSampling2D"),
    ("up_sampling2d.bilinear", lambda: L.UpSampling2D((2, 3), interpolation="bilinear"), XR4,
     lambda x: _np_bilinear(_np_bilinear(x, 1, 2), 2, 3), "UpSampling2D"),
    ("up_sampling2d.bilinear_channels_first",
     lambda: L.UpSampling2D((3, 2), interpolation="bilinear", data_format="channels_first"), XR4,
     lambda x: _np_bilinear(_np_bilinear(x, 2, 3), 3, 2), "UpSampling2D"),
    ("zero_padding1d", lambda: L.ZeroPadding1D((1, 2)), XR3, lambda x: _pad(x, ((0, 0), (1, 2), (0, 0))),
     "ZeroPadding1D"),
    ("zero_padding1d.channels_first", lambda: L.ZeroPadding1D(1, data_format="channels_first"), XR3,
     lambda x: _pad(x, ((0, 0), (0, 0), (1, 1))), "ZeroPadding1D"),
    ("zero_padding2d", lambda: L.ZeroPadding2D(((1, 0), (2, 1))), XR4,
     lambda x: _pad(x, ((0, 0), (1, 0), (2, 1), (0, 0))), "ZeroPadding2D"),
    ("zero_padding2d.channels_first", lambda: L.ZeroPadding2D(1, data_format="channels_first"), XR4,
     lambda x: _pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), "ZeroPadding2D"),
    ("cropping1d", lambda: L.Cropping1D((1, 2)), XR3, lambda x: x[:, 1:-2], "Cropping1D"),
    ("cropping2d", lambda: L.Cropping2D(((1, 0), (1, 2))), XR4, lambda x: x[:, 1:, 1:-2], "Cropping2D"),
    ("cropping2d.channels_first", lambda: L.Cropping2D(((0, 1), (1, 0)), data_format="channels_first"), XR4,
     lambda x: x[:, :, :-1, 1:], "Cropping2D"),
]
for _name, _make, _x, _fn, _cls in RESHAPING:
    layer_case(_name, _make, _x, np_fn=_fn, covers=_cov(_cls), rtol=2e-6, atol=1e-6, ref_rtol=2e-5, ref_atol=2e-6)

# ----------------------------------------------------------------------------------------------------------------
# Activation layers

XA = rng(670).uniform(-3, 3, size=(3, 4, 5))
XA_RELU = away_from(XA, (0.0, 0.5, 2.0), 0.05).astype(np.float32)
XA = away_from(XA, (0.0,), 0.05).astype(np.float32)


def _np_relu(slope=0.0, max_value=None, threshold=0.0):
    def fn(x):
        out = np.where(x > threshold, x, 0.0)
        if max_value is not None:
            out = np.minimum(out, max_value)
        return out - slope * np.maximum(threshold - x, 0.0)
    return fn


def _np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


ACT_OPTS = dict(rtol=2e-6, atol=1e-6, ref_rtol=2e-5, ref_atol=2e-6)
layer_case("relu", lambda: L.ReLU(), XA_RELU, np_fn=_np_relu(), covers=_cov("ReLU"), **ACT_OPTS)
layer_case("relu.options", lambda: L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5), XA_RELU,
           np_fn=_np_relu(0.1, 2.0, 0.5), covers=_cov("ReLU"), **ACT_OPTS)
layer_case("leaky_relu", lambda: L.LeakyReLU(), XA, np_fn=lambda x: np.where(x >= 0, x, 0.3 * x),
           covers=_cov("LeakyReLU"), **ACT_OPTS)
layer_case("elu", lambda: L.ELU(alpha=0.7), XA, np_fn=lambda x: np.where(x > 0, x, 0.7 * np.expm1(np.minimum(x, 0))),
           covers=_cov("ELU"), **ACT_OPTS)
ALPHA = rng(671).uniform(0.05, 0.5, size=(1, 5)).astype(np.float32)
layer_case("prelu", lambda: L.PReLU(shared_axes=[1]), XA, weights={"alpha": ALPHA},
           np_fn=lambda x, a: np.maximum(x, 0) - a * np.maximum(-x, 0), covers=_cov("PReLU"), **ACT_OPTS)
layer_case("softmax", lambda: L.Softmax(axis=1), XA, np_fn=lambda x: _np_softmax(x, 1), covers=_cov("Softmax"),
           **ACT_OPTS)
layer_case("softmax.axes", lambda: L.Softmax(axis=(1, 2)), XA, np_fn=lambda x: _np_softmax(x, (1, 2)),
           covers=_cov("Softmax"), **ACT_OPTS)
SM_MASK = rng(672).uniform(size=XA.shape) > 0.3
SM_MASK[0, 0] = False
layer_case("softmax.mask", lambda: L.Softmax(), XA, call_kwargs={"mask": SM_MASK},
           np_fn=lambda x: np.where(SM_MASK, _np_softmax(np.where(SM_MASK, x, -1e9)), 0.0),
           covers=_cov("Softmax"), **ACT_OPTS)
layer_case("activity_regularization", lambda: L.ActivityRegularization(l1=0.1, l2=0.05), XA,
           np_fn=lambda x: (x, {"reg": (0.1 * np.abs(x).sum() + 0.05 * (x ** 2).sum()) / x.shape[0]}),
           covers=_cov("ActivityRegularization"), **ACT_OPTS)

# ----------------------------------------------------------------------------------------------------------------
# Random regularization layers: seeded, identical across backends, and structurally right

XD = rng(680).uniform(0.5, 1.5, size=(4, 3, 3, 6)).astype(np.float32)
XD3 = XD.reshape(4, 9, 6)


def _random_case(name, make, x, check, rtol=1e-6, atol=1e-6, cls=None):
    """``make()`` (seeded) called twice in training and once in inference; gradients of the first call wrt x.
    Which entries are zero (the dropout masks) must agree exactly (bool outputs); the values to ``rtol``."""

    def run():
        layer = make()
        xt = ops.convert_to_tensor(x)
        n_values = [v.value for v in layer.non_trainable_variables]

        def loss_fn(params):
            out, new_n = layer.stateless_call([], n_values, params[0], training=True)
            return weighted_sum(out), (out, new_n)

        (loss, (out1, new_n)), grads = ops.value_and_grad(loss_fn, has_aux=True)([xt])
        from kshim.variables import swap_values

        swap_values(layer.non_trainable_variables, new_n)
        out2 = layer(xt, training=True)
        ident = layer(xt)
        o1 = np.asarray(ops.convert_to_numpy(out1), np.float64)
        return {"train1": out1, "train2": out2, "loss": loss, "grad_x": grads[0], "inference": ident,
                "zeros1": o1 == 0, "zeros2": np.asarray(ops.convert_to_numpy(out2)) == 0,
                "calls_differ": np.array(not np.array_equal(o1, ops.convert_to_numpy(out2))),
                "structure_ok": np.array(bool(check(x.astype(np.float64), o1)))}

    case(f"layers.{name}", family="layers", rtol=rtol, atol=atol, covers=_cov(cls),
         reference=lambda: {"inference": x, "calls_differ": np.array(True), "structure_ok": np.array(True)})(run)


def _channel_dropout_ok(rate, channel_axes):
    def check(x, y):
        kept = y != 0
        if not np.allclose(y[kept], x[kept] / (1 - rate), rtol=1e-6):
            return False
        other = tuple(i for i in range(1, x.ndim) if i not in channel_axes)
        frac = kept.mean(axis=other)
        return set(np.unique(frac)) <= {0.0, 1.0} and 0 < frac.mean() < 1
    return check


_random_case("spatial_dropout1d", lambda: L.SpatialDropout1D(0.4, seed=3), XD3, _channel_dropout_ok(0.4, (2,)),
             cls="SpatialDropout1D")
_random_case("spatial_dropout2d", lambda: L.SpatialDropout2D(0.4, seed=3), XD, _channel_dropout_ok(0.4, (3,)),
             cls="SpatialDropout2D")
_random_case("spatial_dropout2d.channels_first",
             lambda: L.SpatialDropout2D(0.5, data_format="channels_first", seed=4), XD,
             _channel_dropout_ok(0.5, (1,)), cls="SpatialDropout2D")
_random_case("spatial_dropout3d", lambda: L.SpatialDropout3D(0.3, seed=5), XD.reshape(4, 3, 3, 1, 6),
             _channel_dropout_ok(0.3, (4,)), cls="SpatialDropout3D")
_random_case("gaussian_noise", lambda: L.GaussianNoise(0.3, seed=6), XD,
             lambda x, y: abs((y - x).mean()) < 0.1 and 0.2 < (y - x).std() < 0.4, rtol=2e-6, atol=2e-6,
             cls="GaussianNoise")
_random_case("gaussian_dropout", lambda: L.GaussianDropout(0.2, seed=7), XD,
             lambda x, y: abs((y / x).mean() - 1) < 0.1 and 0.35 < (y / x).std() < 0.65, rtol=2e-6, atol=2e-6,
             cls="GaussianDropout")

_ALPHA_P = -1.6732632423543772 * 1.0507009873554805


def _alpha_ok(rate):
    a = ((1 - rate) * (1 + rate * _ALPHA_P ** 2)) ** -0.5
    b = -a * _ALPHA_P * rate

    def check(x, y):
        dropped = np.isclose(y, a * _ALPHA_P + b, atol=1e-6)
        return 0 < dropped.mean() < 1 and np.allclose(y[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)
    return check


_random_case("alpha_dropout", lambda: L.AlphaDropout(0.3, seed=8), XD, _alpha_ok(0.3), cls="AlphaDropout")
