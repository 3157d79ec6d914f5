"""kshim.distribution: data-parallel training on JAX sharding or torch.distributed, with Keras 3's API.

```python
import kshim as keras

keras.distribution.initialize()        # multi-process jobs only (torchrun, several hosts)
keras.distribution.set_distribution(keras.distribution.DataParallel())
model.fit(x, y, batch_size=256)        # unchanged: 256 is the global batch, split across the devices
```

On JAX, batches are sharded over a `jax.sharding.Mesh` and the compiled step is the one-device step on the global
batch. On torch, each process (one per device, launched by ``torchrun``) takes its shard, and the step all-reduces
the gradients and metric state. Either way the loss history and weights equal one device's on the same global
batches (to float rounding), only process 0 prints progress and writes checkpoints, and every process logs the
global metrics. See docs/distribution.md for launch commands, batch-size rules and timeouts.

Layout: `devices` (devices and processes: `list_devices`, `initialize`), `device_mesh` (`DeviceMesh`),
`data_parallel` (`DataParallel`, the current distribution), `hooks` (what the trainer calls). The framework code
is in ``kshim.backends.<backend>.distribution``, behind the interface documented in
`kshim.backends.interface.distribution`.
"""

from kshim.common.absent import raise_absent as _raise_absent
from kshim.distribution.data_parallel import (  # noqa: F401
    DEFAULT_BATCH_DIM_NAME,
    DataParallel,
    Distribution,
    distribution,
    set_distribution,
)
from kshim.distribution.device_mesh import DeviceMesh  # noqa: F401
from kshim.distribution.devices import (  # noqa: F401
    get_device_count,
    initialize,
    is_chief,
    list_devices,
    num_processes,
    process_id,
)

__all__ = ["DataParallel", "DeviceMesh", "Distribution", "distribution", "get_device_count", "initialize",
           "is_chief", "list_devices", "num_processes", "process_id", "set_distribution"]

# Keras 3 names kshim leaves out on purpose (README.md, "Public names not provided").
_ABSENT = dict.fromkeys(("ModelParallel", "LayoutMap", "TensorLayout", "distribute_tensor"),
                        "kshim distributes data only (DataParallel); model parallelism (ModelParallel, LayoutMap, "
                        "TensorLayout, distribute_tensor) is not implemented")


def __getattr__(name):
    _raise_absent("kshim.distribution", name, _ABSENT)
