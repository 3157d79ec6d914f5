"""Training throughput: kshim ``fit`` against a hand-written loop on the same backend, in the same process.

    python -m benchmarks.run                      # every workload, both backends (one subprocess each)
    python -m benchmarks.run --backend torch -w tiny_mlp --epochs 3

For each workload it prints samples/s for kshim and for the hand-written loop (torch: nn.Module + torch.optim.Adam;
jax: a jitted step with donated buffers and an optax-style Adam written out), and their ratio. Numbers from a
shared machine are noisy: compare ratios measured in one run, never absolute numbers across runs.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

WORKLOADS = {
    # name: (layer sizes, dropout, batch size, samples)
    "tiny_mlp": ((20, 32, 2), 0.0, 32, 16384),
    "mlp_784_512_512_10": ((784, 512, 512, 10), 0.2, 128, 8192),
}
# Models that are not MLPs: (batch size, samples). Built by the functions in `benchmarks/models.py`.
OTHER_WORKLOADS = {"cnn_28x28": (128, 2048), "embedding_lstm": (64, 1024)}


def _data(sizes, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, sizes[0])).astype("float32")
    y = rng.integers(0, sizes[-1], size=n).astype("int32")
    return x, y


def bench_kshim(name, epochs):
    import kshim
    from kshim import layers

    sizes, dropout, batch, n = WORKLOADS[name]
    x, y = _data(sizes, n)
    kshim.utils.set_random_seed(0)
    stack = [kshim.Input((sizes[0],))]
    for units in sizes[1:-1]:
        stack.append(layers.Dense(units, activation="relu"))
        if dropout:
            stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(sizes[-1]))
    model = kshim.Sequential(stack)
    model.compile(optimizer=kshim.optimizers.Adam(1e-3),
                  loss=kshim.losses.SparseCategoricalCrossentropy(from_logits=True))
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    return epochs * n / (time.perf_counter() - t0), first


def bench_torch_loop(name, epochs):
    import torch

    sizes, dropout, batch, n = WORKLOADS[name]
    x, y = _data(sizes, n)
    x, y = torch.from_numpy(x), torch.from_numpy(y).long()
    mods = []
    for i in range(len(sizes) - 2):
        mods += [torch.nn.Linear(sizes[i], sizes[i + 1]), torch.nn.ReLU()]
        if dropout:
            mods.append(torch.nn.Dropout(dropout))
    mods.append(torch.nn.Linear(sizes[-2], sizes[-1]))
    model = torch.nn.Sequential(*mods)
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def epoch():
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    t0 = time.perf_counter()
    epoch()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return epochs * n / (time.perf_counter() - t0), first


def bench_jax_loop(name, epochs):
    import jax
    import jax.numpy as jnp

    sizes, dropout, batch, n = WORKLOADS[name]
    x, y = _data(sizes, n)
    rng = np.random.default_rng(0)
    params = []
    for i in range(len(sizes) - 1):
        lim = np.sqrt(6.0 / (sizes[i] + sizes[i + 1]))
        params += [jnp.asarray(rng.uniform(-lim, lim, (sizes[i], sizes[i + 1])).astype("float32")),
                   jnp.zeros((sizes[i + 1],), "float32")]
    m = [jnp.zeros_like(p) for p in params]
    v = [jnp.zeros_like(p) for p in params]

    def loss_fn(params, xb, yb, key):
        h = xb
        for i in range(0, len(params) - 2, 2):
            h = jax.nn.relu(h @ params[i] + params[i + 1])
            if dropout:
                key, sub = jax.random.split(key)
                keep = jax.random.bernoulli(sub, 1 - dropout, h.shape)
                h = jnp.where(keep, h / (1 - dropout), 0)
        logits = h @ params[-2] + params[-1]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], axis=1))

    def step(params, m, v, t, xb, yb, key):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb, key)
        t = t + 1
        lr = 1e-3 * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        m = [0.9 * a + 0.1 * g for a, g in zip(m, grads)]
        v = [0.999 * a + 0.001 * g * g for a, g in zip(v, grads)]
        params = [p - lr * a / (jnp.sqrt(b) + 1e-7) for p, a, b in zip(params, m, v)]
        return params, m, v, t, loss

    step = jax.jit(step, donate_argnums=(0, 1, 2))
    state = {"params": params, "m": m, "v": v, "t": jnp.zeros((), "float32"), "key": jax.random.PRNGKey(0)}

    def epoch():
        perm = rng.permutation(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            state["key"], sub = jax.random.split(state["key"])
            out = step(state["params"], state["m"], state["v"], state["t"], jnp.asarray(x[idx]),
                       jnp.asarray(y[idx]), sub)
            state["params"], state["m"], state["v"], state["t"], _ = out
        jax.block_until_ready(state["params"])

    t0 = time.perf_counter()
    epoch()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return epochs * n / (time.perf_counter() - t0), first


def run_backend(backend, workloads, epochs):
    """Run inside a process whose KSHIM_BACKEND is ``backend``; return a list of result dicts."""
    from benchmarks import models

    hand = bench_torch_loop if backend == "torch" else bench_jax_loop
    results = []
    for name in workloads:
        if name in OTHER_WORKLOADS:
            batch, n = OTHER_WORKLOADS[name]
            k_sps, k_first = models.bench_kshim(name, batch, n, epochs)
            h_sps, h_first = models.bench_hand(backend, name, batch, n, epochs)
        else:
            k_sps, k_first = bench_kshim(name, epochs)
            h_sps, h_first = hand(name, epochs)
        results.append({"backend": backend, "workload": name, "kshim_samples_per_s": k_sps,
                        "hand_samples_per_s": h_sps, "ratio": k_sps / h_sps, "kshim_first_epoch_s": k_first,
                        "hand_first_epoch_s": h_first})
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["jax", "torch", "both"], default="both")
    parser.add_argument("-w", "--workload", action="append", choices=sorted(WORKLOADS) + sorted(OTHER_WORKLOADS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workloads = args.workload or list(WORKLOADS) + list(OTHER_WORKLOADS)
    if args.json:  # worker mode
        results = run_backend(os.environ["KSHIM_BACKEND"], workloads, args.epochs)
        with open(args.json, "w") as f:
            json.dump(results, f)
        return 0
    import tempfile

    backends = ["jax", "torch"] if args.backend == "both" else [args.backend]
    rows = []
    for backend in backends:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            path = tmp.name
        cmd = [sys.executable, "-m", "benchmarks.run", "--json", path, "--epochs", str(args.epochs)]
        for w in workloads:
            cmd += ["-w", w]
        subprocess.run(cmd, check=True, env={**os.environ, "KSHIM_BACKEND": backend})
        with open(path) as f:
            rows.extend(json.load(f))
        os.unlink(path)
    print(f"{'backend':7} {'workload':22} {'kshim samples/s':>16} {'hand samples/s':>15} {'ratio':>6} "
          f"{'kshim 1st epoch':>16} {'hand 1st epoch':>15}")
    for r in rows:
        print(f"{r['backend']:7} {r['workload']:22} {r['kshim_samples_per_s']:16,.0f} {r['hand_samples_per_s']:15,.0f}"
              f" {r['ratio']:6.2f} {r['kshim_first_epoch_s']:15.2f}s {r['hand_first_epoch_s']:14.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
