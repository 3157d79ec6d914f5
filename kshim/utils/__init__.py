"""kshim.utils: seeding, data and progress helpers shaped like ``keras.utils``.

A public namespace at the top of the house: nothing inside kshim imports it. Names load on first use, so
``import kshim.utils`` stays cheap; the helpers lower layers need live in `kshim.common`.
"""

import importlib

from kshim.common.absent import raise_absent

_NAMES = {
    "set_random_seed": "kshim.random",
    "normalize": "kshim.utils.numerical",
    "to_categorical": "kshim.utils.numerical",
    "Progbar": "kshim.callbacks.progbar",
    "PyDataset": "kshim.common.py_dataset",
    "Sequence": "kshim.common.py_dataset",
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
    "pack_x_y_sample_weight": "kshim.common.data_tuples",
    "unpack_x_y_sample_weight": "kshim.common.data_tuples",
    "plot_model": "kshim.utils.model_visualization",
    "model_to_dot": "kshim.utils.model_visualization",
    "Config": "kshim.utils.config_object",
    "is_keras_tensor": "kshim.utils.keras_tensors",
    "get_source_inputs": "kshim.utils.keras_tensors",
    "register_keras_serializable": "kshim.registry",
    "custom_object_scope": "kshim.registry",
    "CustomObjectScope": "kshim.registry",
    "get_custom_objects": "kshim.registry",
    "get_registered_name": "kshim.registry",
    "get_registered_object": "kshim.registry",
    "serialize_keras_object": "kshim.serialization",
    "deserialize_keras_object": "kshim.serialization",
    "clear_session": "kshim.backend",
    "standardize_dtype": "kshim.backend",
    "enable_interactive_logging": "kshim.config",
    "disable_interactive_logging": "kshim.config",
    "is_interactive_logging_enabled": "kshim.config",
}
_ABSENT = {
    "FeatureSpace": "structured-data preprocessing is not built; compose kshim.layers preprocessing layers",
    "audio_dataset_from_directory": "kshim reads no audio files (Keras 3 needs tensorflow-io for them)",
}

_SUBMODULES = ("bounding_boxes",)

__all__ = list(_NAMES) + list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        value = importlib.import_module(f"kshim.utils.{name}")
        globals()[name] = value
        return value
    module = _NAMES.get(name)
    if module is None:
        raise_absent("kshim.utils", name, _ABSENT)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
