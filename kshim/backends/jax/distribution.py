"""JAX half of `kshim.distribution` (the interface is documented in `kshim.backends.interface.distribution`).

Data parallelism is JAX's own sharding: a `jax.sharding.Mesh` over the devices, each global batch placed with a
`NamedSharding` split along the batch axis, the variables replicated. The compiled step is unchanged: jit sees a
global batch, so the mean loss, its gradient and the metric updates are the same functions as on one device, and
XLA inserts the cross-device reductions. Multi-host jobs join through `jax.distributed.initialize`; each process
then holds the whole global batch on the host and places only its own devices' parts.
"""

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

_KINDS = ("cpu", "gpu", "tpu")


def _devices_of(kind):
    try:
        return jax.devices(kind)
    except RuntimeError:  # no such backend on this machine
        return []


def _name(device):
    kind = device.platform if device.platform in _KINDS else "gpu"  # "cuda"/"rocm" builds report as gpu
    return f"{kind}:{device.id}"


def list_devices(device_type=None):
    devices = jax.devices() if device_type is None else _devices_of(device_type)
    return [_name(d) for d in devices]


def canonical_device(device):
    if isinstance(device, jax.Device):
        return _name(device)
    raise TypeError(f"DeviceMesh: a device must be a string such as 'gpu:0' or a jax.Device. Received: "
                    f"{device!r} of type {type(device).__name__}")


def pending_job():
    return False  # JAX joins a multi-process job only through an explicit initialize()


def initialize(job_addresses, num_processes, process_id, timeout):
    if jax.distributed.is_initialized() or num_processes == 1:
        return
    coordinator = job_addresses.split(",")[0].strip() if job_addresses else None
    if coordinator is None and num_processes is None and process_id is None:
        try:  # nothing given: JAX looks for a cluster it knows (Cloud TPU, SLURM, Open MPI, ...)
            jax.distributed.initialize()
        except ValueError:
            pass  # none found: a single-process run, nothing to join
        return
    kwargs = {}
    if timeout is not None:
        kwargs = {"initialization_timeout": int(timeout), "heartbeat_timeout_seconds": max(int(timeout), 10)}
    if (num_processes or 1) > 1:  # CPU devices talk across processes through gloo (GPUs and TPUs are unaffected)
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                                   process_id=process_id, **kwargs)
    except (RuntimeError, ValueError) as e:
        raise RuntimeError(f"kshim.distribution.initialize: process {process_id} of {num_processes} could not join "
                           f"the job coordinated at {coordinator!r} (timeout={timeout}s). Call initialize() first, "
                           f"before anything runs on a device, and check `job_addresses` and that every process "
                           f"was started. Original error: {e}") from e


def is_initialized():
    return jax.distributed.is_initialized()


def process_id():
    return jax.process_index()


def num_processes():
    return jax.process_count()


def broadcast_seed(seed):
    if jax.process_count() == 1:
        return int(seed)
    return int(multihost_utils.broadcast_one_to_all(np.asarray(seed, dtype=np.int32)))


class DataParallelEngine:
    """A mesh, the batch sharding (split along ``batch_axis``) and the replicated sharding."""

    splits_loss = False  # the compiled step sees the whole global batch
    sync = None  # jit does the cross-device reductions

    def __init__(self, devices, mesh_shape, axis_names, batch_axis):
        known = {}
        for kind in sorted({d.split(":")[0] for d in devices}):
            known.update({_name(d): d for d in _devices_of(kind)})
        grid = np.empty(len(devices), dtype=object)
        for i, name in enumerate(devices):
            if name not in known:
                raise ValueError(f"DataParallel: unknown device {name!r}. Available devices: {sorted(known)}")
            grid[i] = known[name]
        self.mesh = Mesh(grid.reshape(tuple(mesh_shape)), tuple(axis_names))
        self._split = NamedSharding(self.mesh, PartitionSpec(batch_axis))
        self._whole = NamedSharding(self.mesh, PartitionSpec())
        self.num_replicas = int(mesh_shape[list(axis_names).index(batch_axis)])
        self._multi = jax.process_count() > 1
        # Several hosts: outputs are made replicated inside the step, so every process can read them whole.
        self.gather = self._replicate if self._multi else None

    def put_batch(self, x):
        shape = tuple(np.shape(x))
        sharding = self._split if shape and shape[0] % self.num_replicas == 0 else self._whole
        if not self._multi:
            return jax.device_put(x, sharding)
        host = np.asarray(x)
        return jax.make_array_from_callback(shape, sharding, lambda index: host[index],
                                            dtype=jax.dtypes.canonicalize_dtype(host.dtype))

    def put_variables(self, values):
        if not self._multi:
            return [jax.device_put(v, self._whole) for v in values]
        host = multihost_utils.broadcast_one_to_all([np.asarray(v) for v in values])
        return [jax.make_array_from_callback(h.shape, self._whole, lambda index, h=h: h[index]) for h in host]

    def _replicate(self, outputs):
        return jax.tree_util.tree_map(lambda o: jax.lax.with_sharding_constraint(o, self._whole), outputs)
