"""Reading and writing the official CIFAR "python version" pickle batches, safely.

The official batches are protocol-2 pickles written by Python 2 (keys are ``str``, so
they load as ``bytes``). A pickle can name any importable callable and run it while
loading, so batches are read only through :class:`RestrictedUnpickler`, which admits
the handful of numpy globals the format needs and refuses everything else *before*
anything runs.
"""

from __future__ import annotations

import io
import json
import math
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
import _codecs

IMAGE_SIDE = 32
ROW_LENGTH = 3 * IMAGE_SIDE * IMAGE_SIDE
SYNTHETIC_MARKER = "synthetic.json"

#: (module, name) pairs a CIFAR batch may reference, and what they resolve to.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _codecs.encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`ALLOWED_GLOBALS`.

    ``where`` names the file in error messages.
    """

    def __init__(self, stream: io.BufferedIOBase, where: str):
        super().__init__(stream, encoding="bytes")
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(
                f"{self.where}: refused to load a pickle that references the global "
                f"'{module}.{name}'; CIFAR batches only need numpy arrays. The file is "
                "not an official CIFAR batch and may be malicious: do not use it, "
                "re-download the dataset instead."
            ) from None


def read_pickle(payload: bytes, where: str) -> Any:
    """Unpickle ``payload`` through :class:`RestrictedUnpickler`.

    Truncated or corrupted data raises :class:`DataError` naming ``where``.
    """
    try:
        return RestrictedUnpickler(io.BytesIO(payload), where).load()
    except DataError:
        raise
    except Exception as error:  # pickle raises many types on damaged input
        raise DataError(
            f"{where}: the file is truncated or corrupted ({type(error).__name__}: "
            f"{error}); re-download or re-extract the dataset."
        ) from error


def read_mapping(payload: bytes, where: str, required: Sequence[str]) -> dict[str, Any]:
    """Read a pickled dict and check it holds the ``required`` keys."""
    content = read_pickle(payload, where)
    if not isinstance(content, Mapping):
        raise DataError(
            f"{where}: expected a pickled dict (a CIFAR batch), found "
            f"{type(content).__name__}; point the loader at the official batches."
        )
    # the py2 ``bytes`` keys of a batch as ``str``
    content = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in content.items()}
    missing = [key for key in required if key not in content]
    if missing:
        raise DataError(
            f"{where}: not a CIFAR batch, missing key(s) {missing} "
            f"(found {sorted(content)}); point the loader at the official batches."
        )
    return content


def decode_batch(
    payload: bytes, where: str, label_key: str, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Decode one batch into uint8 ``(N, 32, 32, 3)`` images and int64 labels.

    Sizes come from the arrays themselves, never from ``batches.meta``.
    """
    batch = read_mapping(payload, where, ("data", label_key))
    data = np.asarray(batch["data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != ROW_LENGTH:
        raise DataError(
            f"{where}: 'data' must be a uint8 array of shape (N, {ROW_LENGTH}), found "
            f"{data.dtype} {data.shape}; the batch is not in the official format."
        )
    labels = np.asarray(batch[label_key], dtype=np.int64).reshape(-1)
    if len(labels) != len(data):
        raise DataError(
            f"{where}: {len(data)} images but {len(labels)} labels in '{label_key}'; "
            "the batch is damaged, re-download or re-extract the dataset."
        )
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise DataError(
            f"{where}: label {int(bad[0])} is out of range for {num_classes} classes "
            f"({bad.size} bad labels); the batch does not match its metadata file."
        )
    images = data.reshape(-1, 3, IMAGE_SIDE, IMAGE_SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def encode_images(images: np.ndarray) -> np.ndarray:
    """uint8 ``(N, 32, 32, 3)`` images → official ``(N, 3072)`` rows of R, G, B planes."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE, 3):
        raise DataError(
            f"images must be uint8 of shape (N, 32, 32, 3), got {images.dtype} "
            f"{images.shape}; convert with np.asarray(x, dtype=np.uint8)."
        )
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), ROW_LENGTH))


def write_pickle(path: Path, content: Any) -> None:
    """Write ``content`` as a protocol-2 pickle, as the official files are."""
    Path(path).write_bytes(pickle.dumps(content, protocol=2))


def _batch_dict(label: str, prefix: str, images: np.ndarray, labels: np.ndarray) -> dict:
    """The dict of one official batch, with ``bytes`` keys."""
    return {
        b"batch_label": label.encode(),
        b"labels": [int(v) for v in labels],
        b"data": encode_images(images),
        b"filenames": [f"{prefix}_{i:05d}.png".encode() for i in range(len(labels))],
    }


def write_batches(
    folder: str | Path,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    class_names: Sequence[str],
    batch_size: int = 10_000,
    *,
    synthetic: bool = True,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write a dataset in the official CIFAR-10 layout into ``folder``.

    Training images are split into ``data_batch_1 …`` of at most ``batch_size`` images;
    all test images go to ``test_batch``; class names go to ``batches.meta``. When
    ``synthetic`` is true a ``synthetic.json`` marker (holding ``provenance``) is
    written beside them, so the loader flags the dataset as synthetic.
    """
    if batch_size < 1:
        raise DataError(f"write_batches: batch_size must be >= 1, got {batch_size}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    count = max(1, math.ceil(len(x_train) / batch_size))
    for index in range(count):
        part = slice(index * batch_size, (index + 1) * batch_size)
        name, label = f"data_batch_{index + 1}", f"training batch {index + 1} of {count}"
        write_pickle(folder / name, _batch_dict(label, name, x_train[part], y_train[part]))
    write_pickle(
        folder / "test_batch", _batch_dict("testing batch 1 of 1", "test_batch", x_test, y_test)
    )
    write_pickle(
        folder / "batches.meta",
        {
            b"label_names": [name.encode() for name in class_names],
            b"num_cases_per_batch": batch_size,
            b"num_vis": ROW_LENGTH,
        },
    )
    if synthetic:
        (folder / SYNTHETIC_MARKER).write_text(json.dumps(dict(provenance or {}), indent=2))
    return folder
