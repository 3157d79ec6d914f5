"""Counter-based random draws, the one home of kshim's in-step randomness below `kshim.random`.

A draw is a pure function of an int32 ``(seed, counter)`` state and the position: the backend primitive
``counter_bits`` hashes them with wrapping integer multiplies, xors and logical shifts, which both backends compute
identically. `kshim.random` builds its public functions (and its `SeedGenerator`) on these; ops that draw random
numbers themselves (``ops.image.elastic_transform``) use them directly, so they need not import `kshim.random`
(which imports kshim.ops).

The host generator (``_host``) lives here too: an unseeded draw takes its seed from it, and
``kshim.random.set_random_seed`` reseeds it.
"""

import numpy as np

from kshim.backends import B

_host = {"rng": np.random.default_rng(), "seeded": False}
_counter_bits = B.counter_bits  # the one backend primitive behind every in-step draw


def host_rng(seed=None):
    """A numpy Generator: a fresh one for an integer ``seed``, else kshim's global host generator."""
    if seed is None:
        return _host["rng"]
    return np.random.default_rng(int(seed))


def make_seed():
    """A new int32 seed drawn from the global host generator."""
    return int(_host["rng"].integers(0, 2**31 - 1))


def seed_state(seed):
    """Normalise ``seed`` to an int32 (2,) state tensor: an integer, None (a fresh seed from the host
    generator), an int32 (2,) tensor or Variable, or a seed generator (an object whose ``next()`` returns the
    state and advances it, like `kshim.random.SeedGenerator`)."""
    if seed is None:
        return B.convert_to_tensor(np.array([make_seed(), 0], dtype=np.int32))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return B.convert_to_tensor(np.array([int(seed) % (2**31 - 1), 0], dtype=np.int32))
    if B.is_tensor(seed) or getattr(seed, "_kshim_variable", False):
        return B.cast(seed, "int32")
    if callable(getattr(seed, "next", None)):
        return seed.next()
    raise ValueError(f"`seed` must be an integer, a SeedGenerator or None. Received: seed={seed!r}")


def lsr(x, k):
    """Logical right shift of int32 ``x`` by ``k`` bits, built from an arithmetic shift and a mask."""
    return B.bitwise_and(B.right_shift(x, k), (1 << (32 - k)) - 1)


def _size(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def random_bits(shape, seed):
    """Uniform int32 bit patterns of ``shape`` from ``seed``: a pure function of (seed, counter, position)."""
    return B.reshape(_counter_bits(seed_state(seed), _size(shape)), tuple(int(d) for d in shape))


def unit_uniform(shape, seed):
    """Floats in [0, 1) with 24 random bits each: exact in float32, identical on both backends."""
    bits = lsr(random_bits(shape, seed), 8)
    return B.multiply(B.cast(bits, "float32"), 1.0 / (1 << 24))


def standard_normal(shape, seed):
    """float32 N(0, 1) draws of ``shape`` by Box-Muller on two uniform streams (one `unit_uniform` call)."""
    u = unit_uniform((2, _size(shape)), seed)
    r = B.sqrt(B.multiply(-2.0, B.log(B.subtract(1.0, u[0]))))
    z = B.multiply(r, B.cos(B.multiply(u[1], 2.0 * np.pi)))
    return B.reshape(z, tuple(int(d) for d in shape))
