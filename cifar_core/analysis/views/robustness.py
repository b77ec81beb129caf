"""Corruption robustness of stored runs: accuracy per corruption and severity, the mean
corruption accuracy next to clean accuracy, and a few corrupted example images.

The corrupted test sets are regenerated locally (:mod:`cifar_core.data.corruptions`,
the CIFAR-10-C definitions, not the official files) and each run's predictions on them
come from :func:`cifar_core.runs.derived_predictions.corruption_accuracy` (cached beside
the store; Keras only on a cache miss). A run is scored with its own inference recipe
(averaged over the views of its ``tta_flip``/``tta_translate``), the recipe of its stored clean
``test_accuracy``, so clean and corrupted accuracies compare.

Example
-------
>>> import pandas as pd
>>> long = pd.DataFrame({"variant": ["a"] * 4, "corruption": ["contrast"] * 2 + ["jpeg_compression"] * 2,
...                      "severity": [1, 5, 1, 5], "accuracy": [0.6, 0.2, 0.5, 0.3],
...                      "accuracy_std": [0.0] * 4, "seeds": [1] * 4})
>>> corruption_matrix(long).columns.tolist()
['contrast 1', 'contrast 5', 'JPEG compression 1', 'JPEG compression 5']
>>> summary = robustness_summary(long, {"a": 0.7})
>>> [round(float(summary.loc["a", c]), 3) for c in ("clean", "mean_corrupted", "drop", "relative")]
[0.7, 0.4, 0.3, 0.571]
>>> summary.loc["a", "worst"]
'contrast 5'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from cifar_core.analysis import text
from cifar_core.analysis.records import RunLike, metric
from cifar_core.data import Dataset
from cifar_core.data.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from cifar_core.runs.derived_predictions import corruption_accuracy
from cifar_core.runs.store import Run

LABELS = {
    "gaussian_noise": "Gaussian noise",
    "gaussian_blur": "Gaussian blur",
    "defocus_blur": "defocus blur",
    "jpeg_compression": "JPEG compression",
}


def corruption_label(name: str) -> str:
    """How the report writes a corruption: ``"gaussian_noise"`` → ``"Gaussian noise"``."""
    return LABELS.get(name, name.replace("_", " "))


def corruption_table(
    runs_by_variant: Mapping[str, Sequence[Run]],
    dataset: Dataset | None = None,
    corruptions: Iterable[str] = CORRUPTIONS,
    severities: Iterable[int] = SEVERITIES,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """A long table: ``variant``, ``corruption``, ``severity``, ``accuracy`` (mean over
    the variant's runs), ``accuracy_std`` (over runs; NaN with one) and ``seeds``.

    ``dataset`` is the runs' dataset, needed only for predictions not cached yet;
    ``seed`` seeds the random corruption (Gaussian noise).
    """
    corruptions, severities = list(corruptions), list(severities)
    frames = []
    for name, runs in runs_by_variant.items():
        per_run = [
            corruption_accuracy(run, dataset, corruptions, severities, seed=seed) for run in runs
        ]
        if not per_run:
            continue
        stacked = pd.concat(per_run, ignore_index=True)
        grouped = stacked.groupby(["corruption", "severity"], sort=False)["accuracy"]
        frame = grouped.agg(
            accuracy="mean",
            accuracy_std=lambda a: a.std(),  # NaN with one run
            seeds="size",
        ).reset_index()
        frames.append(frame.assign(variant=name))
    columns = ["variant", "corruption", "severity", "accuracy", "accuracy_std", "seeds"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def corruption_matrix(long: pd.DataFrame) -> pd.DataFrame:
    """Variants × ``"<corruption> <severity>"`` accuracy (rows and columns in the order
    of ``long``; corruptions as :func:`corruption_label` writes them): the heatmap's data."""
    data = long.assign(
        column=[f"{corruption_label(c)} {s}" for c, s in zip(long["corruption"], long["severity"])]
    )
    matrix = data.pivot(index="variant", columns="column", values="accuracy")
    matrix = matrix.loc[list(dict.fromkeys(data["variant"])), list(dict.fromkeys(data["column"]))]
    matrix.index.name, matrix.columns.name = "variant", "corruption, severity"
    return matrix


def clean_accuracy(runs_by_variant: Mapping[str, Sequence[RunLike]]) -> dict[str, float]:
    """``{variant: mean clean test accuracy over its runs}`` (the stored ``test_accuracy``,
    scored with the run's own inference recipe, as the corrupted sets are)."""
    return {
        name: float(np.mean([metric(r.metrics, "test_accuracy") for r in runs]))
        for name, runs in runs_by_variant.items()
    }


def robustness_summary(long: pd.DataFrame, clean: Mapping[str, float]) -> pd.DataFrame:
    """Per variant: ``clean`` test accuracy, ``mean_corrupted`` (the mean over every
    corruption and severity of ``long``), ``drop`` (clean − mean corrupted),
    ``relative`` (mean corrupted / clean) and the ``worst`` corruption and severity
    with its ``worst_accuracy``."""
    matrix = corruption_matrix(long)
    rows = []
    for name, values in matrix.iterrows():
        mean = float(values.mean())
        base = float(clean.get(str(name), np.nan))
        rows.append(
            {
                "variant": name,
                "clean": base,
                "mean_corrupted": mean,
                "drop": base - mean,
                "relative": mean / base if base else np.nan,
                "worst": values.idxmin(),
                "worst_accuracy": float(values.min()),
            }
        )
    return pd.DataFrame(rows).set_index("variant")


def example_grid(
    image: np.ndarray,
    corruptions: Iterable[str] = CORRUPTIONS,
    severities: Iterable[int] = SEVERITIES,
    *,
    seed: int = 0,
) -> dict[tuple[str, int], np.ndarray]:
    """``{(corruption label, severity): one corrupted copy of image}`` for a figure (not
    cached: one image is quick)."""
    batch = np.asarray(image)[None]
    return {
        (corruption_label(name), severity): corrupt(batch, name, severity, seed=seed)[0]
        for name in corruptions
        for severity in severities
    }


def robustness_display(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`robustness_summary` as text: clean and mean corrupted accuracy, the drop in
    points, the share of clean accuracy kept and the worst corruption."""
    return pd.DataFrame(
        [
            {
                "variant": name,
                "clean %": text.number(row["clean"] * 100),
                "mean corrupted %": text.number(row["mean_corrupted"] * 100),
                "drop pts": text.points(row["drop"]),
                "kept": text.percent(row["relative"], 0),
                "worst": f"{row['worst']} ({text.percent(row['worst_accuracy'])})",
            }
            for name, row in summary.iterrows()
        ]
    )


def robustness_values(
    summary: pd.DataFrame,
    long: pd.DataFrame,
    best: str | None,
    severities: Sequence[int],
    num_classes: int,
) -> dict[str, str]:
    """What the article quotes: ``best`` (chosen on validation accuracy) clean and under
    corruption, the variant that keeps most of its clean accuracy, and the hardest
    corruption at the highest severity (mean over the variants).

    Only variants whose clean accuracy is at least twice chance (``2 / num_classes``)
    are ranked by the share they keep (``most_robust_text`` says so): near chance,
    corrupted accuracy cannot fall far, so a model that learned little keeps most."""
    floor = 2 / num_classes
    ranked = (
        summary[(summary["clean"] >= floor) & summary["relative"].notna()]
        if len(summary)
        else summary
    )
    most = text.extreme(ranked["relative"].to_dict()) if len(ranked) else text.UNKNOWN
    if len(ranked):
        top = ranked.iloc[int(np.argmax(ranked["relative"].to_numpy()))]
        ranked_text = (
            f"{text.plural(len(ranked), 'variant')} whose clean accuracy is at least twice "
            f"chance ({text.percent(floor)})"
        )
        share = text.percent(top["relative"], 0)
        if len(ranked) == 1:
            most_robust_text = (
                f"only {top.name} has a clean accuracy of at least twice chance "
                f"({text.percent(floor)}), so no ranking by the share kept; it keeps {share} "
                f"of its {text.percent(top['clean'])}"
            )
        elif ", tied with " not in most:
            most_robust_text = (
                f"by the share of clean accuracy kept, the most robust of the {ranked_text} is "
                f"{most}, which keeps {share} of its {text.percent(top['clean'])} (a ranking "
                "of point estimates, without intervals)"
            )
        elif np.isclose(ranked["relative"], top["relative"], rtol=1e-9, atol=1e-12).all():
            most_robust_text = f"the {ranked_text} all keep {share} of their clean accuracy"
        else:
            most_robust_text = (
                f"by the share of clean accuracy kept, the most robust of the {ranked_text} is "
                f"{most}: each keeps {share} of its clean accuracy (a ranking of point "
                "estimates, without intervals)"
            )
    else:
        most_robust_text = (
            f"no variant reaches twice chance ({text.percent(floor)}) on clean images, so none "
            "is ranked by the share of its clean accuracy it keeps"
        )
    row = (
        summary.loc[best] if best is not None and best in summary.index else pd.Series(dtype=float)
    )
    hardest = (
        long[long["severity"] == max(severities)].groupby("corruption")["accuracy"].mean()
        if len(long)
        else None
    )
    return {
        "n_variants": str(len(summary)),
        "best_variant": best or text.UNKNOWN,
        "best_clean": text.percent(row.get("clean")),  # unknown without a best row
        "best_mean_corrupted": text.percent(row.get("mean_corrupted")),
        "most_robust": most,
        "most_robust_text": most_robust_text,
        "hardest": text.extreme(
            {corruption_label(str(c)): v for c, v in hardest.items()}, lowest=True
        )
        if hardest is not None
        else text.UNKNOWN,
        "hardest_accuracy": text.percent(hardest.min()) if hardest is not None else text.UNKNOWN,
    }
