"""kshim.utils: seeding, data and progress helpers shaped like ``keras.utils``."""

from kshim.random import set_random_seed
from kshim.utils.numerical import normalize, to_categorical
from kshim.utils.progbar import Progbar
from kshim.utils.py_dataset import PyDataset, Sequence
