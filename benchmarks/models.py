"""The benchmark workloads: data, the Keras-style model (built with kshim or with Keras 3 from the same code), and
the hand-written equivalents on each framework.

- ``tiny_mlp``: Dense 20 -> 32 (relu) -> 2, batch 32.
- ``mlp_784_512_512_10``: Dense 784 -> 512 -> 512 -> 10 with relu and Dropout(0.2) after each hidden layer, batch 128.
- ``cnn_28x28``: Conv2D 32 -> Conv2D 64 (3x3, relu) -> MaxPooling 2 -> Flatten -> Dense 128 (relu) -> Dense 10 on
  28x28x1, batch 128.
- ``embedding_lstm``: Embedding(20000, 128) -> LSTM(128) -> Dense 2 over 80 steps, batch 64.
- ``transformer_encoder``: 2 encoder blocks, d_model 128, 4 heads, sequence 128, batch 32 (`benchmarks.transformer`;
  the hand-written loops use torch SDPA and ``jax.nn.dot_product_attention``).

All train with Adam(1e-3) on sparse categorical crossentropy from logits. The hand-written loops are what a
framework user writes: torch ``nn.Module`` + ``torch.optim.Adam`` (an eval-mode module under ``inference_mode``
for inference); jax a jitted step with donated buffers and Adam written out, optax style (a jitted forward for
inference).
"""

import functools
import time

import numpy as np

from benchmarks import transformer

WORKLOADS = {  # name: (batch size, samples per epoch)
    "tiny_mlp": (32, 16384),
    "mlp_784_512_512_10": (128, 8192),
    "cnn_28x28": (128, 2048),
    "embedding_lstm": (64, 1024),
    "transformer_encoder": (32, 512),
}
_MLP = {"tiny_mlp": ((20, 32, 2), 0.0), "mlp_784_512_512_10": ((784, 512, 512, 10), 0.2)}


def data(name, n, seed=0):
    """``(x, y)`` numpy arrays for ``n`` samples of workload ``name``."""
    rng = np.random.default_rng(seed)
    if name in _MLP:
        sizes = _MLP[name][0]
        return rng.normal(size=(n, sizes[0])).astype("float32"), rng.integers(0, sizes[-1], n).astype("int32")
    if name == "transformer_encoder":
        return transformer.data(n, seed)
    if name == "cnn_28x28":
        return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n).astype("int32")
    return rng.integers(1, 20000, (n, 80)).astype("int32"), rng.integers(0, 2, n).astype("int32")


def build(k, name, steps_per_execution=1):
    """The workload's model, compiled, written once against the Keras API: ``k`` is ``kshim`` or ``keras``."""
    layers = k.layers
    if name in _MLP:
        sizes, rate = _MLP[name]
        stack = [k.Input((sizes[0],))]
        for units in sizes[1:-1]:
            stack.append(layers.Dense(units, activation="relu"))
            if rate:
                stack.append(layers.Dropout(rate))
        stack.append(layers.Dense(sizes[-1]))
    elif name == "cnn_28x28":
        stack = [k.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(64, 3, activation="relu"),
                 layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)]
    elif name == "embedding_lstm":
        stack = [k.Input((80,), dtype="int32"), layers.Embedding(20000, 128), layers.LSTM(128), layers.Dense(2)]
    model = transformer.build(k) if name == "transformer_encoder" else k.Sequential(stack)
    model.compile(optimizer=k.optimizers.Adam(1e-3), loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
                  steps_per_execution=steps_per_execution)
    return model


def timed(epoch, epochs, n):
    """``(samples/s over ``epochs`` epochs, seconds of the first epoch)``; ``epoch(k)`` trains ``k`` epochs."""
    t0 = time.perf_counter()
    epoch(1)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    epoch(epochs)
    return epochs * n / (time.perf_counter() - t0), first


def hand(backend, name):
    """The hand-written equivalent of workload ``name`` on ``backend``."""
    return (TorchLoop if backend == "torch" else JaxLoop)(name)


# ------------------------------------------------------------------------------------------------------------------
# torch: nn.Module + torch.optim


class TorchLoop:
    def __init__(self, name):
        import torch

        self.torch = torch
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.channels_first = name == "cnn_28x28"
        self.long_x = name in ("embedding_lstm", "transformer_encoder")
        nn = torch.nn
        if name in _MLP:
            sizes, rate = _MLP[name]
            mods = []
            for i in range(len(sizes) - 2):
                mods += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU()] + ([nn.Dropout(rate)] if rate else [])
            self.model = nn.Sequential(*mods, nn.Linear(sizes[-2], sizes[-1]))
        elif name == "cnn_28x28":
            self.model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                                       nn.Flatten(), nn.Linear(12 * 12 * 64, 128), nn.ReLU(), nn.Linear(128, 10))
        elif name == "transformer_encoder":
            self.model = transformer.torch_model(torch)
        else:
            self.model = _TorchLstm(nn)
        self.model.to(self.device)
        self.opt = torch.optim.Adam(self.model.parameters(), 1e-3)

    def to_input(self, x):
        t = self.torch.from_numpy(x)
        if self.channels_first:
            t = t.permute(0, 3, 1, 2).contiguous()
        return (t.long() if self.long_x else t).to(self.device)

    def fit(self, x, y, batch, epochs):
        torch = self.torch
        xt, yt = self.to_input(x), torch.from_numpy(y).long().to(self.device)
        n = len(x)
        self.model.train()
        for _ in range(epochs):
            perm = torch.randperm(n, device=self.device)
            for i in range(0, n, batch):
                idx = perm[i:i + batch]
                loss = torch.nn.functional.cross_entropy(self.model(xt[idx]), yt[idx])
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()
        self.sync()

    def sync(self, out=None):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def predict(self, x):
        """Raw forward, numpy in and out."""
        self.model.eval()
        with self.torch.inference_mode():
            return self.model(self.to_input(x)).cpu().numpy()

    def call(self, xt):
        """Raw forward on a device tensor."""
        with self.torch.inference_mode():
            out = self.model(xt)
        self.sync()
        return out


def _TorchLstm(nn):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20000, 128)
            self.lstm = nn.LSTM(128, 128, batch_first=True)
            self.out = nn.Linear(128, 2)

        def forward(self, t):
            return self.out(self.lstm(self.emb(t))[1][0][0])

    return Net()


# ------------------------------------------------------------------------------------------------------------------
# jax: a jitted step with donated buffers, Adam written out


class JaxLoop:
    def __init__(self, name, model_fn=None):
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp
        self.rng = np.random.default_rng(0)
        params, forward = (model_fn or functools.partial(_jax_model, name))(jax, jnp, self.rng)
        self.forward = forward

        def loss_fn(p, xb, yb, key):
            logits = forward(p, xb, key)
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], axis=1))

        def step(p, m, v, t, xb, yb, key):
            grads = jax.grad(loss_fn)(p, xb, yb, key)
            t = t + 1
            lr = 1e-3 * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            m = [0.9 * a + 0.1 * g for a, g in zip(m, grads)]
            v = [0.999 * a + 0.001 * g * g for a, g in zip(v, grads)]
            return [q - lr * a / (jnp.sqrt(b) + 1e-7) for q, a, b in zip(p, m, v)], m, v, t

        self.step_fn = step  # the step itself, for the scanned anchor (`benchmarks.anchors`)
        self.step = jax.jit(step, donate_argnums=(0, 1, 2))
        self.infer = jax.jit(lambda p, xb: forward(p, xb, None))
        zeros = [jnp.zeros_like(q) for q in params]
        self.state = [params, zeros, [jnp.zeros_like(q) for q in params], jnp.zeros((), "float32")]
        self.key = jax.random.PRNGKey(0)

    def to_input(self, x):
        return self.jnp.asarray(x)

    def fit(self, x, y, batch, epochs):
        n = len(x)
        for _ in range(epochs):
            perm = self.rng.permutation(n)
            for i in range(0, n, batch):
                idx = perm[i:i + batch]
                self.key, sub = self.jax.random.split(self.key)
                self.state[:] = self.step(*self.state, self.jnp.asarray(x[idx]), self.jnp.asarray(y[idx]), sub)
        self.jax.block_until_ready(self.state[0])

    def sync(self, out=None):
        if out is not None:
            self.jax.block_until_ready(out)

    def predict(self, x):
        return np.asarray(self.infer(self.state[0], x))

    def call(self, xt):
        return self.jax.block_until_ready(self.infer(self.state[0], xt))


def _jax_model(name, jax, jnp, rng):
    """``(params, forward(params, x, dropout_key_or_None))``."""

    def glorot(shape, fan_in, fan_out):
        lim = np.sqrt(6.0 / (fan_in + fan_out))
        return jnp.asarray(rng.uniform(-lim, lim, shape).astype("float32"))

    if name == "transformer_encoder":
        return transformer.jax_model(jax, jnp, rng)
    if name in _MLP:
        sizes, rate = _MLP[name]
        params = []
        for i in range(len(sizes) - 1):
            params += [glorot((sizes[i], sizes[i + 1]), sizes[i], sizes[i + 1]), jnp.zeros((sizes[i + 1],))]

        def forward(p, xb, key):
            h = xb
            for i in range(0, len(p) - 2, 2):
                h = jax.nn.relu(h @ p[i] + p[i + 1])
                if rate and key is not None:
                    key, sub = jax.random.split(key)
                    h = jnp.where(jax.random.bernoulli(sub, 1 - rate, h.shape), h / (1 - rate), 0)
            return h @ p[-2] + p[-1]
    elif name == "cnn_28x28":
        params = [glorot((3, 3, 1, 32), 9, 288), jnp.zeros(32), glorot((3, 3, 32, 64), 288, 576), jnp.zeros(64),
                  glorot((9216, 128), 9216, 128), jnp.zeros(128), glorot((128, 10), 128, 10), jnp.zeros(10)]

        def forward(p, xb, key):
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

        def forward(p, xb, key):
            proj = jnp.take(p[0], xb, axis=0).swapaxes(0, 1) @ p[1] + p[3]

            def cell(carry, z):
                h, c = carry
                i, f, g, o = jnp.split(z + h @ p[2], 4, axis=-1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                return (jax.nn.sigmoid(o) * jnp.tanh(c), c), None

            zeros = jnp.zeros((xb.shape[0], 128))
            (h, _), _ = jax.lax.scan(cell, (zeros, zeros), proj)
            return h @ p[4] + p[5]
    return params, forward
