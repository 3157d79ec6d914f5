"""Cases for the preprocessing layers and kshim.ops.image.

Deterministic image layers and `Normalization` use the generic layer case (forward values and gradients against a
float64 numpy reference). The categorical and text layers (`Discretization`, `CategoryEncoding`, `Hashing`,
`StringLookup`, `IntegerLookup`, `TextVectorization`) are compared exactly with hand-computed values. The random
augmentation layers are seeded: flips and crops must agree bit for bit across backends, the resampling layers to
float32 rounding of sin/cos, and all of them are the identity at inference.
"""

import numpy as np

from conformance.case import _Lazy, case, kshim, ops, rng, weighted_sum
from conformance.cases_layers_misc import layer_case

L = _Lazy("kshim.layers")
IMG = rng(900).uniform(0, 1, size=(2, 5, 6, 3)).astype(np.float32)
IMG_CF = np.ascontiguousarray(IMG.transpose(0, 3, 1, 2))


def _np_resize_axis(x, out, axis, method):
    """Half-pixel resize along one axis (numpy, float64): the semantics of jax.image.resize."""
    n = x.shape[axis]
    if n == out:
        return x
    if method == "nearest":
        idx = np.floor((np.arange(out) + 0.5) * n / out).astype(int)
        return np.take(x, idx, axis=axis)
    sample = (np.arange(out) + 0.5) * n / out - 0.5
    w = np.maximum(0.0, 1.0 - np.abs(sample[None, :] - np.arange(n)[:, None]))
    w = w / w.sum(axis=0, keepdims=True)
    return np.moveaxis(np.tensordot(np.moveaxis(x, axis, -1), w, axes=1), -1, axis)


def _np_resize(h, w, method="bilinear", channels_first=False):
    def fn(x):
        ha, wa = (2, 3) if channels_first else (1, 2)
        return _np_resize_axis(_np_resize_axis(x, h, ha, method), w, wa, method)

    return fn


# ----------------------------------------------------------------------------------------------------------------
# Deterministic image layers

layer_case("rescaling", lambda: L.Rescaling(1 / 127.5, offset=-1.0), IMG, np_fn=lambda x: x / 127.5 - 1.0)
layer_case("rescaling.per_channel", lambda: L.Rescaling([0.5, 2.0, -1.0]), IMG,
           np_fn=lambda x: x * np.array([0.5, 2.0, -1.0]))
layer_case("resizing", lambda: L.Resizing(3, 4), IMG, np_fn=_np_resize(3, 4), rtol=2e-6)
layer_case("resizing.upsample", lambda: L.Resizing(7, 9), IMG, np_fn=_np_resize(7, 9), rtol=2e-6)
layer_case("resizing.nearest", lambda: L.Resizing(7, 4, interpolation="nearest"), IMG,
           np_fn=_np_resize(7, 4, "nearest"))
layer_case("resizing.channels_first", lambda: L.Resizing(3, 8, data_format="channels_first"), IMG_CF,
           np_fn=_np_resize(3, 8, channels_first=True), rtol=2e-6)
layer_case("resizing.crop_to_aspect_ratio", lambda: L.Resizing(2, 2, crop_to_aspect_ratio=True), IMG,
           np_fn=lambda x: _np_resize(2, 2)(x[:, :, 0:5]), rtol=2e-6)
layer_case("resizing.bicubic", lambda: L.Resizing(4, 3, interpolation="bicubic"), IMG, rtol=5e-6, atol=2e-6)
layer_case("center_crop", lambda: L.CenterCrop(3, 4), IMG, np_fn=lambda x: x[:, 1:4, 1:5])
layer_case("center_crop.upsize", lambda: L.CenterCrop(6, 6), IMG, np_fn=lambda x: _np_resize(6, 6)(x[:, :, 0:5]),
           rtol=2e-6)

# ----------------------------------------------------------------------------------------------------------------
# Normalization

XN = (rng(901).normal(size=(6, 4)) * 3 + 2).astype(np.float32)
NW = {"mean": rng(902).normal(size=4).astype(np.float32),
      "variance": rng(903).uniform(0.5, 2.0, size=4).astype(np.float32), "count": np.array(6, np.int64)}


def _np_norm(x, mean, var, count):
    return (x - mean) / np.maximum(np.sqrt(var), 1e-7)


def _np_denorm(x, mean, var, count):
    return mean + x * np.maximum(np.sqrt(var), 1e-7)


layer_case("normalization", lambda: L.Normalization(), XN, weights=NW, frozen=tuple(NW), np_fn=_np_norm)
layer_case("normalization.invert", lambda: L.Normalization(invert=True), XN, weights=NW, frozen=tuple(NW),
           np_fn=_np_denorm)


@case("layers.normalization.adapt", family="layers", rtol=1e-6, atol=1e-6,
      reference=lambda: {"mean": XN.astype(np.float64).mean(0), "variance": XN.astype(np.float64).var(0),
                         "out": (XN - XN.mean(0)) / XN.std(0)}, ref_rtol=1e-5, ref_atol=1e-5)
def _normalization_adapt():
    """Normalization.adapt on an array, then the normalized data."""
    layer = L.Normalization()
    layer.adapt(XN)
    return {"mean": layer.adapt_mean.value, "variance": layer.adapt_variance.value, "out": layer(XN)}


# ----------------------------------------------------------------------------------------------------------------
# kshim.ops.image


def _affine_matrices():
    return np.array([[0.9, -0.3, 1.5, 0.4, 1.1, -2.0, 0, 0], [1, 0, 0.75, 0, 1, -1.25, 0, 0]], np.float32)


def _np_map(img, ys, xs, mode, cval):
    """Bilinear sampling of (H, W, C) at float coordinates with jax's fill modes (numpy reference)."""
    h, w = img.shape[:2]

    def fix(i, n):
        if mode == "nearest" or mode == "constant":
            return np.clip(i, 0, n - 1)
        if mode == "wrap":
            return np.mod(i, n)
        m = np.abs(np.mod(2 * i + 1 + 2 * n, 4 * n) - 2 * n)  # reflect
        return (m - 1) // 2

    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    out = 0.0
    for yi, wy in ((y0, 1 - (ys - y0)), (y0 + 1, ys - y0)):
        for xi, wx in ((x0, 1 - (xs - x0)), (x0 + 1, xs - x0)):
            v = img[fix(yi, h), fix(xi, w)]
            if mode == "constant":
                valid = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
                v = np.where(valid[..., None], v, cval)
            out = out + v * (wy * wx)[..., None]
    return out


def _np_affine(x, t, mode, cval=0.0):
    b, h, w, _ = x.shape
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    out = []
    for img, m in zip(x, t.astype(np.float64)):
        out.append(_np_map(img, m[3] * xx + m[4] * yy + m[5], m[0] * xx + m[1] * yy + m[2], mode, cval))
    return np.stack(out)


def _affine_case(mode):
    t = _affine_matrices()

    @case(f"ops.image.affine_transform.{mode}", family="ops", rtol=2e-6, atol=2e-6, ref_rtol=1e-5, ref_atol=1e-5,
          reference=lambda: {"out": _np_affine(IMG.astype(np.float64), t, mode, 0.5)})
    def run():
        """ops.image.affine_transform (bilinear) and its gradient with respect to the images."""
        x = ops.convert_to_tensor(IMG)

        def loss(params):
            return weighted_sum(ops.image.affine_transform(params[0], t, "bilinear", mode, fill_value=0.5))

        value, (grad,) = ops.value_and_grad(loss)([x])
        return {"out": ops.image.affine_transform(x, t, "bilinear", mode, fill_value=0.5), "loss": value,
                "grad": grad}


for _mode in ("constant", "nearest", "wrap", "reflect"):
    _affine_case(_mode)


@case("ops.image.resize", family="ops", rtol=2e-6, atol=2e-6, ref_rtol=1e-5, ref_atol=1e-6,
      reference=lambda: {"bilinear": _np_resize(4, 9)(IMG.astype(np.float64)),
                         "nearest": _np_resize(3, 3, "nearest")(IMG)})
def _resize():
    """ops.image.resize, bilinear (half-pixel centres) and nearest."""
    return {"bilinear": ops.image.resize(IMG, (4, 9)), "nearest": ops.image.resize(IMG, (3, 3), "nearest")}


@case("ops.image.map_coordinates", family="ops", rtol=2e-6, atol=2e-6, ref_rtol=1e-5, ref_atol=1e-6,
      reference=lambda: {"out": _np_map(IMG[0, :, :, :1].astype(np.float64), COORDS[0], COORDS[1], "reflect",
                                        0.0)[..., 0]})
def _map_coordinates():
    """ops.image.map_coordinates, linear, reflect."""
    return {"out": ops.image.map_coordinates(IMG[0, :, :, 0], COORDS, 1, "reflect")}


COORDS = rng(904).uniform(-3, 8, size=(2, 4, 3)).astype(np.float32)

# ----------------------------------------------------------------------------------------------------------------
# Categorical and text layers (exact)


@case("layers.discretization", family="layers", exact=True, reference=lambda: {
    "int": np.digitize(XD, [0.0, 1.0, 2.0]), "one_hot": np.eye(4)[np.digitize(XD, [0.0, 1.0, 2.0])],
    "count": np.stack([np.bincount(r, minlength=4) for r in np.digitize(XD, [0.0, 1.0, 2.0])])})
def _discretization():
    """Discretization with fixed boundaries: int, one_hot and count outputs."""
    out = {m: L.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode=m)(XD) for m in ("int", "one_hot",
                                                                                           "count")}
    return out


XD = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]], np.float32)


@case("layers.category_encoding", family="layers", exact=True, reference=lambda: {
    "multi_hot": np.array([[0, 1, 1, 0, 0], [0, 0, 0, 0, 1]]), "count": np.array([[0, 1, 1, 0, 0], [0, 0, 0, 0, 2]]),
    "one_hot": np.eye(5)[[3, 0]]})
def _category_encoding():
    """CategoryEncoding: multi_hot, count and one_hot."""
    x = np.array([[1, 2], [4, 4]])
    return {"multi_hot": L.CategoryEncoding(5)(x), "count": L.CategoryEncoding(5, "count")(x),
            "one_hot": L.CategoryEncoding(5, "one_hot")(np.array([[3], [0]]))}


@case("layers.hashing", family="layers", exact=True, reference=lambda: {
    "farmhash": np.array([[1], [0], [1], [1], [2]]), "siphash": np.array([[1], [2], [1], [0], [2]]),
    "ints": np.array([[1], [0], [1], [0], [2]])})
def _hashing():
    """Hashing gives Keras's documented bins (FarmHash Fingerprint64; SipHash with a salt)."""
    inp = [["A"], ["B"], ["C"], ["D"], ["E"]]
    return {"farmhash": L.Hashing(3)(inp), "siphash": L.Hashing(3, salt=[133, 137])(inp),
            "ints": L.Hashing(3)(np.array([[0], [1], [2], [3], [4]]))}


@case("layers.hashed_crossing", family="layers", exact=True, reference=lambda: {
    "bins": np.array([1, 4, 1, 1, 3]), "one_hot": np.eye(5)[[1, 4, 1, 1, 3]]})
def _hashed_crossing():
    """HashedCrossing gives Keras 3's bins (its test vectors; TensorFlow's cross_hashed)."""
    crosses = (np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102]))
    return {"bins": L.HashedCrossing(5)(crosses), "one_hot": L.HashedCrossing(5, output_mode="one_hot")(crosses)}


@case("layers.string_lookup", family="layers", exact=True, reference=lambda: {
    "int": np.array([[1, 3, 0], [0, 0, 2]]), "count": np.array([[1, 2, 0, 0]]),
    "vocabulary": np.array(["[UNK]", "a", "c", "b"])})
def _string_lookup():
    """StringLookup: lookup with OOV, count encoding, adapted vocabulary order."""
    adapted = L.StringLookup()
    adapted.adapt([["b", "a", "c"], ["a", "c", "a"], ["b", "a", "q"]])
    return {"int": L.StringLookup(vocabulary=["a", "b", "c"])([["a", "c", "d"], ["d", "z", "b"]]),
            "count": L.StringLookup(vocabulary=["a", "b", "c"], output_mode="count")([["a", "a", "z"]]),
            "vocabulary": np.array(adapted.get_vocabulary()[:4])}


@case("layers.max_num_bounding_boxes", family="layers", exact=True, reference=lambda: {
    "boxes": np.array([[[1, 2, 3, 4], [5, 6, 7, 8], [-1, -1, -1, -1]]], "float32"), "labels": np.array([[3, 4, -1]])})
def _max_num_bounding_boxes():
    """MaxNumBoundingBoxes pads each image's boxes and labels to max_number with fill_value."""
    boxes = {"boxes": np.array([[[1, 2, 3, 4], [5, 6, 7, 8]]], "float32"), "labels": np.array([[3, 4]], "int32")}
    out = L.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")({"images": np.zeros((1, 2, 2, 1), "float32"),
                                                                "bounding_boxes": boxes})["bounding_boxes"]
    return {"boxes": out["boxes"], "labels": out["labels"]}


@case("layers.integer_lookup", family="layers", exact=True, reference=lambda: {
    "int": np.array([[1, 3, 4], [4, 0, 2]]), "invert": np.array([12, 36, -1])})
def _integer_lookup():
    """IntegerLookup and its inverse."""
    return {"int": L.IntegerLookup(vocabulary=[12, 36, 1138, 42])(np.array([[12, 1138, 42], [42, 1000, 36]])),
            "invert": L.IntegerLookup(vocabulary=[12, 36], invert=True)(np.array([1, 2, 0]))}


@case("layers.text_vectorization", family="layers", exact=True, reference=lambda: {
    "int": np.array([[2, 4, 1, 0, 0], [1, 1, 1, 1, 1]]), "count": np.array([[1, 1, 1, 2]])})
def _text_vectorization():
    """TextVectorization: adapt, int sequences of fixed length, and counts."""
    vec = L.TextVectorization(max_tokens=10, output_sequence_length=5)
    vec.adapt(["The cat sat on the mat.", "The dog ate my homework!", "A cat, and a dog?"])
    count = L.TextVectorization(output_mode="count", vocabulary=["cat", "dog", "the"])
    return {"int": vec(["the cat ate", "Unknown words, here and there: THE end"]),
            "count": count(["The cat and the dog"])}


# ----------------------------------------------------------------------------------------------------------------
# Seeded random augmentation


def _random_case(name, make, exact, x=IMG, rtol=2e-5, atol=2e-5, identity_at_inference=True):
    @case(f"layers.{name}", family="layers", exact=exact, rtol=rtol, atol=atol,
          reference=(lambda: {"inference": x}) if identity_at_inference else None)
    def run():
        """A seeded augmentation layer: two training calls (the stream advances) and the inference identity."""
        layer = make()
        first = layer(x, training=True)
        second = layer(x, training=True)
        return {"first": first, "second": second, "inference": layer(x, training=False),
                "state": layer.seed_generator.state.value}


_random_case("random_flip", lambda: L.RandomFlip(seed=3), exact=True)
_random_case("random_flip.horizontal", lambda: L.RandomFlip("horizontal", seed=4), exact=True)
_random_case("random_crop", lambda: L.RandomCrop(3, 4, seed=5), exact=False, identity_at_inference=False,
             x=rng(905).uniform(0, 1, size=(2, 5, 6, 3)).astype(np.float32))  # inference: a centred resize
_random_case("random_rotation", lambda: L.RandomRotation(0.2, seed=6), exact=False)
_random_case("random_rotation.constant", lambda: L.RandomRotation(0.3, fill_mode="constant", seed=7), exact=False)
_random_case("random_zoom", lambda: L.RandomZoom(0.3, 0.2, seed=8), exact=False)
_random_case("random_translation", lambda: L.RandomTranslation(0.2, 0.3, fill_mode="wrap", seed=9), exact=False)
_random_case("random_contrast", lambda: L.RandomContrast(0.4, value_range=(0, 1), seed=10), exact=False)
_random_case("random_brightness", lambda: L.RandomBrightness(0.3, value_range=(0, 1), seed=11), exact=False)


@case("layers.random_flip.model_with_rotation", family="layers", rtol=2e-5, atol=2e-5,
      covers=("layers.random_rotation",))
def _augmentation_model():
    """Sequential([RandomFlip, RandomRotation]) called in training: the same augmented batch on both backends."""
    model = kshim.Sequential([kshim.Input((5, 6, 3)), L.RandomFlip(seed=1), L.RandomRotation(0.25, seed=2)])
    return {"batch1": model(IMG, training=True), "batch2": model(IMG, training=True)}
