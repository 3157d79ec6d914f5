"""Data-parallel training of a digits classifier: the same script on one device, many devices, or many machines.

The only distribution code is two lines: `initialize()` (which does nothing in a single-process run) and
`set_distribution(DataParallel())`. ``batch_size`` is the global batch, split across the devices; the numbers
equal one device's on the same global batches. Only process 0 prints and writes the checkpoint.
Data: scikit-learn's 8x8 digits (no download).

JAX, one process driving every device of the machine (all GPUs; here 4 CPU devices stand in for them):

    KSHIM_BACKEND=jax python examples/distributed_mnist.py
    XLA_FLAGS=--xla_force_host_platform_device_count=4 KSHIM_BACKEND=jax python examples/distributed_mnist.py

JAX, several hosts (one process per host, each driving its own devices); on host i of 2, with host 0 at 10.0.0.1:

    KSHIM_BACKEND=jax KERAS_DISTRIBUTION_JOB_ADDRESSES=10.0.0.1:1234 KERAS_DISTRIBUTION_NUM_PROCESSES=2 \\
        KERAS_DISTRIBUTION_PROCESS_ID=i python examples/distributed_mnist.py

torch, one process per device on one machine (gloo on CPU, nccl on GPUs):

    KSHIM_BACKEND=torch torchrun --nproc_per_node=2 examples/distributed_mnist.py

torch, several machines (here 2 nodes with 4 GPUs each; run the same line on every node, host 0 at 10.0.0.1):

    KSHIM_BACKEND=torch torchrun --nnodes=2 --nproc_per_node=4 --rdzv_backend=c10d \\
        --rdzv_endpoint=10.0.0.1:29500 --rdzv_id=digits examples/distributed_mnist.py

Set ``KSHIM_DISTRIBUTION_TIMEOUT`` (seconds, default 600) to change how long a process waits for a peer that
stopped answering before it fails with an error.
"""

import os
import sys
import tempfile

from digits_data import digits_split

import kshim as keras
from kshim import layers


def main(epochs=8, folder=None):
    keras.distribution.initialize()  # joins the job a launcher started; a no-op for a single process
    keras.utils.set_random_seed(0)  # the same seed in every process: same weights, same shuffles
    strategy = keras.distribution.DataParallel()
    keras.distribution.set_distribution(strategy)
    chief = keras.distribution.process_id() == 0

    x_train, y_train, x_test, y_test = digits_split()

    model = keras.Sequential([
        keras.Input((64,)),
        layers.Dense(128, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    folder = folder or os.path.join(tempfile.gettempdir(), "kshim_distributed_digits")
    checkpoint = os.path.join(folder, "digits.keras")
    if chief:
        print(f"[{keras.config.backend()}] {keras.distribution.num_processes()} process(es), "
              f"{strategy.num_model_replicas} replica(s): {keras.distribution.list_devices()}", flush=True)
    history = model.fit(x_train, y_train, batch_size=64, epochs=epochs, validation_split=0.1, verbose=2,
                        callbacks=[keras.callbacks.ModelCheckpoint(checkpoint)])
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=128, verbose=0)  # global numbers, every process
    if chief:
        print(f"[{keras.config.backend()}] test loss {loss:.4f}, test accuracy {accuracy:.4f}; "
              f"checkpoint: {checkpoint}", flush=True)
    return {"history": history.history, "test_loss": loss, "test_accuracy": accuracy, "checkpoint": checkpoint}


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
