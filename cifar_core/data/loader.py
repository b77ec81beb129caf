"""Turn the batch files behind a :class:`~.readers.BatchReader` into a :class:`Dataset`.

Two layouts are understood: CIFAR-10 (``data_batch_N``, ``test_batch``,
``batches.meta`` with ``label_names``) and CIFAR-100 (``train``, ``test``, ``meta``
with ``fine_label_names``; the fine labels are used).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from .dataset import Dataset
from .errors import DataError
from .official_format import SYNTHETIC_MARKER, decode_batch, read_mapping
from .readers import HOW_TO_POINT, BatchReader


@dataclass(frozen=True)
class Layout:
    """Which files hold what, for one dataset family."""

    name: str
    train_files: tuple[str, ...]
    test_file: str
    meta_file: str
    label_key: str
    names_key: str


def _numbered_batches(names: frozenset[str]) -> tuple[str, ...]:
    """``data_batch_N`` files in numeric order."""
    found = [n for n in names if re.fullmatch(r"data_batch_\d+", n)]
    return tuple(sorted(found, key=lambda n: int(n.rsplit("_", 1)[1])))


def detect_layout(reader: BatchReader) -> Layout:
    """The :class:`Layout` of the files in ``reader``, or a DataError saying what is missing."""
    names = reader.names
    batches = _numbered_batches(names)
    if "test_batch" in names or batches:
        layout = Layout("cifar10", batches, "test_batch", "batches.meta", "labels", "label_names")
    elif "train" in names or "test" in names:
        layout = Layout("cifar100", ("train",), "test", "meta", "fine_labels", "fine_label_names")
    else:
        raise DataError(f"{reader.location}: no CIFAR batches found; {HOW_TO_POINT}.")
    needed = (*layout.train_files, layout.test_file, layout.meta_file)
    missing = [n for n in needed if n not in names]
    if not layout.train_files:
        missing.insert(0, "data_batch_1")
    if missing:
        raise DataError(
            f"{reader.location}: incomplete {layout.name} batches, missing {missing}; "
            "re-extract the archive or re-download the dataset."
        )
    return layout


def _class_names(reader: BatchReader, layout: Layout) -> tuple[str, ...]:
    meta = read_mapping(
        reader.read(layout.meta_file), reader.where(layout.meta_file), (layout.names_key,)
    )
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta[layout.names_key])


def _read_split(
    reader: BatchReader,
    layout: Layout,
    files: tuple[str, ...],
    num_classes: int,
    limit_per_batch: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the images and labels of ``files``, keeping the first N of each."""
    parts = [
        decode_batch(reader.read(f), reader.where(f), layout.label_key, num_classes) for f in files
    ]
    images = np.concatenate([x[:limit_per_batch] for x, _ in parts])
    labels = np.concatenate([y[:limit_per_batch] for _, y in parts])
    return images, labels


def _synthetic_marker(reader: BatchReader) -> dict | None:
    if SYNTHETIC_MARKER not in reader.names:
        return None
    try:
        return json.loads(reader.read(SYNTHETIC_MARKER) or b"{}")
    except ValueError as error:
        raise DataError(
            f"{reader.where(SYNTHETIC_MARKER)}: not valid JSON ({error}); "
            "delete the folder to regenerate it."
        ) from error


def read_dataset(
    reader: BatchReader,
    *,
    limit_per_batch: int | None = None,
    name: str | None = None,
    source: str | None = None,
) -> Dataset:
    """Read every batch behind ``reader`` into a :class:`Dataset`.

    ``name`` (``"cifar10"``/``"cifar100"``), when given, must match the files found.
    ``source`` overrides the recorded source (default: the reader's location, or
    ``"synthetic"`` when a ``synthetic.json`` marker lies beside the batches).
    """
    layout = detect_layout(reader)
    marker = _synthetic_marker(reader)
    if name is not None and name != layout.name and marker is None:
        raise DataError(
            f"{reader.location} holds {layout.name} batches but name={name!r} "
            f"was asked for; pass name={layout.name!r} or another path."
        )
    classes = _class_names(reader, layout)
    x_train, y_train = _read_split(
        reader, layout, layout.train_files, len(classes), limit_per_batch
    )
    x_test, y_test = _read_split(reader, layout, (layout.test_file,), len(classes), limit_per_batch)
    return Dataset(
        x_train,
        y_train,
        x_test,
        y_test,
        classes,
        source="synthetic" if marker is not None else source or reader.location,
        synthetic=marker is not None,
        name=layout.name if marker is None else marker.get("name", "synthetic"),
    )
