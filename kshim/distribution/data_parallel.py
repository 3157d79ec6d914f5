"""`Distribution`, `DataParallel`, and the current distribution (`set_distribution` / `distribution` / ``scope``)."""

import contextlib
import warnings

from kshim.distribution import hooks
from kshim.distribution.device_mesh import DeviceMesh
from kshim.distribution.devices import backend, list_devices
from kshim.common.properties import read_only

DEFAULT_BATCH_DIM_NAME = "batch"
_CURRENT = {"distribution": None}


class Distribution:
    """The base class of distributions: a `DeviceMesh` and the name of its batch axis.

    Args:
        device_mesh: a `DeviceMesh`.
        batch_dim_name: the mesh axis the batch is split along.
        auto_shard_dataset: every process is given the same global batches and takes its own shard (the only mode
            kshim supports; ``False``, per-process datasets, is refused in a multi-process job).
    """

    def __init__(self, device_mesh, batch_dim_name=None, auto_shard_dataset=True):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = bool(auto_shard_dataset)
        self._engine = None

    device_mesh = read_only("_device_mesh")
    batch_dim_name = read_only("_batch_dim_name")
    auto_shard_dataset = read_only("_auto_shard_dataset")

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value):
        self._auto_shard_dataset = bool(value)

    @property
    def num_processes(self):
        """The number of processes in the job."""
        return backend().num_processes()

    @property
    def process_id(self):
        """This process's index in the job (0 is the chief)."""
        return backend().process_id()

    @contextlib.contextmanager
    def scope(self):
        """Make this the current distribution inside a ``with`` block (the previous one comes back after)."""
        previous = distribution()
        set_distribution(self)
        try:
            yield self
        finally:
            set_distribution(previous)

    def engine(self):
        """The backend engine (made on first use): shards batches, replicates variables, reduces across replicas."""
        if self._engine is None:
            mesh = self._device_mesh
            self._engine = backend().DataParallelEngine(list(mesh.devices.reshape(-1)), mesh.shape,
                                                        mesh.axis_names, self._batch_dim_name)
        return self._engine

    def __repr__(self):
        return f"<{type(self).__name__} device_mesh={self._device_mesh}, batch_dim_name={self._batch_dim_name!r}>"

    __str__ = __repr__


class DataParallel(Distribution):
    """Data parallelism: every device holds the whole model; each global batch is split across the devices.

    Give ``device_mesh`` or ``devices``, not both; with neither, every device of `list_devices()` is used.

    Args:
        device_mesh: a `DeviceMesh`; the batch is split along its first axis (a mesh of several axes is
            accepted with a warning, as in Keras; the other axes hold copies).
        devices: a list of devices (e.g. ``["gpu:0", "gpu:1"]``) for a 1-D mesh with the axis ``"batch"``.
        auto_shard_dataset: see `Distribution`.

    ``batch_size`` in ``fit``/``evaluate``/``predict`` is the global batch. A batch the number of replicas divides
    is split evenly; one it does not divide (say the last, partial batch of an epoch) is computed whole on every
    replica, so the numbers are exactly those of one device either way.
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is not None and devices is not None:
            raise ValueError("DataParallel: give `device_mesh` or `devices`, not both. Received: "
                             f"device_mesh={device_mesh!r}, devices={devices!r}")
        if device_mesh is not None:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError("DataParallel: `device_mesh` must be a kshim.distribution.DeviceMesh. Received: "
                                 f"device_mesh={device_mesh!r} of type {type(device_mesh).__name__}")
            if len(device_mesh.shape) > 1:
                warnings.warn(f"DataParallel: expected a 1-D mesh, received shape={device_mesh.shape}. The first "
                              f"axis ('{device_mesh.axis_names[0]}') is used for data parallelism.", stacklevel=2)
            super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)
        else:
            if devices is None:
                devices = list_devices()
            elif not isinstance(devices, (list, tuple)) and not hasattr(devices, "reshape"):
                raise ValueError("DataParallel: `devices` must be a list of devices such as ['gpu:0', 'gpu:1']. "
                                 f"Received: devices={devices!r}")
            if len(devices) == 0:
                raise ValueError("DataParallel: `devices` must not be empty. Received: devices=[] (is "
                                 "list_devices() of that type empty on this machine?)")
            mesh = DeviceMesh((len(devices),), [DEFAULT_BATCH_DIM_NAME], devices)
            super().__init__(mesh, DEFAULT_BATCH_DIM_NAME, auto_shard_dataset)
        if not self._auto_shard_dataset and self.num_processes > 1:
            raise ValueError("DataParallel: auto_shard_dataset=False (a different dataset in each process) is not "
                             "supported: give every process the same global batches and kshim takes each "
                             "process's shard. Received: auto_shard_dataset=False")

    @property
    def num_model_replicas(self):
        return int(self._device_mesh.devices.size)


def distribution():
    """The current distribution, or None."""
    return _CURRENT["distribution"]


def set_distribution(value):
    """Make ``value`` (a `Distribution`, or None for one device) the current distribution.

    After ``set_distribution(DataParallel())`` every ``fit``/``evaluate``/``predict`` runs data-parallel.
    """
    if value is not None and not isinstance(value, Distribution):
        raise TypeError("set_distribution: `value` must be a kshim.distribution.Distribution (e.g. DataParallel()) "
                        f"or None. Received: {value!r} of type {type(value).__name__}")
    engine = value.engine() if value is not None else None  # made now, so a bad mesh fails here, not in fit
    _CURRENT["distribution"] = value
    hooks.activate(engine)
