"""Read-side analysis helpers: tables, confusion matrices, error galleries, anomaly flags.

Everything here works on what the run store keeps (metrics dicts, history DataFrames,
probability arrays); nothing imports Keras or TensorFlow, so analysis notebooks stay
fast when every run is cached.

Examples
--------
>>> import numpy as np
>>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
>>> confusion([0, 1, 1], probs, ["cat", "dog"]).values.tolist()
[[1, 0], [1, 1]]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

METRIC_COLUMNS = ("train_accuracy", "val_accuracy", "test_accuracy",
                  "train_loss", "val_loss", "test_loss", "wall_time_s")
"""Metrics averaged over seeds by :func:`runs_table` (each becomes ``<m>_mean``/``<m>_std``)."""

CONSTANT_COLUMNS = ("params", "flops")
"""Metrics that do not depend on the seed; :func:`runs_table` takes the first value."""


# --------------------------------------------------------------------------- tables
def _metric(run: Any, key: str) -> float:
    value = (getattr(run, "metrics", None) or {}).get(key)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


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
    if math.isnan(value) and getattr(run, "variant", None) is not None and hasattr(run.variant, "family"):
        try:
            value = float(cached_model_stats(run.variant).get(key, math.nan))
        except (TypeError, ValueError):
            value = math.nan
    return value


def runs_table(runs_by_variant: Mapping[str, Sequence[Any]],
               reported: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per variant: mean and std over seeds of accuracy, loss and time.

    ``runs_by_variant`` maps a variant name to its runs (one per seed; anything with a
    ``metrics`` dict). ``reported`` maps a variant name to the accuracy the seed report
    gives (fraction or percent); it adds ``reported`` and ``delta`` (test mean − reported).
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
            row[f"{key}_std"] = finite.std(ddof=1) if finite.size > 1 else 0.0 if finite.size else math.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["gap_mean"] = table["train_accuracy_mean"] - table["val_accuracy_mean"]
    if reported is not None:
        table["reported"] = [as_fraction(reported.get(n)) for n in table["variant"]]
        table["delta"] = table["test_accuracy_mean"] - table["reported"]
    return table


def time_curves(runs_by_variant: Mapping[str, Sequence[Any]],
                metric: str = "val_accuracy") -> pd.DataFrame:
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
            frames.append(pd.DataFrame({"variant": name, "epoch": history["epoch"],
                                        "seconds": history["epoch"] * per_epoch,
                                        "value": history[metric]}))
    if not frames:
        return pd.DataFrame(columns=["variant", "epoch", "seconds", "mean", "std"])
    grouped = pd.concat(frames).groupby(["variant", "epoch"], sort=False)
    curves = grouped.agg(seconds=("seconds", "mean"), mean=("value", "mean"),
                         std=("value", "std")).reset_index()
    curves["std"] = curves["std"].fillna(0.0)
    return curves


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


def studies_table(runs_by_study: Mapping[str, Mapping[str, Sequence[Any]]],
                  reported: Mapping[str, Mapping[str, float]] | None = None) -> pd.DataFrame:
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


def count_text(value: Any) -> str:
    """``1707274`` → ``"1,707,274"``; ``"n/a"`` when unknown."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


def best_row(table: pd.DataFrame, column: str = "test_accuracy_mean") -> pd.Series | None:
    """The row with the highest ``column`` (``None`` for an empty table)."""
    if table.empty or table[column].isna().all():
        return None
    return table.loc[table[column].idxmax()]


def display_table(table: pd.DataFrame, *, losses: bool = True) -> pd.DataFrame:
    """A human-readable copy of a :func:`runs_table`: ``mean ± std`` strings in percent."""
    out = pd.DataFrame({"variant": table["variant"], "seeds": table["seeds"]})
    out["params"] = [human_count(v) for v in table["params"]]
    if table["flops"].notna().any():
        out["FLOPs/img"] = [human_count(v) for v in table["flops"]]
    for split in ("train", "val", "test"):
        out[f"{split} acc %"] = [mean_std(m, s) for m, s in
                                 zip(table[f"{split}_accuracy_mean"], table[f"{split}_accuracy_std"])]
    if losses:
        for split in ("train", "val", "test"):
            out[f"{split} loss"] = [mean_std(m, s, percent=False, digits=3) for m, s in
                                    zip(table[f"{split}_loss_mean"], table[f"{split}_loss_std"])]
    out["time s"] = [mean_std(m, s, percent=False, digits=1) for m, s in
                     zip(table["wall_time_s_mean"], table["wall_time_s_std"])]
    if "reported" in table:
        out["reported %"] = [mean_std(v, 0.0) for v in table["reported"]]
        out["Δ pts"] = [("–" if math.isnan(d) else f"{d * 100:+.1f}") for d in table["delta"]]
    return out


def show_table(table: pd.DataFrame, *, synthetic: bool = False, index: bool = False,
               floatfmt: str = ".3f") -> None:
    """Display ``table`` as one output carrying both a markdown pipe table (what the report
    embeds) and HTML (what Jupyter shows). On synthetic data the first column header says
    ``[SYNTHETIC DATA]`` so the table never passes for CIFAR-10 results."""
    from IPython.display import display

    if index:
        table = table.reset_index()
    if synthetic and len(table.columns):
        table = table.rename(columns={table.columns[0]: f"{table.columns[0]} [SYNTHETIC DATA]"})
    text = table.copy()
    for column in text.columns:
        if pd.api.types.is_float_dtype(text[column]):
            text[column] = ["–" if pd.isna(v) else format(v, floatfmt) for v in text[column]]
    text = text.astype(str)
    display({"text/markdown": text.to_markdown(index=False, disable_numparse=True),
             "text/html": text.to_html(index=False),
             "text/plain": text.to_string(index=False)}, raw=True)


def show_markdown(text: str) -> None:
    """Display markdown (callouts, notes) as a ``text/markdown`` output."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def generalization_gap(runs_by_variant: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """Per run: train − val and train − test accuracy (long format, one row per seed)."""
    rows = []
    for name, runs in runs_by_variant.items():
        for run in runs:
            train = _metric(run, "train_accuracy")
            rows.append({"variant": name, "seed": getattr(getattr(run, "variant", None), "seed", None),
                         "train − val": train - _metric(run, "val_accuracy"),
                         "train − test": train - _metric(run, "test_accuracy")})
    return pd.DataFrame(rows, columns=["variant", "seed", "train − val", "train − test"])


# --------------------------------------------------------------------------- predictions
def _predicted(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs)
    if probs.ndim != 2:
        raise ValueError(f"probabilities must be a 2-D (samples, classes) array, got shape {probs.shape}")
    return probs.argmax(axis=1)


def _check_lengths(labels: np.ndarray, probs: np.ndarray) -> None:
    if len(labels) != len(probs):
        raise ValueError(f"{len(labels)} labels but {len(probs)} probability rows")


def confusion(labels: Sequence[int], probs: np.ndarray, class_names: Sequence[str],
              normalize: str | None = None) -> pd.DataFrame:
    """Confusion matrix (rows = true class, columns = predicted) as a labelled DataFrame.

    ``normalize`` is passed to :func:`sklearn.metrics.confusion_matrix`: ``None`` (counts),
    ``"true"`` (row-normalized: recall on the diagonal), ``"pred"`` or ``"all"``.
    """
    from sklearn.metrics import confusion_matrix

    labels = np.asarray(labels)
    _check_lengths(labels, probs)
    matrix = confusion_matrix(labels, _predicted(probs), labels=range(len(class_names)),
                              normalize=normalize)
    frame = pd.DataFrame(matrix, index=list(class_names), columns=list(class_names))
    frame.index.name, frame.columns.name = "true", "predicted"
    return frame


def classification_table(labels: Sequence[int], probs: np.ndarray,
                         class_names: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class plus the averages, from
    :func:`sklearn.metrics.classification_report` (``output_dict=True``)."""
    from sklearn.metrics import classification_report

    labels = np.asarray(labels)
    _check_lengths(labels, probs)
    report = classification_report(labels, _predicted(probs), labels=range(len(class_names)),
                                   target_names=list(class_names), output_dict=True,
                                   zero_division=0)
    accuracy = report.pop("accuracy", None)
    table = pd.DataFrame(report).T
    table["support"] = table["support"].astype(int)
    if accuracy is not None:
        table.loc["accuracy"] = [math.nan, math.nan, accuracy, int(len(labels))]
    table.index.name = "class"
    return table


def per_class_accuracy(labels: Sequence[int], probs: np.ndarray,
                       class_names: Sequence[str]) -> pd.Series:
    """Accuracy within each true class (the diagonal of the row-normalized matrix)."""
    matrix = confusion(labels, probs, class_names, normalize="true")
    return pd.Series(np.diag(matrix.values), index=list(class_names), name="accuracy")


def most_confused_pairs(cm: pd.DataFrame | np.ndarray, class_names: Sequence[str] | None = None,
                        top: int = 5) -> pd.DataFrame:
    """The ``top`` off-diagonal cells of a count confusion matrix, largest first.

    Columns: ``true``, ``predicted``, ``count``, ``share`` (of the true class), and
    ``reverse`` (the count the other way round, e.g. truck → automobile).
    """
    values = np.asarray(cm, dtype=float)
    if class_names is None:
        class_names = list(cm.index) if isinstance(cm, pd.DataFrame) else list(range(len(values)))
    rows = values.sum(axis=1)
    cells = [(values[i, j], i, j) for i in range(len(values)) for j in range(len(values))
             if i != j and values[i, j] > 0]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    records = [{"true": class_names[i], "predicted": class_names[j], "count": int(n),
                "share": n / rows[i] if rows[i] else math.nan, "reverse": int(values[j, i])}
               for n, i, j in cells[:top]]
    return pd.DataFrame(records, columns=["true", "predicted", "count", "share", "reverse"])


def top_k_text(probs: np.ndarray, index: int, class_names: Sequence[str], k: int = 3) -> str:
    """``"cat 0.91, dog 0.05, frog 0.02"``: the ``k`` most probable classes of one row."""
    row = np.asarray(probs)[index]
    order = np.argsort(-row, kind="stable")[:k]
    return ", ".join(f"{class_names[i]} {row[i]:.2f}" for i in order)


def _prediction_table(indices: np.ndarray, probs: np.ndarray, labels: np.ndarray,
                      class_names: Sequence[str] | None) -> pd.DataFrame:
    predicted = probs[indices].argmax(axis=1)
    table = pd.DataFrame({
        "idx": indices.astype(int),
        "true": labels[indices].astype(int),
        "pred": predicted.astype(int),
        "pred_prob": probs[indices, predicted],
        "true_prob": probs[indices, labels[indices]],
    })
    if class_names is not None:
        table.insert(2, "true_class", [class_names[i] for i in table["true"]])
        table.insert(4, "pred_class", [class_names[i] for i in table["pred"]])
    return table.reset_index(drop=True)


def _select(probs: np.ndarray, labels: Sequence[int], n: int, *, correct: bool,
            most_confident: bool, class_names: Sequence[str] | None) -> pd.DataFrame:
    probs, labels = np.asarray(probs), np.asarray(labels)
    _check_lengths(labels, probs)
    predicted = _predicted(probs)
    confidence = probs.max(axis=1)
    pool = np.flatnonzero((predicted == labels) == correct)
    order = np.argsort(-confidence[pool] if most_confident else confidence[pool], kind="stable")
    return _prediction_table(pool[order[:n]], probs, labels, class_names)


def confident_mistakes(probs: np.ndarray, labels: Sequence[int], n: int = 16,
                       class_names: Sequence[str] | None = None) -> pd.DataFrame:
    """The ``n`` wrong predictions made with the highest probability (seed 003's
    "bad classification with highest probability"), with ``idx``, true/predicted class
    and probabilities."""
    return _select(probs, labels, n, correct=False, most_confident=True, class_names=class_names)


def least_confident_correct(probs: np.ndarray, labels: Sequence[int], n: int = 16,
                            class_names: Sequence[str] | None = None) -> pd.DataFrame:
    """The ``n`` correct predictions made with the lowest probability (seed 003's
    "good classification with lowest probability")."""
    return _select(probs, labels, n, correct=True, most_confident=False, class_names=class_names)


# --------------------------------------------------------------------------- trade-offs
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
        dominated = ((xs <= xs[i]) & (ys >= ys[i]) & ((xs < xs[i]) | (ys > ys[i])) & valid.to_numpy())
        mask.append(not dominated.any())
    return pd.Series(mask, index=df.index, name="pareto")


# --------------------------------------------------------------------------- anomalies
@dataclass(frozen=True)
class Anomaly:
    """A number a report must flag rather than interpret."""

    kind: str  # chance_level | overfitting | large_gap | nan_loss
    message: str


def _chance_level(metrics: Mapping[str, Any], num_classes: int, high_train: float) -> list[Anomaly]:
    test, train = _metric_value(metrics, "test_accuracy"), _metric_value(metrics, "train_accuracy")
    if math.isnan(test) or test > 1.5 / num_classes or not train >= high_train:
        return []
    return [Anomaly("chance_level",
                    f"Test accuracy {test:.1%} is at chance level (1/{num_classes} = "
                    f"{1 / num_classes:.1%}) while training accuracy is {train:.1%}: this points "
                    "to an evaluation mismatch (different preprocessing or label order between "
                    "training and test), not to a model that learned nothing. Do not interpret it.")]


def _large_gap(metrics: Mapping[str, Any], threshold: float) -> list[Anomaly]:
    train, test = _metric_value(metrics, "train_accuracy"), _metric_value(metrics, "test_accuracy")
    if math.isnan(train) or math.isnan(test) or train - test <= threshold:
        return []
    return [Anomaly("large_gap",
                    f"Training accuracy {train:.1%} exceeds test accuracy {test:.1%} by "
                    f"{(train - test) * 100:.1f} points (> {threshold * 100:.0f}): the model "
                    "memorizes the training set.")]


def _overfitting(history: pd.DataFrame | None, window: int, tolerance: float) -> list[Anomaly]:
    if history is None or len(history) < window + 1 or not {"loss", "val_loss"} <= set(history):
        return []
    val, train = history["val_loss"].to_numpy(float), history["loss"].to_numpy(float)
    if np.isnan(val).all():
        return []
    best = int(np.nanargmin(val))
    epochs = history["epoch"].to_numpy() if "epoch" in history else np.arange(len(history))
    rising = best < len(val) - window and val[-1] > val[best] * (1 + tolerance)
    if not (rising and train[-1] < train[best]):
        return []
    return [Anomaly("overfitting",
                    f"Validation loss rose from {val[best]:.3f} (epoch {epochs[best]}) to "
                    f"{val[-1]:.3f} (epoch {epochs[-1]}) while training loss kept falling "
                    f"({train[best]:.3f} → {train[-1]:.3f}): the model overfits after epoch "
                    f"{epochs[best]}.")]


def _nan_loss(metrics: Mapping[str, Any], history: pd.DataFrame | None) -> list[Anomaly]:
    values = [_metric_value(metrics, k) for k in ("train_loss", "val_loss", "test_loss")
              if k in metrics]
    if history is not None:
        for column in ("loss", "val_loss"):
            if column in history:
                values.extend(history[column].to_numpy(float).tolist())
    if not any(math.isnan(v) or math.isinf(v) for v in values):
        return []
    return [Anomaly("nan_loss", "The loss became NaN or infinite during training: the run "
                    "diverged (learning rate too high, or bad inputs); its numbers are meaningless.")]


def _metric_value(metrics: Mapping[str, Any], key: str) -> float:
    try:
        return float(metrics.get(key))
    except (TypeError, ValueError):
        return math.nan


def find_anomalies(metrics: Mapping[str, Any], history: pd.DataFrame | None = None,
                   num_classes: int = 10, *, gap: float = 0.15, high_train: float = 0.5,
                   window: int = 2, tolerance: float = 0.05) -> list[Anomaly]:
    """Flags for one run: ``chance_level`` (test ≤ 1.5/num_classes while train ≥
    ``high_train``), ``overfitting`` (validation loss up more than ``tolerance`` from its
    minimum, which lies more than ``window`` epochs before the end, while training loss
    fell), ``large_gap`` (train − test > ``gap``) and ``nan_loss``."""
    found = _nan_loss(metrics, history) + _chance_level(metrics, num_classes, high_train)
    if not any(a.kind == "chance_level" for a in found):
        found += _large_gap(metrics, gap)
    return found + _overfitting(history, window, tolerance)


def run_anomalies(runs_by_variant: Mapping[str, Sequence[Any]], num_classes: int = 10,
                  **options: Any) -> list[tuple[str, Anomaly]]:
    """:func:`find_anomalies` over every run; ``(variant [seed], anomaly)`` pairs."""
    found = []
    for name, runs in runs_by_variant.items():
        for run in runs:
            seed = getattr(getattr(run, "variant", None), "seed", None)
            label = name if seed is None else f"{name} (seed {seed})"
            for anomaly in find_anomalies(run.metrics, getattr(run, "history", None),
                                          num_classes, **options):
                found.append((label, anomaly))
    return found


def callout(anomalies: Iterable[Anomaly | tuple[str, Anomaly]], *, title: str | None = None) -> str:
    """Quarto markdown: one ``::: {.callout-warning}`` block per anomaly ("" when none)."""
    blocks = []
    for item in anomalies:
        who, anomaly = item if isinstance(item, tuple) else (None, item)
        heading = title or anomaly.kind.replace("_", " ").capitalize()
        if who:
            heading = f"{heading}: {who}"
        blocks.append(f"::: {{.callout-warning}}\n## {heading}\n\n{anomaly.message}\n:::\n")
    return "\n".join(blocks)


def study_notes(studies: Iterable[Any]) -> str:
    """Markdown with each study remark once, headed by the studies that share it.

    >>> from types import SimpleNamespace as S
    >>> print(study_notes([S(title="Depth: blocks", notes=("Adam.", "Deep.")),
    ...                    S(title="Kernel size", notes=("Adam.",))]))
    **Depth, Kernel size.** Adam.
    <BLANKLINE>
    **Depth.** Deep.
    """
    shared: dict[str, list[str]] = {}
    for study in studies:
        for note in study.notes:
            shared.setdefault(note, []).append(study.title.split(":")[0])
    return "\n\n".join(f"**{', '.join(titles)}.** {note}" for note, titles in shared.items())


def note_callout(message: str, *, kind: str = "note", title: str | None = None) -> str:
    """A single Quarto callout block (``note``, ``warning``, ``important``, ``tip``...)."""
    heading = f"## {title}\n\n" if title else ""
    return f"::: {{.callout-{kind}}}\n{heading}{message}\n:::\n"


# --------------------------------------------------------------------------- pass marks
_OPS = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "≥": lambda a, b: a >= b,
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "≤": lambda a, b: a <= b}


def check_pass_marks(accuracies: Mapping[str, float], pass_marks: Mapping[str, Sequence[Any]],
                     epochs: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Seed 004's pass marks: one row per marked variant with ``achieved``, the mark,
    and ``passed`` (``None`` when the variant has no result).

    A mark is ``(op, threshold)`` or ``(op, threshold, max_epochs)``; thresholds may be
    fractions or percent. With ``max_epochs`` the run must also have used at most that
    many epochs (``epochs`` maps names to the epochs actually trained).
    """
    rows = []
    for name, mark in pass_marks.items():
        op, threshold, *rest = mark
        if op not in _OPS:
            raise ValueError(f"pass mark for {name!r}: unknown operator {op!r}; use one of {sorted(_OPS)}")
        threshold = as_fraction(threshold)
        achieved = accuracies.get(name)
        achieved = math.nan if achieved is None else float(achieved)
        mark_text = f"{op} {threshold:.0%}" + (f" in ≤ {rest[0]} epochs" if rest else "")
        passed = None if math.isnan(achieved) else bool(_OPS[op](achieved, threshold))
        if passed and rest and epochs is not None and name in epochs:
            passed = epochs[name] <= rest[0]
        rows.append({"variant": name, "achieved": achieved, "mark": mark_text, "passed": passed})
    return pd.DataFrame(rows, columns=["variant", "achieved", "mark", "passed"])
