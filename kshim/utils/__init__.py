"""kshim.utils: seeding, data and progress helpers shaped like ``keras.utils``."""

from kshim.random import set_random_seed
from kshim.utils.numerical import normalize, to_categorical
from kshim.utils.progbar import Progbar
from kshim.utils.py_dataset import PyDataset, Sequence
from kshim.utils.sequence_utils import pad_sequences  # noqa: E402
from kshim.utils.timeseries_dataset import timeseries_dataset_from_array  # noqa: E402
from kshim.utils.dataset_utils import split_dataset  # noqa: E402
from kshim.utils.image_utils import array_to_img, img_to_array, load_img, save_img  # noqa: E402
from kshim.utils.image_dataset import image_dataset_from_directory  # noqa: E402
from kshim.utils.text_dataset import text_dataset_from_directory  # noqa: E402
from kshim.utils.file_utils import get_file  # noqa: E402
