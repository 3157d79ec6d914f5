"""kshim.visualization against real Keras 3 (keras.visualization).

The Keras side runs once, in one subprocess with its numpy backend, cached on disk (see
`tests.keras_script_cache`): it paints segmentation masks and saves galleries as PNG files, which kshim must
reproduce (masks exactly, the saved galleries pixel for pixel, both drawn by the same matplotlib). Keras 3 draws
bounding boxes with OpenCV, which the test environment does not have, so kshim's own box painting is checked
against known pixels. Run as a script
(``python tests/test_visualization.py --keras IN.npz OUT.npz``) it is the Keras side.
"""

import os
import sys
import tempfile

import numpy as np
import pytest

from tests.keras_script_cache import keras_results

pytest.importorskip("matplotlib")


def _images():
    return np.random.default_rng(0).uniform(0, 255, (2, 6, 7, 3)).astype("float32")


def _masks():
    masks = np.random.default_rng(1).integers(-1, 4, (2, 6, 7, 1)).astype("int32")
    masks[0, 0, 0, 0] = 3
    return masks


def run_cases(K, workdir):
    """Every case for module ``K`` (kshim or keras): the painted arrays (returned) and the PNG galleries (in
    ``workdir``)."""
    v, images, masks = K.visualization, _images(), _masks()
    # (labels reach num_classes - 1 only: Keras 3 on torch fails on a label >= num_classes, on jax paints none)
    out = {"masks_default": v.draw_segmentation_masks(images, masks, num_classes=4),
           "masks_mapping": v.draw_segmentation_masks(images, masks, num_classes=4, alpha=0.3, ignore_index=2,
                                                      color_mapping={0: (255, 0, 0), 1: (0, 255, 0),
                                                                     2: (0, 0, 255), 3: (9, 99, 199)}),
           "masks_no_blend": v.draw_segmentation_masks(images, masks, num_classes=4, blend=False),
           "masks_first": v.draw_segmentation_masks(images.transpose(0, 3, 1, 2), masks.transpose(0, 3, 1, 2),
                                                    num_classes=4, data_format="channels_first")}
    v.plot_image_gallery(images, path=os.path.join(workdir, "gallery.png"))
    v.plot_image_gallery(images / 255.0, y_true=np.array([0, 1]), y_pred=np.array([1, 1]),
                         label_map={0: "cat", 1: "dog"}, rows=1, cols=2, value_range=(0, 1), scale=1, dpi=40,
                         path=os.path.join(workdir, "gallery_labels.png"))
    v.plot_segmentation_mask_gallery(images, num_classes=4, y_true=masks, y_pred=masks[::-1], dpi=40,
                                     path=os.path.join(workdir, "masks.png"))
    return {k: np.asarray(K.ops.convert_to_numpy(x)) for k, x in out.items()}


PNGS = ("gallery.png", "gallery_labels.png", "masks.png")


def with_pngs(K, workdir):
    """`run_cases`, plus the pixels of each saved gallery as ``png/<name>``."""
    import matplotlib
    import matplotlib.image

    matplotlib.use("Agg")
    out = run_cases(K, workdir)
    return {**out, **{f"png/{name}": matplotlib.image.imread(os.path.join(workdir, name)) for name in PNGS}}


def keras_side(path):
    import keras

    with tempfile.TemporaryDirectory() as workdir:
        np.savez(path, **with_pngs(keras, workdir))


@pytest.fixture(scope="module")
def both_sides(tmp_path_factory):
    import kshim

    theirs = keras_results(os.path.abspath(__file__))
    if theirs is None:
        pytest.skip("Keras 3 is not installed")
    return with_pngs(kshim, str(tmp_path_factory.mktemp("kshim_vis"))), theirs


def test_segmentation_masks_match_keras(both_sides):
    ours, theirs = both_sides
    assert sorted(ours) == sorted(theirs)
    for key in ours:
        if not key.startswith("png/"):
            assert ours[key].dtype == theirs[key].dtype, key
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    assert len({ours["masks_default"].tobytes(), ours["masks_mapping"].tobytes()}) == 2


def test_saved_galleries_match_keras(both_sides):
    ours, theirs = both_sides
    for name in PNGS:
        a, b = ours[f"png/{name}"], theirs[f"png/{name}"]
        assert a.shape == b.shape and a.shape[0] > 10, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_bounding_boxes_painted():
    import kshim
    from kshim.visualization import drawing

    v = kshim.visualization
    images = np.zeros((2, 8, 10, 3), "uint8")
    boxes = {"boxes": np.array([[[1, 2, 6, 5], [0, 0, 9, 7]], [[0.3, 0.25, 0.5, 0.5], [0, 0, 0, 0]]], "float32"),
             "labels": np.array([[0, -1], [2, -1]])}
    rel = {"boxes": kshim.utils.bounding_boxes.convert_format(boxes["boxes"], "xyxy", "rel_xyxy", height=8,
                                                                 width=10), "labels": boxes["labels"]}
    out = v.draw_bounding_boxes(images, rel, "rel_xyxy", color=(255, 0, 0), line_thickness=1)
    assert out.dtype == np.uint8 and out.shape == images.shape
    expected = np.zeros((8, 10), "uint8")
    expected[[2, 5], 1:7] = 255
    expected[2:6, [1, 6]] = 255
    np.testing.assert_array_equal(out[0, ..., 0], expected)  # the labelled -1 box is skipped
    assert out[..., 1:].max() == 0
    thick = v.draw_bounding_boxes(images, boxes, "xyxy", line_thickness=2)
    assert set(np.unique(thick)) == {0, 128}
    # each edge 2 pixels wide (its own row or column and the next): rows 2-3 and 5-6, columns 1-2 and 6-7
    np.testing.assert_array_equal(thick[0, 1:8, 4, 0], [0, 128, 128, 0, 128, 128, 0])
    np.testing.assert_array_equal(thick[0, 4, 0:9, 0], [0, 128, 128, 0, 0, 0, 128, 128, 0])
    first = v.draw_bounding_boxes(images.transpose(0, 3, 1, 2), boxes, "xyxy", color=(255, 0, 0), line_thickness=1,
                                  data_format="channels_first")
    np.testing.assert_array_equal(first[0, 0], expected)
    floats = v.draw_bounding_boxes(np.full((1, 4, 4, 3), 0.5, "float32"), {"boxes": np.zeros((1, 0, 4)),
                                                                             "labels": np.zeros((1, 0))}, "xyxy")
    np.testing.assert_array_equal(floats, np.full((1, 4, 4, 3), 127, "uint8"))  # [0, 1] floats scaled by 255
    if drawing.cv2 is None:
        with pytest.raises(ImportError, match="opencv-python"):
            v.draw_bounding_boxes(images, boxes, "xyxy", class_mapping={0: "cat"})
    with pytest.raises(ValueError, match="'boxes' and 'labels'"):
        v.draw_bounding_boxes(images, {"boxes": boxes["boxes"]}, "xyxy")


def test_bounding_box_gallery_and_missing_matplotlib(tmp_path, monkeypatch):
    import matplotlib
    import matplotlib.image

    import kshim

    matplotlib.use("Agg")
    images = np.zeros((2, 8, 10, 3), "float32")
    path = str(tmp_path / "boxes.png")
    kshim.visualization.plot_bounding_box_gallery(
        images, "xyxy", y_true={"boxes": np.array([[[1, 1, 8, 6]]] * 2), "labels": np.array([[1]] * 2)},
        y_pred={"boxes": np.array([[[2, 2, 5, 5]]] * 2), "labels": np.array([[1]] * 2)}, legend=True, path=path,
        dpi=40)
    png = matplotlib.image.imread(path)[..., :3]
    colours = {tuple(int(round(c * 255)) for c in px) for px in png.reshape(-1, 3)}
    assert (0, 188, 212) in colours and (255, 235, 59) in colours  # both sets of boxes were drawn
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="`matplotlib` extra"):
        kshim.visualization.plot_image_gallery(images, path=path)


if __name__ == "__main__" and sys.argv[1:2] == ["--keras"]:
    keras_side(sys.argv[3])
