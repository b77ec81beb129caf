"""Numbers a report must flag rather than interpret (chance-level test accuracy next
to a high training accuracy, a diverged loss, overfitting, a large train−test gap) and
seed 004's pass marks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import ge, gt, le, lt
from typing import Any

import numpy as np
import pandas as pd

from cifar_core.analysis import text
from cifar_core.analysis.records import metric as metric_value
from cifar_core.analysis.views.runs import accuracy_text, as_fraction


@dataclass(frozen=True)
class Anomaly:
    """A number a report must flag rather than interpret.

    ``message`` says it all in one sentence; for a table of many flagged runs,
    ``evidence`` holds only this run's numbers and ``explanation`` what the kind means
    (the same for every run flagged with the same options)."""

    kind: str  # chance_level | overfitting | large_gap | nan_loss
    message: str
    evidence: str = ""
    explanation: str = ""


def _chance_level(
    metrics: Mapping[str, Any], num_classes: int, high_train: float
) -> Anomaly | None:
    test, train = metric_value(metrics, "test_accuracy"), metric_value(metrics, "train_accuracy")
    if math.isnan(test) or test > 1.5 / num_classes or not train >= high_train:
        return None
    why = (
        "this points to an evaluation mismatch (different preprocessing or label order "
        "between training and test), not to a model that learned nothing. Do not interpret it."
    )
    return Anomaly(
        "chance_level",
        f"Test accuracy {text.percent(test)} is at chance level (1/{num_classes} = "
        f"{text.percent(1 / num_classes)}) while training accuracy is {text.percent(train)}: {why}",
        evidence=f"test {text.percent(test)}, train {text.percent(train)}",
        explanation=f"test accuracy at chance level (≤ 1.5/{num_classes}) while "
        f"training accuracy is high: {why}",
    )


def _large_gap(metrics: Mapping[str, Any], threshold: float) -> Anomaly | None:
    train, test = metric_value(metrics, "train_accuracy"), metric_value(metrics, "test_accuracy")
    if math.isnan(train) or math.isnan(test) or train - test <= threshold:
        return None
    return Anomaly(
        "large_gap",
        f"Training accuracy {text.percent(train)} exceeds test accuracy {text.percent(test)} by "
        f"{text.points(train - test, unit=True)} (> {threshold * 100:.0f}): the model "
        "fits its training images far better than unseen ones.",
        evidence=f"train {text.percent(train)}, test {text.percent(test)}: gap "
        f"{text.points(train - test, unit=True)}",
        explanation=f"training accuracy exceeds test accuracy by more than "
        f"{threshold * 100:.0f} points: the model fits its training "
        "images far better than unseen ones.",
    )


def _overfitting(history: pd.DataFrame | None, window: int, tolerance: float) -> Anomaly | None:
    if history is None or len(history) < window + 1 or not {"loss", "val_loss"} <= set(history):
        return None
    val, train = history["val_loss"].to_numpy(float), history["loss"].to_numpy(float)
    if np.isnan(val).all():
        return None
    best = int(np.nanargmin(val))
    epochs = history["epoch"].to_numpy() if "epoch" in history else np.arange(len(history))
    rising = best < len(val) - window and val[-1] > val[best] * (1 + tolerance)
    if not (rising and train[-1] < train[best]):
        return None
    return Anomaly(
        "overfitting",
        f"Validation loss rose from {val[best]:.3f} (epoch {epochs[best]}) to "
        f"{val[-1]:.3f} (epoch {epochs[-1]}) while training loss kept falling "
        f"({train[best]:.3f} → {train[-1]:.3f}): the model overfits after epoch "
        f"{epochs[best]}.",
        evidence=f"val loss {val[best]:.3f} (epoch {epochs[best]}) → "
        f"{val[-1]:.3f} (epoch {epochs[-1]}), train loss "
        f"{train[best]:.3f} → {train[-1]:.3f}",
        explanation=f"validation loss rose more than {text.percent(tolerance, 0)} above its "
        f"minimum, reached more than {window} epochs before the end, "
        "while training loss kept falling: the model overfits after "
        "that epoch.",
    )


def _nan_loss(metrics: Mapping[str, Any], history: pd.DataFrame | None) -> Anomaly | None:
    values = [
        metric_value(metrics, k) for k in ("train_loss", "val_loss", "test_loss") if k in metrics
    ]
    if history is not None:
        for column in ("loss", "val_loss"):
            if column in history:
                values.extend(history[column].to_numpy(float).tolist())
    if not any(math.isnan(v) or math.isinf(v) for v in values):
        return None
    why = "the run diverged (learning rate too high, or bad inputs); its numbers are meaningless."
    return Anomaly(
        "nan_loss",
        f"The loss became NaN or infinite during training: {why}",
        evidence="loss NaN or infinite",
        explanation=f"the loss became NaN or infinite during training: {why}",
    )


def find_anomalies(
    metrics: Mapping[str, Any],
    history: pd.DataFrame | None = None,
    num_classes: int = 10,
    *,
    gap: float = 0.15,
    high_train: float = 0.5,
    window: int = 2,
    tolerance: float = 0.05,
) -> list[Anomaly]:
    """Flags for one run: ``chance_level`` (test ≤ 1.5/num_classes while train ≥
    ``high_train``), ``overfitting`` (validation loss up more than ``tolerance`` from its
    minimum, which lies more than ``window`` epochs before the end, while training loss
    fell), ``large_gap`` (train − test > ``gap``) and ``nan_loss``."""
    chance = _chance_level(metrics, num_classes, high_train)
    found = [
        _nan_loss(metrics, history),
        chance,
        None if chance else _large_gap(metrics, gap),  # chance level explains any gap
        _overfitting(history, window, tolerance),
    ]
    return [anomaly for anomaly in found if anomaly is not None]


def run_anomalies(
    runs_by_variant: Mapping[str, Sequence[Any]], num_classes: int = 10
) -> list[tuple[str, Anomaly]]:
    """:func:`find_anomalies` over every run; ``(variant [seed], anomaly)`` pairs."""
    return [
        (f"{name} (seed {run.variant.seed})", anomaly)
        for name, runs in runs_by_variant.items()
        for run in runs
        for anomaly in find_anomalies(run.metrics, getattr(run, "history", None), num_classes)
    ]


_OPS = {">": gt, ">=": ge, "≥": ge, "<": lt, "<=": le, "≤": le}


def check_pass_marks(
    accuracies: Mapping[str, float],
    pass_marks: Mapping[str, Sequence[Any]],
    epochs: Mapping[str, int] | None = None,
) -> pd.DataFrame:
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
            raise ValueError(
                f"pass mark for {name!r}: unknown operator {op!r}; use one of {sorted(_OPS)}"
            )
        threshold = as_fraction(threshold)
        achieved = accuracies.get(name)
        achieved = math.nan if achieved is None else float(achieved)
        mark_text = f"{op} {text.percent(threshold, 0)}" + (
            f" in ≤ {rest[0]} epochs" if rest else ""
        )
        passed = None if math.isnan(achieved) else bool(_OPS[op](achieved, threshold))
        if passed and rest and epochs is not None and name in epochs:
            passed = epochs[name] <= rest[0]
        rows.append({"variant": name, "achieved": achieved, "mark": mark_text, "passed": passed})
    return pd.DataFrame(rows, columns=["variant", "achieved", "mark", "passed"])


def pass_marks_table(
    pass_marks: Mapping[str, Sequence[Any]],
    reported: Mapping[str, float],
    runs: pd.DataFrame,
    epochs: Mapping[str, int],
) -> pd.DataFrame:
    """:func:`check_pass_marks` on a runs table (:func:`~cifar_core.analysis.views.runs.runs_table`)
    as text: each marked variant's requirement, the seed's figure, this build's test
    accuracy and epochs, and pass / fail / not run."""
    measured = dict(zip(runs.get("variant", []), runs.get("test_accuracy_mean", [])))
    passes = check_pass_marks(measured, pass_marks, epochs)
    return pd.DataFrame(
        {
            "variant": passes["variant"],
            "requirement": passes["mark"],
            "reported": [text.accuracy(as_fraction(reported.get(n))) for n in passes["variant"]],
            "measured": [accuracy_text(runs, n) for n in passes["variant"]],
            "epochs": [epochs.get(n, text.UNKNOWN) for n in passes["variant"]],
            "result": [
                "not run" if p is None else "pass" if p else "fail" for p in passes["passed"]
            ],
        }
    )
