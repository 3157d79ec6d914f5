"""Training throughput under ``mixed_bfloat16`` against float32, for the MLP and CNN workloads (issue 18).

    KSHIM_BACKEND=jax python -m benchmarks.precision [--workloads mlp_784_512_512_10,cnn_28x28] [--epochs 2]

The same workload (`benchmarks.models`) is built twice from the same seed, once under the float32 policy and once
under ``mixed_bfloat16`` (a final ``Activation("linear", dtype="float32")`` keeps the logits in float32 for the
loss), and fit in the same process; each row reports samples/s, the first (compiling) epoch, and the ratio of the
bf16 throughput to the float32 one. On CPUs without bf16 units the ratio is usually below 1 (the casts cost,
the matmuls gain nothing); it is the accelerator rows that show the gain.
"""

import argparse

import kshim as keras
from benchmarks import models


def _build(name, policy):
    keras.utils.set_random_seed(0)
    keras.config.set_dtype_policy(policy)
    try:
        model = models.build(keras, name)
        if policy != "float32":  # logits back to float32 for the loss, as Keras's mixed-precision guide does
            model = keras.Sequential([model, keras.layers.Activation("linear", dtype="float32")])
            model.compile(optimizer=keras.optimizers.Adam(1e-3),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    finally:
        keras.config.set_dtype_policy(None)  # unset: follow floatx again
    return model


def run(workloads, epochs):
    rows = []
    for name in workloads:
        batch, n = models.WORKLOADS[name]
        x, y = models.data(name, n)
        results = {}
        for policy in ("float32", "mixed_bfloat16"):
            model = _build(name, policy)
            rate, first = models.timed(lambda k: model.fit(x, y, batch_size=batch, epochs=k, verbose=0),
                                       epochs, n)
            results[policy] = (rate, first)
        base = results["float32"][0]
        for policy, (rate, first) in results.items():
            rows.append((name, policy, rate, first, rate / base))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", default="mlp_784_512_512_10,cnn_28x28")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    rows = run(args.workloads.split(","), args.epochs)
    print(f"backend: {keras.config.backend()}")
    print(f"{'workload':<22} {'policy':<16} {'samples/s':>10} {'first epoch s':>14} {'vs float32':>11}")
    for name, policy, rate, first, ratio in rows:
        print(f"{name:<22} {policy:<16} {rate:>10.0f} {first:>14.2f} {ratio:>11.2f}")


if __name__ == "__main__":
    main()
