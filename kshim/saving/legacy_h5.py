"""Keras 2 (and Keras 3 "legacy") ``.h5`` files: whole models and weights.

A whole-model ``.h5`` file keeps the model's JSON config in the root attribute ``model_config``, the weights in
``model_weights/<layer name>/`` (the attribute ``weight_names`` lists each layer's weights in order) and the
compile arguments in ``training_config``. kshim rebuilds the model when every layer in it is one kshim has, loads
its weights by layer name and compiles it when it can; optimizer state is not restored from ``.h5`` files.
A weights-only ``.h5`` file has ``layer_names`` at its root; its layers are matched in order to the model's layers
that have weights, as Keras 2 does.
"""

import json
import os
import warnings

import numpy as np

from kshim.registry import loading_scope
from kshim.saving import archive, h5_store
from kshim.saving.compile_config import compile_args_from_config
from kshim.serialization import deserialize_keras_object

_CONVERT_HINT = (
    "To convert the file, load it with Keras 3 (which reads Keras 2 .h5 files): "
    "`keras.models.load_model('model.h5').save('model.keras')`; or, in TensorFlow 2 / Keras 2, rebuild the model "
    "and `model.save_weights(...)`, then load the weights into the same model built with kshim."
)


def is_legacy_weights(h5file):
    return "layer_names" in h5file.attrs or "model_weights" in h5file


def _attr_text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _attr_list(group, name):
    values = group.attrs.get(name)
    if values is None:
        return []
    return [_attr_text(v) for v in np.asarray(values).tolist()]


def _keras2_node_to_keras3(node):
    """A Keras 2 inbound node ``[[name, node_index, tensor_index, kwargs], ...]`` as Keras 3's ``{args, kwargs}``."""
    if isinstance(node, dict):
        return node
    tensors, kwargs = [], {}
    for item in node:
        name, node_index, tensor_index = item[0], item[1], item[2]
        if len(item) > 3 and item[3]:
            kwargs.update(item[3])
        tensors.append({"class_name": "__keras_tensor__",
                        "config": {"shape": None, "dtype": None, "keras_history": [name, node_index, tensor_index]}})
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


def _standardize_config(config):
    """A Keras 2 model config brought to the Keras 3 shape kshim's `from_config` reads."""
    config = dict(config)
    if config.get("class_name") == "Model":
        config["class_name"] = "Functional"
    inner = config.get("config") or {}
    inner = {"layers": inner} if isinstance(inner, list) else dict(inner)  # Keras <= 2.2 wrote a bare list
    if config.get("class_name") == "Functional":
        layers = []
        for layer in inner.get("layers", []):
            layer = dict(layer)
            layer["inbound_nodes"] = [_keras2_node_to_keras3(n) for n in layer.get("inbound_nodes", [])]
            if layer.get("class_name") in ("Model", "Functional", "Sequential"):
                layer = {**_standardize_config(layer), "name": layer.get("name"),
                         "inbound_nodes": layer["inbound_nodes"]}
            layers.append(layer)
        inner["layers"] = layers
    elif config.get("class_name") == "Sequential":
        inner["layers"] = [_standardize_config(l) if l.get("class_name") in ("Model", "Functional", "Sequential")
                           else l for l in inner.get("layers", [])]
    config["config"] = inner
    return config


def load_legacy_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a whole-model ``.h5`` file (see the module doc)."""
    with h5_store.open_checked(filepath, filepath) as f:
        if "model_config" not in f.attrs:
            if is_legacy_weights(f) or "vars" in f or "layers" in f:
                raise ValueError(f"load_model: '{filepath}' holds weights only, not a model. Build the model in "
                                 "code, then call `model.load_weights(path)`.")
            raise ValueError(f"load_model: '{filepath}' is an HDF5 file but not a Keras model file.")
        config = archive.parse_config(_attr_text(f.attrs["model_config"]), filepath, "the model_config attribute")
        with loading_scope(custom_objects, safe_mode, False), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Keras 2 configs use batch_input_shape
            try:
                model = deserialize_keras_object(_standardize_config(config), custom_objects)
            except (ValueError, TypeError, KeyError) as e:
                raise ValueError(f"Cannot load the Keras 2 .h5 file '{filepath}': {e}. {_CONVERT_HINT}") from e
            except RecursionError:
                raise archive.too_deep(filepath, "the model_config attribute") from None
        group = f["model_weights"] if "model_weights" in f else f
        _load_by_name(model, group, filepath)
        if compile and "training_config" in f.attrs:
            _compile_from_training_config(model, _attr_text(f.attrs["training_config"]), filepath, custom_objects)
    return model


def _layer_values(group, layer_name, where):
    """The datasets of one layer's weights, not yet read: their shapes are checked against the model first."""
    if layer_name not in group or not isinstance(group[layer_name], h5_store.h5py.Group):
        raise ValueError(f"{where}: the file lists layer '{layer_name}' but has no group for it.")
    sub = group[layer_name]
    out = []
    for name in _attr_list(sub, "weight_names"):
        dataset = sub.get(name)
        if not isinstance(dataset, h5_store.h5py.Dataset):
            raise ValueError(f"{where}: layer '{layer_name}': weight '{name}' is not a dataset in the file.")
        out.append(dataset)
    return out


def _assign(layer, values, where, skip_mismatch):
    variables = layer.weights
    expected = [tuple(v.shape) for v in variables]
    got = [tuple(v.shape) for v in values]
    if expected != got:
        message = (f"{where}: layer '{layer.name}' has {len(expected)} weight(s) of shapes {expected}, "
                   f"but the file has {len(got)} of shapes {got}")
        if skip_mismatch:
            warnings.warn(message + "; skipped (skip_mismatch=True).", stacklevel=3)
            return None
        raise ValueError(message + ".")
    return list(zip(variables, values))


def _load_by_name(model, group, filepath, skip_mismatch=False):
    names = set(_attr_list(group, "layer_names"))
    plan = []
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in names:
            raise ValueError(f"'{filepath}': the file has no weights for layer '{layer.name}'.")
        plan += _assign(layer, _layer_values(group, layer.name, filepath), f"'{filepath}'", skip_mismatch) or []
    for variable, dataset in plan:
        variable.assign(h5_store.read_dataset(dataset))


def load_legacy_weights(model, h5file, filepath, skip_mismatch=False):
    """Keras 2 ``save_weights`` layout: the file's layers with weights, in order, onto the model's."""
    group = h5file["model_weights"] if "model_weights" in h5file else h5file
    file_layers = [n for n in _attr_list(group, "layer_names") if _attr_list(group[n], "weight_names")]
    model_layers = [l for l in model.layers if l.weights]
    if len(file_layers) != len(model_layers):
        raise ValueError(f"load_weights: '{filepath}' has weights for {len(file_layers)} layer(s) {file_layers}, "
                         f"but the model has {len(model_layers)} layer(s) with weights "
                         f"{[l.name for l in model_layers]}.")
    plan = []
    for layer, name in zip(model_layers, file_layers):
        plan += _assign(layer, _layer_values(group, name, filepath), f"load_weights: '{filepath}'",
                        skip_mismatch) or []
    for variable, dataset in plan:
        variable.assign(h5_store.read_dataset(dataset))


def _compile_from_training_config(model, text, filepath, custom_objects):
    try:
        training = json.loads(text)
        optimizer = training.get("optimizer_config")
        config = {"optimizer": {"module": "keras.optimizers", **optimizer} if optimizer else None,
                  "loss": training.get("loss"), "loss_weights": training.get("loss_weights"),
                  "metrics": _legacy_metrics(training.get("metrics")),
                  "weighted_metrics": _legacy_metrics(training.get("weighted_metrics"))}
        model.compile(**compile_args_from_config(config, custom_objects))
    except Exception as e:  # the model itself loaded; compiling is a convenience
        warnings.warn(f"'{filepath}': the model was loaded but not compiled; its training config could not be "
                      f"used ({type(e).__name__}: {e}). Call `model.compile(...)` yourself.", stacklevel=3)


def _legacy_metrics(metrics):
    """Keras 2 wrote metrics as names or as ``MeanMetricWrapper`` configs; keep what maps to a name."""
    if metrics is None:
        return None
    if isinstance(metrics, dict) and "class_name" not in metrics:
        return {k: _legacy_metrics(v) for k, v in metrics.items()}
    if isinstance(metrics, list):
        out = []
        for m in metrics:
            if isinstance(m, list):
                out.append(_legacy_metrics(m))
            elif isinstance(m, dict) and m.get("class_name") == "MeanMetricWrapper":
                out.append(m.get("config", {}).get("fn") or m.get("config", {}).get("name"))
            else:
                out.append(m)
        return out
    return metrics


def save_legacy_model(model, filepath, overwrite=True, keras_version="3.0.0", backend="", compile_config=None):
    """Write ``model`` as a legacy whole-model ``.h5`` file, as Keras 3 does for ``model.save("m.h5")``: the root
    attributes ``model_config`` (``{"class_name", "config"}`` as JSON), ``keras_version``, ``backend`` and, for a
    compiled model, ``training_config``; ``model_weights`` with ``layer_names`` and one group per layer (sorted by
    name) whose ``weight_names`` list its weights in order. Optimizer state is not written (kshim does not read it
    back from ``.h5`` files either)."""
    h5py = h5_store.require_h5py()
    if not overwrite and os.path.exists(filepath):
        raise ValueError(f"save: '{filepath}' exists and overwrite=False.")
    model_config = json.dumps({"class_name": type(model).__name__, "config": model.get_config()})
    training = None
    if compile_config:
        training = dict(compile_config)
        optimizer = training.pop("optimizer", None)
        if isinstance(optimizer, dict):
            training["optimizer_config"] = {"class_name": optimizer.get("class_name"),
                                            "config": optimizer.get("config", {})}
        training = json.dumps(training)
    with h5py.File(filepath, "w") as f:
        f.attrs["keras_version"] = keras_version
        f.attrs["backend"] = backend
        f.attrs["model_config"] = model_config
        if training is not None:
            f.attrs["training_config"] = training
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([layer.name.encode("utf8") for layer in model.layers])
        group.attrs["backend"] = backend.encode("utf8")
        group.attrs["keras_version"] = keras_version.encode("utf8")
        for layer in sorted(model.layers, key=lambda l: l.name):
            sub = group.create_group(layer.name)
            names, seen = [], set()
            for i, variable in enumerate(layer.weights):
                name = f"{layer.name}/{variable.name}"
                if name in seen:  # two sublayers' weights of the same name
                    name = f"{name}_{i}"
                seen.add(name)
                names.append(name)
                sub.create_dataset(name, data=np.asarray(variable.numpy()))
            sub.attrs["weight_names"] = np.array([n.encode("utf8") for n in names], dtype="S")
