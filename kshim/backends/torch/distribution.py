"""PyTorch half of `kshim.distribution` (the interface is documented in `kshim.backends.interface.distribution`).

Data parallelism is ``torch.distributed``: one process per device (gloo on CPU, nccl on CUDA), launched by
``torchrun``, whose environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) `initialize` reads.
Every process sees the same global batches and takes its own shard. Inside the step, one all-reduce per dtype
carries the gradients (averaged: equal shards make the mean of the shard-mean gradients the global-batch
gradient), the changes of the floating non-trainable values (averaged: BatchNormalization's moving statistics)
and the changes of the metric state (summed: totals and counts), so that every process holds the same weights and
logs the same global metrics. A peer that exits makes the collective fail at once; a peer that hangs makes it fail
after the job's timeout. Either way the error names the step and the timeout instead of hanging.
"""

import atexit
import datetime
import os

import numpy as np
import torch
import torch.distributed as dist

from kshim.backends.torch.core import convert_to_tensor

_JOB = {"timeout": None}


def _kind():
    return "gpu" if torch.cuda.is_available() else "cpu"


def _joined():
    return dist.is_available() and dist.is_initialized()


def list_devices(device_type=None):
    kind = device_type or _kind()
    if kind == "tpu" or (kind == "gpu" and not torch.cuda.is_available()):
        return []
    if _joined():  # one device per process, numbered by rank
        return [f"{kind}:{r}" for r in range(dist.get_world_size())] if kind == _kind() else []
    if kind == "gpu":
        return [f"gpu:{i}" for i in range(torch.cuda.device_count())]
    return ["cpu:0"]


def canonical_device(device):
    if isinstance(device, torch.device):
        kind = "gpu" if device.type == "cuda" else device.type
        return f"{kind}:{device.index or 0}"
    raise TypeError(f"DeviceMesh: a device must be a string such as 'gpu:0' or a torch.device. Received: "
                    f"{device!r} of type {type(device).__name__}")


def pending_job():
    """True when torchrun (or the like) started this process as part of a job it has not joined yet."""
    return not _joined() and int(os.environ.get("WORLD_SIZE", "1")) > 1 and "MASTER_ADDR" in os.environ


def initialize(job_addresses, num_processes, process_id, timeout):
    if _joined():
        return
    world = int(num_processes if num_processes is not None else os.environ.get("WORLD_SIZE", "1"))
    rank = int(process_id if process_id is not None else os.environ.get("RANK", "0"))
    if world <= 1:
        return  # a job of one process needs no process group
    if job_addresses:
        address = job_addresses.split(",")[0].strip()
        if ":" not in address:
            raise ValueError("initialize: `job_addresses` must start with the coordinator's 'host:port'. Received: "
                             f"job_addresses={job_addresses!r}")
        init_method = f"tcp://{address}"
    elif "MASTER_ADDR" in os.environ and "MASTER_PORT" in os.environ:
        address, init_method = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}", "env://"
    else:
        raise ValueError("initialize: a job of several processes needs the coordinator's address: pass "
                         "job_addresses='host:port', or set MASTER_ADDR and MASTER_PORT (torchrun does). Received: "
                         f"job_addresses={job_addresses!r}, num_processes={world}")
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", rank % max(torch.cuda.device_count(), 1)))
        torch.cuda.set_device(local)  # kshim's "cuda" device is the current one: this process's own GPU
    _JOB["timeout"] = timeout
    try:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo", init_method=init_method,
                                world_size=world, rank=rank, timeout=datetime.timedelta(seconds=timeout))
    except RuntimeError as e:
        raise RuntimeError(f"kshim.distribution.initialize: process {rank} of {world} could not join the job "
                           f"coordinated at {address} within timeout={timeout}s. Check the address and that every "
                           f"process was started. Original error: {e}") from e
    atexit.register(_leave)


def _leave():
    """Leave the job at exit: a process group left to the interpreter's teardown can abort the process (gloo's
    threads outlive the objects they use)."""
    if dist.is_initialized():
        try:
            dist.destroy_process_group()
        except RuntimeError:
            pass  # a peer already failed; the job's error has been raised and printed


def is_initialized():
    return _joined()


def process_id():
    return dist.get_rank() if _joined() else 0


def num_processes():
    return dist.get_world_size() if _joined() else 1


def _collective(what, fn):
    try:
        return fn()
    except RuntimeError as e:
        raise RuntimeError(
            f"kshim.distribution: process {process_id()} of {num_processes()} failed in the {what}: a peer process "
            f"exited, crashed, or did not answer within timeout={_JOB['timeout']}s. Every process of the job must "
            f"run the same fit/evaluate/predict calls. Original error: {e}") from e


def _device():
    return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")


def broadcast_seed(seed):
    if not _joined():
        return int(seed)
    t = torch.tensor([int(seed)], dtype=torch.int64, device=_device())
    _collective("seed broadcast", lambda: dist.broadcast(t, 0))
    return int(t.item())


def _by_dtype(tensors):
    groups = {}
    for i, t in enumerate(tensors):
        groups.setdefault(t.dtype, []).append(i)
    return groups.values()


def _flat_collective(what, tensors, op):
    """``op`` applied to every tensor, with one flat buffer per dtype (one collective each)."""
    out = list(tensors)
    for idx in _by_dtype(tensors):
        flat = torch.cat([tensors[i].reshape(-1) for i in idx])
        _collective(what, lambda f=flat: op(f))
        for i, part in zip(idx, torch.split(flat, [tensors[i].numel() for i in idx])):
            out[i] = part.view(tensors[i].shape)
    return out


def _all_reduce_sum(what, tensors):
    return _flat_collective(what, tensors, dist.all_reduce)


class _Sync:
    """The in-step all-reduce of one engine (only made when the job has several processes)."""

    def __init__(self, engine):
        self.engine = engine

    def train(self, grads, non_trainable, new_non_trainable, metric_values, new_metric_values):
        world, split = self.engine.world, self.engine.sharded
        moved = [i for i, (o, n) in enumerate(zip(non_trainable, new_non_trainable))
                 if n.is_floating_point() and n.data_ptr() != _t_ptr(o)]  # BN statistics; not frozen weights
        sends = [g / world for g in grads]
        sends += [(new_non_trainable[i] - non_trainable[i]) / world for i in moved]
        if split:  # a whole (unsplit) batch already gives every process the global metric update
            sends += [n - o for o, n in zip(metric_values, new_metric_values)]
        got = _all_reduce_sum("gradient all-reduce", sends)
        grads = got[:len(grads)]
        new_non_trainable = list(new_non_trainable)
        for k, i in enumerate(moved):
            new_non_trainable[i] = non_trainable[i] + got[len(grads) + k]
        if split:
            deltas = got[len(grads) + len(moved):]
            new_metric_values = [o + d for o, d in zip(metric_values, deltas)]
        return grads, new_non_trainable, new_metric_values

    def test(self, metric_values, new_metric_values):
        if not self.engine.sharded:
            return new_metric_values
        deltas = _all_reduce_sum("metric all-reduce", [n - o for o, n in zip(metric_values, new_metric_values)])
        return [o + d for o, d in zip(metric_values, deltas)]


def _t_ptr(x):
    return x.data_ptr() if isinstance(x, torch.Tensor) else None


class DataParallelEngine:
    """One process per replica: the shard this process takes, and the step's all-reduce."""

    splits_loss = True  # each process computes the loss of its own shard

    def __init__(self, devices, mesh_shape, axis_names, batch_axis):
        self.world, self.rank = num_processes(), process_id()
        kind = _kind()
        mine = [f"{kind}:{r}" for r in range(self.world)]
        if sorted(devices) != sorted(mine):
            unknown = [d for d in devices if d not in mine]
            what = f"unknown device(s) {unknown}" if unknown else f"{len(devices)} device(s) {list(devices)}"
            raise ValueError(
                f"DataParallel: torch runs one process per device, and this job has {self.world} process(es) with "
                f"the devices {mine}; the mesh has {what}. Launch one process per device, e.g. "
                f"`torchrun --nproc_per_node={len(devices)} script.py`, and call kshim.distribution.initialize().")
        if any(s != 1 for a, s in zip(axis_names, mesh_shape) if a != batch_axis):
            raise ValueError(f"DataParallel: torch data parallelism needs a 1-D mesh (every process a replica). "
                             f"Received: shape={tuple(mesh_shape)}, axis_names={list(axis_names)}")
        self.num_replicas = len(devices)
        self.index = list(devices).index(f"{kind}:{self.rank}")  # this process's shard
        self._rank_of = [int(d.split(":")[1]) for d in devices]  # shard j comes from process _rank_of[j]
        self.sharded = False
        self.sync = _Sync(self) if self.world > 1 else None
        self.gather = self._gather if self.world > 1 else None

    def put_batch(self, x):
        shape = tuple(np.shape(x))
        if self.world > 1 and shape:
            self.sharded = shape[0] % self.num_replicas == 0
            if self.sharded:
                k = shape[0] // self.num_replicas
                x = x[self.index * k:(self.index + 1) * k]
        return convert_to_tensor(x)

    def put_variables(self, values):
        if self.world == 1 or not values:
            return list(values)
        values = [convert_to_tensor(v).detach().contiguous() for v in values]
        return _flat_collective("broadcast of process 0's weights", values, lambda f: dist.broadcast(f, 0))

    def _gather(self, outputs):
        if not self.sharded:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self._gather(o) for o in outputs)
        if isinstance(outputs, dict):
            return {k: self._gather(v) for k, v in outputs.items()}
        t = outputs.contiguous()
        parts = [torch.empty_like(t) for _ in range(self.world)]
        _collective("gather of predictions", lambda: dist.all_gather(parts, t))
        return torch.cat([parts[r] for r in self._rank_of])
