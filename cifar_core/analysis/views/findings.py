"""The findings view: the findings of the studies a chapter reads, and their two
tables — one row per comparison (:func:`findings_table`) and one row per seed claim
(:func:`claims_table`).

Every chapter computes its studies' findings with :func:`chapter_findings`, so each
study is its own Holm family (its variants against its baseline, plus the seeds' claims
within it: :func:`cifar_core.experiments.claims.claim_pairs`) and a study read by two
chapters gets the same numbers in both. A comparison that cannot be made says why:
a variant not run in this profile, not trained yet, or the same run as another.

Example
-------
>>> import numpy as np
>>> from cifar_core.analysis.records import RunRecord
>>> from cifar_core.analysis.stats.findings import compare_study
>>> arms = {"a": [RunRecord("a0", 0, np.arange(200) % 2 == 0)],
...         "b": [RunRecord("b0", 0, np.arange(200) % 5 != 0)]}
>>> row = findings_table([compare_study("s", arms, "a")]).iloc[0]
>>> row["verdict"], row["Δ test acc (pts)"], row["95 % CI (pts)"], row["p (Holm)"]
('better', '+30.0', '21.0 to 38.5', '< 0.001')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from cifar_core.analysis import text
from cifar_core.analysis.stats.claims import ClaimResult
from cifar_core.analysis.stats.findings import NOT_COMPARED, SAME_RUN, StudyFindings, compare_study
from cifar_core.experiments.claims import HOLDS, INCONCLUSIVE, NOT_EVALUATED, REVERSED, claim_pairs

if TYPE_CHECKING:
    from cifar_core.analysis.context import AnalysisContext

FINDINGS_COLUMNS = [
    "study",
    "variant",
    "compared with",
    "verdict",
    "Δ test acc (pts)",
    "95 % CI (pts)",
    "p (Holm)",
    "shared seeds",
    "under-trained",
    "note",
]
"""The columns of a findings table (:func:`findings_table`)."""

CLAIMS_COLUMNS = [
    "seed",
    "claim",
    "quote",
    "outcome",
    "Δ test acc (pts)",
    "95 % CI (pts)",
    "p (Holm)",
    "shared seeds",
    "note",
]
"""The columns of the claims table (:func:`claims_table`)."""


def _missing_reason(name: str, ctx: AnalysisContext) -> str:
    if name in ctx.not_run:
        return f"not compared: {name} was not run ({ctx.not_run[name]})"
    if name not in {v.name for v in ctx.variants}:
        return f"not compared: {name} is not run in profile {ctx.profile.name} (full profile only)"
    return ""


def chapter_findings(
    ctx: AnalysisContext,
    studies: Iterable[str],
    *,
    alpha: float = 0.05,
) -> dict[str, StudyFindings]:
    """``{study: StudyFindings}`` for the studies a chapter reads (each its own Holm
    family at level ``alpha``), from the chapter's context; the seeds' claims between two
    non-baseline variants of a study are tested too (they join the study's Holm family)."""
    out = {}
    for name in studies:
        study = ctx.study(name)
        arms = {n: list(ctx.runs.get(n, [])) for n in study.names()}
        found = compare_study(
            study.name,
            arms,
            study.baseline,
            variants=study.names(),
            pairs=claim_pairs(name),
            alpha=alpha,
        )
        rows = []
        for row in found.comparisons:
            if row.verdict == NOT_COMPARED and "in the run store" in row.message:
                missing = row.variant if not arms.get(row.variant) else row.baseline
                reason = _missing_reason(missing, ctx)
                row = replace(row, message=reason) if reason else row
            rows.append(row)
        out[name] = replace(found, comparisons=tuple(rows))
    return out


def compact_runs(runs: Sequence[str]) -> str:
    """``["a seed 0", "a seed 1", "b seed 0"]`` → ``"a (2 seeds), b (1 seed)"``.

    >>> compact_runs(["a seed 0", "a seed 1", "b seed 0"])
    'a (2 seeds), b (1 seed)'
    """
    counts = Counter(item.rsplit(" seed ", 1)[0] for item in runs)
    return ", ".join(f"{n} ({text.plural(c, 'seed')})" for n, c in counts.items())


def findings_table(findings: Mapping[str, StudyFindings] | Iterable[StudyFindings]) -> pd.DataFrame:
    """One row per comparison (:data:`FINDINGS_COLUMNS`), as text: Δ and its 95 %
    interval in points, the Holm p-value, the verdict, shared seeds, the under-trained
    runs it rests on, and why a row was not tested. A study with nothing to compare
    gives one row carrying its message."""
    studies = list(findings.values()) if isinstance(findings, Mapping) else list(findings)
    rows = []
    for study in studies:
        if study.message and not study.comparisons:
            rows.append(
                {
                    "study": study.study,
                    "variant": text.UNKNOWN,
                    "compared with": study.baseline,
                    "verdict": NOT_COMPARED,
                    "note": study.message,
                }
            )
        for c in study.comparisons:
            untested = c.verdict in (NOT_COMPARED, SAME_RUN)
            rows.append(
                {
                    "study": c.study,
                    "variant": c.variant,
                    "compared with": c.baseline,
                    "verdict": c.verdict,
                    "Δ test acc (pts)": text.points(c.diff, signed=True),
                    "95 % CI (pts)": text.interval(c.ci_low, c.ci_high),
                    "p (Holm)": text.p_value(c.p_holm),
                    "shared seeds": text.count(c.n_seeds) if c.tested else text.UNKNOWN,
                    "under-trained": compact_runs(c.under_trained)
                    or (text.UNKNOWN if untested else "no"),
                    "note": c.message or ("rests on under-trained runs" if c.under_trained else ""),
                }
            )
    table = pd.DataFrame(rows, columns=FINDINGS_COLUMNS).astype(object)
    for column in FINDINGS_COLUMNS[4:-1]:
        table[column] = table[column].fillna(text.UNKNOWN)
    return table.fillna("")


def claims_table(
    results: Sequence[ClaimResult], epochs: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The seeds' claims as text (:data:`CLAIMS_COLUMNS`): seed, our one-line reading,
    the quote, the outcome (holds / reversed / inconclusive at this budget / not
    evaluated), the computed effect ``variant − baseline`` of the claim with its 95 %
    interval and Holm p, shared seeds, and a note (under-trained runs, why it was not
    evaluated, what makes the comparison imperfect; with ``epochs``, ``{variant: the
    epochs its runs trained}``, arms trained for different epochs)."""
    rows = []
    for r in results:
        tested = not text.is_unknown(r.diff)
        v, b = (epochs or {}).get(r.claim.variant), (epochs or {}).get(r.claim.baseline)
        differ = (
            f"trained for different epochs here ({r.claim.variant}: {v}, {r.claim.baseline}: {b})"
        )
        notes = [
            note
            for note in (
                r.reason.removeprefix("not compared: ") if r.reason else "",
                f"under-trained: {compact_runs(r.under_trained)}" if r.under_trained else "",
                differ if tested and v and b and v != b else "",
                r.claim.note,
            )
            if note
        ]
        rows.append(
            {
                "seed": r.claim.seed,
                "claim": f"{r.claim.statement} ({r.claim.variant} vs {r.claim.baseline}, expected "
                f"{r.claim.expected})",
                "quote": f"“{r.claim.quote.strip()}”",
                "outcome": r.outcome,
                "Δ test acc (pts)": text.points(r.diff, signed=True),
                "95 % CI (pts)": text.interval(r.ci_low, r.ci_high),
                "p (Holm)": text.p_value(r.p_holm),
                "shared seeds": str(r.n_seeds) if tested else text.UNKNOWN,
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows, columns=CLAIMS_COLUMNS)


def findings_values(
    findings: Mapping[str, StudyFindings],
    claims: Sequence[ClaimResult],
    alpha: float = 0.05,
    equivalence_margin: float = 0.01,
) -> dict[str, Any]:
    """What the article quotes of the findings: comparisons tested and detected, claims
    judged and how each outcome counts, and the rules they were judged by (``alpha``,
    the level after Holm; ``equivalence_margin``, a fraction, as points).

    >>> v = findings_values({}, [], alpha=0.01, equivalence_margin=0.02)
    >>> v["alpha"], v["equivalence_margin"]
    ('0.01', '2.0 points')
    """
    tested = [c for f in findings.values() for c in f.comparisons if c.tested]
    outcomes = [r.outcome for r in claims]
    return {
        "alpha": f"{alpha:g}",
        "equivalence_margin": text.points(equivalence_margin, unit=True),
        "n_tested": str(len(tested)),
        "n_detected": str(sum(c.detected for c in tested)),
        "n_claims": str(len(claims)),
        "claims": {
            key: str(outcomes.count(kind))
            for key, kind in (
                ("holds", HOLDS),
                ("reversed", REVERSED),
                ("inconclusive", INCONCLUSIVE),
                ("not_evaluated", NOT_EVALUATED),
            )
        },
    }
