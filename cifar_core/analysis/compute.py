"""Compute-controlled comparison: accuracy against training FLOPs and wall time, the
Pareto front, and published reference points.

**Training FLOPs** of a run = forward FLOPs per image × 3 × training images × epochs
run. The factor 3 is the usual forward + backward assumption: the backward pass costs
about twice the forward (gradients with respect to the activations and to the
weights). It overstates a frozen base (transfer learning with ``trainable=False``
needs no weight gradients there) and ignores the validation pass run after each epoch,
data augmentation, and layers the FLOPs convention leaves out
(:mod:`cifar_core.models.stats`: 2 × multiply-adds of convolutions and dense layers).
**Wall time** is the run's ``fit_time_s`` (``model.fit`` only), on whatever machine
trained it (``device_name``).

:data:`REFERENCE_POINTS` are published figures for *full* CIFAR-10 (50,000 training
images) on an NVIDIA A100: they are comparable only to runs of the ``full`` profile,
and :func:`reference_points` marks them so.

Example
-------
>>> training_flops(1e6, images=40_000, epochs=10)
1200000000000.0
>>> import pandas as pd
>>> table = pd.DataFrame({"train_flops": [1, 2, 3], "accuracy": [0.5, 0.4, 0.7]})
>>> pareto_mask(table, "train_flops", "accuracy").tolist()
[True, False, True]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from cifar_core.runs.flops import training_flops

FULL_CIFAR10_TRAIN = 50_000

_AIRBENCH = "KellerJordan/cifar10-airbench README (commit f1c599c, 2025-03)"
_A100 = "one NVIDIA A100 (400 W), PyTorch 2.4.1"
REFERENCE_POINTS: tuple[dict[str, Any], ...] = (
    {
        "name": "airbench94 (Muon)",
        "accuracy": 0.9401,
        "train_flops": 0.29e15,
        "wall_time_s": 2.59,
        "hardware": _A100,
        "source": _AIRBENCH,
        "citation": "jordan2024airbench",
    },
    {
        "name": "airbench94 (paper)",
        "accuracy": 0.9401,
        "train_flops": 0.36e15,
        "wall_time_s": 3.83,
        "hardware": _A100,
        "source": _AIRBENCH + ", legacy/airbench94.py",
        "citation": "jordan2024airbench",
    },
    {
        "name": "airbench96",
        "accuracy": 0.9600,
        "train_flops": 3.1e15,
        "wall_time_s": 27.3,
        "hardware": _A100,
        "source": _AIRBENCH + ", airbench96_faster.py",
        "citation": "jordan2024airbench",
    },
    {
        "name": "ResNet-18, standard training",
        "accuracy": 0.960,
        "train_flops": 32.3e15,
        "wall_time_s": 7 * 60.0,
        "hardware": _A100,
        "source": _AIRBENCH + ", its baseline row",
        "citation": "jordan2024airbench",
    },
)
"""Published accuracy/compute points, all on full CIFAR-10 (50,000 training images),
mean test accuracy as reported, FLOPs of the whole training run."""


def flops_text(value: float, unit: str = "FLOPs") -> str:
    """A FLOP count with an SI prefix: ``3.1e15`` → ``"3.1 PFLOPs"``; ``"n/a"`` when unknown.

    >>> flops_text(3.1e15), flops_text(2.5e9), flops_text(float("nan"))
    ('3.1 PFLOPs', '2.5 GFLOPs', 'n/a')
    """
    if value is None or math.isnan(value):
        return "n/a"
    for exponent, prefix in ((18, "E"), (15, "P"), (12, "T"), (9, "G"), (6, "M"), (3, "k")):
        if abs(value) >= 10**exponent:
            return f"{value / 10**exponent:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def pareto_mask(table: pd.DataFrame, cost: str, accuracy: str) -> pd.Series:
    """True for the rows on the Pareto front: no other row is at most as costly and at
    least as accurate, and strictly better in one (NaN rows never are)."""
    from cifar_core.analysis.tables import pareto_front

    return pareto_front(table, cost, accuracy).rename(f"pareto_{cost}")


def forward_flops(run: Any) -> float:
    """Forward FLOPs per image of a run's model (the model-stats cache; see
    :func:`_stats_forward_flops`)."""
    return _stats_forward_flops(run)


def _stats_forward_flops(run: Any) -> float:
    """Forward FLOPs per image of the run's model from :func:`cifar_core.models.stats.model_stats`
    (a disk cache; builds the model, importing Keras, only on a miss)."""
    from cifar_core.models.stats import model_stats

    variant = run.config["variant"]
    dataset = run.config.get("dataset", {})
    classes = len(dataset.get("class_names") or range(10))
    return float(
        model_stats(variant["family"], variant.get("params", {}), num_classes=classes)["flops"]
    )


def run_compute(run: Any, forward_flops: Callable[[Any], float] | None = None) -> dict[str, Any]:
    """One run's accuracy and cost: ``test_accuracy``, ``val_accuracy``, ``forward_flops``,
    ``n_train``, ``epochs_run``, ``train_flops``, ``fit_time_s``, ``device_name``."""
    metrics = run.metrics
    forward = float((forward_flops or _stats_forward_flops)(run))

    def number(key: str) -> float:
        value = metrics.get(key)
        return float(value) if value is not None else math.nan

    n_train, epochs = number("n_train"), number("epochs_run")
    return {
        "test_accuracy": number("test_accuracy"),
        "val_accuracy": number("val_accuracy"),
        "forward_flops": forward,
        "n_train": n_train,
        "epochs_run": epochs,
        "train_flops": training_flops(forward, n_train, epochs),
        "fit_time_s": number("fit_time_s"),
        "device_name": metrics.get("device_name"),
    }


def compute_table(
    runs_by_variant: Mapping[str, Any],
    forward_flops: Callable[[Any], float] | None = None,
    *,
    select_on: str = "val_accuracy",
) -> pd.DataFrame:
    """One row per variant (runs averaged over seeds): ``test_accuracy`` (mean),
    ``test_accuracy_std``, ``val_accuracy`` (mean), ``seeds``, ``forward_flops``,
    ``n_train``, ``epochs_run``, ``train_flops``, ``fit_time_s`` (means), and the Pareto
    markers ``pareto_flops`` (on training FLOPs) and ``pareto_time`` (on wall time).

    The fronts are chosen on ``select_on`` (validation accuracy by default: a variant is
    "best for its cost" on validation, and its test accuracy is then only reported);
    choosing on a test column is refused."""
    if select_on.startswith("test"):
        raise ValueError(
            f"compute_table: select_on={select_on!r} is a test column; choose the "
            "Pareto front on validation ('val_accuracy') and report test once"
        )
    rows = []
    for variant, value in runs_by_variant.items():
        runs = list(value) if isinstance(value, (list, tuple)) else [value]
        if not runs:
            continue
        each = pd.DataFrame([run_compute(run, forward_flops) for run in runs])
        rows.append(
            {
                "variant": variant,
                "test_accuracy": each["test_accuracy"].mean(),
                "test_accuracy_std": each["test_accuracy"].std(ddof=1)
                if len(each) > 1
                else math.nan,
                "val_accuracy": each["val_accuracy"].mean(),
                "seeds": len(each),
                **{
                    c: each[c].mean()
                    for c in ("forward_flops", "n_train", "epochs_run", "train_flops", "fit_time_s")
                },
                "device_name": each["device_name"].iloc[0],
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["pareto_flops"] = pareto_mask(table, "train_flops", select_on).to_numpy()
    table["pareto_time"] = pareto_mask(table, "fit_time_s", select_on).to_numpy()
    return table.set_index("variant")


def reference_points(profile: str | None = None, n_train: int | None = None) -> pd.DataFrame:
    """:data:`REFERENCE_POINTS` as a table, with ``applicable``: True only when the runs
    they are drawn with use full CIFAR-10 (``profile == "full"``, or ``n_train`` official
    training images equal to 50,000 when no profile is given)."""
    table = pd.DataFrame(REFERENCE_POINTS)
    table["data"] = f"full CIFAR-10 ({FULL_CIFAR10_TRAIN:,} training images)"
    if profile is not None:
        applicable = profile == "full"
    else:
        applicable = n_train is not None and int(n_train) == FULL_CIFAR10_TRAIN
    table["applicable"] = applicable
    return table


def reference_note(profile: str | None, n_train: int | None = None) -> str | None:
    """The caption note when the reference points do not apply (``None`` when they do)."""
    if reference_points(profile, n_train)["applicable"].all():
        return None
    subset = (
        f"{int(n_train):,} official training images" if n_train else "a subset or synthetic data"
    )
    return (
        f"Published reference points (airbench, ResNet-18; full CIFAR-10 with "
        f"{FULL_CIFAR10_TRAIN:,} training images on an A100) are not drawn: this profile "
        f"({profile or 'custom'}) trains on {subset}, so its accuracies and costs are not "
        "comparable to them."
    )


def reference_label(row: Mapping[str, Any] | pd.Series) -> str:
    """A label for one reference point: name, accuracy, setting and source."""
    return f"{row['name']}: {100 * row['accuracy']:.2f} %, {reference_source(row)}"


def reference_source(row: Mapping[str, Any] | pd.Series) -> str:
    """Setting and citation of a reference point, e.g. ``"full CIFAR-10, one NVIDIA
    A100 (400 W) [jordan2024airbench]"``."""
    return f"full CIFAR-10, {row['hardware'].split(',')[0]} [{row['citation']}]"
