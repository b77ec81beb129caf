"""The compute a profile needs: training FLOPs per run, what is cached, and wall time
here and on a named accelerator, per run, per study and in total.

What is counted (the assumptions :func:`plan_runs` also returns, spelled out):

* **Forward FLOPs per image** come from :func:`cifar_core.models.stats.model_stats`,
  counted as :mod:`cifar_core.runs.flops` says.
* **Training FLOPs** = :func:`cifar_core.runs.flops.training_flops` (forward FLOPs × 3;
  frozen layers are counted as if trained, so transfer runs with a frozen base are
  over-estimated) of the training images (after the validation split) × epochs (all
  of them: early stopping can only shorten a run).
* **Evaluation FLOPs** = forward FLOPs × validation images × epochs, plus the final
  scoring of train, validation and test with the variant's test-time views
  (:func:`cifar_core.runs.flops.prediction_flops`: 2 passes with flipping, 3 with
  translations, 6 with both).
* **Time here** = steps × measured overhead per step + FLOPs / measured FLOP rate, from
  :func:`cifar_core.runs.speed.machine_speed`, the evaluation FLOPs at its measured
  prediction rate (forward only, faster than training) (one process; ``--jobs`` workers on a CPU
  are 1.3–1.6× faster in all, see :mod:`cifar_core.runs.executors.local`).
* **Time on an accelerator** = steps × an assumed overhead per step (2 ms by default,
  not measured: no GPU is available to this project) + FLOPs / (datasheet peak ×
  utilization, 25 % by default). Small models are bound by the overhead, not the peak.
* **On N accelerators** (one run per device, as the Ray executor schedules them, most
  expensive first): the makespan of longest-processing-time-first list scheduling.

What the chapters predict again (k-NN entries, test-time views, corrupted test sets)
is priced by :mod:`cifar_core.orchestrate.analysis_plan`. Importing this module does not
import Keras; building a model whose statistics are not cached yet does.

Example
-------
>>> plan = compute_plan("smoke", studies=["batch_size"], speed=None)
>>> plan.runs[["name", "epochs", "n_train"]].values.tolist()[0]
['s002_model1_b32', 1, 320]
>>> int(plan.runs["train_flops"].sum()) == plan.total["train_flops"]
True
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cifar_core.data.dataset import Dataset
from cifar_core.experiments.catalog import get_profile, plan, studies_of
from cifar_core.experiments.profiles import Profile
from cifar_core.experiments.variant import Variant
from cifar_core.models.stats import model_stats
from cifar_core.runs.flops import (
    TRAINING_PASSES,
    prediction_flops,
    prediction_passes,
    training_flops,
)
from cifar_core.runs.keys import run_key
from cifar_core.runs.predict import BATCH_SIZE as PREDICT_BATCH
from cifar_core.runs.speed import MachineSpeed, cached_speed, machine_speed
from cifar_core.runs.step_cap import scored_training_images, steps_per_epoch, validation_steps
from cifar_core.runs.store import RunStore, json_ready

DEFAULT_ACCELERATOR = "H100-SXM"
DEFAULT_UTILIZATION = 0.25
DEFAULT_ACCELERATOR_STEP_S = 0.002
DEFAULT_DEVICE_COUNTS = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Accelerator:
    """A device class: its name and dense 16-bit tensor-core peak in FLOP/s."""

    name: str
    peak_flops: float


# Vendor datasheet peaks, dense (without 2:4 sparsity), FP16/BF16 tensor cores: what
# mixed_float16 training can use at best.
ACCELERATORS = {
    "H100-SXM": Accelerator("NVIDIA H100 SXM", 989e12),
    "H200": Accelerator("NVIDIA H200 SXM", 989e12),
    "H100-PCIe": Accelerator("NVIDIA H100 PCIe", 756e12),
    "A100": Accelerator("NVIDIA A100 (SXM or PCIe)", 312e12),
    "L40S": Accelerator("NVIDIA L40S", 362e12),
    "L4": Accelerator("NVIDIA L4", 121e12),
    "V100": Accelerator("NVIDIA V100 SXM2 (FP16)", 125e12),
    "T4": Accelerator("NVIDIA T4 (FP16)", 65e12),
}


def get_accelerator(name: str) -> tuple[str, Accelerator]:
    """The :data:`ACCELERATORS` key and entry ``name`` (case-insensitive)."""
    for key, accelerator in ACCELERATORS.items():
        if key.lower() == str(name).lower():
            return key, accelerator
    raise ValueError(f"accelerator {name!r} is unknown; choose one of {', '.join(ACCELERATORS)}")


# ---------------------------------------------------------------------- counting
def split_sizes(n_images: int, validation_fraction: float) -> tuple[int, int]:
    """``(training, validation)`` image counts of the stratified validation split
    (scikit-learn's ``train_test_split`` takes ``floor(fraction × n)`` images).

    >>> split_sizes(50_000, 0.2)
    (40000, 10000)
    """
    n_val = math.floor(validation_fraction * n_images) if validation_fraction > 0 else 0
    return n_images - n_val, n_val


def run_cost(variant: Variant, forward_flops: int, n_images: int, n_test: int) -> dict[str, int]:
    """FLOPs and steps of training and evaluating ``variant`` on ``n_images`` official
    training images (before the validation split) and ``n_test`` test images.

    >>> from cifar_core.experiments.variant import Variant
    >>> v = Variant.from_dict({"name": "m1", "family": "cnn", "epochs": 100,
    ...                        "batch_size": 128, "params": {"blocks": [[32], [64]]}})
    >>> run_cost(v, 7_831_296, 50_000, 10_000)["train_flops"]
    93975552000000
    >>> capped = run_cost(v.replace(max_steps_per_epoch=2), 7_831_296, 50_000, 10_000)
    >>> capped["train_steps"], capped["n_test"]   # 2 steps x 100 epochs; every test image
    (200, 10000)
    """
    n_train, n_val = split_sizes(n_images, variant.validation_fraction)
    flip, translate = variant.tta_flip, variant.tta_translate
    passes = prediction_passes(flip, translate)  # one model.predict call per view and split
    epochs, batch = variant.epochs, variant.batch_size
    steps = steps_per_epoch(variant, n_train)  # a rehearsal's cap bounds these three
    val_steps = min(math.ceil(n_val / batch), validation_steps(variant) or n_val)
    n_scored_train = scored_training_images(variant, n_train)
    scored = (n_scored_train, n_val, n_test)
    return {
        "n_train": n_train,
        "n_val": n_val,
        "n_test": n_test,
        "train_steps": epochs * steps,
        "eval_steps": epochs * val_steps
        + passes * sum(math.ceil(n / PREDICT_BATCH) for n in scored),
        "train_flops": training_flops(forward_flops, min(n_train, steps * batch), epochs),
        "eval_flops": forward_flops * epochs * min(n_val, val_steps * batch)
        + prediction_flops(forward_flops, sum(scored), flip=flip, translate=translate),
    }


def makespan(seconds: Iterable[float], devices: int) -> float:
    """Wall time of independent jobs on ``devices`` identical devices, each device taking
    the longest job left when it frees up (longest-processing-time-first scheduling).

    >>> makespan([3, 3, 2, 2, 2], 2)
    7.0
    """
    if devices < 1:
        raise ValueError(f"devices must be >= 1, got {devices!r}")
    loads = [0.0] * devices
    for job in sorted(seconds, reverse=True):
        heapq.heapreplace(loads, loads[0] + job)
    return max(loads)


# ---------------------------------------------------------------------- the plan
@dataclass
class ComputePlan:
    """A plan: ``runs`` (one row per run), ``studies`` (sums per study), ``total``
    (sums over all runs and over the ``missing`` ones) and ``assumptions`` (sentences)."""

    runs: pd.DataFrame
    studies: pd.DataFrame
    total: dict[str, Any]
    settings: dict[str, Any]
    assumptions: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-able (NaN → None, numpy scalars → Python numbers)."""
        return json_ready(
            {
                "settings": self.settings,
                "assumptions": self.assumptions,
                "total": self.total,
                "studies": self.studies.to_dict("records"),
                "runs": self.runs.to_dict("records"),
            }
        )

    def summary_line(self) -> str:
        """One line on the runs still to train: count, FLOPs, time here and on the
        accelerator (what ``build`` prints before it trains)."""
        missing = self.total["missing"]
        accelerator = self.settings["accelerator"]
        parts = [
            f"to train: {missing['runs']} of {self.total['runs']} run(s), "
            f"{format_flops(missing['train_flops'])} of training"
        ]
        if missing["seconds_here"] is not None:
            parts.append(f"≈ {format_duration(missing['seconds_here'])} here")
        parts.append(
            f"≈ {format_duration(missing['seconds_accelerator'])} on one "
            f"{accelerator['key']} at {_percent(accelerator['utilization'])} of peak"
        )
        return ", ".join(parts)

    def format_table(self) -> str:
        """The per-run and per-study tables and the totals, as plain text."""

        def formatted(table: pd.DataFrame) -> pd.DataFrame:
            return table.assign(
                train=table["train_flops"].map(format_flops),
                here=table["seconds_here"].map(format_duration),
                accelerator=table["seconds_accelerator"].map(format_duration),
            )

        runs = formatted(self.runs).assign(
            cached=self.runs["cached"].map({True: "yes", False: "no"}).fillna("-")
        )
        studies = formatted(self.studies)
        key = self.settings["accelerator"]["key"]
        runs_table = runs[
            [
                "name",
                "seed",
                "epochs",
                "batch_size",
                "forward_flops",
                "train",
                "cached",
                "here",
                "accelerator",
            ]
        ].rename(columns={"accelerator": key, "forward_flops": "forward FLOPs/image"})
        study_table = studies[["study", "runs", "missing", "train", "here", "accelerator"]]
        lines = [
            runs_table.to_string(index=False),
            "",
            study_table.rename(columns={"accelerator": key}).to_string(index=False),
            "",
            self.total_text(),
            "",
            "Assumptions:",
        ]
        return "\n".join(lines + [f"- {line}" for line in self.assumptions])

    def total_text(self) -> str:
        total, key = self.total, self.settings["accelerator"]["key"]
        here = (
            "not measured"
            if total["seconds_here"] is None
            else format_duration(total["seconds_here"])
        )
        spans = ", ".join(
            f"{n}: {format_duration(s)}" for n, s in total["makespan_accelerator"].items()
        )
        return (
            f"total: {total['runs']} runs, {format_flops(total['train_flops'])} of "
            f"training (+{format_flops(total['eval_flops'])} evaluation); here ≈ {here}; "
            f"one {key} ≈ {format_duration(total['seconds_accelerator'])}; "
            f"on N × {key} under Ray ≈ {spans}\n{self.summary_line()}"
        )


def plan_runs(
    variants: Sequence[Variant],
    *,
    dataset: Dataset | None = None,
    store: RunStore | None = None,
    fingerprint: str | None = None,
    n_images: int | None = None,
    n_test: int | None = None,
    speed: MachineSpeed | str | None = "auto",
    accelerator: str = DEFAULT_ACCELERATOR,
    utilization: float = DEFAULT_UTILIZATION,
    accelerator_step_s: float = DEFAULT_ACCELERATOR_STEP_S,
    device_counts: Sequence[int] = DEFAULT_DEVICE_COUNTS,
    profile: str | None = None,
    log: Callable[[str], object] | None = None,
) -> ComputePlan:
    """The compute plan of ``variants`` (each a run: variant with its epochs and seed,
    e.g. ``cifar_core.experiments.catalog.plan(profile)``).

    ``dataset`` gives ``fingerprint`` (of the run keys), ``n_images`` (official training
    images, before the validation split) and ``n_test`` when those are not given; without
    either they are 50,000 and 10,000 (full CIFAR-10). ``store`` is where ``cached`` is
    looked up (it needs a fingerprint; else ``cached`` is None). ``speed`` is this
    machine's speed: given; measured unless cached (``"auto"``); only if cached
    (``"cached"``); or not estimated (None). ``accelerator`` is a key of
    :data:`ACCELERATORS`, priced at ``utilization`` (the fraction of its peak that
    training achieves, in (0, 1]) plus ``accelerator_step_s`` seconds of assumed overhead
    per step (>= 0); ``device_counts`` are the device counts of the makespan under Ray;
    ``profile`` is recorded in the settings.
    """
    accel_key, chosen = get_accelerator(accelerator)
    if not 0 < utilization <= 1:
        raise ValueError(
            f"utilization must be a fraction in (0, 1], got {utilization!r} "
            "(e.g. 0.25 for 25 % of the peak)"
        )
    if accelerator_step_s < 0:
        raise ValueError(f"accelerator_step_s must be >= 0 seconds, got {accelerator_step_s!r}")
    images_from = "given"
    if dataset is not None:
        fingerprint = fingerprint or dataset.fingerprint
        if n_images is None:
            n_images, n_test, images_from = len(dataset.y_train), len(dataset.y_test), "dataset"
    if n_images is None:
        images_from = "default"
    n_images = 50_000 if n_images is None else int(n_images)
    n_test = 10_000 if n_test is None else int(n_test)
    speed = _resolve_speed(speed, log)
    accel_rate = chosen.peak_flops * utilization

    rows = []
    for variant in variants:
        stats = model_stats(variant.family, variant.params)
        cost = run_cost(variant, stats["flops"], n_images, n_test)
        flops = cost["train_flops"] + cost["eval_flops"]
        steps = cost["train_steps"] + cost["eval_steps"]
        here = None
        if speed is not None:
            here = speed.seconds(cost["train_flops"], cost["train_steps"])
            here += speed.predict_seconds(cost["eval_flops"], cost["eval_steps"])
        key = run_key(variant, fingerprint) if fingerprint else None
        rows.append(
            {
                "name": variant.name,
                "seed": variant.seed,
                "studies": ", ".join(studies_of(variant.name)) or "(none)",
                "family": variant.family,
                "epochs": variant.epochs,
                "batch_size": variant.batch_size,
                "key": key,
                "cached": None
                if key is None or store is None
                else store.get(key, warn=False) is not None,
                "params": stats["params"],
                "forward_flops": stats["flops"],
                **cost,
                "seconds_here": here,
                "seconds_accelerator": steps * accelerator_step_s + flops / accel_rate,
            }
        )
    runs = pd.DataFrame(rows, columns=_RUN_COLUMNS)
    settings = {
        "profile": profile,
        "n_images": n_images,
        "n_test": n_test,
        "images_from": images_from,
        "fingerprint": fingerprint,
        "accelerator": {
            "key": accel_key,
            "name": chosen.name,
            "peak_flops": chosen.peak_flops,
            "utilization": utilization,
            "step_overhead_s": accelerator_step_s,
        },
        "speed_here": None if speed is None else speed.to_dict(),
        "training_passes": TRAINING_PASSES,
        "step_caps": sorted({v.max_steps_per_epoch for v in variants if v.max_steps_per_epoch}),
    }
    return ComputePlan(
        runs, _per_study(runs), _sums(runs, device_counts), settings, _assumptions(settings)
    )


def compute_plan(
    profile: str | Profile,
    *,
    studies: Iterable[str] | None = None,
    names: Iterable[str] | None = None,
    **options: Any,
) -> ComputePlan:
    """:func:`plan_runs` of the runs ``cifar_core.experiments.catalog.plan(profile, studies, names)``
    trains; without a dataset, the image counts are the profile's nominal ones.

    >>> compute_plan("full", names=["s002_model1_b128"], speed=None).total["train_flops"]
    281926656000000
    """
    profile = get_profile(profile)
    nominal = options.get("dataset") is None and options.get("n_images") is None
    if nominal:
        options["n_images"], options["n_test"] = nominal_sizes(profile)
    result = plan_runs(plan(profile, studies=studies, names=names), profile=profile.name, **options)
    if nominal:
        result.settings["images_from"] = "profile"
        result.assumptions = _assumptions(result.settings)
    return result


def nominal_sizes(profile: Profile) -> tuple[int, int]:
    """``(training, test)`` images a profile loads, without loading them: the synthetic
    sizes, the stratified limit, five batches of ``limit_per_batch``, or full CIFAR-10
    (a real-data profile without limits: the count of whatever ``--data`` points to)."""
    if profile.data == "synthetic":
        train, test = profile.synthetic_sizes or (5000, 1000)
        return int(train), int(test)
    if profile.stratified_limit is not None:
        train, test = profile.stratified_limit
        return int(train), int(test)
    if profile.limit_per_batch is not None:
        return 5 * profile.limit_per_batch, profile.limit_per_batch
    return 50_000, 10_000


def plan_summary(variants: Sequence[Variant], dataset: Dataset | None, **options: Any) -> str:
    """The one line ``build`` prints before it trains ``variants`` (all of them count as
    missing: pass only the runs it is about to train).

    >>> from cifar_core.experiments.catalog import plan
    >>> plan_summary(plan("full", names=["s002_model1_b128"])[:1], None,
    ...              n_images=50_000, n_test=10_000, speed=None)
    'to train: 1 of 1 run(s), 94.0 TFLOP of training, ≈ 1.3 min on one H100-SXM at 25 % of peak'
    """
    return plan_runs(variants, dataset=dataset, **options).summary_line()


# ---------------------------------------------------------------------- helpers
_RUN_COLUMNS = [
    "name",
    "seed",
    "studies",
    "family",
    "epochs",
    "batch_size",
    "key",
    "cached",
    "params",
    "forward_flops",
    "n_train",
    "n_val",
    "n_test",
    "train_steps",
    "eval_steps",
    "train_flops",
    "eval_flops",
    "seconds_here",
    "seconds_accelerator",
]
_IMAGES_FROM = {
    "dataset": "the dataset's counts",
    "profile": "the profile's nominal counts (no dataset was given)",
    "given": "as given",
    "default": "full CIFAR-10 (no dataset was given)",
}
_SUMMED = ["train_flops", "eval_flops", "seconds_here", "seconds_accelerator"]


def _resolve_speed(
    speed: MachineSpeed | str | None, log: Callable[[str], object] | None
) -> MachineSpeed | None:
    if speed is None or isinstance(speed, MachineSpeed):
        return speed
    if speed == "auto":
        return machine_speed(log=log)
    if speed == "cached":
        return cached_speed()
    raise ValueError(f"speed must be a MachineSpeed, 'auto', 'cached' or None, got {speed!r}")


def _sum(column: pd.Series) -> Any:
    """A column's sum as a plain Python number (it goes into JSON); None when any value is
    unknown (no speed measurement)."""
    if column.isna().any():
        return None
    total = column.sum() if len(column) else 0  # an int 0, also for a float column
    return total.item() if isinstance(total, np.generic) else total


def _sums(runs: pd.DataFrame, device_counts: Sequence[int] | None = None) -> dict[str, Any]:
    """Sums over ``runs`` and over the missing ones; makespans too, given ``device_counts``."""
    missing = runs[runs["cached"] != True]  # noqa: E712 - None (unknown) counts as missing
    total = {
        "runs": len(runs),
        "cached": None if runs["cached"].isna().any() else int(runs["cached"].sum()),
        **{name: _sum(runs[name]) for name in _SUMMED},
        "missing": {"runs": len(missing), **{name: _sum(missing[name]) for name in _SUMMED}},
    }
    if device_counts is not None:
        for sums, frame in ((total, runs), (total["missing"], missing)):
            seconds = frame["seconds_accelerator"]
            sums["makespan_accelerator"] = {
                int(n): makespan(seconds, int(n)) for n in device_counts
            }
    return total


def _per_study(runs: pd.DataFrame) -> pd.DataFrame:
    """Sums per study; a run shared by several studies counts in each of them."""
    exploded = runs.assign(study=runs["studies"].str.split(", ")).explode("study")
    rows = []
    for study, group in exploded.groupby("study", sort=False):
        sums = _sums(group)
        rows.append(
            {
                "study": study,
                "runs": sums["runs"],
                "missing": sums["missing"]["runs"],
                **{name: sums[name] for name in _SUMMED},
            }
        )
    return pd.DataFrame(rows, columns=["study", "runs", "missing", *_SUMMED])


def _assumptions(settings: dict[str, Any]) -> list[str]:
    accelerator, speed = settings["accelerator"], settings["speed_here"]
    images = (
        f"{settings['n_images']:,} official training / {settings['n_test']:,} test "
        f"images: {_IMAGES_FROM[settings['images_from']]}"
    )
    here = (
        "time here: not estimated (no speed measurement)"
        if speed is None
        else f"time here: one process on {speed['device_name']} ({speed['backend']}), measured "
        f"{speed['flop_rate'] / 1e9:.1f} GFLOP/s achieved and "
        f"{speed['step_overhead_s'] * 1e3:.1f} ms overhead per step"
        + _predict_rate(speed)
        + f" ({speed['measured_at'] or 'given'}; a shared machine measures slower); --jobs "
        "workers on a CPU are 1.3-1.6x faster in all"
    )
    return [
        "forward FLOPs per image = 2 x multiply-adds of Conv2D, DepthwiseConv2D and Dense "
        "layers (biases, batch norm, activations, pooling, augmentation not counted)",
        f"training FLOPs = forward FLOPs x {settings['training_passes']} (forward + backward) x "
        "training images after the validation split x epochs (all epochs: early stopping "
        "only shortens; frozen layers are counted as trained)",
        "evaluation FLOPs = forward FLOPs x (validation images x epochs + final scoring of "
        "train/validation/test once per test-time view: 2 with flipping, 3 with "
        "translations, 6 with both); times include them",
        images,
        *_cap_assumption(settings.get("step_caps") or []),
        here,
        f"time on an accelerator: {accelerator['name']} at {_percent(accelerator['utilization'])} of "
        f"its {accelerator['peak_flops'] / 1e12:.0f} TFLOP/s dense FP16/BF16 peak (datasheet), "
        f"plus {accelerator['step_overhead_s'] * 1e3:g} ms per step (assumed, not measured)",
        "on N accelerators under Ray: one run per device, longest first; runs are not split "
        "across devices, so the longest run bounds the wall time",
        TRAINING_ONLY,
    ]


TRAINING_ONLY = (
    "training only: what the chapters predict again (k-NN on features, test-time views, "
    "corrupted test sets) is priced as analysis by `cifar-report plan` without --study"
)
"""The assumption that says this plan leaves the chapters out (dropped where the
analysis is priced beside it)."""


def _predict_rate(speed: dict[str, Any]) -> str:
    rate = speed.get("predict_flop_rate")
    if not rate:
        return "; evaluation at the training rate (prediction not measured)"
    return f"; evaluation (model.predict, forward only) at {rate / 1e9:.1f} GFLOP/s, measured"


def _cap_assumption(caps: Sequence[int]) -> list[str]:
    if not caps:
        return []
    caps_text = " or ".join(str(c) for c in caps)
    return [
        f"training capped (a rehearsal): at most {caps_text} optimizer steps and validation "
        f"batches per epoch, the training split scored on its first {caps_text} x "
        f"{PREDICT_BATCH} images; validation and test predicted in full"
    ]


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g} %"


def format_flops(flops: float | None) -> str:
    """``1.23 PFLOP``-style text; ``-`` for unknown.

    >>> format_flops(93_975_552_000_000)
    '94.0 TFLOP'
    """
    if flops is None or (isinstance(flops, float) and math.isnan(flops)):
        return "-"
    for unit, scale in (
        ("EFLOP", 1e18),
        ("PFLOP", 1e15),
        ("TFLOP", 1e12),
        ("GFLOP", 1e9),
        ("MFLOP", 1e6),
    ):
        if flops >= scale:
            return f"{flops / scale:.1f} {unit}"
    return f"{flops:.0f} FLOP"


def format_duration(seconds: float | None) -> str:
    """``3.2 h``-style text; ``-`` for unknown.

    >>> [format_duration(s) for s in (42, 510, 7_200, 400_000)]
    ['42 s', '8.5 min', '2.0 h', '4.6 d']
    """
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86_400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} d"
