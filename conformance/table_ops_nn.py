"""The nn table of kshim.ops cases: ``(id, source, inputs[, options])``, shared by
tests/test_ops_nn.py (Keras 3 parity) and conformance/cases_ops_tables.py (backend against backend).
Imports numpy only."""

import numpy as np

R = np.random.default_rng(18)
X = R.uniform(-2.5, 2.5, size=(3, 6)).astype("float32")
IMG = R.normal(size=(2, 4, 4, 8)).astype("float32")
P = R.uniform(0.05, 1.0, size=(4, 5)).astype("float32")
T = np.eye(5, dtype="float32")[[0, 3, 1, 4]]
Y = R.uniform(size=(4, 5)).astype("float32")
H = np.array([-0.0, 0.3, -0.6, 0.5, -0.5, 2.0], "float32")

CASES = [(f"{name}", f"lambda x: ops.nn.{name}(x)", [X], {"keras": "jax"} if name == "sparsemax" else {})
         for name in (
    "celu", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink", "sparse_plus", "sparse_sigmoid",
    "squareplus", "sparsemax", "glu", "relu6", "hard_sigmoid", "hard_silu", "log_sigmoid", "softsign", "silu")] + [
    ("celu.alpha", "lambda x: ops.nn.celu(x, alpha=0.5)", [X]),
    ("glu.axis0", "lambda x: ops.nn.glu(x[:2], axis=0)", [X]),
    ("hard_shrink.edges", "lambda x: ops.nn.hard_shrink(x)", [H]),
    ("soft_shrink.threshold", "lambda x: ops.nn.soft_shrink(x, threshold=1.0)", [X]),
    ("threshold", "lambda x: ops.nn.threshold(x, 0.3, -7.0)", [X]),
    ("squareplus.b", "lambda x: ops.nn.squareplus(x, b=1)", [X]),
    ("sparsemax.axis0", "lambda x: ops.nn.sparsemax(x, axis=0)", [X], {"keras": "jax"}),
    ("moments", "lambda x: ops.nn.moments(x, axes=[0, 2])", [IMG]),
    ("moments.keepdims", "lambda x: ops.nn.moments(x, axes=-1, keepdims=True)", [X]),
    ("moments.float16", "lambda x: ops.nn.moments(ops.cast(x, 'float16'), axes=0)", [X], {"rtol": 1e-3}),
    ("batch_normalization", "lambda x, m, v, o, s: ops.nn.batch_normalization(x, m, v, axis=-1, offset=o, "
                            "scale=s)", [IMG, *R.normal(size=(4, 8)).astype("float32") ** 2]),
    ("batch_normalization.axis1", "lambda x, m, v: ops.nn.batch_normalization(x, m, v, axis=1, epsilon=0.1)",
     [IMG, R.normal(size=(4,)).astype("float32"), R.uniform(size=(4,)).astype("float32")]),
    ("layer_normalization", "lambda x: ops.nn.layer_normalization(x)", [IMG]),
    ("layer_normalization.affine", "lambda x, g, b: ops.nn.layer_normalization(x, g, b, axis=-1, epsilon=1e-3)",
     [IMG, R.normal(size=(8,)).astype("float32"), R.normal(size=(8,)).astype("float32")]),
    ("layer_normalization.axes", "lambda x: ops.nn.layer_normalization(x, axis=(1, 3))", [IMG]),
    ("rms_normalization", "lambda x, s: ops.nn.rms_normalization(x, s)", [IMG, R.normal(size=(8,))
                                                                          .astype("float32")]),
    # (Keras 3 on torch fails on inner axes)
    ("rms_normalization.axes", "lambda x: ops.nn.rms_normalization(x, axis=[1, 2], epsilon=1e-5)", [IMG],
     {"backends": ("jax",)}),
    ("normalize", "lambda x: ops.nn.normalize(x)", [X]),
    ("normalize.order1_axis0", "lambda x: ops.nn.normalize(x, axis=0, order=1)", [X]),
    ("normalize.zero", "lambda x: ops.nn.normalize(x * 0.0)", [X]),
    ("psnr", "lambda a, b: ops.nn.psnr(a, b, 1.0)", [P, Y]),
    ("binary_crossentropy", "lambda t, p: ops.nn.binary_crossentropy(t, p)", [T, P]),
    ("binary_crossentropy.logits", "lambda t, p: ops.nn.binary_crossentropy(t, p, from_logits=True)",
     [Y, X[[0, 1, 2, 0], :5].copy()]),
    ("categorical_crossentropy", "lambda t, p: ops.nn.categorical_crossentropy(t, p)", [T, P]),
    ("categorical_crossentropy.logits", "lambda t, p: ops.nn.categorical_crossentropy(t, p, from_logits=True)",
     [T, Y]),
    ("sparse_categorical_crossentropy", "lambda t, p: ops.nn.sparse_categorical_crossentropy(t, p)",
     [np.array([0, 3, 1, 4], "int32"), P]),
    ("sparse_categorical_crossentropy.logits", "lambda t, p: ops.nn.sparse_categorical_crossentropy(t, p, "
                                               "from_logits=True)", [np.array([[0], [3], [1], [4]], "int32"), Y]),
    # out-of-range classes give zero rows (Keras 3 on jax; Keras 3 on torch raises)
    ("one_hot", "lambda x: ops.nn.one_hot(x, 5)", [np.array([0, 4, 7, -1], "int32")],
     {"backends": ("jax",), "keras": "jax"}),
    ("one_hot.in_range", "lambda x: ops.nn.one_hot(x, 5)", [np.array([0, 4, 2], "int32")]),
    ("one_hot.axis0_int", "lambda x: ops.nn.one_hot(x, 5, axis=0, dtype='int32')", [np.array([0, 4, 2], "int32")]),
    ("multi_hot", "lambda x: ops.nn.multi_hot(x, 6)", [np.array([[0, 4, 4], [1, 2, 5]], "int32")]),
    ("multi_hot.1d", "lambda x: ops.nn.multi_hot(x, num_classes=6)", [np.array([0, 4, 4], "int32")]),
    ("depth_to_space", "lambda x: ops.nn.depth_to_space(x, 2)", [IMG]),
    ("depth_to_space.channels_first", "lambda x: ops.nn.depth_to_space(x, 2, data_format='channels_first')",
     [IMG.transpose(0, 3, 1, 2).copy()]),
    ("space_to_depth", "lambda x: ops.nn.space_to_depth(x, 2)", [IMG]),
    ("space_to_depth.channels_first", "lambda x: ops.nn.space_to_depth(x, 2, data_format='channels_first')",
     [IMG.transpose(0, 3, 1, 2).copy()]),
    ("max_pool", "lambda x: ops.nn.max_pool(x, (2, 2), strides=(2, 2))", [IMG]),
    ("average_pool", "lambda x: ops.nn.average_pool(x, 2, strides=1, padding='same')", [IMG]),
    ("adaptive_average_pool", "lambda x: [ops.nn.adaptive_average_pool(x, (2, 3)), "
                              "ops.nn.adaptive_average_pool(x, 3, data_format='channels_first')]", [IMG]),
    ("adaptive_max_pool", "lambda x: [ops.nn.adaptive_max_pool(x, (3, 2)), ops.adaptive_max_pool(x[:, 0], 3), "
                          "ops.nn.adaptive_max_pool(x, 2, data_format='channels_first')]", [IMG]),
    ("unfold", "lambda x: [ops.nn.unfold(x, 2), ops.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))]",
     [IMG.transpose(0, 3, 1, 2).copy()]),
    ("fold", "lambda x: [ops.nn.fold(x, (4, 5), 2), ops.fold(x[:, :4, :6], (3, 4), (2, 2), padding=1, stride=2)]",
     [R.normal(size=(2, 12, 12)).astype("float32")]),
    ("ctc_loss", "lambda t, o: ops.nn.ctc_loss(t, o, np.array([3, 2]), np.array([6, 5]))",
     [np.array([[1, 2, 2], [3, 1, 0]], "int32"), R.normal(size=(2, 6, 4)).astype("float32")], {"rtol": 1e-4}),
    ("ctc_decode", "lambda x: list(ops.nn.ctc_decode(x, np.array([6, 4]))) + "
                   "list(ops.ctc_decode(x, np.array([5, 6]), merge_repeated=False, mask_index=2))",
     [np.log(R.dirichlet(np.ones(4) * 0.3, size=(2, 6))).astype("float32")]),
]
