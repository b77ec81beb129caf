"""The calibration view: one row per variant over its seeds (mean and spread of ECE,
NLL and temperature before and after scaling, :mod:`cifar_core.analysis.stats.calibration`)
with the bootstrap interval of the first seed's ECE, and that table as text.

Example
-------
>>> import numpy as np
>>> from types import SimpleNamespace
>>> rng = np.random.default_rng(0)
>>> def run(seed):
...     labels = rng.integers(0, 3, 200)
...     probs = np.full((200, 3), 0.05); probs[np.arange(200), labels] = 0.9
...     return SimpleNamespace(variant=SimpleNamespace(seed=seed), predictions=lambda: {
...         "val_probs": probs, "val_labels": labels, "test_probs": probs, "test_labels": labels})
>>> table = calibration_by_variant({"sure": [run(1), run(0)]}, interval=False)
>>> [round(float(table.loc["sure", c]), 2) for c in ("accuracy", "ece", "seeds")]
[1.0, 0.1, 2.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from cifar_core.analysis import text
from cifar_core.analysis.records import RunLike
from cifar_core.analysis.stats.calibration import (
    N_BINS,
    TEMPERATURE_BOUNDS,
    calibration_row,
    ece_interval,
)
from cifar_core.experiments.profiles import UNSCALED_PROFILES

COLUMNS = ("accuracy", "ece", "ece_scaled", "nll", "nll_scaled", "temperature")


def calibration_by_variant(
    runs_by_variant: Mapping[str, Sequence[RunLike]], *, n_bins: int = N_BINS, interval: bool = True
) -> pd.DataFrame:
    """One row per variant, over its runs (one per seed): the mean and standard
    deviation (``_std``, NaN with one run) of each value of
    :func:`~cifar_core.analysis.stats.calibration.calibration_summary`, ``seeds``, and
    with ``interval`` the 95 % bootstrap interval (``ece_low``, ``ece_high``) of the
    ECE of the variant's first seed (``interval_seed``): the spread over test images,
    where ``_std`` is the spread over training seeds."""
    rows = []
    for name, value in runs_by_variant.items():
        runs = sorted(value, key=lambda run: run.variant.seed)
        if not runs:
            continue
        each = pd.DataFrame([calibration_row(run, n_bins=n_bins) for run in runs])
        row: dict[str, Any] = {"variant": name, "seeds": len(runs)}
        for column in COLUMNS:
            row[column] = float(each[column].mean())
            row[f"{column}_std"] = float(each[column].std())  # NaN with one run
        if interval:
            predictions = runs[0].predictions()
            row["ece_low"], row["ece_high"] = ece_interval(
                predictions["test_probs"], predictions["test_labels"], n_bins
            )
            row["interval_seed"] = runs[0].variant.seed
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant") if rows else pd.DataFrame()


def _pm(row: pd.Series, column: str, percent: bool = True, digits: int = 1) -> str:
    return text.mean_std(row[column], row[f"{column}_std"], percent=percent, digits=digits)


def calibration_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`calibration_by_variant` as text: accuracy, ECE with the first seed's
    interval, ECE after scaling, NLL before and after, and the temperature."""
    return pd.DataFrame(
        [
            {
                "variant": name,
                "seeds": int(row["seeds"]),
                "test acc %": _pm(row, "accuracy"),
                "ECE %": _pm(row, "ece"),
                "ECE 95 % CI": f"{text.interval(row['ece_low'], row['ece_high'])} "
                f"(seed {int(row['interval_seed'])})",
                "ECE scaled %": _pm(row, "ece_scaled"),
                "NLL": _pm(row, "nll", False, 3),
                "NLL scaled": _pm(row, "nll_scaled", False, 3),
                "T": _pm(row, "temperature", False, 2),
            }
            for name, row in table.iterrows()
        ]
    )


def calibration_values(table: pd.DataFrame, best: str | None) -> dict[str, str]:
    """What the article quotes of :func:`calibration_by_variant`: the range of ECE over
    the variants, how many were over-confident and improved by scaling, and the
    numbers of ``best`` (the variant chosen on validation accuracy)."""
    row = table.loc[best] if best is not None and best in table.index else pd.Series(dtype=float)
    known = len(table) > 0
    return {
        "n_variants": str(len(table)),
        "best_variant": best or text.UNKNOWN,
        "best_ece": text.percent(row.get("ece")),  # unknown without a best row
        "best_ece_scaled": text.percent(row.get("ece_scaled")),
        "best_nll": text.number(row.get("nll"), 3),
        "best_nll_scaled": text.number(row.get("nll_scaled"), 3),
        "best_temperature": text.number(row.get("temperature"), 2),
        "max_ece_variant": text.extreme(table["ece"].to_dict()),
        "max_ece": text.percent(table["ece"].max()) if known else text.UNKNOWN,
        "min_ece_variant": text.extreme(table["ece"].to_dict(), lowest=True),
        "min_ece": text.percent(table["ece"].min()) if known else text.UNKNOWN,
        "n_overconfident": str(int((table["temperature"] > 1).sum())) if known else "0",
        "n_nll_lower": str(int((table["nll_scaled"] < table["nll"]).sum())) if known else "0",
    }


def calibration_notes(
    table: pd.DataFrame, runs_by_variant: Mapping[str, Sequence[RunLike]], profile: str
) -> list[str]:
    """How to read :func:`calibration_table`: temperatures below 1 (under-confident),
    label smoothing, temperatures at the end of the search range, and a scaled profile."""
    notes = []
    temperature = table["temperature"] if len(table) else pd.Series(dtype=float)
    if (temperature < 1).any():
        under = ", ".join(temperature.index[temperature < 1])
        notes.append(
            f"A fitted temperature below 1 ({under}) means the model was *under*-confident on "
            "validation: scaling sharpens its probabilities."
        )
    smoothed = [n for n, rs in runs_by_variant.items() if rs[0].variant.label_smoothing > 0]
    if smoothed:
        notes.append(
            f"{', '.join(smoothed)} trained with label smoothing: its soft targets keep the top "
            "probability away from 1 by design, which a fitted temperature below 1 partly undoes."
        )
    low, high = TEMPERATURE_BOUNDS
    at_bound = temperature.index[(temperature <= low * 1.01) | (temperature >= high * 0.99)]
    if len(at_bound):
        notes.append(
            f"The temperature of {', '.join(at_bound)} reached the end of the search range "
            f"({low}–{high}): its validation NLL keeps falling towards uniform (or one-hot) "
            "probabilities, which happens when accuracy is near chance."
        )
    if profile not in UNSCALED_PROFILES:
        notes.append(
            f"Profile `{profile}` trains briefly on a subset; Guo et al. (2017) found modern "
            "deep networks trained to convergence over-confident, so the direction of "
            "miscalibration measured here need not carry over to the seeds' budgets."
        )
    return notes
