"""Backend-neutral random numbers: the same seed gives the same numbers on jax and torch.

Two sources, both written once here:

- **Host draws** (initializers, shuffling) use a numpy ``Generator``. `set_random_seed` reseeds it; every
  unseeded initializer or layer seed is drawn from it, so a seeded program builds bit-identical weights on both
  backends.
- **In-step draws** (dropout, noise, augmentation) hash ``(seed, counter, position)`` with a 32-bit integer mixer
  built only from wrapping multiplies, xors and logical shifts: the backend primitive ``counter_bits``, whose
  exact formula `kshim.backends.interface.random` gives (jax fuses it into one pass, torch runs it in place). Both
  backends compute these integer ops identically, so uniform numbers and dropout masks are bit-identical. Normal
  draws use Box-Muller on top; they agree to float32 rounding of ``log``/``cos`` (about 1 ulp), not always bit
  for bit.

A `SeedGenerator` holds a ``(seed, counter)`` int32 state Variable; each draw uses the state and advances the
counter by one, so inside a compiled step the state is just another (non-trainable) variable.
"""

import math
import random as _py_random

import numpy as np

from kshim import config, ops
from kshim.ops import counter_random as _draws
from kshim.ops.counter_random import _host, host_rng, make_seed  # noqa: F401  (the host generator lives there)
from kshim.variables import Variable


def set_random_seed(seed):
    """Seed Python's ``random``, numpy's global generator and kshim's host generator with ``seed``.

    After this, building a model gives the same weights, and training the same dropout masks and shuffles, on
    both backends.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed: `seed` must be a non-negative integer. Received: seed={seed!r}")
    seed = int(seed)
    _py_random.seed(seed)
    np.random.seed(seed % (1 << 32))
    _host["rng"] = np.random.default_rng(seed)
    _host["seeded"] = True


class SeedGenerator:
    """A stream of in-step seeds: a ``(seed, counter)`` int32 state that advances once per draw."""

    def __init__(self, seed=None, name=None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
            raise ValueError(f"SeedGenerator: `seed` must be an integer or None. Received: seed={seed!r}")
        self._initial_seed = int(seed) % (2**31 - 1) if seed is not None else make_seed()
        self.state = Variable(np.array([self._initial_seed, 0], dtype=np.int32), trainable=False,
                              name=name or "seed_generator_state")

    def next(self):
        """The current state (an int32 tensor of shape (2,)); the stored counter advances by one."""
        state = self.state.value
        self.state.assign(ops.add(state, np.array([0, 1], dtype=np.int32)))
        return state

    def get_config(self):
        return {"seed": self._initial_seed}


_INT32_MIN = -(1 << 31)
_lsr = _draws.lsr
_seed_state = _draws.seed_state  # int, None, an int32 (2,) tensor, or a SeedGenerator (its next() state)
random_bits = _draws.random_bits
_unit_uniform = _draws.unit_uniform


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform floats in [minval, maxval)."""
    u = _unit_uniform(shape, seed)
    out = ops.add(ops.multiply(u, maxval - minval), minval) if (minval, maxval) != (0.0, 1.0) else u
    return ops.cast(out, dtype) if dtype not in (None, "float32") else out


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal floats (Box-Muller on two uniform streams)."""
    z = _draws.standard_normal(shape, seed)
    z = ops.add(ops.multiply(z, stddev), mean)
    return ops.cast(z, dtype) if dtype not in (None, "float32") else z


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers in [minval, maxval)."""
    u = _unit_uniform(shape, seed)
    out = ops.add(ops.cast(ops.floor(ops.multiply(u, float(maxval - minval))), "int32"), int(minval))
    return ops.cast(out, dtype)


def _keep_mask(shape, rate, seed):
    """``uniform(shape, seed=seed) >= rate`` (``rate`` rounded to float32, as the comparison does), decided on the
    integer bits: the uniform is ``(bits >>> 8) * 2**-24``, so it is at least ``rate`` exactly when
    ``bits >>> 8 >= t`` with ``t = ceil(rate * 2**24)``, that is when ``bits``, read as unsigned, is at least
    ``t * 256``. Flipping the sign bit turns that unsigned comparison into a signed one: two int32 ops instead of
    five (shift, mask, convert, scale, compare), and the same mask bit for bit."""
    t = math.ceil(float(np.float32(rate)) * (1 << 24))
    bits = random_bits(shape, seed)
    if t <= 0:
        return ops.greater_equal(bits, _INT32_MIN)  # every element kept
    if t >= 1 << 24:
        return ops.less(bits, _INT32_MIN)  # none kept
    return ops.greater_equal(ops.bitwise_xor(bits, _INT32_MIN), t * 256 + _INT32_MIN)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``."""
    shape = tuple(noise_shape) if noise_shape is not None else ops.shape(inputs)
    keep = _keep_mask(shape, rate, seed)
    # Multiplying by the reciprocal (not dividing) keeps the kept values bit-identical across backends: XLA
    # rewrites division by a constant into a multiplication, torch does not.
    return ops.where(keep, ops.multiply(inputs, 1.0 / (1.0 - rate)), 0.0)


def shuffle(x, axis=0, seed=None):
    """``x`` permuted along ``axis`` by sorting random keys (the same permutation on both backends)."""
    n = ops.shape(x)[axis]
    perm = ops.argsort(random_bits((n,), seed))
    return ops.take(x, perm, axis=axis)


# -- distributions built on the same uniform stream ----------------------------------------------------------------
# Each draws every uniform it needs from one `_unit_uniform` call, so one seed gives one stream (two calls with the
# same integer seed are the same draw, as for `uniform`). Rejection samplers run a fixed number of vectorized
# rounds and keep each element's first accepted candidate: no data-dependent loop, so they trace and compile.
_ROUNDS = 8


def _size(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _open_unit(u):
    """``u`` in [0, 1) moved to (0, 1) by half a step: safe under ``log``."""
    return ops.add(u, 1.0 / (1 << 25))


def _box_muller(u1, u2):
    r = ops.sqrt(ops.multiply(-2.0, ops.log(ops.subtract(1.0, u1))))
    return ops.multiply(r, ops.cos(ops.multiply(u2, 2.0 * np.pi)))


def _first_accepted(candidates, accepted):
    """Per element, the first candidate (along axis 0) whose ``accepted`` is true; the last one when none is (with
    `_ROUNDS` rounds and acceptance above 0.9 per round, about one element in 1e8)."""
    rounds = ops.shape(candidates)[0]
    order = ops.reshape(ops.arange(rounds, 0, -1), (rounds,) + (1,) * (len(ops.shape(candidates)) - 1))
    score = ops.where(accepted, ops.cast(order, "int32"), 0)
    first = ops.expand_dims(ops.argmax(ops.concatenate([score, ops.ones_like(score[:1])], axis=0), axis=0), 0)
    first = ops.minimum(first, rounds - 1)
    return ops.take_along_axis(candidates, first, axis=0)[0]


def _as_float(value, n, shape, name):
    value = ops.convert_to_tensor(value, "float32")
    try:
        return ops.reshape(ops.broadcast_to(value, tuple(shape)), (n,))
    except Exception:  # the framework's own broadcasting error, reworded
        raise ValueError(f"`{name}` must broadcast to `shape`. Received: {name}.shape={tuple(ops.shape(value))}, "
                         f"shape={tuple(shape)}") from None


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal floats redrawn until within two standard deviations of ``mean`` (as in Keras 3)."""
    n = _size(shape)
    u = _unit_uniform((2, _ROUNDS, n), seed)
    z = _box_muller(u[0], u[1])
    z = ops.clip(_first_accepted(z, ops.less_equal(ops.abs(z), 2.0)), -2.0, 2.0)
    out = ops.add(ops.multiply(ops.reshape(z, tuple(shape)), stddev), mean)
    return ops.cast(out, dtype or config.floatx())


def _gamma_from(u, alpha):
    """Gamma(alpha, 1) draws (Marsaglia & Tsang, 2000) from uniforms ``u`` of shape (4, ROUNDS, n); ``alpha`` has
    shape (n,). Below 1, ``Gamma(alpha + 1) * U ** (1 / alpha)``."""
    boost = ops.less(alpha, 1.0)
    a = ops.where(boost, ops.add(alpha, 1.0), alpha)
    d = ops.subtract(a, 1.0 / 3.0)
    c = ops.divide(1.0, ops.sqrt(ops.multiply(9.0, d)))
    x = _box_muller(u[0], u[1])
    v = ops.power(ops.add(1.0, ops.multiply(c, x)), 3.0)
    positive = ops.greater(v, 0.0)
    safe_v = ops.where(positive, v, 1.0)
    bound = ops.add(ops.multiply(0.5, ops.square(x)),
                    ops.multiply(d, ops.add(ops.subtract(1.0, safe_v), ops.log(safe_v))))
    accepted = ops.logical_and(positive, ops.less(ops.log(_open_unit(u[2])), bound))
    draw = ops.multiply(d, _first_accepted(safe_v, accepted))
    scale = ops.power(_open_unit(u[3][0]), ops.divide(1.0, alpha))
    return ops.where(boost, ops.multiply(draw, scale), draw)


def gamma(shape, alpha, dtype=None, seed=None):
    """Gamma-distributed floats with concentration ``alpha`` (scale 1)."""
    n = _size(shape)
    out = _gamma_from(_unit_uniform((4, _ROUNDS, n), seed), _as_float(alpha, n, shape, "alpha"))
    return ops.cast(ops.reshape(out, tuple(shape)), dtype or config.floatx())


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Beta(alpha, beta) floats, as ``X / (X + Y)`` for independent ``X ~ Gamma(alpha)``, ``Y ~ Gamma(beta)``."""
    n = _size(shape)
    u = _unit_uniform((2, 4, _ROUNDS, n), seed)
    x = _gamma_from(u[0], _as_float(alpha, n, shape, "alpha"))
    y = _gamma_from(u[1], _as_float(beta, n, shape, "beta"))
    return ops.cast(ops.reshape(ops.divide(x, ops.add(x, y)), tuple(shape)), dtype or config.floatx())


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """The number of successes in ``counts`` trials of probability ``probabilities`` (both broadcast to
    ``shape``), as floats: each trial compares one 24-bit uniform with the probability, so the counts are
    identical on both backends. ``counts`` must be known on the host (a number or an array)."""
    n = _size(shape)
    max_count = int(np.max(ops.convert_to_numpy(counts))) if not isinstance(counts, (int, float)) else int(counts)
    if max_count < 0:
        raise ValueError(f"binomial: `counts` must be non-negative. Received: counts={counts!r}")
    counts = _as_float(counts, n, shape, "counts")
    p = _as_float(probabilities, n, shape, "probabilities")
    u = _unit_uniform((max(max_count, 1), n), seed)
    trial = ops.reshape(ops.cast(ops.arange(max(max_count, 1)), "float32"), (-1, 1))
    success = ops.logical_and(ops.less(u, p), ops.less(trial, counts))
    out = ops.sum(ops.cast(success, "float32"), axis=0)
    return ops.cast(ops.reshape(out, tuple(shape)), dtype or config.floatx())


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of the 2-D ``logits`` (unnormalized log-probabilities), drawn by the
    Gumbel-max trick: ``argmax(logits + Gumbel noise)``."""
    logits = ops.convert_to_tensor(logits)
    if len(ops.shape(logits)) != 2:
        raise ValueError(f"categorical: `logits` must be 2-D (batch_size, num_classes). Received: "
                         f"logits.shape={tuple(ops.shape(logits))}")
    batch, classes = ops.shape(logits)
    u = _open_unit(_unit_uniform((batch, int(num_samples), classes), seed))
    gumbel = ops.negative(ops.log(ops.negative(ops.log(u))))
    noisy = ops.add(ops.expand_dims(ops.cast(logits, "float32"), 1), gumbel)
    return ops.cast(ops.argmax(noisy, axis=-1), dtype)
