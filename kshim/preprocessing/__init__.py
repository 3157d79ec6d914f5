"""``kshim.preprocessing``, shaped like ``keras.preprocessing``: the dataset builders, and the ``image``,
``sequence`` and ``text`` modules (Keras 2's helpers there warn with a DeprecationWarning naming the Keras 3
replacement)."""

from kshim.preprocessing import image, sequence, text  # noqa: F401
from kshim.utils.image_dataset import image_dataset_from_directory  # noqa: F401
from kshim.utils.text_dataset import text_dataset_from_directory  # noqa: F401
from kshim.utils.timeseries_dataset import timeseries_dataset_from_array  # noqa: F401
