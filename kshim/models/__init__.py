"""kshim.models: Sequential, Model and the functional API."""

from kshim.models.model import Model
from kshim.models.sequential import Sequential
