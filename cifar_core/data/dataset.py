"""The in-memory dataset every other layer consumes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images as uint8 ``(N, 32, 32, 3)`` arrays, labels as int64 ``(N,)`` arrays.

    ``source`` says where it came from (a path, ``"keras-cache"``, ``"synthetic"``);
    ``synthetic`` is True for generated data so that every report built on it says so.
    ``fingerprint`` is a content hash of images, labels and class names: it changes
    whenever the data changes, and it is part of every run key.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    synthetic: bool = False
    name: str = "cifar10"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            contiguous = np.ascontiguousarray(array)
            digest.update(str((contiguous.dtype.str, contiguous.shape)).encode())
            digest.update(contiguous.tobytes())
        digest.update("\x1f".join(self.class_names).encode())
        return digest.hexdigest()[:16]
