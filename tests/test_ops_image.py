"""kshim.ops.image names against Keras 3."""

import numpy as np
import pytest

from kshim import ops
from tests.keras_ops_parity import parity_tests

from conformance.table_ops_image import *  # noqa: F401,F403  (the table and its inputs)
from conformance.table_ops_image import CASES


# Variants whose eager jax run compiles many small ops (seconds each on a shared CI core): their main entries stay.
SLOW = {"perspective_transform.nearest", "scale_and_translate.tensors", "rgb_to_hsv.first", "ssim.defaults"}

keras_results, test_matches_keras = parity_tests(__name__, CASES, ops, atol=1e-5, slow=SLOW)


def test_symbolic_ops_build_a_functional_model():
    import kshim as keras

    inputs = keras.Input((6, 7, 3))
    gray = ops.image.rgb_to_grayscale(inputs)
    patches = ops.image.extract_patches(ops.image.pad_images(gray, 1, 1, 1, 1), 2)
    assert tuple(gray.shape) == (None, 6, 7, 1) and tuple(patches.shape) == (None, 4, 4, 4)
    model = keras.Model(inputs, [gray, patches])
    out_gray, out_patches = (ops.convert_to_numpy(t) for t in model(IMG))
    np.testing.assert_allclose(out_gray[..., 0], IMG @ np.array([0.2989, 0.5870, 0.1140], "float32"), rtol=1e-5)
    padded = np.pad(out_gray, ((0, 0), (1, 1), (1, 1), (0, 0)))
    np.testing.assert_allclose(out_patches[:, 1, 2], padded[:, 2:4, 4:6, 0].reshape(2, 4), rtol=1e-6)


def test_hsv_round_trip_blur_keeps_a_constant_and_ssim_of_an_image_with_itself_is_one():
    back = ops.convert_to_numpy(ops.image.hsv_to_rgb(ops.image.rgb_to_hsv(IMG)))
    np.testing.assert_allclose(back, IMG, atol=1e-6)
    flat = ops.convert_to_numpy(ops.image.gaussian_blur(np.ones((1, 7, 7, 1), "float32"), (3, 3), (1.0, 1.0)))
    np.testing.assert_allclose(flat[0, 3, 3, 0], 1.0, rtol=1e-6)  # inside: the kernel sums to one
    assert flat[0, 0, 0, 0] < 0.7  # at the corner the zero padding pulls it down
    np.testing.assert_allclose(ops.convert_to_numpy(ops.image.ssim(BIG, BIG)), [1.0, 1.0], rtol=1e-6)
    same = ops.convert_to_numpy(ops.image.perspective_transform(IMG, START[0], START[0]))
    np.testing.assert_allclose(same, IMG, atol=1e-5)  # the identity homography


def test_errors_name_the_argument_and_absent_names_say_why():
    with pytest.raises(ValueError, match="exactly two of top_padding, bottom_padding, target_height"):
        ops.image.pad_images(IMG, 1, 1, 1, 1, target_height=9)
    with pytest.raises(ValueError, match="`top_padding` must be >= 0"):
        ops.image.pad_images(IMG, bottom_padding=1, left_padding=0, right_padding=0, target_height=3)
    with pytest.raises(ValueError, match="does not fit"):
        ops.image.crop_images(IMG, 4, 0, target_height=3, target_width=2)
    with pytest.raises(ValueError, match="images.dtype=int32"):
        ops.image.rgb_to_hsv(np.zeros((2, 2, 3), "int32"))
    with pytest.raises(ValueError, match=r"start_points.shape=\(3, 2\)"):
        ops.image.perspective_transform(IMG, START[0, :3], END[0, :3])
