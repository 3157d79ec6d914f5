"""A small generated sequence task shared by the sequence examples: does a sequence of tokens contain the
"signal" token 1 more often than token 2? Token 0 is padding."""

import numpy as np


def token_sequences(n=2000, length=30, vocab=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(3, vocab, size=(n, length))
    lengths = rng.integers(length // 2, length + 1, size=n)
    for i in range(n):
        k = rng.integers(1, 6)
        positions = rng.choice(lengths[i], size=k, replace=False)
        x[i, positions] = rng.choice([1, 2], size=k)
        x[i, lengths[i]:] = 0  # post-padding
    y = ((x == 1).sum(axis=1) > (x == 2).sum(axis=1)).astype("float32")
    return x.astype("int32"), y
