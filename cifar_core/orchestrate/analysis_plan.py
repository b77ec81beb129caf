"""What the chapters cost beyond training: their derived predictions, priced like training.

Most chapters only read what training stored (test and validation probabilities,
histories, metrics). Three ask the stored models again, over the whole test set, and
that work grows with the test set, the seeds and the models:

==============  ===============================================================  ==========
chapter         what each of its runs predicts again                              per image
==============  ===============================================================  ==========
``11-tta``      the mirrored test set, the two translations and their mirrors;   5 or 6
                the plain pass too when the run's recipe averages views           passes
``12-robustness``  every corruption × severity, with the run's own recipe         18 × 1–6
                (1 pass; 2 with ``tta_flip``; 3 with ``tta_translate``; 6 both)   passes
``06-transfer``  k-NN: features of the training split and the test set           1 pass +
                (1 pass each), then distances from every test and training        distances
                image to every training image (train and test accuracy)
==============  ===============================================================  ==========

The runs are the chapters' own (:func:`cifar_core.orchestrate.build.plan_chapter`: their
parameters, with the overrides kept for the profile, and the profile's seeds), so this
prices exactly what a build of the profile would compute once; the results are cached
beside the run store and a rebuild computes nothing again
(:mod:`cifar_core.runs.derived_predictions`, :mod:`cifar_core.runs.knn`). FLOPs follow
:mod:`cifar_core.runs.flops`; times use the same machine speed and accelerator
assumptions as the training plan (:mod:`cifar_core.runs.compute_plan`) at the measured
prediction rate (:meth:`~cifar_core.runs.speed.MachineSpeed.predict_seconds`), one
``model.predict`` batch of :data:`~cifar_core.runs.predict.BATCH_SIZE` images being a
step.

Example
-------
>>> work = tta_work("11-tta", [_V], n_test=10_000)
>>> [(w.what, w.passes, w.images) for w in work]
[('flip + translate views', 5, 10000)]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cifar_core.data.corruptions import CORRUPTIONS, SEVERITIES
from cifar_core.experiments import catalog
from cifar_core.experiments.profiles import Profile
from cifar_core.experiments.variant import Variant
from cifar_core.models.stats import feature_dim, model_stats
from cifar_core.orchestrate import notebooks
from cifar_core.runs.compute_plan import (
    DEFAULT_ACCELERATOR,
    DEFAULT_ACCELERATOR_STEP_S,
    DEFAULT_UTILIZATION,
    ComputePlan,
    format_duration,
    format_flops,
    get_accelerator,
    split_sizes,
)
from cifar_core.runs.flops import prediction_passes
from cifar_core.runs.predict import BATCH_SIZE as PREDICT_BATCH
from cifar_core.runs.predict import TRANSLATE_SHIFTS
from cifar_core.runs.speed import MachineSpeed

_V = Variant(name="m", family="mlp")  # for the doctests


@dataclass(frozen=True)
class Work:
    """One run's derived predictions for one chapter: ``passes`` forward passes over
    ``images`` images, plus ``extra_flops`` (k-NN distances)."""

    chapter: str
    what: str
    name: str
    seed: int
    family: str
    forward_flops: int
    passes: int
    images: int
    extra_flops: int = 0

    @property
    def flops(self) -> int:
        return self.forward_flops * self.passes * self.images + self.extra_flops

    @property
    def steps(self) -> int:
        """``model.predict`` batches."""
        return self.passes * math.ceil(self.images / PREDICT_BATCH)


def _work(chapter: str, what: str, variant: Variant, passes: int, images: int, extra: int = 0):
    forward = int(model_stats(variant.family, variant.params)["flops"])
    return Work(
        chapter, what, variant.name, variant.seed, variant.family, forward, passes, images, extra
    )


def tta_work(chapter: str, variants: Sequence[Variant], *, n_test: int) -> list[Work]:
    """The TTA chapter: the flip view (1 pass), each translation and its mirror (2 per
    shift of :data:`~cifar_core.runs.predict.TRANSLATE_SHIFTS`), and one plain pass for a
    run whose stored test probabilities already average views."""
    out = []
    for variant in variants:
        own_views = variant.tta_flip or variant.tta_translate
        passes = 1 + 2 * len(TRANSLATE_SHIFTS) + (1 if own_views else 0)
        out.append(_work(chapter, "flip + translate views", variant, passes, n_test))
    return out


def corruption_work(
    chapter: str,
    variants: Sequence[Variant],
    *,
    n_test: int,
    corruptions: Sequence[str] = CORRUPTIONS,
    severities: Sequence[int] = SEVERITIES,
) -> list[Work]:
    """The robustness chapter: every corrupted test set with the run's own recipe."""
    what = f"{len(corruptions)} corruptions × {len(severities)} severities"
    sets = len(corruptions) * len(severities)
    return [
        _work(chapter, what, v, sets * prediction_passes(v.tta_flip, v.tta_translate), n_test)
        for v in variants
    ]


def knn_work(
    chapter: str,
    entries: Sequence[Mapping[str, Any]],
    variants: Sequence[Variant],
    *,
    n_images: int,
    n_test: int,
) -> list[Work]:
    """k-NN entries: features of the training split and the test set (one pass each);
    squared distances of every test and training image to every training image (2 ×
    feature size FLOPs per pair: scikit-learn's brute force, for train and test
    accuracy)."""
    out = []
    for entry in entries:
        for variant in (v for v in variants if v.name == entry["base"]):
            n_train, _ = split_sizes(n_images, variant.validation_fraction)
            size = feature_dim(variant.family, variant.params)
            distances = 2 * size * (n_train + n_test) * n_train
            what = f"k-NN (k={entry.get('k', 5)})"
            out.append(_work(chapter, what, variant, 1, n_train + n_test, distances))
    return out


CHAPTER_WORK = ("06-transfer", "11-tta", "12-robustness")
"""The chapters that predict again (tests check that they exist)."""


def chapter_work(root: Path, profile: Profile, *, n_images: int, n_test: int) -> list[Work]:
    """Every derived prediction a build of ``profile`` computes (see the module docstring)."""
    from cifar_core.orchestrate.build import plan_chapter  # build imports this module's users

    overrides = notebooks.load_overrides(root, profile.name)
    names = set(notebooks.analysis_names(root))
    out: list[Work] = []
    for name in CHAPTER_WORK:
        if name not in names:
            continue
        chapter, variants = plan_chapter(root, name, profile, overrides.get(name, {}), "0" * 16)
        parameters = chapter.parameters
        if name == "11-tta":
            out += tta_work(name, variants, n_test=n_test)
        elif name == "12-robustness":
            out += corruption_work(
                name,
                variants,
                n_test=n_test,
                corruptions=parameters.get("corruptions") or CORRUPTIONS,
                severities=parameters.get("severities") or SEVERITIES,
            )
        else:
            studies = catalog.chapter_studies(name, parameters.get("studies"))
            studies = [studies] if isinstance(studies, str) else list(studies)
            entries = [e for s in studies for e in catalog.get_study(s).derived]
            out += knn_work(name, entries, variants, n_images=n_images, n_test=n_test)
    return out


@dataclass
class AnalysisPlan:
    """``work`` (one row per run and chapter), ``chapters`` (sums), ``total``, ``assumptions``."""

    work: pd.DataFrame
    chapters: pd.DataFrame
    total: dict[str, Any]
    accelerator: str
    assumptions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (pandas' own conversion: NumPy numbers become Python numbers)."""
        return {
            "total": self.total,
            "chapters": json.loads(self.chapters.to_json(orient="records")),
            "work": json.loads(self.work.to_json(orient="records")),
            "assumptions": self.assumptions,
        }

    def format_table(self) -> str:
        if self.chapters.empty:
            return "analysis: no chapter predicts again"
        table = self.chapters.assign(
            flops=self.chapters["flops"].map(format_flops),
            here=self.chapters["seconds_here"].map(format_duration),
            accel=self.chapters["seconds_accelerator"].map(format_duration),
            passes=self.chapters["image_passes"].map(lambda n: f"{n:,}"),
        )[["chapter", "what", "runs", "passes", "flops", "here", "accel"]]
        table = table.rename(columns={"passes": "image passes", "accel": self.accelerator})
        total = self.total
        lines = [
            "Analysis: predictions the chapters compute again (once; cached beside the run store)",
            table.to_string(index=False),
            "",
            f"analysis total: {format_flops(total['flops'])}; here ≈ "
            f"{format_duration(total['seconds_here'])}; one {self.accelerator} ≈ "
            f"{format_duration(total['seconds_accelerator'])}",
        ]
        return "\n".join(lines)


def analysis_plan(
    root: Path,
    profile: Profile,
    *,
    n_images: int,
    n_test: int,
    speed: MachineSpeed | None,
    accelerator: str = DEFAULT_ACCELERATOR,
    utilization: float = DEFAULT_UTILIZATION,
    accelerator_step_s: float = DEFAULT_ACCELERATOR_STEP_S,
) -> AnalysisPlan:
    """The derived predictions of a build of ``profile``, priced here and on ``accelerator``."""
    key, chosen = get_accelerator(accelerator)
    rate = chosen.peak_flops * utilization
    rows = [
        {
            **asdict(w),  # extra_flops is counted in flops, not a column of its own
            "image_passes": w.passes * w.images,
            "flops": w.flops,
            "steps": w.steps,
            "seconds_here": None if speed is None else speed.predict_seconds(w.flops, w.steps),
            "seconds_accelerator": w.steps * accelerator_step_s + w.flops / rate,
        }
        for w in chapter_work(root, profile, n_images=n_images, n_test=n_test)
    ]
    work = pd.DataFrame(rows, columns=_COLUMNS)
    # an empty frame sums to 0 and groups into no rows, with the same columns
    chapters = (
        work.groupby(["chapter", "what"], sort=False)
        .agg(
            runs=("name", "size"),
            image_passes=("image_passes", "sum"),
            flops=("flops", "sum"),
            seconds_here=("seconds_here", lambda s: None if s.isna().any() else s.sum()),
            seconds_accelerator=("seconds_accelerator", "sum"),
        )
        .reset_index()
    )
    total = {
        "flops": int(work["flops"].sum()),
        "seconds_here": None if speed is None else float(work["seconds_here"].sum()),
        "seconds_accelerator": float(work["seconds_accelerator"].sum()),
    }
    return AnalysisPlan(work, chapters, total, key, _assumptions(n_test))


_COLUMNS = [
    "chapter",
    "what",
    "name",
    "seed",
    "family",
    "forward_flops",
    "passes",
    "images",
    "image_passes",
    "steps",
    "flops",
    "seconds_here",
    "seconds_accelerator",
]


def _assumptions(n_test: int) -> list[str]:
    return [
        f"analysis: the runs of 06-transfer (k-NN), 11-tta and 12-robustness predict again over "
        f"all {n_test:,} test images (each view or corrupted set one forward pass; a run's "
        "own recipe: 2 passes with flipping, 3 with translations, 6 with both); k-NN adds "
        "the features of the training split and 2 x feature size FLOPs per (query, "
        "training image) pair; every result is computed once and cached beside the run "
        "store; times at the measured prediction rate (model.predict, forward only), one "
        f"predict batch of {PREDICT_BATCH} images counting as a step",
        "analysis: the other chapters read stored predictions; their statistics (paired "
        "bootstrap intervals, tests, per-class intervals) and the corrupted images "
        "(generated once per dataset) are not counted here: the rehearsal measures them "
        "(README, Rehearsal)",
    ]


def whole_build(training: ComputePlan, analysis: AnalysisPlan) -> dict[str, Any]:
    """Training (with its evaluation) and analysis together: FLOPs, time here (``None``
    when not measured) and on one accelerator."""
    total = training.total
    here = total["seconds_here"], analysis.total["seconds_here"]
    return {
        "flops": int(total["train_flops"] + total["eval_flops"] + analysis.total["flops"]),
        "seconds_here": None if None in here else float(sum(here)),
        "seconds_accelerator": float(
            total["seconds_accelerator"] + analysis.total["seconds_accelerator"]
        ),
    }


def whole_build_text(training: ComputePlan, analysis: AnalysisPlan) -> str:
    """One line: the whole build's FLOPs and time here and on one accelerator."""
    both = whole_build(training, analysis)
    return (
        f"whole build (training + analysis): {format_flops(both['flops'])}; here ≈ "
        f"{format_duration(both['seconds_here'])}; one {analysis.accelerator} ≈ "
        f"{format_duration(both['seconds_accelerator'])}"
    )
