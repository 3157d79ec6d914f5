"""The contract's random family: the counter hash that in-step random bits come from (dropout, noise,
augmentation). Implemented by ``kshim/backends/<backend>/random.py``; `kshim.random` builds its draws on it.

Defined by an exact formula that every backend computes bit for bit alike; a backend differs only in how many
kernels and allocations it spends on it."""


def counter_bits(state, n):
    """``n`` int32 bit patterns of kshim's counter-based generator, for the int32 tensor ``state = (seed, counter)``:

        mix(x):  x ^= x >>> 16;  x *= 0x7FEB352D;  x ^= x >>> 15;  x *= 0x846CA68B;  x ^= x >>> 16
        key     = mix(mix(counter + 0x632BE5AB) ^ seed)
        bits[i] = mix(mix(i * 0x9E3779B9 ^ key) + key)          for i in [0, n)

    in wrapping 32-bit arithmetic, ``>>>`` the logical shift, the results read as int32. jax: the expression (XLA
    fuses it into one pass under jit); torch: in place on one buffer with ``i * 0x9E3779B9`` cached per ``n``, and
    the key computed on the host when ``state`` lives there (a 0-d mix is ten tiny kernels otherwise)."""
