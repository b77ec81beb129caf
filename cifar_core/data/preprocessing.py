"""Pixel preprocessing with statistics fitted on the training split only.

Every mode is an affine map per channel, ``(x - mean) / std`` in 0–255 pixel units:

========================  ==========================================================
``raw``                   float32 0–255 (mean 0, std 1)
``unit``                  [0, 1] (mean 0, std 255)
``zscore``                one global mean/std of the training pixels (seed 003)
``channel_zscore``        mean/std per colour channel of the training pixels
``imagenet``              ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224,
                          0.225) on the [0, 1] scale, for ImageNet-pretrained models
========================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DataError

PREPROCESSING = ("raw", "unit", "zscore", "channel_zscore", "imagenet")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_CHUNK = 4096


def channel_moments(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-channel sum and sum of squares (float64) of ``(N, H, W, C)`` images, and
    the pixel count per channel; computed in chunks so memory stays small."""
    channels = images.shape[-1]
    total, squares = np.zeros(channels), np.zeros(channels)
    for start in range(0, len(images), _CHUNK):
        chunk = images[start : start + _CHUNK].reshape(-1, channels).astype(np.float64)
        total += chunk.sum(axis=0)
        squares += np.square(chunk).sum(axis=0)
    return total, squares, int(np.prod(images.shape[:-1]))


def _per_channel(values: Iterable[float]) -> tuple[float, float, float]:
    """Three floats, one per colour channel."""
    red, green, blue = map(float, values)
    return red, green, blue


def _fitted_mean_std(mode: str, x_train: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (pixel units, one per channel) that ``mode`` subtracts and divides by."""
    ones = np.ones(3)
    if mode == "raw":
        return 0 * ones, ones
    if mode == "unit":
        return 0 * ones, 255 * ones
    if mode == "imagenet":
        return 255 * np.array(IMAGENET_MEAN), 255 * np.array(IMAGENET_STD)
    if x_train is None or len(x_train) == 0:
        raise DataError(f"preprocessing {mode!r} needs training images to fit on.")
    total, squares, count = channel_moments(x_train)
    if mode == "zscore":
        total, squares, count = total.sum() * ones, squares.sum() * ones, count * len(total)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0))
    return mean, np.where(std > 0, std, 1.0)  # a constant channel is only centred


@dataclass(frozen=True)
class Preprocessor:
    """A fitted preprocessing: build with :meth:`fit`, apply with :meth:`transform`."""

    mode: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def fit(cls, mode: str, x_train: np.ndarray | None = None) -> Preprocessor:
        """Fit ``mode`` on the training images (needed only by the z-score modes)."""
        if mode not in PREPROCESSING:
            raise DataError(
                f"preprocessing: unknown mode {mode!r}; choose one of {', '.join(PREPROCESSING)}."
            )
        mean, std = _fitted_mean_std(mode, x_train)
        return cls(mode, _per_channel(mean), _per_channel(std))

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any]) -> Preprocessor:
        """Rebuild a preprocessor from its :attr:`stats` (e.g. stored with a run)."""
        return cls(stats["mode"], _per_channel(stats["mean"]), _per_channel(stats["std"]))

    @property
    def stats(self) -> dict[str, Any]:
        """JSON-ready description: mode, and the mean/std subtracted/divided (0–255 units)."""
        return {"mode": self.mode, "mean": list(self.mean), "std": list(self.std)}

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / std`` per channel, as float32, for ``(..., 3)`` images."""
        x = np.asarray(x)
        if x.shape[-1:] != (3,):
            raise DataError(
                f"preprocessing {self.mode!r}: expected images with 3 channels "
                f"last, got shape {x.shape}."
            )
        mean = np.asarray(self.mean, np.float32)
        scale = np.float32(1) / np.asarray(self.std, np.float32)
        out = x.astype(np.float32)  # always a copy: the in-place steps never touch x
        out -= mean
        out *= scale
        return out
