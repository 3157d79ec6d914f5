"""The CNN and LSTM workloads: kshim models and their hand-written torch and jax equivalents.

CNN: conv32-conv64-maxpool-dense128-dense10 on 28x28x1. LSTM: Embedding(20000, 128) + LSTM(128) over 80 steps.
Both train with Adam(1e-3) on sparse categorical crossentropy from logits.
"""

import time

import numpy as np


def _data(name, n, seed=0):
    rng = np.random.default_rng(seed)
    if name == "cnn_28x28":
        return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n).astype("int32")
    return rng.integers(1, 20000, (n, 80)).astype("int32"), rng.integers(0, 2, n).astype("int32")


def _timed(epoch, epochs, n):
    t0 = time.perf_counter()
    epoch()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return epochs * n / (time.perf_counter() - t0), first


def bench_kshim(name, batch, n, epochs):
    import kshim
    from kshim import layers

    x, y = _data(name, n)
    kshim.utils.set_random_seed(0)
    if name == "cnn_28x28":
        model = kshim.Sequential([kshim.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                                  layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                                  layers.Dense(128, activation="relu"), layers.Dense(10)])
    else:
        model = kshim.Sequential([kshim.Input((80,), dtype="int32"), layers.Embedding(20000, 128),
                                  layers.LSTM(128), layers.Dense(2)])
    model.compile(optimizer=kshim.optimizers.Adam(1e-3),
                  loss=kshim.losses.SparseCategoricalCrossentropy(from_logits=True))
    return _timed(lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0), epochs, n)


def bench_hand(backend, name, batch, n, epochs):
    return (_torch if backend == "torch" else _jax)(name, batch, n, epochs)


def _torch(name, batch, n, epochs):
    import torch

    x, y = _data(name, n)
    if name == "cnn_28x28":
        x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3),
                                    torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                    torch.nn.Linear(12 * 12 * 64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    else:
        x = torch.from_numpy(x).long()

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = torch.nn.Embedding(20000, 128)
                self.lstm = torch.nn.LSTM(128, 128, batch_first=True)
                self.out = torch.nn.Linear(128, 2)

            def forward(self, t):
                return self.out(self.lstm(self.emb(t))[1][0][0])

        model = Net()
    y = torch.from_numpy(y).long()
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def epoch():
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return _timed(epoch, epochs, n)


def _jax(name, batch, n, epochs):
    import jax
    import jax.numpy as jnp

    x, y = _data(name, n)
    rng = np.random.default_rng(0)

    def glorot(shape, fan_in, fan_out):
        lim = np.sqrt(6.0 / (fan_in + fan_out))
        return jnp.asarray(rng.uniform(-lim, lim, shape).astype("float32"))

    if name == "cnn_28x28":
        params = [glorot((3, 3, 1, 32), 9, 288), jnp.zeros(32), glorot((3, 3, 32, 64), 288, 576), jnp.zeros(64),
                  glorot((9216, 128), 9216, 128), jnp.zeros(128), glorot((128, 10), 128, 10), jnp.zeros(10)]

        def forward(p, xb):
            dn = ("NHWC", "HWIO", "NHWC")
            h = jax.nn.relu(jax.lax.conv_general_dilated(xb, p[0], (1, 1), "VALID", dimension_numbers=dn) + p[1])
            h = jax.nn.relu(jax.lax.conv_general_dilated(h, p[2], (1, 1), "VALID", dimension_numbers=dn) + p[3])
            h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            h = jax.nn.relu(h.reshape(h.shape[0], -1) @ p[4] + p[5])
            return h @ p[6] + p[7]
    else:
        params = [jnp.asarray(rng.uniform(-0.05, 0.05, (20000, 128)).astype("float32")),
                  glorot((128, 512), 128, 512), glorot((128, 512), 128, 512), jnp.zeros(512),
                  glorot((128, 2), 128, 2), jnp.zeros(2)]

        def forward(p, xb):
            seq = jnp.take(p[0], xb, axis=0).swapaxes(0, 1)
            proj = seq @ p[1] + p[3]

            def cell(carry, z):
                h, c = carry
                z = z + h @ p[2]
                i, f, g, o = jnp.split(z, 4, axis=-1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                h = jax.nn.sigmoid(o) * jnp.tanh(c)
                return (h, c), None

            zeros = jnp.zeros((xb.shape[0], 128))
            (h, _), _ = jax.lax.scan(cell, (zeros, zeros), proj)
            return h @ p[4] + p[5]

    def loss_fn(p, xb, yb):
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(forward(p, xb)), yb[:, None], axis=1))

    def step(p, m, v, t, xb, yb):
        grads = jax.grad(loss_fn)(p, xb, yb)
        t = t + 1
        lr = 1e-3 * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        m = [0.9 * a + 0.1 * g for a, g in zip(m, grads)]
        v = [0.999 * a + 0.001 * g * g for a, g in zip(v, grads)]
        return [q - lr * a / (jnp.sqrt(b) + 1e-7) for q, a, b in zip(p, m, v)], m, v, t

    step = jax.jit(step, donate_argnums=(0, 1, 2))
    state = [params, [jnp.zeros_like(q) for q in params], [jnp.zeros_like(q) for q in params], jnp.zeros(())]

    def epoch():
        perm = rng.permutation(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            state[:] = step(*state, jnp.asarray(x[idx]), jnp.asarray(y[idx]))
        jax.block_until_ready(state[0])

    return _timed(epoch, epochs, n)
