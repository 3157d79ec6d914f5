"""Cases for randomness: initializers (host draws) and kshim.random (in-step, counter-based draws).

The design promises the same numbers on both backends for the same seed: initializers, uniform bits, dropout
masks and shuffles bit for bit (``exact=True``); normal draws to float32 rounding of log/cos.
"""

import numpy as np

from conformance.case import case, kshim, ops, rng

# Every initializer by its Keras string name.
INITIALIZERS = ("zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal", "variance_scaling",
                "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                "orthogonal", "identity")
DETERMINISTIC = {
    "zeros": lambda s: np.zeros(s), "ones": lambda s: np.ones(s), "constant": lambda s: np.zeros(s),
    "identity": lambda s: np.eye(*s),
}
SHAPES = ((4, 6), (3, 3, 2, 4), (7,))


def set_seed(seed):
    """``kshim.utils.set_random_seed`` (falling back to ``kshim.random.set_random_seed``)."""
    utils = kshim.utils
    (getattr(utils, "set_random_seed", None) or kshim.random.set_random_seed)(seed)


def _seeded(name, seed):
    init = kshim.initializers.get(name)
    if hasattr(init, "seed"):
        init = type(init).from_config({**init.get_config(), "seed": seed})
    return init


def _shapes_for(name):
    if name == "identity":
        return SHAPES[:1]
    if name == "orthogonal":
        return SHAPES[:2]
    return SHAPES


def _init_case(name):
    def run():
        init = _seeded(name, 42)
        out = {f"shape{i}": init(s) for i, s in enumerate(_shapes_for(name))}
        out["again"] = _seeded(name, 42)(SHAPES[0])  # the same seed draws the same values
        out["dtype"] = ops.dtype(out["shape0"])
        return out

    ref = None
    if name in DETERMINISTIC:
        def ref():
            res = {f"shape{i}": DETERMINISTIC[name](s) for i, s in enumerate(_shapes_for(name))}
            return dict(res, again=res["shape0"], dtype=np.array("float32"))
    else:
        def ref():
            return {"dtype": np.array("float32")}
    case(f"initializers.{name}", exact=True, reference=ref)(run)


for _name in INITIALIZERS:
    _init_case(_name)


@case("initializers.glorot_uniform.set_random_seed", exact=True,
      reference=lambda: {"repeat_equal": np.array(True), "next_differs": np.array(True)})
def _glorot_global_seed():
    """An unseeded glorot_uniform after set_random_seed(7) is the same on both backends, and repeatable."""
    set_seed(7)
    a = kshim.initializers.get("glorot_uniform")((5, 3))
    b = kshim.initializers.get("glorot_uniform")((5, 3))
    set_seed(7)
    a2 = kshim.initializers.get("glorot_uniform")((5, 3))
    an, bn = ops.convert_to_numpy(a), ops.convert_to_numpy(b)
    return {"first": a, "second": b, "repeat_equal": np.array(np.array_equal(an, ops.convert_to_numpy(a2))),
            "next_differs": np.array(not np.array_equal(an, bn))}


@case("initializers.variance_scaling.args", exact=True)
def _variance_scaling_args():
    vs = kshim.initializers.VarianceScaling
    return {mode + "_" + dist: vs(scale=2.0, mode=mode, distribution=dist, seed=3)((3, 3, 4, 5))
            for mode in ("fan_in", "fan_out", "fan_avg") for dist in ("truncated_normal", "normal", "uniform")}


@case("initializers.constant.value", reference=lambda: {"out": np.full((2, 3), 0.3)}, ref_rtol=1e-7)
def _constant_value():
    return {"out": kshim.initializers.Constant(0.3)((2, 3))}


# ----------------------------------------------------------------------------------------------------------------
# kshim.random: in-step draws


def _in_unit(x):
    x = ops.convert_to_numpy(x)
    return np.array(bool(np.all((x >= 0) & (x < 1))))


@case("random.random_bits", exact=True)
def _random_bits():
    return {"bits": kshim.random.random_bits((4, 5), seed=1), "bits_other_seed": kshim.random.random_bits((3,), 2)}


@case("random.uniform", exact=True, reference=lambda: {"in_range": np.array(True)})
def _uniform():
    u = kshim.random.uniform((3, 5), seed=3)
    return {"out": u, "in_range": _in_unit(u), "big": kshim.random.uniform((1000,), seed=4)}


@case("random.uniform.minval_maxval", exact=True, reference=lambda: {"in_range": np.array(True)})
def _uniform_range():
    u = kshim.random.uniform((4, 4), minval=-2.0, maxval=3.0, seed=5)
    un = ops.convert_to_numpy(u)
    return {"out": u, "in_range": np.array(bool(np.all((un >= -2) & (un < 3))))}


@case("random.uniform.compiled", exact=True, reference=lambda: {"eager_equal": np.array(True)})
def _uniform_compiled():
    """Inside a compiled step the seed is a tensor; the draws must equal the eager ones."""
    state = ops.convert_to_tensor(np.array([12, 3], np.int32))
    step = ops.compile_step(lambda s: kshim.random.uniform((4, 3), seed=s))
    compiled = step(state)
    eager = kshim.random.uniform((4, 3), seed=ops.convert_to_tensor(np.array([12, 3], np.int32)))
    return {"out": compiled, "eager_equal": np.array(np.array_equal(ops.convert_to_numpy(compiled),
                                                                    ops.convert_to_numpy(eager)))}


@case("random.normal", rtol=2e-6, atol=2e-6)
def _normal():
    g = kshim.random.SeedGenerator(8)
    return {"out": kshim.random.normal((4, 5), seed=6),
            "scaled": kshim.random.normal((3, 3), mean=1.0, stddev=0.5, seed=7),
            "generator_first": kshim.random.normal((5,), seed=g), "generator_second": kshim.random.normal((5,), seed=g)}


@case("random.elastic_transform", rtol=1e-5, atol=1e-5, covers=("ops.image.elastic_transform",))
def _elastic_transform():
    """ops.image.elastic_transform: its noise is kshim's counter-based normal, so a seed gives one field."""
    images = rng(21).uniform(size=(1, 6, 7, 2)).astype("float32")
    return {"out": ops.image.elastic_transform(images, 2.0, 1.0, seed=5)}


@case("random.randint", exact=True, reference=lambda: {"in_range": np.array(True), "dtype": np.array("int32")})
def _randint():
    r = kshim.random.randint((5, 6), 0, 10, seed=8)
    rn = ops.convert_to_numpy(r)
    return {"out": r, "in_range": np.array(bool(np.all((rn >= 0) & (rn < 10)))), "dtype": ops.dtype(r),
            "negative": kshim.random.randint((8,), -5, 5, seed=9)}


X = rng(400).uniform(-2, 2, size=(6, 8)).astype(np.float32)


def _dropout_ok(x, out, rate):
    x, out = np.asarray(x), ops.convert_to_numpy(out)
    kept = out != 0
    return np.array(bool(np.allclose(out[kept], x[kept] / (1 - rate), rtol=1e-6, atol=0)))


@case("random.dropout", exact=True, reference=lambda: {"kept_scaled": np.array(True)})
def _dropout():
    out = kshim.random.dropout(ops.convert_to_tensor(X), 0.3, seed=10)
    return {"mask": ops.convert_to_numpy(out) != 0, "out": out, "kept_scaled": _dropout_ok(X, out, 0.3)}


@case("random.dropout.noise_shape", exact=True, reference=lambda: {"rows_constant": np.array(True)})
def _dropout_noise_shape():
    out = kshim.random.dropout(ops.convert_to_tensor(X), 0.5, noise_shape=(6, 1), seed=11)
    mask = ops.convert_to_numpy(out) != 0
    return {"out": out, "rows_constant": np.array(bool(np.all(mask == mask[:, :1])))}


def _is_permutation(x, out, axis):
    x, out = np.asarray(x), ops.convert_to_numpy(out)
    return np.array(bool(np.array_equal(np.sort(x, axis=axis), np.sort(out, axis=axis))))


@case("random.shuffle", exact=True, reference=lambda: {"permutation": np.array(True)})
def _shuffle():
    out = kshim.random.shuffle(ops.convert_to_tensor(X), seed=12)
    return {"out": out, "permutation": _is_permutation(X, out, 0),
            "ints": kshim.random.shuffle(ops.arange(20), seed=13)}


@case("random.shuffle.axis1", exact=True, reference=lambda: {"permutation": np.array(True)})
def _shuffle_axis1():
    out = kshim.random.shuffle(ops.convert_to_tensor(X), axis=1, seed=14)
    return {"out": out, "permutation": _is_permutation(X, out, 1)}


@case("random.seed_generator", exact=True,
      reference=lambda: {"state": np.array([15, 5]), "draws_differ": np.array(True)})
def _seed_generator():
    """A SeedGenerator advances its counter once per draw; two draws differ, and both backends agree on all."""
    g = kshim.random.SeedGenerator(15)
    a = kshim.random.uniform((5,), seed=g)
    b = kshim.random.uniform((5,), seed=g)
    d = kshim.random.dropout(ops.ones((10,)), 0.5, seed=g)
    r = kshim.random.randint((6,), 0, 100, seed=g)
    s = kshim.random.shuffle(ops.arange(10), seed=g)
    return {"first": a, "second": b, "dropout": d, "randint": r, "shuffle": s, "state": g.state.value,
            "draws_differ": np.array(not np.array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(b)))}


@case("random.set_random_seed.unseeded", exact=True, reference=lambda: {"repeat_equal": np.array(True)})
def _unseeded_after_global_seed():
    """Unseeded in-step draws and SeedGenerators take their seed from set_random_seed."""
    set_seed(21)
    a = kshim.random.uniform((6,))
    g = kshim.random.SeedGenerator()
    b = kshim.random.uniform((3,), seed=g)
    set_seed(21)
    a2 = kshim.random.uniform((6,))
    return {"uniform": a, "from_generator": b,
            "repeat_equal": np.array(np.array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(a2)))}


# -- keras.random's distributions and the initializer aliases ------------------------------------------------------
# Integer-valued draws (binomial, categorical) are identical bit for bit; the others pass through log/cos/pow and
# agree to float32 rounding. The references check the moments of large draws.
_DIST_N = 4000
_DISTRIBUTIONS = {
    "random.truncated_normal": (lambda: kshim.random.truncated_normal((_DIST_N,), 1.0, 2.0, seed=3),
                                1.0, (2.0 * 0.879596) ** 2),
    "random.gamma": (lambda: kshim.random.gamma((_DIST_N,), 2.5, seed=4), 2.5, 2.5),
    "random.beta": (lambda: kshim.random.beta((_DIST_N,), 2.0, 3.0, seed=5), 0.4, 0.04),
    "random.binomial": (lambda: kshim.random.binomial((_DIST_N,), 10, 0.3, seed=6), 3.0, 2.1),
}


def _distribution_case(name, draw, mean, var):
    def run():
        x = draw()
        xn = np.asarray(ops.convert_to_numpy(x), np.float64)
        ok = abs(xn.mean() - mean) < 4 * np.sqrt(var / _DIST_N) and abs(xn.var() / var - 1) < 0.12
        return {"sample": x[:64], "moments_ok": np.array(bool(ok))}

    exact = name == "random.binomial"
    case(name, exact=exact, rtol=2e-6, atol=2e-6, reference=lambda: {"moments_ok": np.array(True)})(run)


for _name, (_draw, _mean, _var) in _DISTRIBUTIONS.items():
    _distribution_case(_name, _draw, _mean, _var)


@case("random.categorical", exact=True, reference=lambda: {"frequencies_ok": np.array(True)})
def _categorical():
    """Gumbel-max draws: the same indices on both backends, with the right frequencies."""
    probs = np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]])
    k = kshim.random.categorical(np.log(probs).astype(np.float32), 2000, seed=7)
    kn = np.asarray(ops.convert_to_numpy(k))
    ok = all(np.allclose(np.bincount(row, minlength=3) / 2000, p, atol=0.04) for row, p in zip(kn, probs))
    return {"indices": k, "frequencies_ok": np.array(bool(ok))}


@case("initializers.aliases", exact=True, reference=lambda: {"same": np.array([True, True])},
      covers=("initializers.identity_initializer", "initializers.orthogonal_initializer"))
def _initializer_aliases():
    """Keras 3's IdentityInitializer and OrthogonalInitializer are Identity and Orthogonal."""
    i = kshim.initializers
    return {"same": np.array([i.IdentityInitializer is i.Identity, i.OrthogonalInitializer is i.Orthogonal])}
