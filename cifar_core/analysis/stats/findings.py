"""Findings: each variant of a study against its baseline, with an interval, a paired
test, Holm's correction and a verdict.

For a study, :func:`compare_study` compares every variant with the study baseline
(and any extra ``pairs``, such as a seed's claim between two variants) on the runs
both arms share a seed with (same seed: same validation split and training subset;
every run sees the same test set):

* the difference in test accuracy (variant − baseline, mean over shared seeds) with a
  95 % bootstrap interval over test images, and a paired test on per-image correctness
  (exact McNemar for one shared seed, a sign-flip permutation test for several; see
  :mod:`cifar_core.analysis.stats.paired`);
* Holm's correction across the study's tested comparisons (the intervals are
  per-comparison 95 % intervals, not adjusted);
* a verdict: ``better`` / ``worse`` when the Holm p-value is below ``alpha`` *and*
  the interval excludes 0 on that side, else ``no detectable difference`` (so an
  interval that excludes 0 with a Holm p above ``alpha`` stays inconclusive).

Rows that cannot be tested say why instead of crashing: ``not compared`` (no runs, no
shared seeds, different test sets) and ``same run`` (a profile scaled two variants to
one configuration: a run is never compared with itself). A study with fewer than two
variants gets a message and no rows. Rows resting on runs the convergence flag marks
as under-trained (:mod:`cifar_core.analysis.stats.convergence`) name those runs.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> base = [RunRecord(f"b{s}", s, rng.random(400) < 0.5) for s in (0, 1)]
>>> good = [RunRecord(f"v{s}", s, rng.random(400) < 0.8) for s in (0, 1)]
>>> f = compare_study("demo", {"base": base, "good": good}, "base")
>>> f.comparisons[0].verdict, f.comparisons[0].n_seeds
('better', 2)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from cifar_core.analysis.records import (
    RunLike,
    RunRecord,
    by_seed,
    records_from_runs,
    same_runs,
    sorted_seeds,
)
from cifar_core.analysis.stats.convergence import convergence
from cifar_core.analysis.stats.paired import PairedResult, holm, paired_difference

BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no detectable difference"
NOT_COMPARED, SAME_RUN = "not compared", "same run"
DETECTED = (BETTER, WORSE)


@dataclass(frozen=True)
class Comparison:
    """One variant against one baseline within a study.

    ``verdict`` is one of the five verdicts above; ``message`` says why a row was not
    tested; ``result`` holds the numbers (fractions) when it was; ``p_holm`` is the
    Holm-adjusted p-value; ``under_trained`` names the flagged runs it rests on;
    ``study_baseline`` is False for extra pairs (e.g. a claim between two variants).
    """

    study: str
    variant: str
    baseline: str
    verdict: str
    message: str = ""
    result: PairedResult | None = None
    p_holm: float = math.nan
    seeds: tuple[int | None, ...] = ()
    under_trained: tuple[str, ...] = ()
    study_baseline: bool = True

    @property
    def tested(self) -> bool:
        return self.result is not None

    @property
    def detected(self) -> bool:
        return self.verdict in DETECTED

    @property
    def diff(self) -> float:
        return self.result.diff if self.result else math.nan

    @property
    def ci_low(self) -> float:
        return self.result.ci_low if self.result else math.nan

    @property
    def ci_high(self) -> float:
        return self.result.ci_high if self.result else math.nan

    @property
    def p_value(self) -> float:
        return self.result.p_value if self.result else math.nan

    @property
    def n_seeds(self) -> int:
        return self.result.n_seeds if self.result else len(self.seeds)

    @property
    def n_images(self) -> int:
        return self.result.n_images if self.result else 0


@dataclass(frozen=True)
class StudyFindings:
    """All comparisons of one study, or a ``message`` when there is nothing to compare."""

    study: str
    baseline: str
    comparisons: tuple[Comparison, ...]
    message: str | None = None
    alpha: float = 0.05


def _seeds_text(seeds: Iterable[int | None]) -> str:
    return "[" + ", ".join(str(s) for s in sorted_seeds(seeds)) + "]"


def _flagged(name: str, records: Sequence[RunRecord]) -> list[str]:
    return [f"{name} seed {r.seed}" for r in records if convergence(r.history).under_trained]


def _untestable(variant: str, baseline: str, arms: Mapping[str, Sequence[RunRecord]]) -> str:
    for name in (variant, baseline):
        if not arms.get(name):
            return f"not compared: no runs of {name} in the run store"
    seeds_b = {r.seed for r in arms[baseline]}
    seeds_v = {r.seed for r in arms[variant]}
    if not seeds_b & seeds_v:
        return (
            f"not compared: no shared seeds (baseline seeds {_seeds_text(seeds_b)}, "
            f"variant seeds {_seeds_text(seeds_v)})"
        )
    sizes = {r.n_test for r in (*arms[baseline], *arms[variant])}
    labels = [r.test_labels for r in (*arms[baseline], *arms[variant]) if r.test_labels is not None]
    if len(sizes) > 1 or any(not np.array_equal(labels[0], other) for other in labels[1:]):
        return (
            f"not compared: the runs saw different test sets ({', '.join(map(str, sorted(sizes)))} "
            "images, or other labels); train both on the same data"
        )
    return ""


def compare_pair(
    study: str,
    variant: str,
    baseline: str,
    arms: Mapping[str, Sequence[RunRecord]],
    *,
    study_baseline: bool = True,
) -> Comparison:
    """One :class:`Comparison` (unadjusted: ``p_holm`` and the verdict are set by
    :func:`compare_study`; a tested row comes back with verdict ``""``)."""
    row = partial(Comparison, study, variant, baseline, study_baseline=study_baseline)
    keys_b = {r.key for r in arms.get(baseline, ())}
    if keys_b & {r.key for r in arms.get(variant, ())}:
        return row(SAME_RUN, f"same run as {baseline} under this profile")
    message = _untestable(variant, baseline, arms)
    if message:
        return row(NOT_COMPARED, message)
    runs_b, runs_v = by_seed(arms[baseline]), by_seed(arms[variant])
    shared = sorted_seeds(set(runs_b) & set(runs_v))
    result = paired_difference(
        np.stack([runs_b[s].correct for s in shared]), np.stack([runs_v[s].correct for s in shared])
    )
    flagged = _flagged(variant, [runs_v[s] for s in shared]) + _flagged(
        baseline, [runs_b[s] for s in shared]
    )
    return row("", result=result, seeds=tuple(shared), under_trained=tuple(flagged))


def _verdict(result: PairedResult, p_holm: float, alpha: float) -> str:
    if p_holm < alpha and result.ci_low > 0:
        return BETTER
    if p_holm < alpha and result.ci_high < 0:
        return WORSE
    return NO_DIFFERENCE


def _pairs(
    names: Sequence[str], baseline: str, extra: Iterable[Sequence[str]]
) -> list[tuple[str, str, bool]]:
    pairs = [(name, baseline, True) for name in names if name != baseline]
    seen = {frozenset(p[:2]) for p in pairs}
    for variant, other in extra:
        if variant == other:
            raise ValueError(f"pair ({variant!r}, {other!r}) compares a variant with itself")
        for name in (variant, other):
            if name not in names:
                raise KeyError(
                    f"pair ({variant!r}, {other!r}): {name!r} is not a variant of "
                    f"this study; variants: {', '.join(names)}"
                )
        if frozenset((variant, other)) not in seen:
            seen.add(frozenset((variant, other)))
            pairs.append((variant, other, other == baseline))
    return pairs


def compare_study(
    study: str,
    arms: Mapping[str, Sequence[RunLike | RunRecord | None]],
    baseline: str,
    *,
    variants: Sequence[str] | None = None,
    pairs: Iterable[Sequence[str]] = (),
    alpha: float = 0.05,
) -> StudyFindings:
    """Every variant of a study against its baseline (and extra ``pairs``), Holm-corrected.

    ``arms`` maps a variant name to its runs (:class:`RunRecord` or run-store runs);
    ``variants`` gives the study's variants in order (default: the keys of ``arms``), and
    one with no runs gets a ``not compared`` row naming it. ``pairs`` are extra
    ``(variant, other)`` comparisons within the study (e.g. a seed's claim between two
    variants); they join the Holm family. ``alpha`` is the level after Holm.
    """
    names = list(dict.fromkeys([*(variants if variants is not None else arms), baseline]))
    records = records_from_runs({name: arms.get(name, ()) for name in names})
    if len(names) < 2:
        return StudyFindings(
            study,
            baseline,
            (),
            f"Study {study} has only one variant "
            f"({baseline}): there is nothing to compare it with.",
            alpha,
        )
    alias = same_runs({name: [r.key for r in records[name]] for name in names})
    planned = _pairs(names, baseline, pairs)
    rows = []
    for variant, other, is_baseline in planned:
        twin = alias.get(variant)
        if twin is not None and twin != other and any(p[:2] == (twin, other) for p in planned):
            message = f"same run as {twin} under this profile (see its row)"
            rows.append(
                Comparison(study, variant, other, SAME_RUN, message, study_baseline=is_baseline)
            )
            continue
        rows.append(compare_pair(study, variant, other, records, study_baseline=is_baseline))
    tested = [(i, row.result) for i, row in enumerate(rows) if row.result is not None]
    adjusted = holm([result.p_value for _, result in tested])
    for (i, result), p in zip(tested, adjusted):
        rows[i] = replace(rows[i], p_holm=p, verdict=_verdict(result, p, alpha))
    return StudyFindings(study, baseline, tuple(rows), None, alpha)
