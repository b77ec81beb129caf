"""Per-class test accuracy across variants, its change against a baseline, and the
classes that gain or lose most.

Per-class accuracy is the recall of each true class (``sklearn.metrics.recall_score``
with ``average=None``); a variant with several seeds gets the mean over its runs.
Rows are variants and columns classes, ready for a heatmap. For an interval on a
class's change, :func:`per_class_correctness` gives the paired per-image correctness
(seeds × images) that a paired test over the images of that class needs.

Example
-------
>>> import numpy as np
>>> from types import SimpleNamespace
>>> def run(pred, seed=0):
...     probs = np.eye(3)[pred]
...     return SimpleNamespace(variant=SimpleNamespace(seed=seed),
...                            predictions=lambda: {"test_probs": probs,
...                                                 "test_labels": np.array([0, 0, 1, 2])})
>>> table = per_class_table({"base": [run([0, 1, 1, 2])], "new": [run([0, 0, 2, 2])]},
...                         class_names=["a", "b", "c"])
>>> table.to_dict("index")
{'base': {'a': 0.5, 'b': 1.0, 'c': 1.0}, 'new': {'a': 1.0, 'b': 0.0, 'c': 1.0}}
>>> largest_changes(table, "base", "new", n=1)[["direction", "class", "change"]].values.tolist()
[['gain', 'a', 0.5], ['loss', 'b', -1.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from sklearn.metrics import recall_score

from cifar_core.analysis import text
from cifar_core.analysis.records import RunLike, trained_epochs
from cifar_core.analysis.stats.paired import paired_difference

RunsByVariant = Mapping[str, Sequence[RunLike]]

CHANGE_COLUMNS = [
    "comparison",
    "baseline",
    "variant",
    "direction",
    "class",
    "baseline_accuracy",
    "variant_accuracy",
    "change",
]
"""The columns of :func:`comparison_changes` (:func:`largest_changes` has all but the first)."""


def _by_seed(runs: Sequence[RunLike]) -> list[RunLike]:
    return sorted(runs, key=lambda run: run.variant.seed)


def class_accuracy(labels: np.ndarray, probs: np.ndarray, num_classes: int) -> np.ndarray:
    """Accuracy within each true class (recall), NaN for a class absent from ``labels``."""
    labels = np.asarray(labels).ravel()
    predicted = np.asarray(probs).argmax(axis=1)
    return recall_score(
        labels, predicted, labels=np.arange(num_classes), average=None, zero_division=np.nan
    )


def per_class_table(runs_by_variant: RunsByVariant, class_names: Sequence[str]) -> pd.DataFrame:
    """Per-class test accuracy (fraction): one row per variant (mean over its runs), one
    column per class."""
    rows = {}
    for variant, runs in runs_by_variant.items():
        runs = _by_seed(runs)
        if not runs:
            continue
        per_run = []
        for run in runs:
            predictions = run.predictions()
            probs = predictions["test_probs"]
            per_run.append(class_accuracy(predictions["test_labels"], probs, probs.shape[1]))
        rows[variant] = np.nanmean(per_run, axis=0) if len(per_run) > 1 else per_run[0]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(class_names))
    table.index.name, table.columns.name = "variant", "class"
    return table


def largest_changes(table: pd.DataFrame, baseline: str, variant: str, n: int = 2) -> pd.DataFrame:
    """The ``n`` classes gaining most and the ``n`` losing most from ``baseline`` to
    ``variant``: columns ``baseline``, ``variant``, ``direction`` (gain/loss), ``class``,
    ``baseline_accuracy``, ``variant_accuracy``, ``change``. A class appears as a loss
    only if its change is negative, as a gain only if positive."""
    for name in (baseline, variant):
        if name not in table.index:
            raise KeyError(f"{name!r} is not a row of the table; rows: {list(table.index)}")
    before, after = table.loc[baseline].to_dict(), table.loc[variant].to_dict()
    change = cast(pd.Series, table.loc[variant] - table.loc[baseline]).dropna()
    gains = change[change > 0].sort_values(ascending=False).head(n)
    losses = change[change < 0].sort_values().head(n)
    rows = [
        {
            "baseline": baseline,
            "variant": variant,
            "direction": direction,
            "class": cls,
            "baseline_accuracy": float(before[cls]),
            "variant_accuracy": float(after[cls]),
            "change": float(delta),
        }
        for direction, series in (("gain", gains), ("loss", losses))
        for cls, delta in series.items()
    ]
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS[1:])


def comparison_changes(
    table: pd.DataFrame, comparisons: Mapping[str, tuple[str, str]], n: int = 1
) -> pd.DataFrame:
    """:func:`largest_changes` for several named ``{label: (baseline, variant)}`` pairs
    (e.g. ``{"convolution": ("mlp", "cnn")}``), with a ``comparison`` column first;
    pairs whose variants are not in the table are skipped."""
    parts = [
        largest_changes(table, base, variant, n).assign(comparison=label)
        for label, (base, variant) in comparisons.items()
        if base in table.index and variant in table.index
    ]
    if not parts:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    return pd.concat(parts, ignore_index=True)[CHANGE_COLUMNS]


def unequal_epochs(runs: RunsByVariant, pairs: Mapping[str, tuple[str, str]]) -> list[str]:
    """The one-factor changes of ``pairs`` (``{label: (without, with)}``) whose two
    variants trained for different epochs in this build, each as ``"label (a: 2 epochs,
    b: 1)"``; a pair with a variant that did not run is left out."""
    epochs = trained_epochs(runs)
    return [
        f"{label} ({a}: {epochs[a]} epochs, {b}: {epochs[b]})"
        for label, (a, b) in pairs.items()
        if a in epochs and b in epochs and epochs[a] != epochs[b]
    ]


def per_class_correctness(runs: Sequence[RunLike]) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, correct)``: the test labels and a ``(seeds, images)`` boolean matrix of
    top-1 correctness, rows ordered by seed, so that two variants' matrices pair up
    image by image (and seed by seed) for a paired test restricted to one class's images."""
    labels: np.ndarray | None = None
    rows = []
    for run in _by_seed(runs):
        predictions = run.predictions()
        if labels is None:
            labels = np.asarray(predictions["test_labels"])
        elif not np.array_equal(labels, predictions["test_labels"]):
            raise ValueError("the runs were scored on different test images; they cannot be paired")
        rows.append(np.asarray(predictions["test_probs"]).argmax(axis=1) == labels)
    if labels is None:
        raise ValueError("per_class_correctness needs at least one run")
    return labels, np.vstack(rows)


def change_intervals(
    changes: pd.DataFrame,
    runs_by_variant: RunsByVariant,
    class_names: Sequence[str],
) -> pd.DataFrame:
    """``changes`` (from :func:`largest_changes` or :func:`comparison_changes`) with the
    paired interval and test of each class's change on that class's test images
    (:func:`cifar_core.analysis.stats.paired.paired_difference`: same images, runs paired by
    seed): columns ``low``, ``high``, ``p_value``, ``test``, ``images`` and ``seeds`` added.

    Only the seeds both arms share are paired (same seed: same validation split), and the
    row's ``baseline_accuracy``, ``variant_accuracy`` and ``change`` are recomputed on
    them, so each row is one consistent comparison; with no shared seed the interval is
    NaN and ``test`` says so. Classes are chosen as the largest changes first, so their
    raw p-values overstate the evidence: read the intervals, and the p-values only as a
    screen.
    """
    names = list(class_names)
    rows = []
    for _, row in changes.iterrows():
        base_runs = {r.variant.seed: r for r in runs_by_variant[row["baseline"]]}
        variant_runs = {r.variant.seed: r for r in runs_by_variant[row["variant"]]}
        shared = sorted(set(base_runs) & set(variant_runs))
        if not shared:
            rows.append(
                {
                    **row,
                    "low": np.nan,
                    "high": np.nan,
                    "p_value": np.nan,
                    "test": f"not compared: no shared seeds ({row['baseline']}: "
                    f"{sorted(base_runs)}, {row['variant']}: {sorted(variant_runs)})",
                    "images": 0,
                    "seeds": 0,
                }
            )
            continue
        labels, base = per_class_correctness([base_runs[s] for s in shared])
        other_labels, variant = per_class_correctness([variant_runs[s] for s in shared])
        if not np.array_equal(labels, other_labels):
            raise ValueError(
                f"{row['baseline']} and {row['variant']} cannot be paired: "
                "they were scored on different test images"
            )
        images = labels == names.index(row["class"])
        result = paired_difference(base[:, images], variant[:, images])
        before, after = float(base[:, images].mean()), float(variant[:, images].mean())
        rows.append(
            {
                **row,
                "baseline_accuracy": before,
                "variant_accuracy": after,
                "change": after - before,
                "low": result.ci_low,
                "high": result.ci_high,
                "p_value": result.p_value,
                "test": result.test,
                "images": int(images.sum()),
                "seeds": len(shared),
            }
        )
    extra = ["low", "high", "p_value", "test", "images", "seeds"]
    return pd.DataFrame(rows, columns=[*changes.columns, *extra])


def changes_display(changes: pd.DataFrame) -> pd.DataFrame:
    """:func:`change_intervals` as text: the change, the class, its accuracy without and
    with the change, and the change in points with its interval (or why it was not
    compared), images and seeds."""
    return pd.DataFrame(
        [
            {
                "change": row["comparison"],
                "without → with": f"{row['baseline']} → {row['variant']}",
                "direction": row["direction"],
                "class": row["class"],
                "without %": text.number(row["baseline_accuracy"] * 100),
                "with %": text.number(row["variant_accuracy"] * 100),
                "change pts (95 % CI)": text.effect(row["change"], row["low"], row["high"])
                if row["seeds"]
                else row["test"],
                "images": int(row["images"]),
                "seeds": int(row["seeds"]),
            }
            for _, row in changes.iterrows()
        ]
    )


def change_values(changes: pd.DataFrame, comparisons: Sequence[str]) -> dict[str, Any]:
    """``{comparison: {"gain"|"loss": {"class", "change", "ci"}}}``: the class each change
    helps and hurts most, with the change and its interval in points.

    >>> rows = pd.DataFrame({"comparison": ["depth"], "direction": ["gain"], "class": ["cat"],
    ...                      "change": [0.04], "low": [-0.05], "high": [0.14]})
    >>> change_values(rows, ["depth"])["depth"]
    {'gain': {'class': 'cat', 'change': '+4.0 points', 'ci': '−5.0 to 14.0 points'}, 'loss': {'class': 'none', 'change': '–', 'ci': '–'}}
    """
    values: dict[str, Any] = {}
    for label in comparisons:
        values[label] = {}
        for direction in ("gain", "loss"):
            rows = (
                changes[(changes["comparison"] == label) & (changes["direction"] == direction)]
                if len(changes)
                else changes
            )
            none = pd.Series({"class": "none", "change": np.nan, "low": np.nan, "high": np.nan})
            row = rows.iloc[0] if len(rows) else none  # NaN reads as unknown
            values[label][direction] = {
                "class": row["class"],
                "change": text.points(row["change"], signed=True, unit=True),
                "ci": text.interval(row["low"], row["high"], unit=True),
            }
    return values
