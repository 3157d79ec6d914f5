"""kshim.models: Sequential, Model and the functional API."""

from kshim.models.functional import Functional
from kshim.models.model import Model
from kshim.models.sequential import Sequential
from kshim.registry import LAYERS as _LAYERS
from kshim.saving import clone_model, load_model, model_from_json, save_model

_LAYERS.register_all((Model, Sequential))
