"""Tables over stored runs: one row per variant (mean and std over seeds), study
tables, curves against training time, the generalization gap, the Pareto front, and
the text formats the report quotes numbers in.

Computation only: displaying a table is :mod:`cifar_core.analysis.present`'s job.
Nothing here imports Keras.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cifar_core.runs.compute_choice import training_label

METRIC_COLUMNS = (
    "train_accuracy",
    "val_accuracy",
    "test_accuracy",
    "train_loss",
    "val_loss",
    "test_loss",
    "wall_time_s",
)
"""Metrics averaged over seeds by :func:`runs_table` (each becomes ``<m>_mean``/``<m>_std``)."""


CONSTANT_COLUMNS = ("params", "flops")
"""Metrics that do not depend on the seed; :func:`runs_table` takes the first value."""


def metric_value(metrics: Mapping[str, Any] | None, key: str) -> float:
    """``metrics[key]`` as a float; NaN when absent or not a number.

    >>> metric_value({"test_accuracy": 0.5}, "test_accuracy"), metric_value({}, "x")
    (0.5, nan)
    """
    try:
        return float((metrics or {}).get(key))
    except (TypeError, ValueError):
        return math.nan


def _metric(run: Any, key: str) -> float:
    return metric_value(getattr(run, "metrics", None), key)


def cached_model_stats(variant: Any) -> dict[str, Any]:
    """``{"params", "flops", …}`` of a variant from the on-disk model-stats cache
    (:mod:`cifar_core.models.stats`), or ``{}`` when not measured yet. Never builds a model."""
    import json

    from cifar_core.models.stats import cache_path, stats_key

    path = cache_path()
    try:
        stamp = path.stat().st_mtime_ns
        if _STATS_CACHE.get("stamp") != stamp:
            _STATS_CACHE.update(stamp=stamp, data=json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}
    return dict(_STATS_CACHE["data"].get(stats_key(variant.family, variant.params), {}))


_STATS_CACHE: dict[str, Any] = {}


def _constant(run: Any, key: str) -> float:
    value = _metric(run, key)
    if (
        math.isnan(value)
        and getattr(run, "variant", None) is not None
        and hasattr(run.variant, "family")
    ):
        try:
            value = float(cached_model_stats(run.variant).get(key, math.nan))
        except (TypeError, ValueError):
            value = math.nan
    return value


def runs_table(
    runs_by_variant: Mapping[str, Sequence[Any]], reported: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """One row per variant: mean and std over seeds of accuracy, loss and time.

    ``runs_by_variant`` maps a variant name to its runs (one per seed; anything with a
    ``metrics`` dict). ``reported`` maps a variant name to the accuracy the seed report
    gives (fraction or percent); it adds ``reported`` and ``delta`` (test mean − reported).
    When the runs were not all trained with one backend and precision, ``trained_with``
    names each row's (:func:`~cifar_core.runs.compute_choice.training_label`).
    """
    rows = []
    for name, runs in runs_by_variant.items():
        row: dict[str, Any] = {"variant": name, "seeds": len(runs)}
        for key in CONSTANT_COLUMNS:
            values = [_constant(r, key) for r in runs]
            row[key] = next((v for v in values if not math.isnan(v)), math.nan)
        for key in METRIC_COLUMNS:
            values = np.array([_metric(r, key) for r in runs], dtype=float)
            finite = values[~np.isnan(values)]
            row[f"{key}_mean"] = finite.mean() if finite.size else math.nan
            row[f"{key}_std"] = (
                finite.std(ddof=1) if finite.size > 1 else 0.0 if finite.size else math.nan
            )
        row["trained_with"] = ", ".join(
            sorted({training_label(getattr(r, "metrics", None)) for r in runs})
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    if table["trained_with"].nunique() <= 1:  # label runs only where their settings differ
        table = table.drop(columns="trained_with")
    table["gap_mean"] = table["train_accuracy_mean"] - table["val_accuracy_mean"]
    if reported is not None:
        table["reported"] = [as_fraction(reported.get(n)) for n in table["variant"]]
        table["delta"] = table["test_accuracy_mean"] - table["reported"]
    return table


def studies_table(
    runs_by_study: Mapping[str, Mapping[str, Sequence[Any]]],
    reported: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """:func:`runs_table` for several studies stacked, with a leading ``study`` column."""
    frames = []
    for study, runs in runs_by_study.items():
        table = runs_table(runs, (reported or {}).get(study, {}))
        if not table.empty:
            frames.append(table.assign(study=study))
    if not frames:
        return pd.DataFrame(columns=["study", "variant"])
    table = pd.concat(frames, ignore_index=True)
    return table[["study"] + [c for c in table.columns if c != "study"]]


def time_curves(
    runs_by_variant: Mapping[str, Sequence[Any]], metric: str = "val_accuracy"
) -> pd.DataFrame:
    """``metric`` against training time: one row per variant and epoch with the mean
    ``seconds`` of training up to the end of that epoch and the ``mean``/``std`` of
    ``metric`` over seeds. A run's epochs are taken as equally long (its ``fit_time_s``
    divided by ``epochs_run``).

    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(metrics={"fit_time_s": 10.0, "epochs_run": 2},
    ...     history=pd.DataFrame({"epoch": [1, 2], "val_accuracy": [0.5, 0.7]}))
    >>> time_curves({"net": [run]})[["epoch", "seconds", "mean"]].values.tolist()
    [[1.0, 5.0, 0.5], [2.0, 10.0, 0.7]]
    """
    frames = []
    for name, runs in runs_by_variant.items():
        for run in runs:
            history = run.history
            per_epoch = _metric(run, "fit_time_s") / max(1.0, _metric(run, "epochs_run"))
            frames.append(
                pd.DataFrame(
                    {
                        "variant": name,
                        "epoch": history["epoch"],
                        "seconds": history["epoch"] * per_epoch,
                        "value": history[metric],
                    }
                )
            )
    if not frames:
        return pd.DataFrame(columns=["variant", "epoch", "seconds", "mean", "std"])
    grouped = pd.concat(frames).groupby(["variant", "epoch"], sort=False)
    curves = grouped.agg(
        seconds=("seconds", "mean"), mean=("value", "mean"), std=("value", "std")
    ).reset_index()
    curves["std"] = curves["std"].fillna(0.0)
    return curves


def generalization_gap(runs_by_variant: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """Per run: train − val and train − test accuracy (long format, one row per seed)."""
    rows = []
    for name, runs in runs_by_variant.items():
        for run in runs:
            train = _metric(run, "train_accuracy")
            rows.append(
                {
                    "variant": name,
                    "seed": getattr(getattr(run, "variant", None), "seed", None),
                    "train − val": train - _metric(run, "val_accuracy"),
                    "train − test": train - _metric(run, "test_accuracy"),
                }
            )
    return pd.DataFrame(rows, columns=["variant", "seed", "train − val", "train − test"])


def pareto_front(df: pd.DataFrame, x: str, y: str) -> pd.Series:
    """Boolean mask of the rows no other row beats: lower-or-equal ``x`` (cost) *and*
    higher-or-equal ``y`` (accuracy), strictly better in one. NaN rows are never on it."""
    valid = df[[x, y]].notna().all(axis=1)
    xs, ys = df[x].to_numpy(float), df[y].to_numpy(float)
    mask = []
    for i in range(len(df)):
        if not valid.iloc[i]:
            mask.append(False)
            continue
        dominated = (xs <= xs[i]) & (ys >= ys[i]) & ((xs < xs[i]) | (ys > ys[i])) & valid.to_numpy()
        mask.append(not dominated.any())
    return pd.Series(mask, index=df.index, name="pareto")


def as_fraction(value: float | None) -> float:
    """Accuracy as a fraction: ``75.8`` (percent) and ``0.758`` both give ``0.758``."""
    if value is None:
        return math.nan
    value = float(value)
    return value / 100.0 if value > 1.0 else value


def mean_std(mean: float, std: float, *, percent: bool = True, digits: int = 1) -> str:
    """``"68.9 ± 0.4"`` (percent) or ``"1.234 ± 0.010"``; ``"–"`` when unknown."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    scale = 100.0 if percent else 1.0
    text = f"{mean * scale:.{digits}f}"
    if std is not None and not math.isnan(std) and std > 0:
        text += f" ± {std * scale:.{digits}f}"
    return text


def human_count(value: float) -> str:
    """``1234567`` → ``"1.23M"``; ``"–"`` when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}"


def points_text(difference: float) -> str:
    """An accuracy difference in percentage points: ``0.123`` → ``"12.3 pp"``; ``"n/a"``
    when unknown.

    >>> points_text(0.123), points_text(float("nan"))
    ('12.3 pp', 'n/a')
    """
    return "n/a" if difference is None or math.isnan(difference) else f"{difference * 100:.1f} pp"


def count_text(value: Any) -> str:
    """``1707274`` → ``"1,707,274"``; ``"n/a"`` when unknown."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


def acc_text(table: pd.DataFrame, variant: str, split: str = "test") -> str:
    """``"68.9 ± 0.4 %"`` for one variant of a :func:`runs_table`; ``"n/a"`` when absent."""
    rows = table[table["variant"] == variant] if "variant" in table else table.iloc[0:0]
    if rows.empty or math.isnan(rows.iloc[0][f"{split}_accuracy_mean"]):
        return "n/a"
    row = rows.iloc[0]
    return mean_std(row[f"{split}_accuracy_mean"], row[f"{split}_accuracy_std"]) + " %"


def seconds_text(table: pd.DataFrame, variant: str) -> str:
    """Mean wall time of one variant of a :func:`runs_table`: ``"42 s"``, ``"3.2 min"``."""
    rows = table[table["variant"] == variant] if "variant" in table else table.iloc[0:0]
    if rows.empty or math.isnan(rows.iloc[0]["wall_time_s_mean"]):
        return "n/a"
    seconds = rows.iloc[0]["wall_time_s_mean"]
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def value(table: pd.DataFrame, variant: str, column: str) -> float:
    """``table[column]`` of one variant's row; NaN when the variant is absent.

    >>> value(pd.DataFrame({"variant": ["a"], "params": [12.0]}), "a", "params")
    12.0
    """
    rows = table[table["variant"] == variant] if "variant" in table else table.iloc[0:0]
    return float(rows.iloc[0][column]) if len(rows) else math.nan


def display_table(table: pd.DataFrame, *, losses: bool = True) -> pd.DataFrame:
    """A human-readable copy of a :func:`runs_table`: ``mean ± std`` strings in percent."""
    out = pd.DataFrame({"variant": table["variant"], "seeds": table["seeds"]})
    out["params"] = [human_count(v) for v in table["params"]]
    if table["flops"].notna().any():
        out["FLOPs/img"] = [human_count(v) for v in table["flops"]]
    for split in ("train", "val", "test"):
        out[f"{split} acc %"] = [
            mean_std(m, s)
            for m, s in zip(table[f"{split}_accuracy_mean"], table[f"{split}_accuracy_std"])
        ]
    if losses:
        for split in ("train", "val", "test"):
            out[f"{split} loss"] = [
                mean_std(m, s, percent=False, digits=3)
                for m, s in zip(table[f"{split}_loss_mean"], table[f"{split}_loss_std"])
            ]
    out["time s"] = [
        mean_std(m, s, percent=False, digits=1)
        for m, s in zip(table["wall_time_s_mean"], table["wall_time_s_std"])
    ]
    if "reported" in table:
        out["reported %"] = [mean_std(v, 0.0) for v in table["reported"]]
        out["Δ pts"] = [("–" if math.isnan(d) else f"{d * 100:+.1f}") for d in table["delta"]]
    return out
