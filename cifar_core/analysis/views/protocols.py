"""Reported vs reproduced, with both protocols named: for each figure a seed report
gives, the seed's protocol (:mod:`cifar_core.experiments.seed_protocols`) beside this
build's (train images, checkpoint rule, epochs, optimizer, preprocessing,
augmentation) and what differs.

Example
-------
>>> from cifar_core.experiments import catalog
>>> here = build_side(catalog.get_profile("full").scale(catalog.get_variant("s000_mlp")), 50_000)
>>> here["train images"], here["checkpoint"]
('40,000', 'best validation loss')
>>> differences(seed_side("s000_mlp"), here)
'train images, checkpoint'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from cifar_core.analysis import text
from cifar_core.analysis.views.runs import accuracy_text, as_fraction
from cifar_core.experiments.seed_protocols import (
    BEST_VAL_LOSS,
    FIELDS,
    LAST_EPOCH,
    NOT_STATED,
    PREPROCESSING_TEXT,
    describe_augmentation,
    describe_optimizer,
    seed_side,
)
from cifar_core.experiments.variant import Variant

if TYPE_CHECKING:
    from cifar_core.analysis.context import AnalysisContext


def train_images(n_train: int, validation_fraction: float) -> int:
    """Images a run is fitted on: the official training images less the validation
    split (``floor(fraction × n)`` images, as :func:`cifar_core.data.splits.validation_split`
    draws them).

    >>> train_images(5085, 0.2), train_images(50_000, 0.0)
    (4068, 50000)
    """
    return int(n_train - math.floor(validation_fraction * n_train))


def build_side(variant: Variant, n_train: int) -> dict[str, str]:
    """This build's protocol for a scaled variant trained on ``n_train`` official
    training images, one text per field of :data:`FIELDS`."""
    validated = variant.validation_fraction > 0
    return {
        "train images": f"{train_images(n_train, variant.validation_fraction):,}",
        "checkpoint": BEST_VAL_LOSS if validated and variant.restore_best else LAST_EPOCH,
        "epochs": str(variant.epochs),
        "optimizer": describe_optimizer(variant),
        "preprocessing": PREPROCESSING_TEXT.get(variant.preprocessing, variant.preprocessing),
        "augmentation": describe_augmentation(variant),
    }


def differences(seed: Mapping[str, str], here: Mapping[str, str]) -> str:
    """The fields that differ (a field the seed does not state is named with
    "(not stated by the seed)"), or ``"none"``."""
    named = []
    for name in FIELDS:
        if seed[name] == NOT_STATED:
            named.append(f"{name} (not stated by the seed)")
        elif seed[name] != here[name]:
            named.append(name)
    return ", ".join(named) or "none"


def _pair(seed: str, here: str) -> str:
    return seed if seed == here else f"{seed} → {here}"


def protocol_table(
    figures: Iterable[tuple[str, float]],
    scaled: Mapping[str, Variant],
    n_train: int,
    reproduced: Callable[[str], str],
) -> pd.DataFrame:
    """One row per seed figure: seed, experiment, reported and reproduced test accuracy,
    each protocol field as ``seed → this build`` (one value when they agree) and the
    fields that differ.

    ``figures`` are ``(variant name, reported accuracy)`` (fraction or percent);
    ``scaled`` maps a variant name to the variant as this build's profile runs it (a
    figure whose variant is not planned here reads "not run in this profile");
    ``n_train`` counts the official training images of this build's dataset, and
    ``reproduced(name)`` gives this build's test accuracy as text (``"68.9 ± 0.4"``).
    """
    rows = []
    for name, reported in figures:
        seed = seed_side(name)
        row = {
            "seed": name[1:4],
            "experiment": name,
            "reported %": text.number(as_fraction(reported) * 100),
        }
        variant = scaled.get(name)
        if variant is None:
            row.update(
                {
                    "reproduced %": "not run in this profile",
                    **{field: seed[field] for field in FIELDS},
                    "differs": text.UNKNOWN,
                }
            )
        else:
            here = build_side(variant, n_train)
            row.update(
                {
                    "reproduced %": reproduced(name),
                    **{field: _pair(seed[field], here[field]) for field in FIELDS},
                    "differs": differences(seed, here),
                }
            )
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["seed", "experiment", "reported %", "reproduced %", *FIELDS, "differs"]
    )


def differing(table: pd.DataFrame) -> tuple[int, int]:
    """``(figures whose protocol differs, figures this profile runs)`` of
    :func:`protocol_table`; a figure not run in this profile (``differs`` unknown) is in
    neither."""
    compared = table[table["differs"] != text.UNKNOWN] if len(table) else table
    return int((compared["differs"] != "none").sum()) if len(compared) else 0, len(compared)


def reported_vs_reproduced(ctx: AnalysisContext, runs: pd.DataFrame) -> pd.DataFrame:
    """:func:`protocol_table` of every figure the seeds report (each variant's first
    figure), against this build's profile and its runs table (a variant without a row
    reads "not run here")."""
    figures: dict[str, float] = {}
    for study in ctx.all_studies():
        for name, reported in study.reported.items():
            figures.setdefault(name, reported)
    scaled: dict[str, Variant] = {}
    for variant in ctx.variants:
        scaled.setdefault(variant.name, variant)
    ran = set(runs["variant"]) if "variant" in runs else set()

    def reproduced(name: str) -> str:
        return accuracy_text(runs, name).removesuffix(" %") if name in ran else "not run here"

    return protocol_table(figures.items(), scaled, len(ctx.dataset.y_train), reproduced)
