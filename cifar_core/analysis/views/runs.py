"""The runs view: one row per variant (mean and std over seeds) and what a runs table
shows beside the numbers — which runs are under-trained, which variants a profile
scaled into one run — plus the per-run tables behind the figures (curves against
training time, the generalization gap) and the Pareto front.

:func:`runs_table` holds numbers; :func:`display_table` turns it into the text the
report prints (:mod:`cifar_core.analysis.text`). Nothing here imports Keras.

Example
-------
>>> from types import SimpleNamespace as S
>>> runs = {"cnn": [S(metrics={"test_accuracy": 0.6, "val_accuracy": 0.5}),
...                 S(metrics={"test_accuracy": 0.7, "val_accuracy": 0.6})]}
>>> table = runs_table(runs)
>>> accuracy_text(table, "cnn"), display_table(table, losses=False).loc[0, "test acc %"]
('65.0 ± 7.1 %', '65.0 ± 7.1')
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cifar_core.analysis import text
from cifar_core.analysis.records import RunLike, metric, same_runs
from cifar_core.analysis.stats.convergence import convergence
from cifar_core.models.stats import cache_path, stats_key
from cifar_core.runs.compute_choice import training_label

if TYPE_CHECKING:
    from cifar_core.analysis.context import AnalysisContext

RunsByVariant = Mapping[str, Sequence[Any]]
"""``{variant name: its runs, one per seed}`` (run-store runs or test doubles)."""

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

_STATS_CACHE: dict[str, Any] = {}


def cached_model_stats(variant: Any) -> dict[str, Any]:
    """``{"params", "flops", …}`` of a variant from the on-disk model-stats cache
    (:mod:`cifar_core.models.stats`), or ``{}`` when not measured yet. Never builds a model."""
    path = cache_path()
    try:
        stamp = path.stat().st_mtime_ns
        if _STATS_CACHE.get("stamp") != stamp:
            _STATS_CACHE.update(stamp=stamp, data=json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}
    return dict(_STATS_CACHE["data"].get(stats_key(variant.family, variant.params), {}))


def _metric(run: Any, key: str) -> float:
    return metric(getattr(run, "metrics", None), key)


def _constant(run: Any, key: str) -> float:
    value = _metric(run, key)
    variant = getattr(run, "variant", None)
    if math.isnan(value) and hasattr(variant, "family"):
        value = metric(cached_model_stats(variant), key)
    return value


def runs_table(
    runs_by_variant: RunsByVariant, reported: Mapping[str, float] | None = None
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
            constants = [_constant(r, key) for r in runs]
            row[key] = next((v for v in constants if not math.isnan(v)), math.nan)
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
    runs_by_study: Mapping[str, RunsByVariant],
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


def merged_runs(runs_by_study: Mapping[str, RunsByVariant]) -> dict[str, list[Any]]:
    """``{variant: runs}`` over several studies in order (each variant once)."""
    merged: dict[str, list[Any]] = {}
    for runs in runs_by_study.values():
        for name, seeds in runs.items():
            merged.setdefault(name, list(seeds))
    return merged


def as_fraction(value: float | None) -> float:
    """Accuracy as a fraction: ``75.8`` (percent) and ``0.758`` both give ``0.758``.

    >>> as_fraction(75.8), as_fraction(0.758), as_fraction(None)
    (0.758, 0.758, nan)
    """
    if value is None:
        return math.nan
    value = float(value)
    return value / 100.0 if value > 1.0 else value


def _row(table: pd.DataFrame, variant: str) -> pd.Series | None:
    rows = table[table["variant"] == variant] if "variant" in table else table.iloc[0:0]
    return None if rows.empty else rows.iloc[0]


def value(table: pd.DataFrame, variant: str, column: str) -> float:
    """``table[column]`` of one variant's row; NaN when the variant is absent.

    >>> value(pd.DataFrame({"variant": ["a"], "params": [12.0]}), "a", "params")
    12.0
    """
    row = _row(table, variant)
    return math.nan if row is None else float(row[column])


def accuracy_text(table: pd.DataFrame, variant: str, split: str = "test") -> str:
    """``"68.9 ± 0.4 %"`` for one variant of a :func:`runs_table`; unknown when absent."""
    row = _row(table, variant)
    if row is None:
        return text.UNKNOWN
    return text.accuracy(row[f"{split}_accuracy_mean"], row[f"{split}_accuracy_std"])


def seconds_text(table: pd.DataFrame, variant: str) -> str:
    """Mean wall time of one variant of a :func:`runs_table`: ``"42 s"``, ``"3.2 min"``."""
    return text.seconds(value(table, variant, "wall_time_s_mean"))


def _mean_std(table: pd.DataFrame, metric: str, **options: Any) -> list[str]:
    """``"mean ± std"`` of ``<metric>_mean`` and ``<metric>_std`` per row."""
    pairs = zip(table[f"{metric}_mean"], table[f"{metric}_std"])
    return [text.mean_std(m, s, **options) for m, s in pairs]


def display_table(table: pd.DataFrame, *, losses: bool = True) -> pd.DataFrame:
    """A :func:`runs_table` as text: ``mean ± std`` in percent (losses to 3 decimals,
    time in seconds), parameters and FLOPs per image with an SI prefix, the seed
    report's figure and the difference to it in points, and what trained the runs where
    that differs between rows."""
    out = pd.DataFrame({"variant": table["variant"], "seeds": table["seeds"]})
    out["params"] = [text.si(v) for v in table["params"]]
    if table["flops"].notna().any():
        out["FLOPs/img"] = [text.si(v) for v in table["flops"]]
    for split in ("train", "val", "test"):
        out[f"{split} acc %"] = _mean_std(table, f"{split}_accuracy")
    if losses:
        for split in ("train", "val", "test"):
            out[f"{split} loss"] = _mean_std(table, f"{split}_loss", percent=False, digits=3)
    out["time s"] = _mean_std(table, "wall_time_s", percent=False)
    if "reported" in table:
        out["reported %"] = [text.mean_std(v) for v in table["reported"]]
        out["Δ pts"] = [text.points(d, signed=True) for d in table["delta"]]
    if "trained_with" in table:
        out["trained with"] = table["trained_with"]
    return out


# ----------------------------------------------------------------------------- run flags
def under_trained_column(runs_by_variant: RunsByVariant) -> dict[str, str]:
    """``{variant: "no" | "yes" | "2 of 3 seeds"}``: how many of a variant's runs the
    convergence flag (:func:`~cifar_core.analysis.stats.convergence.convergence`) marks
    as under-trained; unknown for a variant without runs, ``"not checked (no validation
    split)"`` for runs trained without one (a seed-protocol build).

    >>> from types import SimpleNamespace as S
    >>> under_trained_column({"a": [S(history=None)], "b": []})
    {'a': 'not checked (no validation split)', 'b': '–'}
    """
    column = {}
    for name, runs in runs_by_variant.items():
        runs = [r for r in runs if r is not None]
        verdicts = [convergence(getattr(r, "history", None)) for r in runs]
        flagged = sum(v.under_trained for v in verdicts)
        if not runs:
            column[name] = text.UNKNOWN
        elif all(v.epochs == 0 for v in verdicts):
            column[name] = "not checked (no validation split)"
        elif flagged == 0:
            column[name] = "no"
        elif flagged == len(runs):
            column[name] = "yes" if len(runs) == 1 else f"yes ({len(runs)} of {len(runs)} seeds)"
        else:
            column[name] = f"{flagged} of {len(runs)} seeds"
    return column


def same_run_notes(runs_by_variant: RunsByVariant, baselines: Iterable[str] = ()) -> dict[str, str]:
    """``{variant: "same run as <other> under this profile"}`` for each variant whose
    runs are another variant's (same run keys); the other is a study baseline when one
    of them is (``baselines``), else the earlier in the mapping's order."""
    keys = {n: [str(r.key) for r in runs if r is not None] for n, runs in runs_by_variant.items()}
    return {
        name: f"same run as {twin} under this profile"
        for name, twin in same_runs(keys, baselines).items()
    }


def with_run_flags(
    shown: pd.DataFrame, runs_by_variant: RunsByVariant, baselines: Iterable[str] = ()
) -> pd.DataFrame:
    """``shown`` (a display table with a ``variant`` column) with an ``under-trained``
    column (:func:`under_trained_column`) and a ``note`` saying "same run as X under this
    profile" for collapsed variants (:func:`same_run_notes`)."""
    names = list(shown["variant"])
    flags = under_trained_column(runs_by_variant)
    notes = same_run_notes(runs_by_variant, baselines)
    out = shown.copy()
    out["under-trained"] = [flags.get(n, text.UNKNOWN) for n in names]
    out["note"] = [notes.get(n, "") for n in names]
    return out


# ----------------------------------------------------------------------------- per run
def time_curves(runs_by_variant: RunsByVariant, metric: str = "val_accuracy") -> pd.DataFrame:
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


def generalization_gap(runs_by_variant: Mapping[str, Sequence[RunLike]]) -> pd.DataFrame:
    """Per run: train − val and train − test accuracy (long format, one row per seed)."""
    rows = []
    for name, runs in runs_by_variant.items():
        for run in runs:
            train = _metric(run, "train_accuracy")
            rows.append(
                {
                    "variant": name,
                    "seed": run.variant.seed,
                    "train − val": train - _metric(run, "val_accuracy"),
                    "train − test": train - _metric(run, "test_accuracy"),
                }
            )
    return pd.DataFrame(rows, columns=["variant", "seed", "train − val", "train − test"])


def pareto_front(df: pd.DataFrame, x: str, y: str) -> pd.Series:
    """Boolean mask of the rows no other row beats: lower-or-equal ``x`` (cost) *and*
    higher-or-equal ``y`` (accuracy), strictly better in one. NaN rows are never on it.

    >>> t = pd.DataFrame({"cost": [1, 2, 3], "acc": [0.5, 0.4, 0.7]})
    >>> pareto_front(t, "cost", "acc").tolist()
    [True, False, True]
    """
    valid = df[[x, y]].notna().all(axis=1).to_numpy()
    xs, ys = df[x].to_numpy(float), df[y].to_numpy(float)
    mask = []
    for i in range(len(df)):
        dominated = (xs <= xs[i]) & (ys >= ys[i]) & ((xs < xs[i]) | (ys > ys[i])) & valid
        mask.append(bool(valid[i]) and not dominated.any())
    return pd.Series(mask, index=df.index, name="pareto")


def leaderboard(ranked: pd.DataFrame, runs_by_variant: RunsByVariant) -> pd.DataFrame:
    """A ranked runs table (with a ``study`` column) as text: study next to the variant,
    validation and test accuracy, time, and the run flags (:func:`with_run_flags`)."""
    if not len(ranked):
        return ranked
    shown = display_table(ranked, losses=False)
    shown.insert(1, "study", ranked["study"].to_numpy())
    shown = shown.drop(columns=[c for c in ("train acc %", "FLOPs/img") if c in shown])
    return with_run_flags(shown, runs_by_variant)


def run_keys(ctx: AnalysisContext) -> pd.DataFrame:
    """The runs behind a chapter: variant, seed, run key, epochs, dataset fingerprint and
    whether the run was in the store (or why not)."""
    rows = []
    for variant in ctx.variants:
        key = ctx.key(variant)
        cached = any(r.key == key for r in ctx.runs.get(variant.name, []))
        rows.append(
            {
                "variant": variant.name,
                "seed": variant.seed,
                "run key": key[:12],
                "epochs": variant.epochs,
                "data": ctx.dataset.fingerprint[:12],
                "cached": "yes" if cached else ctx.not_run.get(variant.name, "no")[:40],
            }
        )
    return pd.DataFrame(rows)
