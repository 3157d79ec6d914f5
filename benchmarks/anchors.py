"""The stronger anchors: the best training loop a framework user could write (issue 21, item 2).

- torch: the hand-written loop of `benchmarks.models.TorchLoop` with the module under ``torch.compile`` (mode
  ``max-autotune-no-cudagraphs`` on CPU, ``max-autotune`` on CUDA): inductor fuses the elementwise work the eager
  loop runs op by op.
- jax: the hand-written jitted step of `benchmarks.models.JaxLoop` run ``SCAN_STEPS`` steps per call inside one
  ``lax.scan`` (kshim's counterpart is ``steps_per_execution=SCAN_STEPS``). On CPU a workload with a convolution
  (cnn_28x28) runs its ``SCAN_STEPS`` steps as calls of the jitted one-step function instead, as kshim does: inside
  the scan's while loop XLA's CPU compiler leaves the convolution's kernel gradient on a slow path (18x slower per
  sample, BENCHMARKS.md "jax: steps_per_execution on a CNN"), which is no fair anchor.
- jax, embedding_lstm only: the LSTM written the plain way, the input projection inside the scanned step
  (``z = x_t @ W + h @ U + b``) rather than hoisted out of the loop as kshim and `benchmarks.models` do; on a
  2-core CPU it was measured 1.3x faster than the hoisted form (issue 21).
"""

from benchmarks import models

SCAN_STEPS = 8
_CONVOLUTIONAL = {"cnn_28x28"}
COMPILE_MODE = {"cpu": "max-autotune-no-cudagraphs", "cuda": "max-autotune"}


class TorchCompiledLoop(models.TorchLoop):
    def __init__(self, name):
        super().__init__(name)
        self.model = self.torch.compile(self.model, mode=COMPILE_MODE[self.device.type])


class JaxScanLoop(models.JaxLoop):
    """``SCAN_STEPS`` steps per jitted call; the remainder of an epoch runs with the one-step function."""

    def __init__(self, name):
        super().__init__(name)
        jax = self.jax
        step = self.step_fn

        def multi(p, m, v, t, xs, ys, keys):
            def body(state, batch):
                return tuple(step(*state, *batch)), None

            state, _ = jax.lax.scan(body, (p, m, v, t), (xs, ys, keys))
            return state

        self.multi = jax.jit(multi, donate_argnums=(0, 1, 2))
        if name in _CONVOLUTIONAL and jax.default_backend() == "cpu":
            self.multi = self._stepped

    def _stepped(self, p, m, v, t, xs, ys, keys):
        state = (p, m, v, t)
        for i in range(SCAN_STEPS):
            state = self.step(*state, xs[i], ys[i], keys[i])
        return state

    def fit(self, x, y, batch, epochs):
        jnp, jax = self.jnp, self.jax
        n = len(x)
        chunk = batch * SCAN_STEPS
        for _ in range(epochs):
            perm = self.rng.permutation(n)
            start = 0
            while start + chunk <= n:
                idx = perm[start:start + chunk]
                self.key, sub = jax.random.split(self.key)
                keys = jax.random.split(sub, SCAN_STEPS)
                xs = jnp.asarray(x[idx].reshape((SCAN_STEPS, batch) + x.shape[1:]))
                ys = jnp.asarray(y[idx].reshape((SCAN_STEPS, batch) + y.shape[1:]))
                self.state[:] = self.multi(*self.state, xs, ys, keys)
                start += chunk
            for i in range(start, n, batch):
                idx = perm[i:i + batch]
                self.key, sub = jax.random.split(self.key)
                self.state[:] = self.step(*self.state, jnp.asarray(x[idx]), jnp.asarray(y[idx]), sub)
        jax.block_until_ready(self.state[0])


def unhoisted_lstm(jax, jnp, rng):
    """``(params, forward)`` of the embedding_lstm workload with the input projection inside the step."""
    params, _ = models._jax_model("embedding_lstm", jax, jnp, rng)

    def forward(p, xb, key):
        emb = jnp.take(p[0], xb, axis=0).swapaxes(0, 1)

        def cell(carry, x_t):
            h, c = carry
            i, f, g, o = jnp.split(x_t @ p[1] + h @ p[2] + p[3], 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            return (jax.nn.sigmoid(o) * jnp.tanh(c), c), None

        zeros = jnp.zeros((xb.shape[0], 128))
        (h, _), _ = jax.lax.scan(cell, (zeros, zeros), emb)
        return h @ p[4] + p[5]

    return params, forward


class JaxUnhoistedLstmLoop(models.JaxLoop):
    def __init__(self, name):
        if name != "embedding_lstm":
            raise ValueError(f"JaxUnhoistedLstmLoop: only the embedding_lstm workload. Received: name={name!r}")
        super().__init__(name, model_fn=unhoisted_lstm)


def anchors(backend, name):
    """``{key: loop}`` of the stronger anchors for workload ``name`` on ``backend`` (see the module)."""
    if backend == "torch":
        return {"hand_compiled": TorchCompiledLoop(name)}
    out = {f"hand_scan{SCAN_STEPS}": JaxScanLoop(name)}
    if name == "embedding_lstm":
        out["hand_unhoisted"] = JaxUnhoistedLstmLoop(name)
    return out

