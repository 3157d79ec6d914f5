"""Cases for the layers added for issue 16: 3-D reshaping, adaptive pooling, ConvLSTM, SpectralNormalization,
StackedRNNCells, Pipeline and the image augmentation layers.

Deterministic layers: forward and gradients against a float64 numpy reference where one is short to write, and
across backends always. Trainable layers are built from a seed (host-drawn weights, the same on both backends) and
differentiated with respect to the input and every trainable weight. The seeded random layers: their draws
(``get_random_transformation``) must agree bit for bit across backends (one exact case for all the uniform-based
layers), and their outputs to float32 rounding.
"""

import math

import numpy as np

from conformance.case import _Lazy, case, kshim, ops, rng, weighted_sum
from conformance.cases_layers_misc import _cov, layer_case
from conformance.cases_random import set_seed

L = _Lazy("kshim.layers")
VOL = rng(1600).normal(size=(2, 3, 4, 2, 2)).astype(np.float32)
SEQ = rng(1601).normal(size=(2, 3, 3)).astype(np.float32)
IMG = rng(1602).uniform(0, 255, size=(3, 4, 5, 3)).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------
# Deterministic layers with numpy references

layer_case("up_sampling3d", lambda: L.UpSampling3D((1, 2, 3)), VOL,
           np_fn=lambda x: np.repeat(np.repeat(x, 2, axis=2), 3, axis=3), covers=_cov("UpSampling3D"))
layer_case("zero_padding3d", lambda: L.ZeroPadding3D(((1, 0), (0, 2), (1, 1))), VOL,
           np_fn=lambda x: np.pad(x, ((0, 0), (1, 0), (0, 2), (1, 1), (0, 0))), covers=_cov("ZeroPadding3D"))
layer_case("cropping3d", lambda: L.Cropping3D(((1, 0), (1, 1), (0, 1))), VOL,
           np_fn=lambda x: x[:, 1:, 1:3, 0:1], covers=_cov("Cropping3D"))


def _np_adaptive(x, sizes, reduce):
    for axis, size in enumerate(sizes, start=1):
        n = x.shape[axis]
        parts = [reduce(np.take(x, np.arange(math.floor(i * n / size), math.ceil((i + 1) * n / size)), axis=axis),
                        axis=axis, keepdims=True) for i in range(size)]
        x = np.concatenate(parts, axis=axis)
    return x


X1 = rng(1603).normal(size=(2, 7, 3)).astype(np.float32)
X2 = rng(1604).normal(size=(2, 5, 7, 2)).astype(np.float32)
layer_case("adaptive_average_pooling1d", lambda: L.AdaptiveAveragePooling1D(3), X1,
           np_fn=lambda x: _np_adaptive(x, (3,), np.mean), covers=_cov("AdaptiveAveragePooling1D"))
layer_case("adaptive_max_pooling1d", lambda: L.AdaptiveMaxPooling1D(4), X1,
           np_fn=lambda x: _np_adaptive(x, (4,), np.max), covers=_cov("AdaptiveMaxPooling1D"))
layer_case("adaptive_average_pooling2d", lambda: L.AdaptiveAveragePooling2D((2, 3)), X2,
           np_fn=lambda x: _np_adaptive(x, (2, 3), np.mean), covers=_cov("AdaptiveAveragePooling2D"))
layer_case("adaptive_max_pooling2d", lambda: L.AdaptiveMaxPooling2D(2), X2,
           np_fn=lambda x: _np_adaptive(x, (2, 2), np.max), covers=_cov("AdaptiveMaxPooling2D"))
layer_case("adaptive_average_pooling3d", lambda: L.AdaptiveAveragePooling3D((2, 2, 1)), VOL,
           np_fn=lambda x: _np_adaptive(x, (2, 2, 1), np.mean), covers=_cov("AdaptiveAveragePooling3D"))
layer_case("adaptive_max_pooling3d", lambda: L.AdaptiveMaxPooling3D((2, 3, 2)), VOL,
           np_fn=lambda x: _np_adaptive(x, (2, 3, 2), np.max), covers=_cov("AdaptiveMaxPooling3D"))


def _np_auto_contrast(x):
    low, high = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    return np.clip((x - low) * (255.0 / (high - low)), 0, 255)


layer_case("auto_contrast", lambda: L.AutoContrast(), IMG, np_fn=_np_auto_contrast, numgrad=False, rtol=2e-5,
           atol=2e-4, ref_rtol=1e-4, ref_atol=2e-3)


@case("layers.equalization", family="layers", rtol=1e-5, atol=1e-4)
def _equalization():
    """Equalization (histogram of the batch per channel, rounded lookup table)."""
    return {"out": L.Equalization(bins=32)(IMG), "unit": L.Equalization(value_range=(0, 1))(IMG / 255.0)}


# ----------------------------------------------------------------------------------------------------------------
# Trainable layers, seeded


def _seeded_grad_case(name, make, x, training=False, covers=(), rtol=1e-5, atol=1e-6):
    """``layers.<name>``: the layer from seed 1 (the same weights on both backends), its stateless forward and the
    gradients of a weighted sum with respect to the input and every trainable weight."""

    @case(f"layers.{name}", family="layers", rtol=rtol, atol=atol, covers=tuple(covers))
    def run():
        set_seed(1)
        layer = make()
        xt = ops.convert_to_tensor(x)
        layer(xt)  # builds
        t_vars, n_vars = layer.trainable_variables, layer.non_trainable_variables
        n_values = [v.value for v in n_vars]

        def loss_fn(params):
            out, new_n = layer.stateless_call(list(params[1:]), n_values, params[0], training=training)
            return weighted_sum(out), (out, new_n)

        (loss, (out, new_n)), grads = ops.value_and_grad(loss_fn, has_aux=True)([xt] + [v.value for v in t_vars])
        res = {"out": out, "loss": loss, "grad_x": grads[0]}
        res.update({f"grad_{i}_{v.name}": g for i, (v, g) in enumerate(zip(t_vars, grads[1:]))})
        res.update({f"new_{i}_{v.name}": val for i, (v, val) in enumerate(zip(n_vars, new_n))
                    if "seed" not in v.name})
        return res

    run.__doc__ = f"layers.{name}: seeded weights, forward and gradients wrt input and weights."


_seeded_grad_case("conv_lstm1d", lambda: L.ConvLSTM1D(2, 3, return_sequences=True),
                  rng(1605).normal(size=(2, 3, 6, 2)).astype(np.float32), covers=_cov("ConvLSTM1D"), rtol=2e-5,
                  atol=1e-5)
_seeded_grad_case("conv_lstm2d", lambda: L.ConvLSTM2D(2, 2, padding="same", go_backwards=True),
                  rng(1606).normal(size=(2, 2, 4, 3, 2)).astype(np.float32), covers=_cov("ConvLSTM2D"), rtol=2e-5,
                  atol=1e-5)
_seeded_grad_case("conv_lstm3d", lambda: L.ConvLSTM3D(2, 2), VOL[:, :2, None].repeat(3, axis=2),
                  covers=_cov("ConvLSTM3D"), rtol=2e-5, atol=1e-5)
_seeded_grad_case("spectral_normalization", lambda: L.SpectralNormalization(L.Dense(3), power_iterations=2),
                  SEQ[:, 0], training=True, covers=_cov("Wrapper"), rtol=2e-5, atol=1e-5)
_seeded_grad_case("stacked_rnn_cells", lambda: L.RNN(L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)]),
                                                     return_sequences=True), SEQ, covers=_cov("StackedRNNCells"),
                  rtol=2e-5, atol=1e-5)
layer_case("pipeline", lambda: L.Pipeline([L.Rescaling(0.5, offset=1.0), L.CenterCrop(3, 4)]), IMG,
           np_fn=lambda x: x[:, 0:3, 0:4] * 0.5 + 1.0)


# ----------------------------------------------------------------------------------------------------------------
# Seeded random augmentation

_UNIFORM_LAYERS = {
    "RandomGrayscale": lambda: L.RandomGrayscale(0.5, seed=1),
    "RandomHue": lambda: L.RandomHue(0.6, seed=2),
    "RandomSaturation": lambda: L.RandomSaturation((0.2, 0.8), value_range=(0, 1), seed=3),
    "RandomSharpness": lambda: L.RandomSharpness(0.8, seed=4),
    "RandomPosterization": lambda: L.RandomPosterization((2, 7), seed=5),
    "RandomInvert": lambda: L.RandomInvert(0.7, seed=6),
    "Solarization": lambda: L.Solarization(0.3, (0.2, 0.8), seed=7),
    "RandomColorDegeneration": lambda: L.RandomColorDegeneration(0.8, seed=8),
    "RandomColorJitter": lambda: L.RandomColorJitter(brightness_factor=0.2, contrast_factor=0.4,
                                                     saturation_factor=0.3, hue_factor=0.2, seed=9),
    "RandomErasing": lambda: L.RandomErasing(scale=(0.2, 0.5), fill_value=3.0, seed=10),
    "RandomShear": lambda: L.RandomShear(0.3, 0.2, seed=11),
    "RandomPerspective": lambda: L.RandomPerspective(0.8, scale=0.5, seed=12),
    "RandomGaussianBlur": lambda: L.RandomGaussianBlur(0.9, kernel_size=3, sigma=(0.3, 0.9), seed=13),
}
_BETA_LAYERS = {"MixUp": lambda: L.MixUp(0.5, seed=14), "CutMix": lambda: L.CutMix(0.7, seed=15)}
# normal draws (Box-Muller): equal across backends to about an ulp, so compared with a tolerance
_NORMAL_LAYERS = {"RandomElasticTransform": lambda: L.RandomElasticTransform((0.9, 1.0), seed=16)}


@case("layers.augmentation_draws", family="layers", exact=True, covers=_cov(*_UNIFORM_LAYERS))
def _draws():
    """The random transformations of the uniform-based augmentation layers: bit-identical across backends."""
    x = ops.convert_to_tensor(IMG)
    return {name: make().get_random_transformation(x) for name, make in _UNIFORM_LAYERS.items()}


@case("layers.augmentation_outputs", family="layers", rtol=2e-5, atol=2e-3,
      covers=_cov(*_UNIFORM_LAYERS, *_BETA_LAYERS, *_NORMAL_LAYERS), reference=lambda: {
          f"{n}.inference": IMG for n in list(_UNIFORM_LAYERS) + list(_BETA_LAYERS) + list(_NORMAL_LAYERS)})
def _outputs():
    """Each augmentation layer called once in training and once at inference (the identity);
    MixUp and CutMix also mix one-hot labels. Beta draws (MixUp, CutMix) agree to a few ulps across backends."""
    res = {}
    labels = np.eye(3, dtype=np.float32)
    for name, make in {**_UNIFORM_LAYERS, **_BETA_LAYERS, **_NORMAL_LAYERS}.items():
        layer = make()
        res[name] = {"train": layer(IMG, training=True), "inference": layer(IMG, training=False)}
    for name, make in _BETA_LAYERS.items():
        res[name]["mixed"] = make()({"images": IMG, "labels": labels})
    return res


@case("layers.augmentation_model", family="layers", rtol=2e-5, atol=2e-3, covers=_cov("Pipeline"))
def _augmentation_model():
    """A Sequential of new augmentation layers (one inside a Pipeline) trained one step from a seed: the same
    loss and weights on both backends."""
    set_seed(2)
    model = kshim.Sequential([
        kshim.Input((4, 5, 3)), L.Pipeline([L.RandomHue(0.2, seed=1), L.RandomShear(0.2, seed=2)]),
        L.RandomErasing(seed=3), L.Rescaling(1 / 255.0), L.AdaptiveAveragePooling2D(2), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    y = rng(1607).normal(size=(3, 2)).astype(np.float32)
    history = model.fit(IMG, y, epochs=2, batch_size=3, verbose=0, shuffle=False)
    return {"loss": np.array(history.history["loss"]), "weights": model.get_weights()}


_IDS = rng(1608).integers(0, 6, size=(2, 3)).astype(np.int32)
_EMB = rng(1609).normal(size=(6, 4)).astype(np.float32)
_REV = rng(1610).normal(size=(4, 6)).astype(np.float32)
_HID = rng(1611).normal(size=(2, 3, 4)).astype(np.float32)
layer_case("reversible_embedding", lambda: L.ReversibleEmbedding(6, 4), _IDS, weights={"embeddings": _EMB},
           np_fn=lambda ids, e: e[ids], covers=_cov("ReversibleEmbedding"))
layer_case("reversible_embedding.reverse", lambda: L.ReversibleEmbedding(6, 4, tie_weights=False, logit_soft_cap=2.0),
           _HID, weights={"embeddings": _EMB, "reverse_embeddings": _REV}, call_kwargs={"reverse": True},
           np_fn=lambda h, e, r: np.tanh(h @ r / 2.0) * 2.0)


@case("layers.augmentation_policies", family="layers", rtol=2e-5, atol=2e-3, covers=_cov("RandAugment", "AugMix"))
def _policies():
    """RandAugment and AugMix from a seed: the same operation choices and outputs on both backends."""
    rand = L.RandAugment(num_ops=2, factor=0.4, seed=3)
    mix = L.AugMix(num_chains=2, chain_depth=1, factor=0.3, seed=4)
    x = ops.convert_to_tensor(IMG)
    return {"rand_idx": rand.get_random_transformation(x)["layer_idxes"], "rand": rand(IMG, training=True),
            "mix_ops": mix.get_random_transformation(x)["chain_ops"], "mix": mix(IMG, training=True)}
