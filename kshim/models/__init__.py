"""kshim.models: Sequential, Model and the functional API."""

from kshim.models.model import Model
from kshim.models.sequential import Sequential
from kshim.saving import clone_model, load_model, model_from_json, save_model
