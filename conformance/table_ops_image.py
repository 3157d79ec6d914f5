"""The image table of kshim.ops cases: ``(id, source, inputs[, options])``, shared by tests/test_ops_image.py
(Keras 3 parity) and conformance/cases_ops_tables.py (backend against backend). Imports numpy only."""

import numpy as np

R = np.random.default_rng(16)
IMG = R.uniform(size=(2, 6, 7, 3)).astype("float32")
IMG[0, 1, 2] = IMG[0, 1, 2, 0]  # a grey pixel: zero saturation
IMG[1, 3, 4] = 0.0  # a black pixel: zero value
HSV = np.concatenate([R.uniform(-0.5, 1.5, size=(2, 5, 4, 1)), R.uniform(size=(2, 5, 4, 2))], -1).astype("float32")
VOL = R.normal(size=(2, 4, 5, 6, 2)).astype("float32")
START = np.array([[[0, 0], [6, 0], [0, 5], [6, 5]], [[0.5, 0], [6, 0.5], [0, 5], [6, 5]]], "float32")
END = np.array([[[1, 0.5], [5.5, 1], [0, 4], [6, 5]], [[0, 0], [6, 0], [0.5, 5], [5, 4.5]]], "float32")
BIG = R.uniform(size=(2, 12, 13, 2)).astype("float32")

CASES = [
    ("rgb_to_grayscale", "lambda x: ops.image.rgb_to_grayscale(x)", [IMG]),
    ("rgb_to_grayscale.first", "lambda x: ops.image.rgb_to_grayscale(x, data_format='channels_first')",
     [IMG.transpose(0, 3, 1, 2)]),
    ("rgb_to_grayscale.int", "lambda x: ops.image.rgb_to_grayscale(x)", [(IMG * 255).astype("int32")]),
    ("rgb_to_hsv", "lambda x: ops.image.rgb_to_hsv(x)", [IMG]),
    ("rgb_to_hsv.first", "lambda x: ops.image.rgb_to_hsv(x, data_format='channels_first')",
     [IMG[0].transpose(2, 0, 1)]),
    ("hsv_to_rgb", "lambda x: ops.image.hsv_to_rgb(x)", [HSV]),
    ("pad_images", "lambda x: ops.image.pad_images(x, 1, 2, target_height=9, target_width=10)", [IMG]),
    ("pad_images.first", "lambda x: ops.image.pad_images(x[0], bottom_padding=2, right_padding=1, "
                         "target_height=9, target_width=12, data_format='channels_first')",
     [IMG.transpose(0, 3, 1, 2)]),
    ("crop_images", "lambda x: ops.image.crop_images(x, 1, 2, target_height=3, target_width=4)", [IMG]),
    ("crop_images.first", "lambda x: ops.image.crop_images(x[0], bottom_cropping=2, right_cropping=1, "
                          "target_height=3, target_width=4, data_format='channels_first')",
     [IMG.transpose(0, 3, 1, 2)]),
    ("gaussian_blur", "lambda x: ops.image.gaussian_blur(x)", [IMG]),
    ("gaussian_blur.sizes", "lambda x: ops.image.gaussian_blur(x, (5, 2), (1.5, 0.7))", [IMG]),
    ("gaussian_blur.first", "lambda x: ops.image.gaussian_blur(x, (3, 4), (0.8, 2.0), data_format='channels_first')",
     [IMG[0].transpose(2, 0, 1)]),
    # Keras 3's numpy backend pads sobel_edges by reflection, its jax and torch backends with zeros
    ("sobel_edges", "lambda x: ops.image.sobel_edges(x)", [IMG], {"keras": "jax"}),
    ("sobel_edges.first", "lambda x: ops.image.sobel_edges(x, data_format='channels_first')",
     [IMG.transpose(0, 3, 1, 2)], {"keras": "jax"}),
    ("extract_patches", "lambda x: ops.image.extract_patches(x, 2)", [IMG]),
    ("extract_patches.same", "lambda x: ops.image.extract_patches(x, (3, 2), strides=(2, 1), padding='same')",
     [IMG]),
    ("extract_patches.dilated", "lambda x: ops.image.extract_patches(x[0], (2, 2), strides=1, dilation_rate=2)",
     [IMG]),
    ("extract_patches.first", "lambda x: ops.image.extract_patches(x, 2, data_format='channels_first')",
     [IMG.transpose(0, 3, 1, 2)]),
    ("extract_patches_3d", "lambda x: ops.image.extract_patches_3d(x, 2)", [VOL]),
    ("extract_patches_3d.strides", "lambda x: ops.image.extract_patches_3d(x[0], (2, 3, 2), strides=1)", [VOL]),
    ("extract_patches.3d", "lambda x: ops.image.extract_patches(x, (1, 2, 3), padding='same')", [VOL]),
    ("perspective_transform", "lambda x, s, e: ops.image.perspective_transform(x, s, e)", [IMG, START, END]),
    ("perspective_transform.nearest",
     "lambda x, s, e: ops.image.perspective_transform(x[0], s[0], e[1], 'nearest', fill_value=0.5)",
     [IMG, START, END]),
    ("ssim", "lambda a, b: ops.image.ssim(a, b, filter_size=5)", [BIG, np.clip(BIG + 0.1 * BIG[::-1], 0, 1)]),
    ("ssim.defaults", "lambda a, b: ops.image.ssim(a[0], b[0])", [BIG, BIG[::-1]]),
    ("ssim.first", "lambda a, b: ops.image.ssim(a, b, 2.0, 3, 0.9, data_format='channels_first')",
     [BIG.transpose(0, 3, 1, 2), BIG[::-1].transpose(0, 3, 1, 2)]),
    ("scale_and_translate",
     "lambda x: ops.image.scale_and_translate(x, (2, 9, 5, 3), [1.5, 0.8], [0.5, -1.0], (1, 2), 'linear')", [IMG]),
    ("scale_and_translate.tensors", "lambda x, s, t: ops.image.scale_and_translate(x, (2, 9, 5, 3), s, t, (1, 2), "
     "'cubic')", [IMG, np.array([1.5, 0.8], "float32"), np.array([0.5, -1.0], "float32")]),
    ("scale_and_translate.cubic_no_antialias", "lambda x: ops.image.scale_and_translate(x, (2, 4, 10, 3), "
     "[0.6, 1.3], [0.2, 0.0], (1, 2), 'bicubic', antialias=False)", [IMG]),
    ("scale_and_translate.lanczos3", "lambda x: ops.image.scale_and_translate(x, (2, 3, 7, 3), [0.5, 1.0], "
     "[0.0, 0.3], (-3, -2), 'lanczos3')", [IMG]),
    ("scale_and_translate.lanczos5_int", "lambda x: ops.image.scale_and_translate(x, (2, 8, 5, 3), [1.4, 0.7], "
     "[0.0, 0.0], (1, 2), 'lanczos5')", [(IMG * 255).astype("int32")]),
]
