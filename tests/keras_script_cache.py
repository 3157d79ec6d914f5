"""Run a test file's Keras 3 side once, in one subprocess with ``KERAS_BACKEND=numpy``, and cache its results.

A test file that compares kshim with Keras 3 through its own script (``python FILE --keras IN.npz OUT.npz``)
calls `keras_results`: Keras 3's numpy backend runs every op without compiling it and imports neither torch nor
jax, and the results are cached on disk under a hash of the file's source and the Keras version, so the jax and
torch sessions of one CI run share one Keras run. ``inputs`` (a function giving ``{name: array}`` for the script,
called only when the cache misses) must be determined by the file's source: they are not part of the key.
"""

import hashlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def keras_results(script, inputs=None, timeout=600):
    """``{name: array}`` from ``script``'s Keras side, or None when Keras 3 is not installed."""
    if importlib.util.find_spec("keras") is None:
        return None
    with open(script, "rb") as f:
        source = f.read()
    key = hashlib.sha256(source + importlib.metadata.version("keras").encode()).hexdigest()[:20]
    name = os.path.splitext(os.path.basename(script))[0]
    cache = os.path.join(tempfile.gettempdir(), f"kshim-keras-{name}-{key}.npz")
    if not os.path.exists(cache):
        part = f"{cache}.{os.getpid()}.part.npz"  # two sessions (one per backend) may compute it at once
        given = f"{cache}.{os.getpid()}.in.npz"
        np.savez(given, **(inputs() if inputs is not None else {}))
        env = dict(os.environ, KERAS_BACKEND="numpy", PYTHONPATH=ROOT, MPLBACKEND="Agg")
        proc = subprocess.run([sys.executable, script, "--keras", given, part], env=env, capture_output=True,
                              text=True, timeout=timeout)
        os.remove(given)
        assert proc.returncode == 0, proc.stderr[-4000:]
        os.replace(part, cache)
    with np.load(cache) as f:
        return {k: f[k] for k in f.files}
