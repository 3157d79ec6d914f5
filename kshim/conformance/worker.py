"""The per-backend half of the user-model check: ``KSHIM_BACKEND=<b> python -m kshim.conformance.worker SPEC OUT``.

For every check in the JSON file ``SPEC`` it builds the user's model from the seed, then records, in this order:

1. ``initial``: every weight as built (compared bit for bit);
2. ``forward``: the output of every layer called during one inference call (``training=False``), in the order the
   calls finish (so a layer inside a nested model comes before the nested model), then the model's output;
3. ``gradients``: the loss and its gradient with respect to each trainable weight (``training=True``), exactly as
   a training step computes them;
4. ``training``: after each of N ``train_on_batch`` steps, the step's loss and every weight.

It writes ``OUT/check_<i>.npz`` (the arrays) and ``OUT/manifest.json`` (per check: the keys in order, the layer of
each key, or the error text). The backend is fixed at import, so the parent runs one worker per backend.
"""

import importlib
import importlib.util
import json
import os
import random
import sys
import time
import traceback

import numpy as np

from kshim import ops
from kshim import optimizers as koptimizers
from kshim import random as krandom
from kshim.layers.layer import Layer
from kshim.utils.naming import reset_names
from kshim.variables import read_values

# An uncompiled model is compiled with these (documented in kshim.conformance.agreement).
DEFAULT_LOSS = "mse"
DEFAULT_LEARNING_RATE = 0.01


def load_callable(target, file=None, where="check"):
    """The object named by ``"package.module:function"`` (the attribute may be dotted). With ``file``, the module is
    loaded from that path instead (a script run as ``__main__``)."""
    if not isinstance(target, str) or target.count(":") != 1:
        raise ValueError(f"{where}: a target must look like 'package.module:function'. Received: {target!r}")
    module_name, attr = target.split(":")
    if file is not None:
        spec = importlib.util.spec_from_file_location("_kshim_check_main", file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(f"{where}: cannot import module {module_name!r} of {target!r} ({exc}). Run from the "
                             "directory that contains it, or add that directory to PYTHONPATH.") from exc
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{where}: module {module_name!r} has no attribute {attr!r}. Received: {target!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{where}: {target!r} is not callable. Received: {type(obj).__name__}")
    return obj


def _numpy(v):
    if isinstance(v, np.ndarray):
        return v.copy()
    if getattr(v, "_kshim_variable", False):
        v = v.value
    return np.array(ops.convert_to_numpy(v), copy=True)  # a copy: a later step may update the buffer in place


def _flatten(value, key, out):
    """Append ``(key, array)`` pairs for a tensor or a nested list/tuple/dict of tensors."""
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _flatten(v, f"{key}[{i}]", out)
    elif isinstance(value, dict):
        for k in sorted(value):
            _flatten(value[k], f"{key}[{k}]", out)
    elif value is not None:
        out.append((key, _numpy(value)))
    return out


def _to_backend(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_to_backend(v) for v in x)
    if isinstance(x, dict):
        return {k: _to_backend(v) for k, v in x.items()}
    arr = np.asarray(x)
    if arr.dtype == np.float64:
        arr = arr.astype("float32")
    return ops.convert_to_tensor(arr)


def _zeros_like_outputs(outputs):
    if isinstance(outputs, (list, tuple)):
        return [_zeros_like_outputs(o) for o in outputs]
    if isinstance(outputs, dict):
        return {k: _zeros_like_outputs(v) for k, v in outputs.items()}
    return np.zeros(_numpy(outputs).shape, "float32")


def _all_layers(model):
    """Every layer reachable from ``model`` (depth first, each once), the model itself excluded."""
    out, seen = [], {id(model)}
    stack = list(reversed(model._sublayers()))
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append(layer)
        stack.extend(reversed(layer._sublayers()))
    return out


class _Recorder:
    """Wraps the ``call`` of each layer for one forward pass and keeps every output, in the order calls finish."""

    def __init__(self, layers):
        self.layers = layers
        self.records = []  # (key, layer name, class name, output)
        self.calls = {}

    def _wrap(self, layer):
        original = layer.call

        def call(*args, **kwargs):
            out = original(*args, **kwargs)
            n = self.calls.get(id(layer), 0) + 1
            self.calls[id(layer)] = n
            key = layer.name if n == 1 else f"{layer.name} (call {n})"
            self.records.append((key, layer.name, type(layer).__name__, out))
            return out

        return call

    def __enter__(self):
        for layer in self.layers:
            object.__setattr__(layer, "call", self._wrap(layer))  # an instance attribute shadows the class's call
        return self

    def __exit__(self, *exc):
        for layer in self.layers:
            if "call" in vars(layer):
                object.__delattr__(layer, "call")


def _perturb_host_random(seed, worker_index):
    """Give each worker a different global numpy/Python random state once the weights exist. kshim's randomness
    (initializers, dropout, shuffling) does not read it; a model that draws from ``np.random`` when called does, and
    would otherwise agree only by coincidence (and not at all once a step is compiled)."""
    mixed = (int(seed) * 1_000_003 + 7_919 * (int(worker_index) + 1)) % (1 << 32)
    np.random.seed(mixed)
    random.seed(mixed)


def run_check(spec, worker_index):
    """Run one check; return ``(entries, arrays)``: the ordered key descriptions and their arrays."""
    build_fn = load_callable(spec["build"], spec.get("build_file"), "check")
    x, y = _load_data(spec)
    reset_names()
    krandom.set_random_seed(int(spec["seed"]))
    model = build_fn()
    if not isinstance(model, Layer) or not hasattr(model, "train_on_batch"):
        raise TypeError(f"check: {spec['build']!r} must return a kshim model. Received: {type(model).__name__}")
    if not model.built:
        model(_to_backend(x))
    entries, arrays = [], []

    def add(kind, key, layer, cls, value, step=None):
        for k, arr in _flatten(value, key, []):
            entries.append({"kind": kind, "key": k, "layer": layer, "class": cls, "step": step})
            arrays.append(arr)

    layer_of = {}  # each weight's innermost layer
    for layer in list(reversed(_all_layers(model))) + [model]:
        for v in layer.weights:
            layer_of.setdefault(id(v), (layer.name, type(layer).__name__))
    for v in model.weights:
        name, cls = layer_of.get(id(v), (v.path.split("/")[0], ""))
        add("initial", v.path, name, cls, v)

    _perturb_host_random(spec["seed"], worker_index)
    xb = _to_backend(x)
    with _Recorder(_all_layers(model)) as rec:
        outputs = model(xb, training=False)
    for key, name, cls, out in rec.records:
        add("forward", key, name, cls, out)
    add("forward", "model output", model.name, type(model).__name__, outputs)

    if y is None:
        y = _zeros_like_outputs(outputs)
    if not model.compiled:
        model.compile(optimizer=koptimizers.SGD(learning_rate=DEFAULT_LEARNING_RATE), loss=DEFAULT_LOSS)
    model._build_for(x, y, where="check", training=True)  # the compiled loss and the optimizer, as fit builds them
    trainable = model.trainable_variables
    (loss, _), grads = model._steps._grad_fn(read_values(trainable), read_values(model.non_trainable_variables),
                                             xb, _to_backend(y), None)
    add("gradients", "loss", model.name, type(model).__name__, loss)
    for v, g in zip(trainable, grads):
        name, cls = layer_of.get(id(v), (v.path.split("/")[0], ""))
        add("gradients", v.path, name, cls, g)

    for step in range(1, int(spec["steps"]) + 1):
        logs = model.train_on_batch(x, y, return_dict=True)
        add("training", "loss", model.name, type(model).__name__, np.float64(logs["loss"]), step)
        for v in model.weights:
            name, cls = layer_of.get(id(v), (v.path.split("/")[0], ""))
            add("training", v.path, name, cls, v, step)
    return entries, arrays


def _load_data(spec):
    if spec.get("data_npz"):
        with np.load(spec["data_npz"], allow_pickle=False) as f:
            flat = {k: f[k] for k in f.files}
        return _unpack(spec["data_layout"]["x"], flat), _unpack(spec["data_layout"]["y"], flat)
    data = load_callable(spec["data"], spec.get("data_file"), "check --data")()
    if isinstance(data, tuple) and len(data) == 2:
        return data
    return data, None


def _unpack(layout, flat):
    """The inverse of `kshim.conformance.agreement.pack`: a layout of npz keys back to arrays."""
    if layout is None:
        return None
    if isinstance(layout, str):
        return flat[layout]
    if isinstance(layout, dict):
        return {k: _unpack(v, flat) for k, v in layout.items()}
    return [_unpack(v, flat) for v in layout]


def _error_text(exc):
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" [at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name}]" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        raise SystemExit("usage: python -m kshim.conformance.worker SPEC.json OUT_DIR")
    with open(argv[0]) as f:
        spec = json.load(f)
    for p in reversed(spec.get("paths", [])):
        if p not in sys.path:
            sys.path.insert(0, p)
    manifest = {"checks": []}
    for i, check in enumerate(spec["checks"]):
        t0 = time.perf_counter()
        try:
            entries, arrays = run_check(check, spec.get("worker_index", 0))
            np.savez(os.path.join(argv[1], f"check_{i}.npz"), **{f"a{j}": a for j, a in enumerate(arrays)})
            manifest["checks"].append({"entries": entries, "seconds": time.perf_counter() - t0})
        except Exception as exc:  # noqa: BLE001 - reported as this check's failure
            manifest["checks"].append({"error": _error_text(exc), "seconds": time.perf_counter() - t0})
    with open(os.path.join(argv[1], "manifest.json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main()
