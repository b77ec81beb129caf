"""The Discussion, generated from the findings and the claims alone: a short synthesis
a person reads first, then every comparison and claim in one collapsed block.

The synthesis says, in this order: how many comparisons were tested and how many show
a detectable difference; the largest effects the data support (decided comparisons,
ranked by the size of the effect and grouped by what they are about — the
``topics`` a caller names, e.g. architecture, training recipe, regularization,
transfer); the seeds' claims that reversed; and what stays open at this budget and
why (no detectable difference, one shared seed, under-trained runs, comparisons that
could not be made). Every number in it is a number of the findings.

Example
-------
>>> import numpy as np
>>> from cifar_core.analysis.records import RunRecord
>>> from cifar_core.analysis.stats.findings import compare_study
>>> base = np.arange(1000) % 2 == 0
>>> arms = {"a": [RunRecord("a0", 0, base)], "b": [RunRecord("b0", 0, np.arange(1000) % 5 != 0)]}
>>> findings = {"s": compare_study("s", arms, "a")}
>>> print(synthesis(findings, [], topics={"Architecture": ["s"]}).split("\\n\\n")[2])
* **Architecture**: b vs a +30.0 points (95 % CI 26.0 to 33.9).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cifar_core.analysis import text
from cifar_core.analysis.present import note_callout
from cifar_core.analysis.sentences import claim_sentence, convergence_note, finding_sentence
from cifar_core.analysis.stats.claims import ClaimResult
from cifar_core.analysis.stats.findings import NOT_COMPARED, Comparison, StudyFindings
from cifar_core.experiments.claims import HOLDS, INCONCLUSIVE, NOT_EVALUATED, REVERSED

OTHER = "Other studies"


def _tested(findings: Mapping[str, StudyFindings]) -> list[Comparison]:
    return [c for study in findings.values() for c in study.comparisons if c.tested]


def _count_sentence(findings: Mapping[str, StudyFindings], profile: str) -> str:
    tested = _tested(findings)
    detected = [c for c in tested if c.detected]
    budget = f" in this {profile} build" if profile else ""
    alphas = sorted({f"{s.alpha:g}" for s in findings.values()}) or ["0.05"]
    return (
        f"Of {text.plural(len(tested), 'comparison')} tested{budget} across "
        f"{text.plural(len(findings), 'study')}, {len(detected)} show a detectable difference "
        f"(Holm-corrected within each study, α = {', '.join(alphas)}); for the other "
        f"{len(tested) - len(detected)} the data cannot tell the two arms apart at this "
        "budget, which is not evidence that they are equal."
    )


def largest_effects(
    findings: Mapping[str, StudyFindings], topics: Mapping[str, Sequence[str]], *, top: int = 3
) -> dict[str, list[Comparison]]:
    """``{topic: its decided comparisons, largest |Δ| first}`` (at most ``top`` each),
    topics ordered by their largest effect. A pair compared in two studies counts once
    (its first study's row); a study in no topic goes to :data:`OTHER`."""
    topic_of = {study: topic for topic, studies in topics.items() for study in studies}
    seen: set[frozenset[str]] = set()
    grouped: dict[str, list[Comparison]] = {}
    for c in _tested(findings):
        pair = frozenset((c.variant, c.baseline))
        if not c.detected or pair in seen:
            continue
        seen.add(pair)
        grouped.setdefault(topic_of.get(c.study, OTHER), []).append(c)
    ranked = {t: sorted(cs, key=lambda c: -abs(c.diff))[:top] for t, cs in grouped.items()}
    return dict(sorted(ranked.items(), key=lambda item: -abs(item[1][0].diff)))


def _effect(c: Comparison) -> str:
    return (
        f"{c.variant} vs {c.baseline} {text.points(c.diff, signed=True, unit=True)} "
        f"(95 % CI {text.interval(c.ci_low, c.ci_high)})"
    )


def _claim(r: ClaimResult) -> str:
    return (
        f"seed {r.claim.seed}, “{r.claim.statement.rstrip('.')}” ({r.claim.variant} vs "
        f"{r.claim.baseline} {text.points(r.diff, signed=True, unit=True)}, 95 % CI "
        f"{text.interval(r.ci_low, r.ci_high)})"
    )


def _open(findings: Mapping[str, StudyFindings], claims: Sequence[ClaimResult]) -> str:
    tested = _tested(findings)
    undecided = [c for c in tested if not c.detected]
    inconclusive = [r for r in claims if r.outcome == INCONCLUSIVE]
    one_seed = [c for c in tested if c.n_seeds == 1]
    flagged = [c for c in tested if c.under_trained]
    missing = [c for s in findings.values() for c in s.comparisons if c.verdict == NOT_COMPARED]
    lonely = [s.study for s in findings.values() if s.message and not s.comparisons]
    parts = [
        f"{len(undecided)} of {len(tested)} tested comparisons show no detectable difference"
        + (
            f" and {len(inconclusive)} of the seeds' {len(claims)} claims "
            f"{'is' if len(inconclusive) == 1 else 'are'} inconclusive"
            if claims
            else ""
        )
        + "."
    ]
    if one_seed:
        parts.append(
            f"{len(one_seed)} of {len(tested)} rest on one shared seed, so their intervals "
            "cover the choice of test images but not retraining; more seeds would show "
            "how much a retrained run moves."
        )
    if flagged:
        parts.append(
            f"{len(flagged)} of {len(tested)} rest on under-trained runs (still improving, or "
            "too short to tell, when training stopped): longer training may change them."
        )
    if missing or lonely:
        where = list(dict.fromkeys(c.study for c in missing))
        parts.append(
            f"{text.plural(len(missing), 'comparison')} could not be made"
            + (f" (in {', '.join(where)})" if where else "")
            + (f" and {', '.join(lonely)} had nothing to compare" if lonely else "")
            + "; the list below says why."
        )
    return "**Open at this budget.** " + " ".join(parts)


def synthesis(
    findings: Mapping[str, StudyFindings],
    claims: Sequence[ClaimResult],
    *,
    topics: Mapping[str, Sequence[str]],
    profile: str = "",
) -> str:
    """Markdown: the Discussion's opening (see the module docstring)."""
    parts = [_count_sentence(findings, profile)]
    effects = largest_effects(findings, topics)
    if effects:
        items = [
            f"* **{topic}**: " + "; ".join(_effect(c) for c in cs) + "."
            for topic, cs in effects.items()
        ]
        parts.append(
            "**The largest supported effects**, by size (Δ test accuracy, variant − the arm it "
            "is compared with):\n\n" + "\n".join(items)
        )
    reversed_ = [r for r in claims if r.outcome == REVERSED]
    if claims:
        parts.append(
            f"**Seed claims reversed here**: {len(reversed_)} of {len(claims)}"
            + (": " + "; ".join(_claim(r) for r in reversed_) if reversed_ else "")
            + "."
        )
    parts.append(_open(findings, claims))
    return "\n\n".join(parts)


def _claims_paragraphs(claims: Sequence[ClaimResult]) -> list[str]:
    outcome = {k: [r for r in claims if r.outcome == k] for k in (HOLDS, REVERSED, INCONCLUSIVE)}
    n_missing = sum(r.outcome == NOT_EVALUATED for r in claims)
    holds, rev, inc = (len(outcome[k]) for k in (HOLDS, REVERSED, INCONCLUSIVE))
    parts = [
        f"**The seeds' claims.** Of {text.plural(len(claims), 'claim')} quoted from the seed "
        f"reports, {holds} hold{'s' * (holds == 1)}, {rev} {'is' if rev == 1 else 'are'} "
        f"reversed, {inc} {'is' if inc == 1 else 'are'} inconclusive at this budget and "
        f"{n_missing} could not be evaluated here."
    ]
    parts += [claim_sentence(r) for kind in (REVERSED, HOLDS) for r in outcome[kind]]
    parts += [claim_sentence(r) for r in claims if r.outcome == NOT_EVALUATED]
    if outcome[INCONCLUSIVE]:
        parts.append(
            "Inconclusive at this budget: "
            + "; ".join(
                f"seed {r.claim.seed}: {r.claim.statement.rstrip('.')} (Δ = "
                f"{text.points(r.diff, signed=True, unit=True)}, 95 % CI "
                f"{text.interval(r.ci_low, r.ci_high)})"
                for r in outcome[INCONCLUSIVE]
            )
            + "."
        )
    return parts


def _under_trained_paragraph(tested: list[Comparison], titles: Mapping[str, str]) -> str:
    flagged = [c for c in tested if c.under_trained]
    rest = "rests" if len(flagged) == 1 else "rest"
    if len(flagged) == len(tested):
        who = f"Every tested comparison ({len(tested)}) rests"
    else:
        who = f"{len(flagged)} of {len(tested)} tested comparisons {rest}"
    if len(flagged) <= 8:
        where = ": " + ", ".join(f"{c.variant} vs {c.baseline}" for c in flagged)
    else:
        studies = list(dict.fromkeys(titles.get(c.study, c.study) for c in flagged))
        where = " (in " + "; ".join(studies) + ")"
    return (
        f"**Under-trained runs.** {who} on runs that were still improving (or too short to "
        f"tell) when training stopped{where}. Their differences may change with longer training."
    )


def every_comparison(
    findings: Mapping[str, StudyFindings],
    claims: Sequence[ClaimResult],
    *,
    titles: Mapping[str, str] | None = None,
    runs: Mapping[str, Sequence] | None = None,
) -> str:
    """Markdown: each detected effect as its sentence (by study), each claim that holds,
    is reversed or was not evaluated as its sentence, the inconclusive claims named, and
    which findings rest on under-trained runs (with the convergence of ``runs``)."""
    titles = titles or {}
    tested = _tested(findings)
    by_study: dict[str, list[str]] = {}
    for c in tested:
        if c.detected:
            by_study.setdefault(c.study, []).append(finding_sentence(c, under_trained=False))
    parts = [
        "\n\n".join(
            f"**{titles.get(s, s)}.** " + " ".join(sentences) for s, sentences in by_study.items()
        )
    ]
    if claims:
        parts += _claims_paragraphs(claims)
    if any(c.under_trained for c in tested):
        parts.append(_under_trained_paragraph(tested, titles))
    if runs is not None:
        parts.append(convergence_note(runs))
    return "\n\n".join(p for p in parts if p)


def discussion(
    findings: Mapping[str, StudyFindings],
    claims: Sequence[ClaimResult],
    *,
    topics: Mapping[str, Sequence[str]],
    titles: Mapping[str, str] | None = None,
    runs: Mapping[str, Sequence] | None = None,
    profile: str = "",
) -> str:
    """Markdown: :func:`synthesis`, then :func:`every_comparison` in a callout that
    Quarto (and the built-in renderer's HTML) shows collapsed."""
    body = every_comparison(findings, claims, titles=titles, runs=runs)
    title = "Every detected effect and claim, one sentence each"
    full = note_callout(body, title=title, collapse=True)
    return synthesis(findings, claims, topics=topics, profile=profile) + "\n\n" + full
