"""kshim.utils: seeding, data and progress helpers shaped like ``keras.utils``.

Names load on first use: the core modules (variables, layers) import `kshim.utils.naming` and
`kshim.utils.suggest`, which must not pull in the data utilities (or `kshim.random`) with them.
"""

import importlib

_NAMES = {
    "set_random_seed": "kshim.random",
    "normalize": "kshim.utils.numerical",
    "to_categorical": "kshim.utils.numerical",
    "Progbar": "kshim.utils.progbar",
    "PyDataset": "kshim.utils.py_dataset",
    "Sequence": "kshim.utils.py_dataset",
    "pad_sequences": "kshim.utils.sequence_utils",
    "timeseries_dataset_from_array": "kshim.utils.timeseries_dataset",
    "split_dataset": "kshim.utils.dataset_utils",
    "array_to_img": "kshim.utils.image_utils",
    "img_to_array": "kshim.utils.image_utils",
    "load_img": "kshim.utils.image_utils",
    "save_img": "kshim.utils.image_utils",
    "image_dataset_from_directory": "kshim.utils.image_dataset",
    "text_dataset_from_directory": "kshim.utils.text_dataset",
    "get_file": "kshim.utils.file_utils",
    "plot_model": "kshim.utils.model_visualization",
    "model_to_dot": "kshim.utils.model_visualization",
}

__all__ = list(_NAMES)


def __getattr__(name):
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'kshim.utils' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
