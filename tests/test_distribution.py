"""Data-parallel training (`kshim.distribution`): the same numbers as one device on the same global batches.

JAX runs in one subprocess with 4 virtual CPU devices (``XLA_FLAGS`` must be set before jax is imported). torch
runs 2 processes on 127.0.0.1 with torchrun's environment variables (gloo). The one-device reference runs in the
pytest process. The data (91 samples, global batch 16) gives batches the replicas divide (split) and a last batch
of 11 they do not (computed whole on every replica); both must be exact. This file is also the worker script:
``python tests/test_distribution.py <mode> <out_dir>``.
"""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import kshim
from kshim import config, layers
from kshim import distribution as kdist

BACKEND = config.backend()
HERE = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(HERE))
N_DEVICES = 4  # jax: virtual CPU devices in the worker
N_PROCESSES = 2  # torch: processes


# -- the shared workload (the reference and the workers build exactly this) --------------------------------------
def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(91, 6)).astype("float32")
    y = ((x[:, 0] > 0).astype("int32") + (x[:, 1] > 0.5).astype("int32"))
    sw = rng.uniform(0.5, 1.5, size=91).astype("float32")
    xv = rng.normal(size=(30, 6)).astype("float32")
    yv = ((xv[:, 0] > 0).astype("int32") + (xv[:, 1] > 0.5).astype("int32"))
    return x, y, sw, xv, yv


def _model(loss="sparse_categorical_crossentropy"):
    kshim.utils.set_random_seed(7)  # weights, dropout seeds and shuffling: alike in every process
    stack = [kshim.Input((6,)), layers.Dense(16, activation="tanh", kernel_regularizer=kshim.regularizers.L2(1e-3))]
    if BACKEND == "jax":  # the sharded jax step sees the global batch: dropout masks and BN statistics are exact
        stack += [layers.Dropout(0.25), layers.BatchNormalization()]
    stack += [layers.Dense(3, activation="softmax")]
    model = kshim.Sequential(stack)
    model.compile(optimizer=kshim.optimizers.Adam(0.01), loss=loss, metrics=["accuracy"])
    return model


def _fit(model, callbacks=(), verbose=0):
    x, y, sw, xv, yv = _data()
    return model.fit(x, y, sample_weight=sw, batch_size=16, epochs=3, shuffle=True, validation_data=(xv, yv),
                     callbacks=list(callbacks), verbose=verbose).history


def _results(model, history):
    x, y, sw, xv, yv = _data()
    out = {f"history.{k}": np.asarray(v) for k, v in history.items()}
    out.update({f"weight.{i}": w for i, w in enumerate(model.get_weights())})
    out["evaluate"] = np.asarray(model.evaluate(xv, yv, batch_size=16, verbose=0))
    out["predict"] = model.predict(xv, batch_size=16, verbose=0)
    return out


@pytest.fixture(scope="module")
def reference():
    kdist.set_distribution(None)
    model = _model()
    return _results(model, _fit(model))


def _assert_same(got, want, rtol=1e-5, atol=1e-6):
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=atol, err_msg=key)


# -- the workers -----------------------------------------------------------------------------------------------------
def _barrier(out, name, rank, world):
    """Start the job together (each process imports for seconds), so short timeouts are about peers, not imports."""
    open(os.path.join(out, f"{name}.ready{rank}"), "w").close()
    while not all(os.path.exists(os.path.join(out, f"{name}.ready{r}")) for r in range(world)):
        time.sleep(0.02)


def _worker_jax(out):
    report = {"devices": kdist.list_devices()}
    dp = kdist.DataParallel()
    kdist.set_distribution(dp)
    model = _model()
    history = _fit(model, callbacks=[kshim.callbacks.ModelCheckpoint(os.path.join(out, "ckpt.keras"))])
    np.savez(os.path.join(out, "main.npz"), **_results(model, history))
    value = model.trainable_variables[0].value
    report["weights_on"] = len(value.sharding.device_set)
    report["weights_replicated"] = bool(value.sharding.is_fully_replicated)
    engine = dp.engine()
    for rows in (16, 11):
        placed = engine.put_batch(np.zeros((rows, 6), "float32"))
        report[f"batch{rows}_shards"] = sorted({tuple(s.data.shape) for s in placed.addressable_shards})
    with kdist.DataParallel(devices=["cpu:1", "cpu:3"]).scope():  # a subset of the devices, as a scope
        report["in_scope"] = kdist.distribution().device_mesh.devices.tolist()
        sub = _model()
        np.savez(os.path.join(out, "subset.npz"), **_results(sub, _fit(sub)))
    report["after_scope_is_previous"] = kdist.distribution() is dp
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f)


def _worker_jax_hosts(out):
    """One of 2 processes with 2 CPU devices each: a multi-host job through initialize()."""
    pid = int(os.environ["KERAS_DISTRIBUTION_PROCESS_ID"])
    _barrier(out, "hosts", pid, 2)
    kdist.initialize(timeout=60)  # the address, count and id come from KERAS_DISTRIBUTION_* variables
    report = {"devices": kdist.list_devices(), "process": kdist.process_id(), "processes": kdist.num_processes()}
    kdist.set_distribution(kdist.DataParallel())
    model = _model()
    mine = os.path.join(out, f"host{pid}")
    history = _fit(model, callbacks=[kshim.callbacks.ModelCheckpoint(os.path.join(mine, "ckpt.keras"))], verbose=2)
    np.savez(os.path.join(out, f"host{pid}.npz"), **_results(model, history))
    with open(os.path.join(out, f"host{pid}.json"), "w") as f:
        json.dump(report, f)


def _worker_torch(out):
    world = int(os.environ["WORLD_SIZE"])
    _barrier(out, "main", int(os.environ["RANK"]), world)
    kdist.initialize(timeout=60)
    rank = kdist.process_id()
    report = {"devices": kdist.list_devices(), "rank": rank, "world": kdist.num_processes()}
    dp = kdist.DataParallel()
    kdist.set_distribution(dp)
    mine = os.path.join(out, f"r{rank}")
    model = _model()
    callbacks = [kshim.callbacks.ModelCheckpoint(os.path.join(mine, "ckpt.keras")),
                 kshim.callbacks.BackupAndRestore(os.path.join(mine, "backup"), delete_checkpoint=False)]
    history = _fit(model, callbacks=callbacks, verbose=1)
    np.savez(os.path.join(out, f"rank{rank}.npz"), **_results(model, history))
    engine = dp.engine()
    batch = np.arange(16 * 6, dtype="float32").reshape(16, 6)
    report["shard16_rows"] = kshim.ops.convert_to_numpy(engine.put_batch(batch))[:, 0].tolist()
    report["shard11_rows"] = len(kshim.ops.convert_to_numpy(engine.put_batch(batch[:11])))
    try:  # refused before any collective, on every process
        _fit(_model(loss=kshim.losses.SparseCategoricalCrossentropy(reduction="sum")))
    except ValueError as e:
        report["sum_error"] = str(e)
    with open(os.path.join(out, f"report{rank}.json"), "w") as f:
        json.dump(report, f)
    sys.stdout.flush()
    if rank != 0:
        os._exit(0)  # a peer that exits early: process 0's next collective must fail, not hang
    try:
        _fit(_model())
        report["peer_exit_error"] = None
    except RuntimeError as e:
        report["peer_exit_error"] = str(e)
    with open(os.path.join(out, f"report{rank}.json"), "w") as f:
        json.dump(report, f)
    sys.stdout.flush()
    os._exit(0)  # the process group is broken: skip its teardown


def _worker_torch_hang(out):
    rank = int(os.environ["RANK"])
    _barrier(out, "hang", rank, int(os.environ["WORLD_SIZE"]))
    kdist.initialize(timeout=3)
    kdist.set_distribution(kdist.DataParallel())
    if rank != 0:
        time.sleep(120)  # alive but silent; the test ends it once process 0 has given up
        return
    try:
        _fit(_model())
        error = None
    except RuntimeError as e:
        error = str(e)
    with open(os.path.join(out, "hang0.json"), "w") as f:
        json.dump({"error": error}, f)
    sys.stdout.flush()
    os._exit(0)  # after a timed-out collective, gloo's threads may abort a normal interpreter exit


# -- launching -------------------------------------------------------------------------------------------------------
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "RANK", "WORLD_SIZE", "LOCAL_RANK")
           and not k.startswith("KERAS_DISTRIBUTION_")}
    env.update(KSHIM_BACKEND=BACKEND, PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""), **extra)
    return env


def _spawn(mode, out, **env):
    with open(os.path.join(out, f"{mode}-{env.get('RANK', 0)}.log"), "w") as log:
        return subprocess.Popen([sys.executable, HERE, mode, out], env=_env(**env), stdout=log,
                                stderr=subprocess.STDOUT, cwd=ROOT)


def _log(out, mode, rank=0):
    with open(os.path.join(out, f"{mode}-{rank}.log")) as f:
        return f.read()


def _wait(proc, out, mode, rank=0, timeout=240):
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the {mode} worker (rank {rank}) hung:\n{_log(out, mode, rank)[-3000:]}") from None
    assert code == 0, f"the {mode} worker (rank {rank}) failed:\n{_log(out, mode, rank)[-3000:]}"


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory, request):
    if BACKEND != "jax":
        pytest.skip("the jax data-parallel path runs in the jax pass")
    out = str(tmp_path_factory.mktemp("dist_jax"))
    procs = [("jax", 0, _spawn("jax", out, XLA_FLAGS=f"--xla_force_host_platform_device_count={N_DEVICES}"))]
    hosts = dict(XLA_FLAGS="--xla_force_host_platform_device_count=2", KERAS_DISTRIBUTION_NUM_PROCESSES="2",
                 KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{_free_port()}")
    procs += [("jax_hosts", r, _spawn("jax_hosts", out, RANK=str(r), KERAS_DISTRIBUTION_PROCESS_ID=str(r), **hosts))
              for r in range(2)]
    try:
        request.getfixturevalue("reference")  # computed here while the workers run
        for mode, rank, proc in procs:
            _wait(proc, out, mode, rank)
    finally:
        for _, _, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    for r in range(2):
        with open(os.path.join(out, f"host{r}.json")) as f:
            report[f"host{r}"] = json.load(f)
    return out, report


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory, request):
    if BACKEND != "torch":
        pytest.skip("the torch data-parallel path runs in the torch pass")
    out = str(tmp_path_factory.mktemp("dist_torch"))
    port, hang_port = _free_port(), _free_port()
    common = dict(WORLD_SIZE=str(N_PROCESSES), MASTER_ADDR="127.0.0.1")
    main = [_spawn("torch", out, RANK=str(r), LOCAL_RANK=str(r), MASTER_PORT=str(port), **common)
            for r in range(N_PROCESSES)]
    hang = [_spawn("torch_hang", out, RANK=str(r), LOCAL_RANK=str(r), MASTER_PORT=str(hang_port), **common)
            for r in range(N_PROCESSES)]
    try:
        request.getfixturevalue("reference")  # computed here while the workers run
        for r, p in enumerate(main):
            _wait(p, out, "torch", r)
        _wait(hang[0], out, "torch_hang", 0)
    finally:
        for p in main + hang:
            if p.poll() is None:
                p.kill()
                p.wait()
    reports = []
    for r in range(N_PROCESSES):
        with open(os.path.join(out, f"report{r}.json")) as f:
            reports.append(json.load(f))
    with open(os.path.join(out, "hang0.json")) as f:
        reports.append(json.load(f))
    return out, reports


# -- jax -------------------------------------------------------------------------------------------------------------
def test_jax_data_parallel_matches_one_device(jax_run, reference):
    out, report = jax_run
    assert report["devices"] == [f"cpu:{i}" for i in range(N_DEVICES)]
    got = dict(np.load(os.path.join(out, "main.npz")))
    _assert_same(got, reference)
    assert len(got["history.loss"]) == 3 and 0.0 < got["history.accuracy"][-1] <= 1.0


def test_jax_batches_are_split_and_weights_replicated(jax_run):
    _, report = jax_run
    assert report["batch16_shards"] == [[4, 6]]  # 16 rows over 4 devices
    assert report["batch11_shards"] == [[11, 6]]  # 11 rows: whole on every device
    assert report["weights_on"] == N_DEVICES and report["weights_replicated"]


def test_jax_device_subset_in_a_scope(jax_run, reference):
    out, report = jax_run
    assert report["in_scope"] == ["cpu:1", "cpu:3"]
    assert report["after_scope_is_previous"]
    _assert_same(dict(np.load(os.path.join(out, "subset.npz"))), reference)


def test_jax_multi_host_job_matches_one_device(jax_run, reference):
    out, report = jax_run
    assert [report[f"host{r}"]["process"] for r in range(2)] == [0, 1]
    assert report["host1"]["processes"] == 2 and len(report["host0"]["devices"]) == 4  # the job's global devices
    for r in range(2):  # both processes log the global metrics and hold the global predictions
        _assert_same(dict(np.load(os.path.join(out, f"host{r}.npz"))), reference)
    assert "Epoch 1/3" in _log(out, "jax_hosts", 0) and "Epoch" not in _log(out, "jax_hosts", 1)
    assert os.path.exists(os.path.join(out, "host0", "ckpt.keras")) and not os.path.exists(os.path.join(out, "host1"))


def test_jax_checkpoint_from_four_devices_loads_on_one(jax_run):
    out, _ = jax_run
    kdist.set_distribution(None)
    restored = kshim.models.load_model(os.path.join(out, "ckpt.keras"))
    want = np.load(os.path.join(out, "main.npz"))["predict"]
    np.testing.assert_allclose(restored.predict(_data()[3], batch_size=16, verbose=0), want, rtol=1e-5, atol=1e-6)


# -- torch -----------------------------------------------------------------------------------------------------------
def test_torch_data_parallel_matches_one_device(torch_run, reference):
    out, reports = torch_run
    assert [r["rank"] for r in reports[:2]] == [0, 1] and reports[0]["world"] == 2
    assert reports[0]["devices"] == ["cpu:0", "cpu:1"]
    for rank in range(N_PROCESSES):  # every process logs the global metrics and holds the same weights
        _assert_same(dict(np.load(os.path.join(out, f"rank{rank}.npz"))), reference)


def test_torch_each_process_takes_its_shard(torch_run):
    _, reports = torch_run
    assert reports[0]["shard16_rows"] == [6.0 * i for i in range(8)]
    assert reports[1]["shard16_rows"] == [6.0 * i for i in range(8, 16)]
    assert reports[0]["shard11_rows"] == reports[1]["shard11_rows"] == 11  # not divisible: whole everywhere


def test_torch_only_process_zero_prints_and_writes(torch_run):
    out, _ = torch_run
    assert "Epoch 1/3" in _log(out, "torch", 0) and "val_accuracy" in _log(out, "torch", 0)
    assert "Epoch" not in _log(out, "torch", 1) and "━" not in _log(out, "torch", 1)
    assert os.path.exists(os.path.join(out, "r0", "ckpt.keras"))
    assert os.listdir(os.path.join(out, "r0", "backup"))
    assert not os.path.exists(os.path.join(out, "r1"))


def test_torch_checkpoint_from_two_processes_loads_on_one(torch_run):
    out, _ = torch_run
    kdist.set_distribution(None)
    restored = kshim.models.load_model(os.path.join(out, "r0", "ckpt.keras"))
    want = np.load(os.path.join(out, "rank0.npz"))["predict"]
    np.testing.assert_allclose(restored.predict(_data()[3], batch_size=16, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_torch_sum_reduction_is_refused(torch_run):
    _, reports = torch_run
    for r in reports[:2]:
        assert "reduction='sum'" in r["sum_error"] and "sparse_categorical_crossentropy" in r["sum_error"]


def test_torch_peer_that_exits_fails_the_others(torch_run):
    _, reports = torch_run
    error = reports[0]["peer_exit_error"]
    assert error is not None and "process 0 of 2 failed" in error and "peer process exited" in error


def test_torch_peer_that_hangs_fails_the_others_after_the_timeout(torch_run):
    _, reports = torch_run
    error = reports[2]["error"]
    assert error is not None and "timeout=3" in error and "process 0 of 2 failed" in error


# -- in-process: one device, the API and its errors (both backends) ---------------------------------------------------
@pytest.fixture
def no_distribution():
    kdist.set_distribution(None)
    yield
    kdist.set_distribution(None)


def test_one_device_data_parallel_is_the_plain_step(no_distribution, reference):
    kdist.set_distribution(kdist.DataParallel())
    assert kdist.distribution().num_model_replicas == len(kdist.list_devices()) == 1
    model = _model()
    _assert_same(_results(model, _fit(model)), reference)


def test_scope_restores_the_previous_distribution(no_distribution):
    outer = kdist.DataParallel()
    kdist.set_distribution(outer)
    inner = kdist.DataParallel(device_mesh=kdist.DeviceMesh((1,), ["data"]))
    with inner.scope() as current:
        assert kdist.distribution() is inner is current and inner.batch_dim_name == "data"
    assert kdist.distribution() is outer


def test_devices_and_processes_without_a_job(no_distribution):
    devices = kdist.list_devices("cpu")
    assert devices[0] == "cpu:0" and kdist.get_device_count("cpu") == len(devices)
    assert kdist.list_devices("tpu") == [] and kdist.process_id() == 0 and kdist.num_processes() == 1
    mesh = kdist.DeviceMesh([1], "batch", ["CPU:0"])
    assert mesh.shape == (1,) and mesh.axis_names == ["batch"] and mesh.devices.tolist() == ["cpu:0"]


@pytest.mark.parametrize("make, error, words", [
    (lambda: kdist.DeviceMesh((2,), ["batch"], ["cpu:0", "cpu:7"]), ValueError, ["unknown device", "cpu:7"]),
    (lambda: kdist.DeviceMesh((3,), ["batch"], ["cpu:0"]), ValueError, ["holds 3 devices", "shape=(3,)"]),
    (lambda: kdist.DeviceMesh((0,), ["batch"]), ValueError, ["positive integers", "shape=(0,)"]),
    (lambda: kdist.DeviceMesh((1,), ["batch", "model"]), ValueError, ["same length", "axis_names"]),
    (lambda: kdist.DeviceMesh((1,), ["batch"], ["cpu:0", "cpu:0"]), ValueError, ["more than once", "cpu:0"]),
    (lambda: kdist.DeviceMesh((1,), ["batch"], ["npu:0"]), ValueError, ["'<type>:<id>'", "npu:0"]),
    (lambda: kdist.DataParallel(devices=["gpu:0"]), ValueError, ["unknown device", "gpu:0"]),
    (lambda: kdist.DataParallel(devices=[]), ValueError, ["must not be empty", "devices=[]"]),
    (lambda: kdist.DataParallel(device_mesh="batch"), ValueError, ["DeviceMesh", "device_mesh='batch'"]),
    (lambda: kdist.DataParallel(kdist.DeviceMesh((1,), ["b"]), ["cpu:0"]), ValueError, ["not both"]),
    (lambda: kdist.set_distribution("data"), TypeError, ["Distribution", "'data'"]),
    (lambda: kdist.list_devices("xpu"), ValueError, ["device_type", "'xpu'"]),
    (lambda: kdist.initialize(num_processes=0), ValueError, ["num_processes", "num_processes=0"]),
    (lambda: kdist.initialize(num_processes=2, process_id=2), ValueError, ["below", "process_id=2"]),
    (lambda: kdist.initialize(timeout=-1), ValueError, ["timeout", "timeout=-1"]),
    (lambda: kdist.ModelParallel, AttributeError, ["data only", "ModelParallel"]),
])
def test_api_errors_name_the_argument(no_distribution, make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)
    assert kdist.distribution() is None


def _main(mode, out):
    {"jax": _worker_jax, "jax_hosts": _worker_jax_hosts, "torch": _worker_torch,
     "torch_hang": _worker_torch_hang}[mode](out)


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
