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
...     return SimpleNamespace(config={"variant": {"seed": seed}},
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
from typing import Any

import numpy as np
import pandas as pd


def _runs(value: Any) -> list:
    runs = list(value) if isinstance(value, (list, tuple)) else [value]
    return sorted(runs, key=_seed_of)


def class_accuracy(labels: np.ndarray, probs: np.ndarray, num_classes: int) -> np.ndarray:
    """Accuracy within each true class (recall), NaN for a class absent from ``labels``."""
    from sklearn.metrics import recall_score

    labels = np.asarray(labels).ravel()
    predicted = np.asarray(probs).argmax(axis=1)
    return recall_score(
        labels, predicted, labels=np.arange(num_classes), average=None, zero_division=np.nan
    )


def _class_names(runs: list, class_names: Sequence[str] | None, num_classes: int) -> list[str]:
    if class_names is not None:
        return list(class_names)
    stored = (getattr(runs[0], "config", None) or {}).get("dataset", {}).get("class_names")
    return list(stored) if stored else [str(i) for i in range(num_classes)]


def per_class_table(
    runs_by_variant: Mapping[str, Any], class_names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per-class test accuracy (fraction): one row per variant (mean over its runs), one
    column per class. Values of ``runs_by_variant`` are a run or a sequence of runs;
    class names default to the first run's ``config["dataset"]["class_names"]``."""
    rows, names = {}, None
    for variant, value in runs_by_variant.items():
        runs = _runs(value)
        if not runs:
            continue
        per_run = []
        for run in runs:
            predictions = run.predictions()
            probs = predictions["test_probs"]
            per_run.append(class_accuracy(predictions["test_labels"], probs, probs.shape[1]))
        names = names or _class_names(runs, class_names, len(per_run[0]))
        rows[variant] = np.nanmean(per_run, axis=0) if len(per_run) > 1 else per_run[0]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=names)
    table.index.name, table.columns.name = "variant", "class"
    return table


def difference_to_baseline(table: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """``table`` minus the ``baseline`` row (positive: the variant is better on that
    class); the baseline's own row is dropped."""
    if baseline not in table.index:
        raise KeyError(
            f"baseline {baseline!r} is not a row of the table; rows: {list(table.index)}"
        )
    return table.drop(index=baseline).sub(table.loc[baseline], axis=1)


def largest_changes(table: pd.DataFrame, baseline: str, variant: str, n: int = 2) -> pd.DataFrame:
    """The ``n`` classes gaining most and the ``n`` losing most from ``baseline`` to
    ``variant``: columns ``baseline``, ``variant``, ``direction`` (gain/loss), ``class``,
    ``baseline_accuracy``, ``variant_accuracy``, ``change``. A class appears as a loss
    only if its change is negative, as a gain only if positive."""
    for name in (baseline, variant):
        if name not in table.index:
            raise KeyError(f"{name!r} is not a row of the table; rows: {list(table.index)}")
    change = (table.loc[variant] - table.loc[baseline]).dropna()
    gains = change[change > 0].sort_values(ascending=False).head(n)
    losses = change[change < 0].sort_values().head(n)
    rows = [
        {
            "baseline": baseline,
            "variant": variant,
            "direction": direction,
            "class": cls,
            "baseline_accuracy": float(table.loc[baseline, cls]),
            "variant_accuracy": float(table.loc[variant, cls]),
            "change": float(delta),
        }
        for direction, series in (("gain", gains), ("loss", losses))
        for cls, delta in series.items()
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "baseline",
            "variant",
            "direction",
            "class",
            "baseline_accuracy",
            "variant_accuracy",
            "change",
        ],
    )


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
        return pd.DataFrame(
            columns=[
                "comparison",
                "baseline",
                "variant",
                "direction",
                "class",
                "baseline_accuracy",
                "variant_accuracy",
                "change",
            ]
        )
    out = pd.concat(parts, ignore_index=True)
    return out[["comparison"] + [c for c in out.columns if c != "comparison"]]


def per_class_correctness(runs: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, correct)``: the test labels and a ``(seeds, images)`` boolean matrix of
    top-1 correctness, rows ordered by seed, so that two variants' matrices pair up
    image by image (and seed by seed) for a paired test restricted to one class's images."""
    runs = _runs(runs)
    labels, rows = None, []
    for run in runs:
        predictions = run.predictions()
        if labels is None:
            labels = np.asarray(predictions["test_labels"])
        elif not np.array_equal(labels, predictions["test_labels"]):
            raise ValueError("the runs were scored on different test images; they cannot be paired")
        rows.append(np.asarray(predictions["test_probs"]).argmax(axis=1) == labels)
    return labels, np.vstack(rows)


def _seed_of(run: Any):
    return (getattr(run, "config", None) or {}).get("variant", {}).get("seed", 0)


def change_intervals(
    changes: pd.DataFrame,
    runs_by_variant: Mapping[str, Any],
    class_names: Sequence[str],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    random_state: int = 0,
) -> pd.DataFrame:
    """``changes`` (from :func:`largest_changes` or :func:`comparison_changes`) with the
    paired interval and test of each class's change on that class's test images
    (:func:`cifar_core.analysis.paired.paired_difference`: same images, runs paired by
    seed): columns ``low``, ``high``, ``p_value``, ``test``, ``images`` and ``seeds`` added.

    Only the seeds both arms share are paired (same seed: same validation split), and the
    row's ``baseline_accuracy``, ``variant_accuracy`` and ``change`` are recomputed on
    them, so each row is one consistent comparison; with no shared seed the interval is
    NaN and ``test`` says so. Classes are chosen as the largest changes first, so their
    raw p-values overstate the evidence: read the intervals, and the p-values only as a
    screen.
    """
    from cifar_core.analysis.paired import paired_difference

    names = list(class_names)
    rows, extra = [], []
    for _, row in changes.iterrows():
        row = row.copy()
        base_runs = {_seed_of(r): r for r in _runs(runs_by_variant[row["baseline"]])}
        variant_runs = {_seed_of(r): r for r in _runs(runs_by_variant[row["variant"]])}
        shared = sorted(set(base_runs) & set(variant_runs))
        if not shared:
            rows.append(row)
            extra.append(
                {
                    "low": np.nan,
                    "high": np.nan,
                    "p_value": np.nan,
                    "images": 0,
                    "seeds": 0,
                    "test": f"not compared: no shared seeds ({row['baseline']}: "
                    f"{sorted(base_runs)}, {row['variant']}: {sorted(variant_runs)})",
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
        result = paired_difference(
            base[:, images],
            variant[:, images],
            confidence=confidence,
            n_resamples=n_resamples,
            random_state=random_state,
        )
        row["baseline_accuracy"] = float(base[:, images].mean())
        row["variant_accuracy"] = float(variant[:, images].mean())
        row["change"] = row["variant_accuracy"] - row["baseline_accuracy"]
        rows.append(row)
        extra.append(
            {
                "low": result.ci_low,
                "high": result.ci_high,
                "p_value": result.p_value,
                "test": result.test,
                "images": int(images.sum()),
                "seeds": len(shared),
            }
        )
    columns = ["low", "high", "p_value", "test", "images", "seeds"]
    return pd.concat(
        [
            pd.DataFrame(rows, columns=changes.columns).reset_index(drop=True),
            pd.DataFrame(extra, columns=columns),
        ],
        axis=1,
    )
