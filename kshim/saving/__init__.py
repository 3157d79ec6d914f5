"""kshim.saving: Keras 3's `.keras` files, `.weights.h5` files and object configs, compatible both ways."""
import json

from kshim.registry import (CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
                            get_registered_object, loading_scope, register_keras_serializable)
from kshim.saving import serialization  # noqa: F401  (kshim.saving.serialization, kept for backward compatibility)
from kshim.saving.cloning import clone_model
from kshim.saving.file_editor import KerasFileEditor
from kshim.saving.keras_file import load_model, save_model
from kshim.saving.weights_file import load_weights as _load_weights
from kshim.saving.weights_file import save_weights as _save_weights
from kshim.serialization import deserialize_keras_object, serialize_keras_object


def save_weights(model, filepath, overwrite=True, **kwargs):
    """Keras 3's ``keras.saving.save_weights``: ``model.save_weights(filepath)``."""
    _save_weights(model, filepath, overwrite=overwrite, **kwargs)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Keras 3's ``keras.saving.load_weights``: ``model.load_weights(filepath)``."""
    _load_weights(model, filepath, skip_mismatch=skip_mismatch, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """The (uncompiled unless the JSON says so) model described by ``model.to_json()``'s string."""
    try:
        config = json.loads(json_string)
    except ValueError as e:
        raise ValueError(f"model_from_json: the string is not valid JSON ({e}).") from e
    with loading_scope(custom_objects, True, True):
        return deserialize_keras_object(config, custom_objects)


__all__ = ["CustomObjectScope", "KerasFileEditor", "clone_model", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object", "load_model", "load_weights",
           "model_from_json", "register_keras_serializable", "save_model", "save_weights",
           "serialize_keras_object"]
