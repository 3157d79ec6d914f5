"""``--device`` for ``python -m conformance`` and ``python -m benchmarks.run``: which device each backend's worker
process uses, and a clear failure when a GPU is asked for and a backend has none.

kshim places everything on the framework's default device (torch: CUDA when ``torch.cuda.is_available()``; jax:
its first device). ``cuda`` checks, in a process per backend, that the device kshim reports is a GPU; ``cpu``
hides the GPUs from the workers (``CUDA_VISIBLE_DEVICES=""``, ``JAX_PLATFORMS=cpu``); ``auto`` changes nothing.
"""

import os
import subprocess
import sys


class DeviceError(RuntimeError):
    pass


_PROBE = "from kshim.backends import B; print(B.device_name())"


def backend_device(backend, env=None):
    """The device kshim's ``backend`` uses in a fresh process (e.g. "cpu", "cuda:0", "cpu:0", "cuda:0")."""
    env = {**os.environ, **(env or {}), "KSHIM_BACKEND": backend}
    res = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        raise DeviceError(f"the {backend} backend could not start: {res.stderr.strip().splitlines()[-1:]}")
    return res.stdout.strip().splitlines()[-1]


def environment(device, backends):
    """Extra environment variables for the workers of ``backends`` on ``device`` ("auto", "cpu" or "cuda");
    raises DeviceError naming the backend and the device it got when ``cuda`` is not available to it."""
    if device == "auto":
        return {}
    if device == "cpu":
        return {"CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu"}
    if device != "cuda":
        raise DeviceError(f"`--device` must be 'auto', 'cpu' or 'cuda'. Received: device={device!r}")
    for backend in backends:
        got = backend_device(backend)
        if "cuda" not in got and "gpu" not in got.lower():
            raise DeviceError(f"--device cuda: the {backend} backend runs on {got!r} here, not on a GPU (torch: "
                              "torch.cuda.is_available() is False; jax: install jax[cuda12] and check "
                              "jax.devices()). Run on a machine with a CUDA GPU, or use --device cpu.")
    return {}
