"""Devices and processes: `list_devices`, `get_device_count`, `initialize`, `process_id`, `num_processes`.

The framework work is done by the backend's distribution family (see `kshim.backends.interface.distribution`);
`kshim.backends.load_family` loads it on first use, so ``import kshim`` does not pay for it.
"""

import os
import re

from kshim import random as krandom
from kshim.backends import load_family

_KINDS = ("cpu", "gpu", "tpu")
_DEVICE_RE = re.compile(r"^(cpu|gpu|cuda|tpu)(?::(\d+))?$")
DEFAULT_TIMEOUT = 600  # seconds a collective waits for a peer before failing


def backend():
    """The backend's distribution module."""
    return load_family("distribution")


def _check_type(where, device_type):
    if device_type is None:
        return None
    kind = device_type.lower() if isinstance(device_type, str) else device_type
    if kind == "cuda":
        kind = "gpu"
    if kind not in _KINDS:
        raise ValueError(f"{where}: `device_type` must be one of {list(_KINDS)} or None. "
                         f"Received: device_type={device_type!r}")
    return kind


def _join_pending_job():
    """Join the job a launcher (torchrun) started this process in, if it has not been joined yet."""
    if backend().pending_job():
        initialize()


def list_devices(device_type=None):
    """The devices available for distributed computation, as strings such as ``"gpu:1"`` or ``"cpu:0"``.

    Args:
        device_type: "cpu", "gpu" or "tpu". Default: the accelerators if there are any, else the CPU.

    In a multi-process job the devices of the whole job are listed (on torch: one per process, numbered by rank).
    A type with no devices on this machine gives an empty list. Devices of different types are never mixed.
    """
    kind = _check_type("list_devices", device_type)
    _join_pending_job()
    return list(backend().list_devices(kind))


def get_device_count(device_type=None):
    """The number of devices `list_devices` returns for ``device_type``."""
    return len(list_devices(device_type))


def canonical_device(where, device):
    """``device`` as ``"<type>:<id>"`` (a string in any case, "cuda" for "gpu", or a framework device object)."""
    if isinstance(device, str):
        m = _DEVICE_RE.match(device.strip().lower())
        if m is None:
            raise ValueError(f"{where}: a device must be a string '<type>:<id>' with type cpu, gpu or tpu, e.g. "
                             f"'gpu:0'. Received: {device!r}")
        kind = "gpu" if m.group(1) == "cuda" else m.group(1)
        return f"{kind}:{int(m.group(2) or 0)}"
    return backend().canonical_device(device)


def _env_int(name, value):
    if value is not None or name not in os.environ:
        return value
    try:
        return int(os.environ[name])
    except ValueError:
        raise ValueError(f"initialize: the environment variable {name} must be an integer. "
                         f"Received: {name}={os.environ[name]!r}") from None


def _check_count(name, value, minimum):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise ValueError(f"initialize: `{name}` must be {kind}. Received: {name}={value!r}")


def initialize(job_addresses=None, num_processes=None, process_id=None, timeout=None):
    """Join a multi-process (multi-host or multi-GPU) job. Call it first, in every process, before building models.

    Args:
        job_addresses: comma-separated "host:port" addresses of the job's processes; only the first one (process
            0, the coordinator) is used. Default: ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, else the framework's own
            environment (torchrun's MASTER_ADDR/MASTER_PORT; on JAX, the cluster JAX detects itself).
        num_processes: the number of processes in the job. Default: ``KERAS_DISTRIBUTION_NUM_PROCESSES``, else
            torchrun's WORLD_SIZE (torch) or JAX's cluster detection.
        process_id: this process's index, 0 to ``num_processes - 1``; 0 is the chief, which prints progress and
            writes checkpoints. Default: ``KERAS_DISTRIBUTION_PROCESS_ID``, else torchrun's RANK.
        timeout: seconds a process waits for its peers (at start-up and in every collective) before failing with
            a clear error. Default: ``KSHIM_DISTRIBUTION_TIMEOUT``, else 600. (A kshim extension.)

    Unless `kshim.utils.set_random_seed` was called already, process 0's host seed is shared with every process,
    so that weights are initialized and data shuffled alike everywhere.
    """
    job_addresses = job_addresses if job_addresses is not None else os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    num_processes = _env_int("KERAS_DISTRIBUTION_NUM_PROCESSES", num_processes)
    process_id = _env_int("KERAS_DISTRIBUTION_PROCESS_ID", process_id)
    if job_addresses is not None and not isinstance(job_addresses, str):
        raise ValueError("initialize: `job_addresses` must be a string such as '10.0.0.1:1234' or "
                         f"'10.0.0.1:1234,10.0.0.2:2345'. Received: job_addresses={job_addresses!r}")
    _check_count("num_processes", num_processes, 1)
    _check_count("process_id", process_id, 0)
    if num_processes is not None and process_id is not None and process_id >= num_processes:
        raise ValueError(f"initialize: `process_id` must be below `num_processes`. Received: "
                         f"process_id={process_id}, num_processes={num_processes}")
    if timeout is None:
        timeout = float(os.environ.get("KSHIM_DISTRIBUTION_TIMEOUT", DEFAULT_TIMEOUT))
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"initialize: `timeout` must be a positive number of seconds. Received: timeout={timeout!r}")
    be = backend()
    be.initialize(job_addresses, num_processes, process_id, timeout)
    if be.num_processes() > 1 and not krandom._host["seeded"]:  # unseeded: every process takes process 0's seed
        krandom.set_random_seed(be.broadcast_seed(krandom.make_seed()))


def process_id():
    """This process's index in the job (0 without a job). Process 0 prints progress and writes checkpoints."""
    return backend().process_id()


def num_processes():
    """The number of processes in the job (1 without a job)."""
    return backend().num_processes()


def is_chief():
    """True on process 0 (and in a single-process program)."""
    return backend().process_id() == 0
