"""The control flow table of kshim.ops cases: ``(id, source, inputs[, options])``, shared by
tests/test_ops_control_flow.py (Keras 3 parity) and conformance/cases_ops_tables.py (backend against backend).
Imports numpy only."""

import numpy as np

R = np.random.default_rng(0)
X = R.normal(size=(5, 3)).astype("float32")
V = R.normal(size=(6,)).astype("float32")

CASES = [
    ("cond.true", "lambda x: ops.cond(ops.sum(x) > -100.0, lambda: x * 2.0, lambda: x - 1.0)", [X]),
    ("cond.false", "lambda x: ops.cond(ops.sum(x) > 100.0, lambda: x * 2.0, lambda: x - 1.0)", [X]),
    ("while_loop", "lambda x: ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * 1.5 + x), "
                         "(0, ops.zeros_like(x)))", [X]),
    ("while_loop.single", "lambda x: ops.while_loop(lambda s: ops.sum(s) < 50.0, lambda s: s + 1.0, x)", [V]),
    ("while_loop.max_iter", "lambda x: ops.while_loop(lambda s: ops.sum(s) < 1e9, lambda s: [s * 2.0], [x], "
                            "maximum_iterations=3)", [V]),
    ("fori_loop", "lambda x: ops.fori_loop(0, 4, lambda i, v: v * 0.5 + ops.cast(i, 'float32'), x)", [X]),
    # Keras 3 on torch returns the Python int itself; kshim gives an int32 tensor on both backends.
    ("fori_loop.int", "lambda: ops.fori_loop(1, 6, lambda i, v: v + i, 0)", [], {"check_dtype": False}),
    ("switch", "lambda x: [ops.switch(i, [lambda a: a + 1.0, lambda a: a * 3.0, lambda a: -a], x) "
               "for i in (0, 1, 2, 7, -3)]", [V]),
    ("map", "lambda x: ops.map(lambda r: ops.sum(r * r), x)", [X]),
    ("vectorized_map", "lambda x: ops.vectorized_map(lambda r: ops.sum(r) * r, x)", [X]),
    ("associative_scan.add", "lambda x: ops.associative_scan(lambda a, b: a + b, x)", [X], {"keras": "jax"}),
    ("associative_scan.reverse_axis1", "lambda x: ops.associative_scan(lambda a, b: a * b, x, reverse=True, "
                                       "axis=1)", [X], {"keras": "jax"}),
    ("associative_scan.tuple", "lambda x: ops.associative_scan(lambda a, b: (a[0] + b[0], ops.maximum(a[1], "
                               "b[1])), (x, -x))", [V], {"keras": "jax"}),
    ("scan", "lambda x: ops.scan(lambda c, r: (c + r, c * r), ops.zeros((3,)), x)", [X]),
    ("scan.python_init", "lambda x: ops.scan(lambda c, r: (c + ops.sum(r), c), 0.0, x)", [X]),
    ("scan.reverse", "lambda x: ops.scan(lambda c, r: (c * 0.5 + r, c), ops.ones((3,)), x, reverse=True)", [X]),
    ("scan.length", "lambda: ops.scan(lambda c, _: (c + 2, c), 1, length=4)", []),
    # (Keras 3 stacks zeros for a None output on torch and returns None on jax; kshim returns None on both.)
    ("scan.none_ys", "lambda x: ops.scan(lambda c, r: (c + r, None), ops.zeros((3,)), x)[0]", [X]),
    ("stop_gradient", "lambda x: ops.stop_gradient(x * 2.0)", [X]),
    # (a start past the end is clamped, as lax.dynamic_slice; Keras 3's numpy backend raises)
    ("slice", "lambda x: [ops.slice(x, [1, 0], [3, 2]), ops.slice(x, (4, 2), (2, 2))]", [X], {"keras": "jax"}),
    ("slice_update", "lambda x: ops.slice_update(x, [1, 1], ops.ones((2, 2)))", [X]),
    ("scatter", "lambda v: ops.scatter(np.array([[0, 1], [2, 2], [0, 1]], 'int32'), v, (3, 3))", [V[:3]]),
    ("scatter_update", "lambda x: [ops.scatter_update(x, np.array([[0, 0], [4, 2]], 'int32'), ops.ones((2,))), "
                       "ops.scatter_update(x, np.array([[0, 0], [0, 0]], 'int32'), ops.ones((2,)), "
                       "reduction='add')]", [X], {"keras": "jax"}),
    ("unstack", "lambda x: [ops.unstack(x), ops.unstack(x, axis=1)]", [X]),
    # (float32 -> int32 past the range: Keras 3 clips at float32(2**31 - 1) = 2**31, which then wraps to -2**31;
    # kshim clips at the largest float32 below it, 2147483520: see tests/test_ops_control_flow.py)
    ("saturate_cast", "lambda x: [ops.saturate_cast(x * 200.0, 'uint8'), ops.saturate_cast(x * 1e4, 'int8')]",
     [X]),
]
