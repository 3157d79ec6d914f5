"""Preprocessing layers (Keras 3's preprocessing family of ``keras.layers``).

Image layers run on backend tensors (the random ones draw from kshim's seeded in-step generator); `Normalization`,
`Discretization`, `CategoryEncoding` and `IntegerLookup` too. `StringLookup`, `TextVectorization` and `Hashing`
work on the host, because backends have no strings.
"""

from kshim.layers.preprocessing.augmentation_policies import AugMix, RandAugment
from kshim.layers.preprocessing.category_encoding import CategoryEncoding
from kshim.layers.preprocessing.clahe import ContrastLimitedAdaptiveHistogramEqualization
from kshim.layers.preprocessing.color_augmentation import (AutoContrast, Equalization, RandomColorDegeneration,
                                                            RandomColorJitter, RandomGrayscale, RandomHue,
                                                            RandomInvert, RandomPosterization, RandomSaturation,
                                                            RandomSharpness, Solarization)
from kshim.layers.preprocessing.discretization import Discretization
from kshim.layers.preprocessing.geometry_augmentation import (RandomElasticTransform, RandomGaussianBlur,
                                                               RandomPerspective, RandomShear)
from kshim.layers.preprocessing.mixing_augmentation import CutMix, MixUp, RandomErasing
from kshim.layers.preprocessing.hashed_crossing import HashedCrossing
from kshim.layers.preprocessing.hashing import Hashing
from kshim.layers.preprocessing.image_resizing import CenterCrop, Rescaling, Resizing
from kshim.layers.preprocessing.integer_lookup import IntegerLookup
from kshim.layers.preprocessing.max_num_bounding_boxes import MaxNumBoundingBoxes
from kshim.layers.preprocessing.normalization import Normalization
from kshim.layers.preprocessing.random_color import RandomBrightness, RandomContrast
from kshim.layers.preprocessing.random_geometry import (RandomCrop, RandomFlip, RandomRotation, RandomTranslation,
                                                        RandomZoom)
from kshim.layers.preprocessing.spectrogram import MelSpectrogram, STFTSpectrogram
from kshim.layers.preprocessing.string_lookup import StringLookup
from kshim.layers.preprocessing.text_vectorization import TextVectorization

__all__ = ["AutoContrast", "Equalization", "RandomColorDegeneration", "RandomColorJitter", "RandomGrayscale",
           "RandomHue", "RandomInvert", "RandomPosterization", "RandomSaturation", "RandomSharpness", "Solarization",
           "AugMix", "RandAugment", "CutMix", "MixUp", "RandomElasticTransform", "RandomErasing", "RandomGaussianBlur",
           "RandomPerspective", "RandomShear",
           "CategoryEncoding", "CenterCrop", "Discretization", "Hashing", "IntegerLookup", "MaxNumBoundingBoxes",
           "Normalization",
           "RandomBrightness", "RandomContrast", "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation",
           "RandomZoom", "Rescaling", "Resizing", "StringLookup", "TextVectorization", "MelSpectrogram", "STFTSpectrogram",
           "HashedCrossing", "ContrastLimitedAdaptiveHistogramEqualization"]
