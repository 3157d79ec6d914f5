"""The ``transformer_encoder`` workload: tokens (sequence 128) -> Embedding(2000, 128) -> 2 encoder blocks
(MultiHeadAttention 4 heads x 32, residual, LayerNormalization, feed-forward 256 relu -> 128, residual,
LayerNormalization) -> mean over the sequence -> Dense 2, batch 32, Adam(1e-3) on sparse categorical crossentropy
from logits. The same Keras code builds it with kshim or Keras 3; the hand-written equivalents are a torch
``nn.Module`` with ``F.scaled_dot_product_attention`` and a jitted jax step with ``jax.nn.dot_product_attention``.
"""

import numpy as np

SEQ, VOCAB, D_MODEL, HEADS, FF, BLOCKS = 128, 2000, 128, 4, 256, 2
EPS = 1e-6


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(1, VOCAB, (n, SEQ)).astype("int32"), rng.integers(0, 2, n).astype("int32")


def build(k):
    layers = k.layers
    tokens = k.Input((SEQ,), dtype="int32")
    x = layers.Embedding(VOCAB, D_MODEL)(tokens)
    for _ in range(BLOCKS):
        a = layers.MultiHeadAttention(num_heads=HEADS, key_dim=D_MODEL // HEADS)(x, x)
        x = layers.LayerNormalization(epsilon=EPS)(layers.Add()([x, a]))
        f = layers.Dense(D_MODEL)(layers.Dense(FF, activation="relu")(x))
        x = layers.LayerNormalization(epsilon=EPS)(layers.Add()([x, f]))
    out = layers.Dense(2)(layers.GlobalAveragePooling1D()(x))
    return k.Model(tokens, out)


def torch_model(torch):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v, self.o = (nn.Linear(D_MODEL, D_MODEL) for _ in range(4))
            self.norm1, self.norm2 = nn.LayerNorm(D_MODEL, eps=EPS), nn.LayerNorm(D_MODEL, eps=EPS)
            self.ff1, self.ff2 = nn.Linear(D_MODEL, FF), nn.Linear(FF, D_MODEL)

        def forward(self, x):
            b, t, _ = x.shape

            def heads(z):
                return z.view(b, t, HEADS, D_MODEL // HEADS).transpose(1, 2)

            a = F.scaled_dot_product_attention(heads(self.q(x)), heads(self.k(x)), heads(self.v(x)))
            x = self.norm1(x + self.o(a.transpose(1, 2).reshape(b, t, D_MODEL)))
            return self.norm2(x + self.ff2(F.relu(self.ff1(x))))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(VOCAB, D_MODEL)
            self.blocks = nn.Sequential(*[Block() for _ in range(BLOCKS)])
            self.out = nn.Linear(D_MODEL, 2)

        def forward(self, tokens):
            return self.out(self.blocks(self.emb(tokens)).mean(dim=1))

    return Net()


def jax_model(jax, jnp, rng):
    """``(params, forward(params, tokens, key))``: the same network in plain jax."""

    def glorot(shape):
        lim = np.sqrt(6.0 / (shape[0] + shape[-1]))
        return jnp.asarray(rng.uniform(-lim, lim, shape).astype("float32"))

    params = [jnp.asarray(rng.uniform(-0.05, 0.05, (VOCAB, D_MODEL)).astype("float32"))]
    for _ in range(BLOCKS):
        for _ in range(4):  # q, k, v, o
            params += [glorot((D_MODEL, D_MODEL)), jnp.zeros(D_MODEL)]
        params += [jnp.ones(D_MODEL), jnp.zeros(D_MODEL), glorot((D_MODEL, FF)), jnp.zeros(FF),
                   glorot((FF, D_MODEL)), jnp.zeros(D_MODEL), jnp.ones(D_MODEL), jnp.zeros(D_MODEL)]
    params += [glorot((D_MODEL, 2)), jnp.zeros(2)]

    def norm(x, g, b):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) * jax.lax.rsqrt(var + EPS) * g + b

    def forward(p, tokens, key):
        x = jnp.take(p[0], tokens, axis=0)
        b, t, _ = x.shape
        i = 1
        for _ in range(BLOCKS):
            wq, bq, wk, bk, wv, bv, wo, bo, g1, b1, w1, c1, w2, c2, g2, b2 = p[i:i + 16]
            i += 16

            def heads(z):
                return z.reshape(b, t, HEADS, D_MODEL // HEADS)

            a = jax.nn.dot_product_attention(heads(x @ wq + bq), heads(x @ wk + bk), heads(x @ wv + bv))
            x = norm(x + a.reshape(b, t, D_MODEL) @ wo + bo, g1, b1)
            x = norm(x + jax.nn.relu(x @ w1 + c1) @ w2 + c2, g2, b2)
        return x.mean(axis=1) @ p[-2] + p[-1]

    return params, forward
