"""The seeds' claims judged by the computed findings: each :class:`~cifar_core.experiments.claims.Claim`
**holds**, is **reversed**, or is **inconclusive at this budget** (or, when its
comparison could not be made, **not evaluated**, with the reason).

Pass ``pairs=claim_pairs(study)`` to :func:`cifar_core.analysis.stats.findings.compare_study`
so that claims between two non-baseline variants are tested inside the study's Holm
family; :func:`cifar_core.analysis.sentences.claim_sentence` words a result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cifar_core.analysis.stats.findings import Comparison, StudyFindings
from cifar_core.experiments.claims import (
    HOLDS,
    INCONCLUSIVE,
    NO_DIFFERENCE,
    NOT_EVALUATED,
    REVERSED,
    Claim,
)


@dataclass(frozen=True)
class ClaimResult:
    """A claim's verdict; numbers are the claim's ``variant − baseline`` (fractions)."""

    claim: Claim
    outcome: str
    verdict: str = ""
    diff: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_holm: float = math.nan
    n_seeds: int = 0
    under_trained: tuple[str, ...] = ()
    reason: str = ""


_FLIP = {"better": "worse", "worse": "better"}


Findings = Mapping[str, StudyFindings] | Iterable[StudyFindings]


def _lookup(claim: Claim, findings: Findings) -> tuple[Comparison, bool] | None:
    study = (
        findings.get(claim.study)
        if isinstance(findings, Mapping)
        else next((f for f in findings if f.study == claim.study), None)
    )
    if study is None:
        return None
    for comparison in study.comparisons:
        if (comparison.variant, comparison.baseline) == (claim.variant, claim.baseline):
            return comparison, False
        if (comparison.variant, comparison.baseline) == (claim.baseline, claim.variant):
            return comparison, True
    return None


def _outcome(expected: str, verdict: str, low: float, high: float, margin: float) -> str:
    if expected == NO_DIFFERENCE:
        if verdict in _FLIP:
            return REVERSED
        return HOLDS if -margin <= low and high <= margin else INCONCLUSIVE
    if verdict == expected:
        return HOLDS
    return REVERSED if verdict == _FLIP[expected] else INCONCLUSIVE


def evaluate_claim(
    claim: Claim, findings: Findings, *, equivalence_margin: float = 0.01
) -> ClaimResult:
    """One :class:`ClaimResult`; see :func:`evaluate_claims`."""
    found = _lookup(claim, findings)
    if found is None:
        return ClaimResult(
            claim,
            NOT_EVALUATED,
            reason=(
                f"{claim.variant} vs {claim.baseline} is not among the findings of study "
                f"{claim.study!r}; compare it with compare_study(..., pairs=claim_pairs({claim.study!r}))"
            ),
        )
    comparison, flip = found
    if not comparison.tested:
        return ClaimResult(
            claim, NOT_EVALUATED, verdict=comparison.verdict, reason=comparison.message
        )
    sign = -1.0 if flip else 1.0
    low, high = sorted((sign * comparison.ci_low, sign * comparison.ci_high))
    verdict = _FLIP.get(comparison.verdict, comparison.verdict) if flip else comparison.verdict
    return ClaimResult(
        claim,
        _outcome(claim.expected, verdict, low, high, equivalence_margin),
        verdict,
        sign * comparison.diff,
        low,
        high,
        comparison.p_holm,
        comparison.n_seeds,
        comparison.under_trained,
    )


def evaluate_claims(
    claims: Iterable[Claim], findings: Findings, *, equivalence_margin: float = 0.01
) -> list[ClaimResult]:
    """Each claim's outcome under the computed findings (``{study: StudyFindings}`` or a
    list of them): ``holds`` when the verdict has the claimed direction, ``reversed``
    when it has the opposite one, ``inconclusive at this budget`` when no difference is
    detected, ``not evaluated`` (with ``reason``) when the comparison was not made.

    A ``no difference`` claim holds only when the whole interval lies within
    ± ``equivalence_margin`` (0.01 = 1 point); a detected difference reverses it.
    """
    return [evaluate_claim(c, findings, equivalence_margin=equivalence_margin) for c in claims]
