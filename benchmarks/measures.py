"""The measures besides training throughput: inference latency, import time and peak memory.

- Latency: ``predict()`` and ``predict_on_batch()`` on a numpy batch of 8 against the hand-written raw forward
  (numpy in, numpy out), and ``model(x)`` on a backend tensor against the raw forward on a tensor (waiting for the
  result on both sides). Median of five rounds of calls.
- Import time: ``python -c "import kshim"`` (with ``KSHIM_BACKEND``) against ``import torch`` / ``import jax`` (and
  ``import keras`` with ``KERAS_BACKEND``), each a fresh interpreter, minus the interpreter's own start-up.
  ``PYTHONDONTWRITEBYTECODE`` is removed from the environment so every run reads cached bytecode.
- Peak memory: the peak resident set (``ru_maxrss``) of a fresh process that builds the workload and trains it
  for one epoch, with kshim, Keras 3 or the hand-written loop. Also reported: the growth of the resident set
  during the fit (peak minus the resident set just before the model is built).
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import time

from benchmarks import models


def per_call(fn, rounds=5, min_time=0.15):
    """Median seconds per call of ``fn`` over ``rounds`` rounds of at least ``min_time`` seconds each, after 10
    warm-up calls (the steady state of a loop: compiled steps and forwards are in place)."""
    for _ in range(10):
        fn()
    n = 1
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(min_time / one))
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def latency(backend, name, keras=None):
    """Seconds per call of the kshim (and Keras) inference paths and the raw forward, batch of 8."""
    import kshim

    x = models.data(name, 8)[0]
    h = models.hand(backend, name)
    xt = h.to_input(x)
    model = models.build(kshim, name)
    kx = kshim.ops.convert_to_tensor(x)
    out = {
        "raw_forward": per_call(lambda: h.predict(x)),
        "raw_call": per_call(lambda: h.call(xt)),
        "kshim_predict": per_call(lambda: model.predict(x, verbose=0)),
        "kshim_predict_on_batch": per_call(lambda: model.predict_on_batch(x)),
        "kshim_call": per_call(lambda: h.sync(model(kx))),
    }
    if keras is not None:
        kmodel = models.build(keras, name)
        kkx = keras.ops.convert_to_tensor(x)
        out["keras_predict"] = per_call(lambda: kmodel.predict(x, verbose=0))
        out["keras_predict_on_batch"] = per_call(lambda: kmodel.predict_on_batch(x))
        out["keras_call"] = per_call(lambda: h.sync(kmodel(kkx)))
    return out


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def _run_seconds(code, env, repeat):
    times = []
    for _ in range(repeat + 1):  # the first run also writes any missing bytecode; it is not counted
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def import_times(backend, repeat=5, with_keras=False):
    """Seconds to import kshim, the framework (and keras), each net of a bare interpreter's start-up."""
    env = _clean_env(KSHIM_BACKEND=backend, KERAS_BACKEND=backend)
    bare = _run_seconds("pass", env, repeat)
    out = {"kshim": _run_seconds("import kshim", env, repeat) - bare,
           "framework": _run_seconds(f"import {backend}", env, repeat) - bare}
    if with_keras:
        out["keras"] = _run_seconds("import keras", env, repeat) - bare
    return out


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_worker(impl, name):
    """Run in a fresh process: build ``name`` with ``impl`` (kshim, keras or hand) and train one epoch."""
    backend = os.environ["KSHIM_BACKEND"]
    batch, n = models.WORKLOADS[name]
    x, y = models.data(name, n)
    if impl == "hand":
        models.hand(backend, "tiny_mlp")  # import the framework before the baseline, as the others do
        before = _rss_mb()
        models.hand(backend, name).fit(x, y, batch, 1)
    else:
        k = __import__(impl)
        models.build(k, "tiny_mlp")
        before = _rss_mb()
        models.build(k, name).fit(x, y, batch_size=batch, epochs=1, verbose=0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": peak, "growth_mb": peak - before}))


def memory(backend, name, impls):
    """``{impl: {"peak_mb", "growth_mb"}}``, each from its own fresh process."""
    out = {}
    for impl in impls:
        env = {**os.environ, "KSHIM_BACKEND": backend, "KERAS_BACKEND": backend}
        res = subprocess.run([sys.executable, "-m", "benchmarks.measures", "memory", impl, name], env=env,
                             check=True, capture_output=True, text=True)
        out[impl] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


if __name__ == "__main__":
    if sys.argv[1] == "memory":
        memory_worker(sys.argv[2], sys.argv[3])
