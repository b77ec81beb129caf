"""What a dataset holds, for ``cifar-report data`` and the exploration notebook."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .dataset import Dataset
from .preprocessing import channel_moments
from .splits import validation_split

CHANNELS = ("red", "green", "blue")


def class_counts(dataset: Dataset, validation_fraction: float = 0.2, seed: int = 0) -> pd.DataFrame:
    """Images per class (rows) and split (columns train/val/test, plus a total row)."""
    train_idx, val_idx = validation_split(dataset.y_train, validation_fraction, seed)
    splits = {
        "train": dataset.y_train[train_idx],
        "val": dataset.y_train[val_idx],
        "test": dataset.y_test,
    }
    counts = pd.DataFrame(
        {
            split: np.bincount(labels, minlength=dataset.num_classes)
            for split, labels in splits.items()
        },
        index=pd.Index(dataset.class_names, name="class"),
    )
    counts.loc["total"] = counts.sum()
    return counts


def pixel_statistics(dataset: Dataset) -> pd.DataFrame:
    """Per-channel mean, std, min and max of the training images (0–255 units)."""
    total, squares, count = channel_moments(dataset.x_train)
    mean = total / count
    flat = dataset.x_train.reshape(-1, dataset.x_train.shape[-1])
    return pd.DataFrame(
        {
            "mean": mean,
            "std": np.sqrt(np.maximum(squares / count - mean**2, 0)),
            "min": flat.min(axis=0),
            "max": flat.max(axis=0),
        },
        index=pd.Index(CHANNELS[: len(mean)], name="channel"),
    )


def describe(dataset: Dataset, validation_fraction: float = 0.2, seed: int = 0) -> dict[str, Any]:
    """Source, synthetic flag, fingerprint, sizes, class counts and pixel statistics.

    ``counts`` and ``pixels`` are pandas DataFrames (see :func:`class_counts` and
    :func:`pixel_statistics`); the rest is plain JSON-ready values.
    """
    counts = class_counts(dataset, validation_fraction, seed)
    return {
        "name": dataset.name,
        "source": dataset.source,
        "synthetic": dataset.synthetic,
        "fingerprint": dataset.fingerprint,
        "image_shape": list(dataset.input_shape),
        "num_classes": dataset.num_classes,
        "validation_fraction": validation_fraction,
        "seed": seed,
        "sizes": {str(split): int(total) for split, total in counts.loc["total"].to_dict().items()},
        "counts": counts,
        "pixels": pixel_statistics(dataset),
    }


def format_description(desc: dict[str, Any]) -> str:
    """A readable text block of :func:`describe`'s output (for the CLI)."""
    sizes = ", ".join(f"{split} {n:,}" for split, n in desc["sizes"].items())
    flag = "  (SYNTHETIC: generated shapes, not CIFAR images)" if desc["synthetic"] else ""
    lines = [
        f"dataset      {desc['name']}{flag}",
        f"source       {desc['source']}",
        f"fingerprint  {desc['fingerprint']}",
        f"images       {sizes}  ({'x'.join(map(str, desc['image_shape']))}, "
        f"{desc['num_classes']} classes, validation {desc['validation_fraction']:.0%} "
        f"seed {desc['seed']})",
        "",
        "Images per class and split:",
        desc["counts"].to_markdown(tablefmt="simple"),
        "",
        "Training pixel statistics (0-255):",
        desc["pixels"].to_markdown(tablefmt="simple", floatfmt=("", ".2f", ".2f", ".0f", ".0f")),
    ]
    return "\n".join(lines)
