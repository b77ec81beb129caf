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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from cifar_core.analysis import text
from cifar_core.analysis.records import RunLike, metric
from cifar_core.analysis.views.runs import pareto_front
from cifar_core.experiments.profiles import UNSCALED_PROFILES
from cifar_core.models.stats import model_stats
from cifar_core.runs.flops import training_flops

FULL_CIFAR10_TRAIN = 50_000

_AIRBENCH = "KellerJordan/cifar10-airbench README (commit f1c599c, 2025-03)"
REFERENCE_POINTS: tuple[dict[str, Any], ...] = tuple(
    {
        "name": name,
        "accuracy": accuracy,
        "train_flops": train_flops,
        "wall_time_s": wall_time_s,
        "hardware": "one NVIDIA A100 (400 W), PyTorch 2.4.1",
        "source": _AIRBENCH + where,
        "citation": "jordan2024airbench",
    }
    for name, accuracy, train_flops, wall_time_s, where in (
        ("airbench94 (Muon)", 0.9401, 0.29e15, 2.59, ""),
        ("airbench94 (paper)", 0.9401, 0.36e15, 3.83, ", legacy/airbench94.py"),
        ("airbench96", 0.9600, 3.1e15, 27.3, ", airbench96_faster.py"),
        ("ResNet-18, standard training", 0.960, 32.3e15, 7 * 60.0, ", its baseline row"),
    )
)
"""Published accuracy/compute points, all on full CIFAR-10 (50,000 training images),
mean test accuracy as reported, FLOPs of the whole training run."""


def forward_flops(run: RunLike) -> float:
    """Forward FLOPs per image of a run's model, from
    :func:`cifar_core.models.stats.model_stats` (a disk cache; it builds the model,
    importing Keras, only on a miss)."""
    dataset = getattr(run, "config", {}).get("dataset", {})
    classes = len(dataset.get("class_names") or range(10))
    variant = run.variant
    return float(model_stats(variant.family, dict(variant.params), num_classes=classes)["flops"])


def run_compute(run: RunLike) -> dict[str, Any]:
    """One run's accuracy and cost: ``test_accuracy``, ``val_accuracy``, ``forward_flops``,
    ``n_train``, ``epochs_run``, ``train_flops``, ``fit_time_s``, ``device_name``."""
    metrics = run.metrics
    flops = float(forward_flops(run))
    n_train, epochs = metric(metrics, "n_train"), metric(metrics, "epochs_run")
    return {
        "test_accuracy": metric(metrics, "test_accuracy"),
        "val_accuracy": metric(metrics, "val_accuracy"),
        "forward_flops": flops,
        "n_train": n_train,
        "epochs_run": epochs,
        "train_flops": training_flops(flops, n_train, epochs),
        "fit_time_s": metric(metrics, "fit_time_s"),
        "device_name": metrics.get("device_name"),
    }


def compute_table(
    runs_by_variant: Mapping[str, Sequence[RunLike]], *, select_on: str = "val_accuracy"
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
    for variant, runs in runs_by_variant.items():
        if not runs:
            continue
        each = pd.DataFrame([run_compute(run) for run in runs])
        rows.append(
            {
                "variant": variant,
                "test_accuracy": each["test_accuracy"].mean(),
                "test_accuracy_std": each["test_accuracy"].std(),  # NaN with one seed
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
    table["pareto_flops"] = pareto_front(table, "train_flops", select_on).to_numpy()
    table["pareto_time"] = pareto_front(table, "fit_time_s", select_on).to_numpy()
    return table.set_index("variant")


def reference_points(profile: str | None = None, n_train: int | None = None) -> pd.DataFrame:
    """:data:`REFERENCE_POINTS` as a table, with ``applicable``: True only when the runs
    they are drawn with use full CIFAR-10 (profile ``full`` or ``full-seed-protocol``, or
    ``n_train`` official training images equal to 50,000 when no profile is given)."""
    table = pd.DataFrame(REFERENCE_POINTS)
    table["data"] = f"full CIFAR-10 ({FULL_CIFAR10_TRAIN:,} training images)"
    if profile is not None:
        applicable = profile in UNSCALED_PROFILES
    else:
        applicable = n_train is not None and int(n_train) == FULL_CIFAR10_TRAIN
    table["applicable"] = applicable
    return table


def reference_note(
    profile: str | None, n_train: int | None = None, max_steps_per_epoch: int | None = None
) -> str | None:
    """The caption note when the reference points do not apply (``None`` when they do);
    a rehearsal's cap on optimizer steps per epoch (``max_steps_per_epoch``) is its
    reason, whatever the images."""
    if reference_points(profile, n_train)["applicable"].all():
        return None
    subset = (
        f"{int(n_train):,} official training images" if n_train else "a subset or synthetic data"
    )
    reason = f"trains on {subset}"
    if max_steps_per_epoch is not None:
        reason += f" for at most {max_steps_per_epoch} optimizer steps per epoch"
    return (
        f"Published reference points (airbench, ResNet-18; full CIFAR-10 with "
        f"{FULL_CIFAR10_TRAIN:,} training images on an A100) are not drawn: this profile "
        f"({profile or 'custom'}) {reason}, so its accuracies and costs are not "
        "comparable to them."
    )


def reference_source(row: Mapping[str, Any] | pd.Series) -> str:
    """Setting and citation of a reference point, e.g. ``"full CIFAR-10, one NVIDIA
    A100 (400 W) [jordan2024airbench]"``."""
    return f"full CIFAR-10, {row['hardware'].split(',')[0]} [{row['citation']}]"


def front_table(table: pd.DataFrame) -> pd.DataFrame:
    """The variants of :func:`compute_table` on either Pareto front, cheapest first, as
    text: training FLOPs, wall time, validation and test accuracy, and their fronts.

    >>> t = pd.DataFrame({"train_flops": [3.1e15], "fit_time_s": [181.0], "val_accuracy": [0.7],
    ...                   "test_accuracy": [0.71], "test_accuracy_std": [0.004],
    ...                   "pareto_flops": [True], "pareto_time": [False]}, index=["big"])
    >>> front_table(t).iloc[0].tolist()
    ['big', '3.1 PFLOPs', '181.0', '70.0', '71.0 ± 0.4', 'FLOPs']
    """
    front = table[table["pareto_flops"] | table["pareto_time"]] if len(table) else table
    return pd.DataFrame(
        [
            {
                "variant": name,
                "training FLOPs": text.si(row["train_flops"], "FLOPs"),
                "wall time s": text.number(row["fit_time_s"]),
                "val acc %": text.number(row["val_accuracy"] * 100),
                "test acc %": text.mean_std(row["test_accuracy"], row["test_accuracy_std"]),
                "front": " + ".join(
                    f
                    for f, on in (("FLOPs", row["pareto_flops"]), ("time", row["pareto_time"]))
                    if on
                ),
            }
            for name, row in front.sort_values("train_flops").iterrows()
        ]
    )


def compute_values(table: pd.DataFrame, best: str | None, note: str | None) -> dict[str, str]:
    """What the article quotes of :func:`compute_table`: the size of each front, the
    FLOPs front, and the cost and accuracy of ``best`` (chosen on validation accuracy)."""
    known = len(table) > 0
    row = table.loc[best] if best is not None and best in table.index else pd.Series(dtype=float)
    return {
        "n_variants": str(len(table)),
        "n_front_flops": str(int(table["pareto_flops"].sum())) if known else "0",
        "n_front_time": str(int(table["pareto_time"].sum())) if known else "0",
        "front_flops": ", ".join(table[table["pareto_flops"]].sort_values("train_flops").index)
        if known
        else "none",
        "best_variant": best or text.UNKNOWN,
        "best_flops": text.si(row.get("train_flops"), "FLOPs"),  # unknown without a best row
        "best_time": text.seconds(row.get("fit_time_s")),
        "best_test_acc": text.accuracy(row.get("test_accuracy"), row.get("test_accuracy_std")),
        "best_on_front": text.UNKNOWN if not len(row) else "yes" if row["pareto_flops"] else "no",
        "references": "drawn" if note is None else "not drawn",
        "reference_note": note
        or "Published reference points are drawn: this build uses full CIFAR-10.",
    }


def compute_notes(devices: Sequence[str], note: str | None) -> list[str]:
    """How to read the compute plots: the reference-point note and what wall times mean."""
    return ([note] if note else []) + [
        f"Wall times are `model.fit` seconds on {', '.join(devices) or 'this machine'}, where "
        "several runs may have trained at once (`--jobs`), so they rank variants only roughly; "
        "FLOPs do not depend on the machine."
    ]
