"""The numpy extra table of kshim.ops cases: ``(id, source, inputs[, options])``, shared by
tests/test_ops_numpy_extra.py (Keras 3 parity) and conformance/cases_ops_tables.py (backend against backend).
Imports numpy only."""

import numpy as np

R = np.random.default_rng(19)
X = R.uniform(-0.9, 0.9, size=(3, 4)).astype("float32")
Y = R.uniform(-2, 2, size=(3, 4)).astype("float32")
BIG = R.uniform(1.1, 3.0, size=(3, 4)).astype("float32")
I = R.integers(1, 30, size=(3, 4)).astype("int32")
J = R.integers(1, 30, size=(3, 4)).astype("int32")
N = X.copy()
N[0, 1] = N[2, 3] = np.nan
V = R.normal(size=(5,)).astype("float32")
SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0, 1.5], "float32")

_UNARY = ["arccos", "arcsin", "arcsinh", "arctanh", "cosh", "sinh", "exp2", "trunc", "signbit", "i0", "sinc",
          "cbrt", "deg2rad", "rad2deg", "fabs"]
_BINARY = ["arctan2", "hypot", "fmod", "logaddexp", "logaddexp2", "nextafter", "fmax", "fmin", "heaviside",
           "logical_xor", "divide_no_nan"]

CASES = [(f"{n}", f"lambda x: ops.{n}(x)", [X]) for n in _UNARY] + [
    (f"{n}", f"lambda a, b: ops.{n}(a, b)", [X, Y]) for n in _BINARY] + [
    ("arccosh", "lambda x: ops.arccosh(x)", [BIG]),
    ("trunc.int", "lambda x: ops.trunc(x)", [I]),
    ("gcd", "lambda a, b: ops.gcd(a, b)", [I, J]),
    ("lcm", "lambda a, b: ops.lcm(a, b)", [I, J]),
    ("fmod.int", "lambda a, b: ops.fmod(a, b)", [I - 15, J]),
    ("arcsin.int", "lambda x: ops.arcsin(x)", [np.array([0, 1, -1], "int32")]),
    ("isneginf", "lambda x: [ops.isneginf(x), ops.isposinf(x)]", [SPECIAL]),
    ("nan_to_num", "lambda x: ops.nan_to_num(x, nan=7.0, posinf=100.0)", [SPECIAL]),
    ("bitwise", "lambda a: [ops.bitwise_invert(a), ops.bitwise_not(a), ops.bitwise_left_shift(a, 2), "
                "ops.bitwise_right_shift(a, 1)]", [I]),
    ("roll", "lambda x: [ops.roll(x, 2), ops.roll(x, -1, axis=1), ops.roll(x, (1, 2), axis=(0, 1))]", [Y]),
    ("linspace", "lambda: [ops.linspace(0.0, 1.0, 5), ops.linspace(-2, 3, 4, endpoint=False), "
                 "ops.linspace(1.0, 2.0, 7, retstep=True)[1]]", [], {"keras": "jax"}),
    ("linspace.tensor", "lambda a, b: ops.linspace(a, b, 3, axis=1)", [V[:2], V[2:4]]),
    ("logspace", "lambda: [ops.logspace(0.0, 2.0, 5), ops.logspace(1.0, 3.0, 3, base=2)]", []),
    ("geomspace", "lambda: ops.geomspace(1.0, 1000.0, 4)", []),
    ("meshgrid", "lambda a, b: ops.meshgrid(a, b)", [V, V[:3]]),
    ("meshgrid.ij", "lambda a, b: ops.meshgrid(a, b, indexing='ij')", [V, V[:3]]),
    ("moveaxis", "lambda x: [ops.moveaxis(x, 0, -1), ops.moveaxis(x, [0, 1], [2, 0])]", [R.normal(size=(2, 3, 4))
                                                                                       .astype("float32")]),
    ("flips", "lambda x: [ops.fliplr(x), ops.flipud(x), ops.rot90(x), ops.rot90(x, k=2), ops.rot90(x, k=3)]", [Y]),
    ("append", "lambda a, b: [ops.append(a, b), ops.append(a, b, axis=0)]", [X, Y]),
    ("splits", "lambda x: ops.array_split(x, 3, axis=1) + ops.hsplit(x, 2) + ops.vsplit(x, [1])",
     [R.normal(size=(4, 4)).astype("float32")]),
    ("stacks", "lambda a, b: [ops.hstack([a, b]), ops.vstack([a, b]), ops.dstack([a, b]), ops.vstack([a[0], b[0]])]",
     [X, Y]),
    ("diagonal", "lambda x: [ops.diagonal(x), ops.diagonal(x, offset=1), ops.diagonal(x, -1), ops.trace(x)]", [Y]),
    ("diagonal.axes", "lambda x: ops.diagonal(x, 0, 1, 2)", [R.normal(size=(2, 3, 3)).astype("float32")]),
    ("trace.int", "lambda x: ops.trace(x)", [I]),
    ("diagflat", "lambda x: [ops.diagflat(x), ops.diagflat(x, k=1)]", [V[:3]]),
    ("products", "lambda a, b: [ops.outer(a, b), ops.inner(a, b), ops.vdot(a, b)]", [X, Y]),
    ("diff", "lambda x: [ops.diff(x), ops.diff(x, n=2, axis=0)]", [R.normal(size=(4, 4)).astype("float32")]),
    ("ptp", "lambda x: [ops.ptp(x), ops.ptp(x, axis=0, keepdims=True)]", [Y]),
    ("vander", "lambda x: [ops.vander(x), ops.vander(x, 3, increasing=True)]", [V[:4]]),
    ("trapezoid", "lambda y, x: [ops.trapezoid(y), ops.trapezoid(y, dx=0.5, axis=0), ops.trapezoid(y[0], x)]",
     [Y, np.sort(V[:4])]),
    ("isclose", "lambda a, b: [ops.isclose(a, b), ops.allclose(a, a + 1e-7), ops.isclose(a, b, equal_nan=True)]",
     [SPECIAL, SPECIAL]),
    ("isin", "lambda a, b: [ops.isin(a, b), ops.isin(a, b, invert=True)]", [I, J]),
    ("select", "lambda x: ops.select([x < -0.5, x > 0.5], [x * 10.0, x * -10.0], default=7.0)", [Y]),
    ("nan_reductions", "lambda x: [ops.nansum(x), ops.nanmean(x, axis=0), ops.nanmax(x, axis=1), "
                       "ops.nanmin(x, axis=1, keepdims=True), ops.nanprod(x, axis=0), ops.nanvar(x, axis=1), "
                       "ops.nanstd(x)]", [N]),
    ("nan_arg", "lambda x: [ops.nanargmax(x, axis=1), ops.nanargmin(x, axis=0)]", [N]),
    ("nan_cum", "lambda x: [ops.nancumsum(x, axis=1), ops.nancumprod(x, axis=0)]", [N]),
    ("quantile", "lambda x: [ops.quantile(x, 0.3), ops.quantile(x, [0.1, 0.9], axis=1), "
                 "ops.quantile(x, 0.5, axis=0, keepdims=True)]", [Y]),
    ("percentile", "lambda x: [ops.percentile(x, 40), ops.median(x, axis=1), ops.median(x, keepdims=True)]", [Y]),
    ("windows", "lambda: [ops.hamming(6), ops.hanning(5), ops.bartlett(5), ops.blackman(6), ops.kaiser(6, 4.0)]",
     []),
    ("creation", "lambda: [ops.array([1, 2]), ops.identity(3), ops.tri(3, 4, k=1), "
                 "ops.zeros_like(ops.empty((2, 2))), "
                 "ops.numpy.zeros((2,)), ops.numpy.arange(3)]", []),
    ("slogdet", "lambda x: ops.slogdet(x)", [Y[:3, :3]]),
    ("dsplit", "lambda x: ops.dsplit(x, 2)", [R.normal(size=(2, 2, 4)).astype("float32")]),
    ("empty_like", "lambda x: ops.shape(ops.empty_like(x, dtype='int32'))", [X]),
    ("bincount", "lambda x, w: [ops.bincount(x), ops.bincount(x, weights=w, minlength=9), "
                 "ops.bincount(ops.reshape(x, (2, 3)), minlength=8)]", [np.array([1, 0, 4, 1, 7, 4], "int32"),
                                                                     V[:5].tolist() + [0.5]]),
    ("histogram", "lambda x: list(ops.histogram(x, bins=4)) + list(ops.histogram(x, bins=3, range=(-1.0, 1.0)))",
     [Y.ravel()], {"check_dtype": False}),
    ("digitize", "lambda x, b: [ops.digitize(x, b), ops.searchsorted(b, x), ops.searchsorted(b, x, side='right')]",
     [Y, np.array([-1.0, 0.0, 0.25, 1.0], "float32")]),
    ("argpartition", "lambda x: [ops.sort(ops.take_along_axis(x, ops.argpartition(x, 2)[:, :2], axis=1), axis=1), "
                     "ops.take_along_axis(x, ops.argpartition(x, 2)[:, 2:3], axis=1), "
                     "ops.take(x, ops.argpartition(x, 5, axis=None)[5])]", [Y]),
    ("unravel_index", "lambda i: ops.unravel_index(i, (3, 4, 5))", [np.array([0, 7, 33, 59], "int32")]),
    ("corrcoef", "lambda x: [ops.corrcoef(x), ops.corrcoef(x[0])]", [Y]),
    ("correlate", "lambda a, b: [ops.correlate(a, b), ops.correlate(a, b, mode='same'), "
                  "ops.correlate(a, b, mode='full'), ops.correlate(b, a, mode='full'), ops.correlate(b, a), "
                  "ops.correlate(b, a, mode='same')]", [V, V[1:4] * 2.0]),
    ("cross", "lambda a, b: [ops.cross(a, b), ops.cross(a[:, :2], b[:, :2]), ops.cross(a, b[:, :2]), "
              "ops.cross(ops.transpose(a), ops.transpose(b), axisa=0, axisb=0, axisc=0)]", [Y[:, :3], X[:, :3]]),
    ("kron", "lambda a, b: [ops.kron(a, b), ops.kron(a[0], b), ops.kron(a[:2, :2], b[0, :3])]", [X, Y]),
    ("kron.int", "lambda a, b: ops.kron(a, b)", [I[:2, :2], J[:2]]),
    ("ldexp", "lambda x, e: ops.ldexp(x, e)", [Y, (I - 15).astype("int32") // 3]),
    ("nanquantile", "lambda x: [ops.nanquantile(x, 0.3), ops.nanquantile(x, [0.1, 0.9], axis=1), "
                    "ops.nanpercentile(x, 40, axis=0, keepdims=True), ops.nanmedian(x, axis=1), "
                    "ops.nanmedian(x)]", [N]),
    ("view", "lambda x, i: [ops.view(x, 'int32'), ops.view(i, 'float32'), ops.view(x, 'int16'), "
             "ops.view(x, 'uint8')]", [Y, I]),
    ("rearrange", "lambda x: [ops.rearrange(x, 'b h w c -> b c h w'), ops.rearrange(x, 'b h w c -> b (h w) c'), "
                  "ops.rearrange(x, 'b h (w k) c -> (b k) c h w', k=2), "
                  "ops.rearrange(ops.reshape(x, (2, 12, 2)), 'b (h w) c -> b h w c', h=3)]",
     [R.normal(size=(2, 3, 4, 2)).astype("float32")]),
]
