"""Subsets and splits: first-N per batch happens while reading; these are seeded and
stratified, built on scikit-learn's ``train_test_split`` (imported when used)."""

from __future__ import annotations

import dataclasses

import numpy as np

from .dataset import Dataset
from .errors import DataError


def _stratified_pick(
    labels: np.ndarray, size: int | float, seed: int, parameter: str
) -> np.ndarray:
    """Sorted indices of a seeded, stratified sample of ``size`` items of ``labels``."""
    # scikit-learn takes 1-4 s to import, and every command imports this package
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    try:
        picked, _ = train_test_split(indices, train_size=size, stratify=labels, random_state=seed)
    except ValueError as error:
        raise DataError(
            f"{parameter}: cannot draw a stratified sample of {size} from "
            f"{len(labels)} images ({error})."
        ) from error
    return np.sort(picked)


def validation_split(
    labels: np.ndarray, fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, stratified ``(train_idx, val_idx)`` holding out ``fraction`` of ``labels``.

    Both index arrays are sorted; ``fraction == 0`` gives an empty validation set.
    """
    labels = np.asarray(labels).reshape(-1)
    if not 0 <= fraction < 1:
        raise DataError(
            f"validation fraction must be in [0, 1), got {fraction!r}; "
            "use e.g. 0.2 to hold out 20 % of the training images."
        )
    everything = np.arange(len(labels))
    if fraction == 0:
        return everything, np.empty(0, dtype=everything.dtype)
    val_idx = _stratified_pick(labels, fraction, seed, "validation fraction")
    return np.setdiff1d(everything, val_idx), val_idx


def stratified_subset(dataset: Dataset, n_train: int, n_test: int, seed: int = 0) -> Dataset:
    """A copy of ``dataset`` keeping a seeded, stratified ``n_train``/``n_test`` images."""
    for value, split, available in (
        (n_train, "train", len(dataset.y_train)),
        (n_test, "test", len(dataset.y_test)),
    ):
        if not isinstance(value, (int, np.integer)) or not 0 < value <= available:
            raise DataError(
                f"stratified_limit: {split} size must be an integer in "
                f"1..{available} (images available), got {value!r}."
            )
    train = _take_all_or_pick(dataset.y_train, n_train, seed)
    test = _take_all_or_pick(dataset.y_test, n_test, seed)
    return dataclasses.replace(
        dataset,
        x_train=dataset.x_train[train],
        y_train=dataset.y_train[train],
        x_test=dataset.x_test[test],
        y_test=dataset.y_test[test],
    )


def _take_all_or_pick(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    if size == len(labels):
        return np.arange(size)
    return _stratified_pick(labels, int(size), seed, "stratified_limit")
