"""The data layer: find, safely read, generate, subset, split and preprocess images.

>>> from cifar_core.data import load_dataset
>>> ds = load_dataset("synthetic", synthetic_train=500, synthetic_test=100)  # doctest: +SKIP
>>> ds.synthetic, ds.x_train.shape  # doctest: +SKIP
(True, (500, 32, 32, 3))
"""

from .dataset import Dataset
from .describe import class_counts, describe, format_description, pixel_statistics
from .errors import DataError
from .loader import read_dataset
from .official_format import RestrictedUnpickler, read_pickle, write_batches, write_pickle
from .preprocessing import IMAGENET_MEAN, IMAGENET_STD, Preprocessor
from .readers import open_location
from .sources import find_in_keras_cache, load_dataset
from .splits import stratified_subset, validation_split
from .synthetic import make_synthetic, synthetic_folder

__all__ = [
    "Dataset",
    "DataError",
    "load_dataset",
    "read_dataset",
    "open_location",
    "find_in_keras_cache",
    "RestrictedUnpickler",
    "read_pickle",
    "write_pickle",
    "write_batches",
    "make_synthetic",
    "synthetic_folder",
    "stratified_subset",
    "validation_split",
    "Preprocessor",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "describe",
    "format_description",
    "class_counts",
    "pixel_statistics",
]
