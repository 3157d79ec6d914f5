"""`KerasFileEditor`: inspect and edit the weights of a ``.keras`` or ``.weights.h5`` file, and save them as a
``.weights.h5`` file (Keras 3's class, same methods and layout).

The file is read once, checked as every file kshim loads is (`h5_store.open_checked`: no links, no external or
virtual data, sizes bounded), into a nested dict of numpy arrays: one entry per object path (``layers/dense``),
holding the object's variables by their saved names (``"0"``, ``"1"``, ...). Edits change only that dict; `save`
writes it atomically, so a failed save leaves any existing file (the original included) as it was.
"""

import collections
import io
import os

import numpy as np

from kshim.config import print_msg
from kshim.saving import atomic, h5_store
from kshim.saving.archive import parse_config
from kshim.saving.keras_file import (CONFIG_FILENAME, METADATA_FILENAME, WEIGHTS_FILENAME, _open_zip, _read_member,
                                     weights_bytes)


def _extract(group, metadata, path=""):
    """The weights under an HDF5 group as a nested OrderedDict (Keras 3's reading: a group with a ``vars``
    subgroup stands for that subgroup's variables; empty groups are left out); group attributes go to
    ``metadata[path]``."""
    attrs = dict(group.attrs.items())
    if attrs:
        metadata[path] = attrs
    out = collections.OrderedDict()
    for key in group.keys():
        value = group[key]
        inner = f"{path}/{key}"
        if hasattr(value, "keys"):  # a group
            if len(value) == 0:
                continue
            if "vars" in value.keys():
                value = value["vars"]
                if len(value) == 0:
                    continue
            out[key] = _extract(value, metadata, inner)
        else:
            out[key] = h5_store.read_dataset(value)
    return out


def _check_weights(where, weights):
    if not isinstance(weights, dict):
        raise ValueError(f"KerasFileEditor.{where}: `weights` must be a dict of weight names (usually '0', '1', ...) "
                         f"to numpy arrays. Received: weights of type {type(weights).__name__}")
    return {str(k): np.asarray(v) for k, v in weights.items()}


def _write(h5file, tree, path=""):
    """Keras 3's layout: an object's arrays in ``<path>/vars``, its sub-objects in ``<path>/<name>``."""
    arrays = {k: v for k, v in tree.items() if not isinstance(v, dict)}
    for name, value in tree.items():
        if isinstance(value, dict) and value:
            _write(h5file, value, f"{path}/{name}" if path else name)
    if arrays:
        group = h5file.require_group(f"{path}/vars" if path else "vars")
        for name, value in arrays.items():
            group.create_dataset(name, data=np.asarray(value))


class KerasFileEditor:
    """``KerasFileEditor("model.keras")`` (or ``"model.weights.h5"``): `summary`, `compare` with a model,
    `rename_object`, `delete_object`, `add_object`, `delete_weight`, `add_weights`, then `save` (or
    `resave_weights`) to a ``.weights.h5`` file. ``weights_dict`` holds the weights, ``object_metadata`` the
    attributes of their groups, and for a ``.keras`` file ``config`` and ``metadata`` its JSON documents."""

    def __init__(self, filepath):
        self.filepath = os.fspath(filepath)
        self.config = self.metadata = None
        self.model = None
        if self.filepath.endswith(".keras"):
            atomic.check_readable(self.filepath, "KerasFileEditor")
            with _open_zip(self.filepath) as zf:
                data = _read_member(zf, WEIGHTS_FILENAME, self.filepath)
                self.config = parse_config(_read_member(zf, CONFIG_FILENAME, self.filepath), self.filepath)
                self.metadata = parse_config(_read_member(zf, METADATA_FILENAME, self.filepath), self.filepath,
                                             what=METADATA_FILENAME)
            source = io.BytesIO(data)
        elif self.filepath.endswith(".weights.h5"):
            source = atomic.check_readable(self.filepath, "KerasFileEditor")
        else:
            raise ValueError("KerasFileEditor: `filepath` must end in `.keras` or `.weights.h5`. Received: "
                             f"filepath='{self.filepath}'")
        self.object_metadata = {}
        with h5_store.open_checked(source, self.filepath) as f:
            self.weights_dict = _extract(f, self.object_metadata)
        print_msg(f"Keras model file '{self.filepath}'")
        if self.metadata is not None:
            print_msg(f"Saved with Keras {self.metadata.get('keras_version')} - date: "
                      f"{self.metadata.get('date_saved')}")

    # -- inspecting ------------------------------------------------------------------------------------------------
    def summary(self):
        """Print the tree of objects and weights (shapes and dtypes)."""
        print_msg("Weights structure")
        self._print_tree(self.weights_dict, prefix="  ", path="")

    def _print_tree(self, tree, prefix, path, first=True):
        items = list(tree.items())
        for i, (key, value) in enumerate(items):
            inner = f"{path}/{key}"
            last = i == len(items) - 1
            connector = "> " if first else ("└─ " if last else "├─ ")
            first = False
            if isinstance(value, dict):
                name = self.object_metadata.get(inner, {}).get("name")
                print_msg(f"{prefix}{connector}{key}" + (f" ('{name}')" if name is not None else ""))
                self._print_tree(value, prefix + ("    " if last else "│   "), inner, first=first)
            else:
                print_msg(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")

    def compare(self, reference_model):
        """List every object or weight that the file and ``reference_model`` do not share, and every shape that
        differs. Returns ``{"status": "success" | "error", "error_count": n, "match_count": m}``; ``m`` counts each
        matching weight once (Keras 3's count adds a nested object's running total again, so it is larger for
        files with several layers)."""
        reference = {}
        with h5_store.open_checked(io.BytesIO(weights_bytes(reference_model)), "reference model") as f:
            reference = _extract(f, {})
        print_msg("Running comparison")
        checked = set()
        errors, matches = self._compare(self.weights_dict, reference, "", "saved file", "reference model", checked)
        errors += self._compare(reference, self.weights_dict, "", "reference model", "saved file", checked)[0]
        print_msg("─────────────────────")
        if errors == 0:
            print_msg("Comparison successful: saved file is compatible with the reference model")
            print_msg(f"    Found {matches} matching weight{'' if matches == 1 else 's'}")
        else:
            print_msg(f"Found {errors} error{'' if errors == 1 else 's'}: saved file is not compatible with the "
                      "reference model")
        return {"status": "success" if errors == 0 else "error", "error_count": errors, "match_count": matches}

    def _compare(self, target, reference, path, target_name, ref_name, checked):
        errors = matches = 0
        for key, ref in reference.items():
            inner = f"{path}/{key}"
            if inner in checked:
                continue
            if key not in target:
                errors += 1
                checked.add(inner)
                if isinstance(ref, dict):
                    print_msg(f"...Object {inner} present in {ref_name}, missing from {target_name}")
                    print_msg(f"    In {ref_name}, {inner} contains the following keys: {list(ref)}")
                else:
                    print_msg(f"...Weight {inner} present in {ref_name}, missing from {target_name}")
            elif isinstance(ref, dict):
                e, m = self._compare(target[key], ref, inner, target_name, ref_name, checked)
                errors, matches = errors + e, matches + m
            elif tuple(np.shape(target[key])) != tuple(np.shape(ref)):
                errors += 1
                checked.add(inner)
                print_msg(f"...Weight shape mismatch for {inner}\n    In {ref_name}: shape={np.shape(ref)}\n"
                          f"    In {target_name}: shape={np.shape(target[key])}")
            else:
                matches += 1
        return errors, matches

    # -- editing ---------------------------------------------------------------------------------------------------
    def _edit(self, where, edit, source, target=None):
        """Apply ``edit(parent_dict, key, target)`` to the object ``source``: a path (``layers/dense``) or a
        name that must occur exactly once in the tree."""
        if target is not None and "/" in target:
            raise ValueError(f"KerasFileEditor.{where}: the new name must be a name, not a path. Received: "
                             f"'{target}'")
        if "/" in source:
            parts = source.split("/")
            parent = self.weights_dict
            for part in parts[:-1]:
                if not isinstance(parent.get(part), dict):
                    raise ValueError(f"KerasFileEditor.{where}: the path '{source}' is not in the file.")
                parent = parent[part]
            if parts[-1] not in parent:
                raise ValueError(f"KerasFileEditor.{where}: the path '{source}' is not in the file.")
            edit(parent, parts[-1], target)
            return
        parents = []

        def find(tree):
            for value in tree.values():
                if isinstance(value, dict):
                    find(value)
            if source in tree:
                parents.append(tree)

        find(self.weights_dict)
        if len(parents) > 1:
            raise ValueError(f"KerasFileEditor.{where}: the name '{source}' occurs {len(parents)} times in the "
                             "file; pass its full path (see `summary()`).")
        if not parents:
            raise ValueError(f"KerasFileEditor.{where}: the name '{source}' is not in the file; `summary()` lists "
                             "its objects.")
        edit(parents[0], source, target)

    def rename_object(self, object_name, new_name):
        """Rename an object (``"dense_2"`` or ``"layers/dense_2"``) to ``new_name``."""
        def rename(parent, key, target):
            parent[target] = parent.pop(key)

        self._edit("rename_object", rename, object_name, new_name)

    def delete_object(self, object_name):
        """Remove an object (``"dense_2"`` or ``"layers/dense_2"``) and its weights."""
        self._edit("delete_object", lambda parent, key, target: parent.pop(key), object_name)

    def add_object(self, object_path, weights):
        """Add the object ``object_path`` (``"layers/dense_3"``) holding ``weights`` ({"0": array, ...})."""
        weights = _check_weights("add_object", weights)
        parts = object_path.split("/")
        parent = self.weights_dict
        for part in parts[:-1]:
            if not isinstance(parent.get(part), dict):
                raise ValueError(f"KerasFileEditor.add_object: the path '{'/'.join(parts[:-1])}' is not in the "
                                 "file.")
            parent = parent[part]
        parent[parts[-1]] = weights

    def delete_weight(self, object_name, weight_name):
        """Remove the weight ``weight_name`` (``"0"``) of an object."""
        def delete(parent, key, target):
            if weight_name not in parent[key]:
                raise ValueError(f"KerasFileEditor.delete_weight: the object '{object_name}' has no weight "
                                 f"'{weight_name}'. Its weights: {list(parent[key])}")
            parent[key].pop(weight_name)

        self._edit("delete_weight", delete, object_name)

    def add_weights(self, object_name, weights):
        """Add ``weights`` ({"2": array, ...}) to an existing object."""
        weights = _check_weights("add_weights", weights)
        self._edit("add_weights", lambda parent, key, target: parent[key].update(weights), object_name)

    # -- saving ----------------------------------------------------------------------------------------------------
    def save(self, filepath):
        """Write the (edited) weights to ``filepath``, a ``.weights.h5`` file, atomically."""
        filepath = os.fspath(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError("KerasFileEditor.save: `filepath` must end in `.weights.h5`. Received: "
                             f"filepath='{filepath}'")
        h5_store.require_h5py()
        buffer = io.BytesIO()
        with h5_store.h5py.File(buffer, "w") as f:
            _write(f, self.weights_dict)
        data = buffer.getvalue()
        atomic.atomic_write(filepath, lambda fobj: fobj.write(data))

    def resave_weights(self, filepath):
        """`save` (Keras 3's other name for it)."""
        self.save(filepath)
