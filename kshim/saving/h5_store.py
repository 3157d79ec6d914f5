"""Variables to and from an HDF5 file in Keras 3's layout (see `object_tree` for the paths).

Reading checks everything before it assigns anything: a file that does not fit the model (a missing group, a
wrong number of variables, a wrong shape) raises a ValueError naming the file, the object and the problem, and
leaves every variable as it was.
"""

import warnings

import numpy as np

from kshim import ops
from kshim.saving.object_tree import walk

try:
    import h5py
except ImportError:  # pragma: no cover - h5py is a dependency of saving only
    h5py = None


def require_h5py():
    if h5py is None:
        raise ImportError("kshim.saving: h5py is required to read and write weights files. "
                          "Install it with `pip install h5py`.")
    return h5py


def _custom_hook(entry, name):
    """A layer's own ``save_own_variables``/``load_own_variables`` (Keras 3's hooks), when it defines one."""
    return getattr(entry.obj, name, None) if entry.kind == "layer" else None


def write_state(model, h5file, include_optimizer=True):
    """Write every entry of ``model`` into the open, writable h5py ``h5file``."""
    for entry in walk(model, include_optimizer=include_optimizer):
        save_own = _custom_hook(entry, "save_own_variables")
        if save_own is not None:
            store = {}
            save_own(store)
            items = [(str(k), np.asarray(v.numpy() if hasattr(v, "numpy") else v)) for k, v in store.items()]
        else:
            items = [(str(i), np.asarray(v.numpy())) for i, v in enumerate(entry.variables)]
        group = h5file.create_group(entry.group)
        group.attrs["name"] = str(entry.name)
        for key, value in items:
            group.create_dataset(key, data=value)


def _group(h5file, path):
    """The ``vars`` group for ``path``, or None. Links to other files are refused."""
    candidates = [f"{path}/vars" if path else "vars"]
    if path and "_layer_checkpoint_dependencies" in h5file:  # files written by Keras 2.13
        candidates.append(f"{path.replace('layers', '_layer_checkpoint_dependencies')}/vars")
    for name in candidates:
        link = h5file.get(name, getlink=True)
        if link is None:
            continue
        if not isinstance(link, h5py.HardLink):
            raise ValueError(f"the group '{name}' is a link ({type(link).__name__}); kshim only reads data "
                             "stored in the file itself.")
        group = h5file[name]
        if isinstance(group, h5py.Group):
            return group
    return None


def _values(group, where):
    keys = list(group.keys())
    expected = [str(i) for i in range(len(keys))]
    if sorted(keys) != sorted(expected):
        raise ValueError(f"{where}: the variables must be named 0..{len(keys) - 1}. Found: {sorted(keys)}")
    return [_dataset(group, key, where) for key in expected]


def _dataset(group, key, where):
    link = group.get(key, getlink=True)
    if not isinstance(link, h5py.HardLink) or not isinstance(group[key], h5py.Dataset):
        raise ValueError(f"{where}: variable '{key}' is not a dataset stored in the file.")
    return np.asarray(group[key][()])


def _describe(entry):
    what = {"layer": "layer", "optimizer": "optimizer", "seed": "random stream"}[entry.kind]
    return f"{what} '{entry.name}' (group '{entry.group}')"


def read_state(model, h5file, source, skip_mismatch=False, include_optimizer=True):
    """Assign the variables of ``model`` (and its optimizer, when built) from ``h5file``.

    ``source`` names the file in error messages. With ``skip_mismatch`` a layer that does not fit is left as it is
    (with a warning) instead of raising. Optimizer state that does not fit the optimizer is skipped with a
    warning, as Keras 3 does.
    """
    plan, problems = [], []
    for entry in walk(model, include_optimizer=include_optimizer):
        group = _group(h5file, entry.path)
        where = f"{source}: {_describe(entry)}"
        if _custom_hook(entry, "load_own_variables") is not None:
            store = {} if group is None else {k: _dataset(group, k, where) for k in group.keys()}
            plan.append((entry, store))
            continue
        if group is None:
            if entry.kind == "layer" and entry.variables:
                problems.append(f"{where} has {len(entry.variables)} variable(s), but the file has no such group")
            continue  # random streams and optimizers missing from a file keep their state
        values = _values(group, where)
        if entry.kind == "optimizer":
            if len(values) != len(entry.variables):
                warnings.warn(f"{where}: skipping the optimizer state: the optimizer has {len(entry.variables)} "
                              f"variables, the file has {len(values)}.", stacklevel=3)
                continue
        elif entry.kind == "seed":
            if len(values) != 1 or values[0].shape != tuple(entry.variables[0].shape):
                continue
        elif len(values) != len(entry.variables):
            problems.append(f"{where} expects {len(entry.variables)} variable(s), but the file has {len(values)}")
            continue
        bad = [(i, tuple(v.shape), val.shape) for i, (v, val) in enumerate(zip(entry.variables, values))
               if tuple(v.shape) != val.shape]
        if bad:
            i, want, got = bad[0]
            problems.append(f"{where}: variable {i} ('{entry.variables[i].name}') has shape {want} in the model, "
                            f"but {got} in the file")
            continue
        plan.append((entry, values))
    if problems:
        if not skip_mismatch:
            more = f" (and {len(problems) - 1} more problem(s): {problems[1:]})" if len(problems) > 1 else ""
            raise ValueError(f"{problems[0]}{more}. The file does not match this model; nothing was loaded.")
        for p in problems:
            warnings.warn(f"{p}; skipped (skip_mismatch=True).", stacklevel=3)
    for entry, values in plan:
        if isinstance(values, dict):  # the layer reads its own store
            try:
                entry.obj.load_own_variables(values)
            except (ValueError, KeyError) as e:
                raise ValueError(f"{source}: {_describe(entry)}: load_own_variables failed: {e}") from e
            continue
        for variable, value in zip(entry.variables, values):
            variable.assign(value.astype(np.dtype(_numpy_dtype(variable.dtype)), copy=False))


def _numpy_dtype(dtype):
    name = ops.standardize_dtype(dtype)
    return "bool" if name == "bool" else name
