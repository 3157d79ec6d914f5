"""keras.utils.bounding_boxes, layers.MaxNumBoundingBoxes and ops.image.elastic_transform against real Keras 3.

Each case is one function that both libraries run unchanged (``case(K)`` with ``K`` = kshim or keras) and that
returns named arrays. Keras runs every case once, in one subprocess with its numpy backend, cached on disk (see
`tests.keras_script_cache`); the numbers must agree at rtol 1e-5. Run as a script (``python
tests/test_bounding_boxes.py --keras IN.npz OUT.npz``) it is the Keras side.
"""

import os
import sys

import numpy as np
import pytest

from tests.keras_script_cache import keras_results as run_keras_side

RTOL, ATOL = 1e-5, 1e-6
FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
           "rel_center_xywh")
H, W = 40, 60


def _boxes():
    """(2, 3, 4) xyxy boxes in a 40 x 60 image, some reaching outside it."""
    return np.array([[[2.0, 3.0, 20.5, 30.0], [-5.0, 10.0, 70.0, 35.0], [10.0, 12.0, 11.0, 50.0]],
                     [[0.0, 0.0, 60.0, 40.0], [30.0, 5.0, 45.0, 25.0], [-1.0, -1.0, -1.0, -1.0]]], "float32")


def _np(K, x):
    return np.asarray(K.ops.convert_to_numpy(x))


def case_convert(K):
    bb, out = K.utils.bounding_boxes, {}
    xyxy = _boxes()
    for source in FORMATS:  # every format from xyxy, then back through every other format
        src = _np(K, bb.convert_format(xyxy, "xyxy", source, height=H, width=W))
        out[f"xyxy_to_{source}"] = src
        for target in FORMATS:
            out[f"{source}_to_{target}"] = _np(K, bb.convert_format(src, source.upper(), target, height=H, width=W))
    out["dict"] = _np(K, bb.convert_format({"boxes": xyxy[0], "labels": np.array([1, 2, 3])}, "xyxy",
                                           "center_yxhw")["boxes"])
    out["int_input"] = _np(K, bb.convert_format(np.array([[10, 20, 30, 40]]), "xyxy", "xywh"))
    return out


def case_clip_crop_pad_affine(K):
    bb, out = K.utils.bounding_boxes, {}
    boxes, labels = _boxes(), np.array([[1, 2, 3], [4, 5, 6]], "int32")
    clipped = bb.clip_to_image_size({"boxes": boxes, "labels": labels}, height=H, width=W)
    out["clip_boxes"], out["clip_labels"] = _np(K, clipped["boxes"]), _np(K, clipped["labels"])
    rel = bb.convert_format(boxes, "xyxy", "rel_xyxy", height=H, width=W)
    clipped = bb.clip_to_image_size({"boxes": rel, "labels": labels}, bounding_box_format="rel_xyxy")
    out["clip_rel_boxes"], out["clip_rel_labels"] = _np(K, clipped["boxes"]), _np(K, clipped["labels"])
    out["crop"] = _np(K, bb.crop(boxes, top=5, left=8, height=25, width=30))
    out["pad"] = _np(K, bb.pad(boxes, top=4, left=7))
    f32 = lambda *v: np.array(v, "float32")  # noqa: E731
    out["affine"] = _np(K, bb.affine_transform(boxes, f32(15.0, -40.0), f32(0.1, -0.05), f32(0.0, 0.2), f32(1.2, 0.8),
                                               f32(10.0, 0.0), f32(0.0, -5.0), H, W))
    out["affine_centre"] = _np(K, bb.affine_transform(boxes, f32(30.0, 90.0), f32(0.0, 0.0), f32(0.0, 0.0),
                                                      f32(1.0, 1.0), f32(0.0, 0.0), f32(0.0, 0.0), H, W,
                                                      center_x=0.25, center_y=0.75))
    return out


def case_deltas(K):
    bb, out = K.utils.bounding_boxes, {}
    anchors = np.array([[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 25.0, 15.0], [1.0, 2.0, 3.0, 4.0]], "float32")
    boxes = _boxes()[:, :, [1, 0, 3, 2]] + 50.0  # positive yxyx boxes
    variance = [0.1, 0.1, 0.2, 0.2]
    for fmt in ("center_yxhw", "center_xywh"):
        deltas = bb.encode_box_to_deltas(anchors, boxes, "xyxy", "yxyx", encoding_format=fmt, variance=variance)
        out[f"encode_{fmt}"] = _np(K, deltas)
        out[f"decode_{fmt}"] = _np(K, bb.decode_deltas_to_boxes(anchors, deltas, "xyxy", "yxyx", encoded_format=fmt,
                                                                variance=variance))
    deltas = bb.encode_box_to_deltas(anchors, boxes[0], "xyxy", "rel_xyxy", image_shape=(200, 100, 3))
    out["encode_rel"] = _np(K, deltas)
    decoded = bb.decode_deltas_to_boxes({"p3": anchors, "p4": anchors[:2]}, {"p3": deltas, "p4": deltas[:2] * 0.5},
                                        "xyxy", "xywh")
    out["decode_p3"], out["decode_p4"] = _np(K, decoded["p3"]), _np(K, decoded["p4"])
    return out


def case_iou(K):
    bb, out = K.utils.bounding_boxes, {}
    boxes = _boxes()
    other = np.array([[1.0, 2.0, 21.0, 31.0], [29.0, 4.0, 44.0, 26.0], [-2.0, -2.0, -1.0, -1.0]], "float32")
    out["unbatched"] = _np(K, bb.compute_iou(boxes[0], other, "xyxy"))
    out["batched_unbatched"] = _np(K, bb.compute_iou(boxes, other, "xywh"))
    out["masked"] = _np(K, bb.compute_iou(boxes, np.stack([other, other[::-1]]), "xyxy", use_masking=True,
                                          mask_val=-3))
    rel = _np(K, bb.convert_format(other, "xyxy", "rel_xyxy", height=H, width=W))
    out["rel"] = _np(K, bb.compute_iou(rel, rel[::-1], "rel_xyxy", image_shape=(H, W, 3)))
    out["ciou"] = _np(K, bb.compute_ciou(boxes[1], other, "xyxy"))
    out["ciou_center"] = _np(K, bb.compute_ciou(boxes, boxes[::-1] + 1.5, "center_xywh"))
    return out


def case_max_num_boxes(K):
    out = {}
    images = np.arange(2 * 4 * 5 * 3, dtype="float32").reshape(2, 4, 5, 3)
    labels = np.array([[1, 2, 3], [4, 5, 6]], "int32")
    for n in (2, 5):
        layer = K.layers.MaxNumBoundingBoxes(max_number=n, fill_value=-7, bounding_box_format="xyxy")
        result = layer({"images": images, "bounding_boxes": {"boxes": _boxes(), "labels": labels}})
        out[f"boxes_{n}"] = _np(K, result["bounding_boxes"]["boxes"])
        out[f"labels_{n}"] = _np(K, result["bounding_boxes"]["labels"])
        out[f"images_{n}"] = _np(K, result["images"])
    layer = K.layers.MaxNumBoundingBoxes(max_number=4, bounding_box_format="xyxy")
    single = layer({"images": images[0], "bounding_boxes": {"boxes": _boxes()[0], "labels": labels[0]}})
    out["single_boxes"] = _np(K, single["bounding_boxes"]["boxes"])
    out["single_labels"] = _np(K, single["bounding_boxes"]["labels"])
    return out


ELASTIC = [  # (seed, alpha, sigma, interpolation, fill_mode, fill_value, data_format)
    (7, 3.0, 1.5, "bilinear", "reflect", 0.0, "channels_last"),
    (8, 2.0, 1.0, "nearest", "constant", 0.5, "channels_first"),
]


def _keras_elastic(keras, images, noise, alpha, sigma, interpolation, fill_mode, fill_value):
    """Keras 3's elastic_transform for the given (2, B, H, W) noise, from its public gaussian_blur and
    map_coordinates (its own op draws the noise from the backend's generator)."""
    k = int(6 * sigma) | 1
    fields = [alpha * _np(keras, keras.ops.image.gaussian_blur((n * sigma)[..., None], (k, k), (sigma, sigma),
                                                               data_format="channels_last"))[..., 0] for n in noise]
    ys, xs = np.meshgrid(np.arange(images.shape[1]), np.arange(images.shape[2]), indexing="ij")
    out = np.zeros_like(images)
    for b in range(images.shape[0]):
        for c in range(images.shape[3]):
            out[b, ..., c] = _np(keras, keras.ops.image.map_coordinates(
                images[b, ..., c], [ys + fields[1][b], xs + fields[0][b]], ("nearest", "bilinear").index(
                    interpolation), fill_mode, fill_value))
    return out


ELASTIC_SHAPE = (2, 9, 11, 2)
NOISE = {}  # the Keras side's copy of kshim's noise for each ELASTIC seed


def case_elastic(K):
    images = np.random.default_rng(0).uniform(0, 1, ELASTIC_SHAPE).astype("float32")
    out = {}
    for seed, alpha, sigma, interpolation, fill_mode, fill_value, data_format in ELASTIC:
        key = f"{interpolation}_{fill_mode}"
        x = images if data_format == "channels_last" else images.transpose(0, 3, 1, 2)
        if K.__name__ == "kshim":
            y = _np(K, K.ops.image.elastic_transform(x, alpha, sigma, interpolation, fill_mode, fill_value, seed=seed,
                                                     data_format=data_format))
            out[key] = y if data_format == "channels_last" else y.transpose(0, 2, 3, 1)
        else:  # the Keras side warps with the noise kshim draws for the seed (given to its script)
            out[key] = _keras_elastic(K, images, NOISE[str(seed)], alpha, sigma, interpolation, fill_mode,
                                      fill_value)
    return out


CASES = {f.__name__[5:]: f for f in (case_convert, case_clip_crop_pad_affine, case_deltas, case_iou,
                                      case_max_num_boxes, case_elastic)}


def keras_side(given, path):
    import keras

    with np.load(given) as f:
        NOISE.update({k: f[k] for k in f.files})
    results = {}
    for name, case in CASES.items():
        try:
            for key, value in case(keras).items():
                results[f"{name}/{key}"] = value
        except Exception as e:  # reported by the case's test
            results[f"{name}/__error__"] = np.array(f"{type(e).__name__}: {e}")
    np.savez(path, **results)


@pytest.fixture(scope="module")
def keras_results():
    from kshim import ops
    from kshim.ops import counter_random

    def noise():
        return {str(seed): ops.convert_to_numpy(counter_random.standard_normal((2,) + ELASTIC_SHAPE[:3], seed))
                for seed, *_ in ELASTIC}

    results = run_keras_side(os.path.abspath(__file__), noise)
    if results is None:
        pytest.skip("Keras 3 is not installed")
    return results


@pytest.mark.parametrize("name", [n if n != "elastic" else pytest.param(n, marks=pytest.mark.slow) for n in CASES])
def test_matches_keras(keras_results, name):
    import kshim

    if f"{name}/__error__" in keras_results:
        pytest.fail(f"the Keras side failed: {keras_results[f'{name}/__error__']}")
    ours = CASES[name](kshim)
    theirs = {k.split("/", 1)[1]: v for k, v in keras_results.items() if k.startswith(name + "/")}
    assert sorted(ours) == sorted(theirs)
    for key, value in ours.items():
        assert value.shape == theirs[key].shape, key
        assert value.dtype.kind == theirs[key].dtype.kind, key
        np.testing.assert_allclose(value, theirs[key], rtol=RTOL, atol=ATOL, err_msg=f"{name}: {key}")


def test_known_values_and_errors():
    import kshim

    bb = kshim.utils.bounding_boxes
    boxes = np.array([[10, 20, 30, 40], [50, 60, 70, 80]])
    np.testing.assert_array_equal(kshim.ops.convert_to_numpy(bb.convert_format(boxes, "xyxy", "xywh")),
                                  [[10, 20, 20, 20], [50, 60, 20, 20]])
    iou = kshim.ops.convert_to_numpy(bb.compute_iou(np.array([[0.0, 0.0, 2.0, 2.0]]),
                                                    np.array([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0]]), "xyxy"))
    np.testing.assert_allclose(iou, [[1.0 / 7.0, 1.0]], rtol=1e-6)
    with pytest.raises(ValueError, match="`source` must be one of"):
        bb.convert_format(boxes, "xyz", "xyxy")
    with pytest.raises(ValueError, match="`height` and `width`"):
        bb.convert_format(boxes, "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match="last dimension of 4"):
        bb.convert_format(np.zeros((2, 3)), "xyxy", "xywh")
    with pytest.raises(ValueError, match="`variance` must have length 4"):
        bb.encode_box_to_deltas(boxes, boxes, "xyxy", "xyxy", variance=[1.0, 1.0])
    with pytest.raises(NotImplementedError, match="bounding_box_format"):
        bb.crop(boxes, 0, 0, 10, 10, bounding_box_format="yxyx")
    layer = kshim.layers.MaxNumBoundingBoxes(3)
    with pytest.raises(ValueError, match="bounding_box_format"):
        layer({"images": np.zeros((1, 2, 2, 3)), "bounding_boxes": {"boxes": np.zeros((1, 1, 4)),
                                                                     "labels": np.zeros((1, 1))}})
    images = np.random.default_rng(1).uniform(0, 255, (2, 9, 11, 2)).astype("float32")
    a = kshim.ops.convert_to_numpy(kshim.ops.image.elastic_transform(images, 3.0, 1.5, seed=3))
    b = kshim.ops.convert_to_numpy(kshim.ops.image.elastic_transform(images, 3.0, 1.5, seed=3))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - images).max() > 1.0  # it moves pixels
    np.testing.assert_allclose(kshim.ops.convert_to_numpy(kshim.ops.image.elastic_transform(images, 0.0, 1.5)),
                               images, rtol=1e-6)
    with pytest.raises(ValueError, match="`fill_mode` must be one of"):
        kshim.ops.image.elastic_transform(images, fill_mode="edge")
    with pytest.raises(ValueError, match="`sigma` must be positive"):
        kshim.ops.image.elastic_transform(images, sigma=0.0)
    restored = kshim.layers.MaxNumBoundingBoxes.from_config(
        kshim.layers.MaxNumBoundingBoxes(3, fill_value=-2, bounding_box_format="xyxy").get_config())
    assert (restored.max_number, restored.fill_value, restored.bounding_box_format) == (3, -2, "xyxy")


if __name__ == "__main__" and sys.argv[1:2] == ["--keras"]:
    keras_side(sys.argv[2], sys.argv[3])
