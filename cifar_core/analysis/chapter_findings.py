"""What a results chapter shows of the findings layer: the findings of the studies it
reads, one table of them, the sentences, the convergence column of its runs table,
"same run" marks for collapsed variants, messages for comparisons that cannot be made,
and the validation-only "best" pick.

Every chapter computes its studies' findings with :func:`chapter_findings`, so each
study is its own Holm family (its variants against its baseline, plus the seeds' claims
within it: :func:`cifar_core.experiments.claims.claim_pairs`) and a study read by two
chapters gets the same numbers in both.

Runs are looked up by run key: two variants that a profile scales to one configuration
share their runs, and :func:`same_run_notes` says so instead of comparing a run with
itself.

Example
-------
>>> import numpy as np, pandas as pd
>>> from cifar_core.analysis.records import RunRecord
>>> plateau = pd.DataFrame({"val_loss": [2, 1, .9, .95, 1.], "val_accuracy": [.3, .5, .6, .6, .6]})
>>> runs = {"a": [RunRecord("k1", 0, np.ones(4, bool), history=plateau)],
...         "b": [RunRecord("k1", 0, np.ones(4, bool), history=plateau)]}
>>> same_run_notes(runs)
{'b': 'same run as a under this profile'}
>>> under_trained_column(runs)
{'a': 'no', 'b': 'no'}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from cifar_core.analysis.convergence import convergence
from cifar_core.analysis.findings import (
    NOT_COMPARED,
    SAME_RUN,
    Comparison,
    StudyFindings,
    compare_study,
)
from cifar_core.analysis.findings_text import findings_table, study_sentences
from cifar_core.analysis.selection import select_best, validation_view

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
"""The columns of a chapter's findings table (:func:`findings_display`)."""


# ----------------------------------------------------------------------------- runs
def _key(run: Any) -> str:
    return str(getattr(run, "key", run))


def same_run_notes(
    runs_by_variant: Mapping[str, Sequence[Any]], baselines: Iterable[str] = ()
) -> dict[str, str]:
    """``{variant: "same run as <other> under this profile"}`` for each variant whose
    runs are another variant's (same run keys). The other is a study baseline when one
    of them is (``baselines``), else the earlier in the mapping's order."""
    first: dict[frozenset, str] = {}
    notes = {}
    preferred = [n for n in dict.fromkeys(baselines) if n in runs_by_variant]
    order = preferred + [n for n in runs_by_variant if n not in preferred]
    for name in order:
        runs = runs_by_variant[name]
        keys = frozenset(_key(r) for r in runs if r is not None)
        if not keys:
            continue
        twin = next((n for k, n in first.items() if k & keys), None)
        if twin is None:
            first[keys] = name
        else:
            notes[name] = f"same run as {twin} under this profile"
    return notes


def under_trained_column(
    runs_by_variant: Mapping[str, Sequence[Any]], **options: Any
) -> dict[str, str]:
    """``{variant: "no" | "yes" | "2 of 3 seeds"}``: how many of a variant's runs the
    convergence flag (:func:`~cifar_core.analysis.convergence.convergence`) marks as
    under-trained; ``"–"`` for a variant without runs, ``"not checked (no validation
    split)"`` for runs trained without one (a seed-protocol build)."""
    column = {}
    for name, runs in runs_by_variant.items():
        runs = [r for r in runs if r is not None]
        verdicts = [convergence(getattr(r, "history", None), **options) for r in runs]
        flagged = sum(v.under_trained for v in verdicts)
        if not runs:
            column[name] = "–"
        elif all(v.epochs == 0 for v in verdicts):
            column[name] = "not checked (no validation split)"
        elif flagged == 0:
            column[name] = "no"
        elif flagged == len(runs):
            column[name] = "yes" if len(runs) == 1 else f"yes ({len(runs)} of {len(runs)} seeds)"
        else:
            column[name] = f"{flagged} of {len(runs)} seeds"
    return column


def convergence_note(
    runs_by_variant: Mapping[str, Sequence[Any]], *, detail: int = 12, **options: Any
) -> str:
    """Markdown: how many runs (each run key once) are free of the under-trained flag,
    and why the flagged ones are flagged: each flagged variant with its first flagged
    run's reason when there are at most ``detail`` of them, else the variants grouped by
    kind of reason (still improving, too short to tell, no validation history)."""
    total = flagged = 0
    reasons: dict[str, str] = {}
    seen = set()
    for name, runs in runs_by_variant.items():
        for run in runs:
            if run is None or _key(run) in seen:
                continue
            seen.add(_key(run))
            total += 1
            verdict = convergence(getattr(run, "history", None), **options)
            if verdict.under_trained:
                flagged += 1
                reasons.setdefault(name, verdict.reason)
    if not total:
        return "No runs to check for convergence."
    text = (
        f"**Convergence.** {total - flagged} of {total} runs are free of the under-trained "
        "flag (a run is flagged when its lowest validation loss falls in its last epochs "
        "while validation accuracy is still rising, or when it is too short to tell)."
    )
    if reasons and len(reasons) <= detail:
        text += " Flagged: " + "; ".join(f"{n} ({why})" for n, why in reasons.items()) + "."
    elif reasons:
        kinds: dict[str, list[str]] = {}
        for name, why in reasons.items():
            kind = (
                "still improving"
                if why.startswith("still improving")
                else "too few epochs to tell"
                if "too few" in why
                else "no validation history"
                if why.startswith("no validation")
                else "other"
            )
            kinds.setdefault(kind, []).append(name)
        text += (
            " Flagged: "
            + "; ".join(f"{kind}: {', '.join(names)}" for kind, names in kinds.items())
            + "."
        )
    return text


# ----------------------------------------------------------------------------- findings
def _missing_reason(name: str, not_run: Mapping[str, str], planned: set[str], profile: str) -> str:
    if name in not_run:
        return f"not compared: {name} was not run ({not_run[name]})"
    if name not in planned:
        return f"not compared: {name} is not run in profile {profile} (full profile only)"
    return ""


def chapter_findings(
    ctx: Any, studies: Iterable[str], *, pairs: bool = True, **options: Any
) -> dict[str, StudyFindings]:
    """``{study: StudyFindings}`` for the studies a chapter reads (each its own Holm family).

    Parameters
    ----------
    ctx : AnalysisContext
        The chapter's context (``runs``, ``variants``, ``not_run``, ``profile``, ``study()``).
    studies : iterable of str
        Catalog study names.
    pairs : bool
        Also test the seeds' claims between two non-baseline variants of a study (they
        join the study's Holm family), as the findings chapter does.
    **options
        Passed to :func:`~cifar_core.analysis.findings.compare_study` (``alpha``,
        ``n_resamples``, ``n_permutations``, ``random_state``…).
    """
    from cifar_core.experiments.claims import claim_pairs

    planned = {v.name for v in getattr(ctx, "variants", ())}
    out = {}
    for name in studies:
        study = ctx.study(name)
        arms = {n: list(ctx.runs.get(n, [])) for n in study.names()}
        found = compare_study(
            study.name,
            arms,
            study.baseline,
            variants=study.names(),
            pairs=claim_pairs(name) if pairs else (),
            **options,
        )
        rows = []
        for row in found.comparisons:
            if row.verdict == NOT_COMPARED and "in the run store" in row.message:
                missing = row.variant if not arms.get(row.variant) else row.baseline
                reason = _missing_reason(missing, ctx.not_run, planned, ctx.profile.name)
                if reason:
                    row = _with_message(row, reason)
            rows.append(row)
        out[name] = StudyFindings(
            found.study, found.baseline, tuple(rows), found.message, found.alpha, found.confidence
        )
    return out


def _with_message(row: Comparison, message: str) -> Comparison:
    from dataclasses import replace

    return replace(row, message=message)


def _compact(runs: str) -> str:
    """``"a seed 0, a seed 1, b seed 0"`` → ``"a (2 seeds), b (1 seed)"``."""
    counts: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in runs.split(","))):
        name = item.rsplit(" seed ", 1)[0]
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n} ({c} seed{'s' * (c != 1)})" for n, c in counts.items())


def findings_display(
    findings: Mapping[str, StudyFindings] | Iterable[StudyFindings],
) -> pd.DataFrame:
    """One row per comparison with :data:`FINDINGS_COLUMNS` as text: Δ and its 95 %
    interval in points, the Holm p-value, the verdict, shared seeds, the under-trained
    runs it rests on, and why a row was not tested."""
    studies = list(findings.values()) if isinstance(findings, Mapping) else list(findings)
    if not studies:
        return pd.DataFrame(columns=FINDINGS_COLUMNS)
    shown = findings_table(studies, display=True)
    shown["under-trained"] = [
        _compact(t) or ("–" if v in (NOT_COMPARED, SAME_RUN) else "no")
        for t, v in zip(shown["under-trained runs"], shown["verdict"])
    ]
    return shown[FINDINGS_COLUMNS].reset_index(drop=True)


def findings_problems(findings: Mapping[str, StudyFindings]) -> str:
    """Markdown callout listing what could not be compared and why (a study with one
    variant, no shared seeds, missing runs, different test sets); ``""`` when everything
    was compared. Rows marked "same run" are not problems and are not listed."""
    lines = []
    for study in findings.values():
        if study.message and not study.comparisons:
            lines.append(f"* **{study.study}**: {study.message}")
        for row in study.comparisons:
            if row.verdict == NOT_COMPARED:
                lines.append(
                    f"* **{study.study}**: {row.variant} vs {row.baseline}: "
                    f"{row.message.removeprefix('not compared: ')}"
                )
    if not lines:
        return ""
    return (
        "::: {.callout-warning}\n## Comparisons that could not be made\n\n"
        + "\n".join(lines)
        + "\n:::\n"
    )


def findings_sentences(
    findings: Mapping[str, StudyFindings], *, titles: Mapping[str, str] | None = None
) -> str:
    """Markdown: one paragraph per study, its generated sentences
    (:func:`~cifar_core.analysis.findings_text.study_sentences`) after its title."""
    paragraphs = []
    for name, study in findings.items():
        title = (titles or {}).get(name, name)
        paragraphs.append(f"**{title}.** " + " ".join(study_sentences(study)))
    return "\n\n".join(paragraphs)


def findings_markdown(findings: Mapping[str, StudyFindings], ctx: Any = None) -> str:
    """:func:`findings_sentences` (study titles from ``ctx.study(name).title`` when a
    context is given) followed by :func:`findings_problems`."""
    titles = {name: ctx.study(name).title for name in findings} if ctx is not None else None
    return "\n\n".join(
        part
        for part in (findings_sentences(findings, titles=titles), findings_problems(findings))
        if part
    )


# ----------------------------------------------------------------------------- selection
def best_by_validation(table: pd.DataFrame, by: str = "val_accuracy_mean") -> str | None:
    """The variant with the best validation metric ``by`` in a runs table, chosen by
    :func:`~cifar_core.analysis.selection.select_best` on the table's validation columns
    only (test columns never reach it); ``None`` when no variant has a validation metric
    (e.g. a seed-protocol build, which has no validation split).

    >>> t = pd.DataFrame({"variant": ["a", "b"], "val_accuracy_mean": [.6, .5],
    ...                   "test_accuracy_mean": [.5, .7]})
    >>> best_by_validation(t)
    'a'
    """
    if table.empty or by not in table or table[by].isna().all():
        return None
    return select_best(validation_view(table), by=by)


def rank_by_validation(table: pd.DataFrame, by: str = "val_accuracy_mean") -> pd.DataFrame:
    """``table`` (a runs table) ordered best first by the validation metric ``by``; the
    order comes from :func:`~cifar_core.analysis.selection.rank_by_validation` on the
    validation columns only. Rows without a validation metric go last, in their order.

    >>> t = pd.DataFrame({"variant": ["a", "b"], "val_accuracy_mean": [.5, .6],
    ...                   "test_accuracy_mean": [.7, .4]})
    >>> rank_by_validation(t)["variant"].tolist()
    ['b', 'a']
    """
    from cifar_core.analysis.selection import rank_by_validation as rank

    if table.empty or by not in table:
        return table
    order = rank(validation_view(table).reset_index(drop=True).rename_axis(None), by=by)
    position = {name: i for i, name in enumerate(order["variant"])}
    return table.iloc[sorted(range(len(table)), key=lambda i: position[table["variant"].iloc[i]])]


def show_runs_table(
    shown: pd.DataFrame, runs_by_variant: Mapping[str, Sequence[Any]], baselines: Iterable[str] = ()
) -> pd.DataFrame:
    """``shown`` (a display table with a ``variant`` column) with an ``under-trained``
    column and a ``note`` saying "same run as X under this profile" for collapsed
    variants (X a study baseline where one of the two is: ``baselines``)."""
    names = list(shown["variant"])
    flags = under_trained_column(runs_by_variant)
    notes = same_run_notes(runs_by_variant, baselines)
    out = shown.copy()
    out["under-trained"] = [flags.get(n, "–") for n in names]
    out["note"] = [notes.get(n, "") for n in names]
    return out


def study_runs_with_duplicates(
    by_study: Mapping[str, Mapping[str, Sequence[Any]]],
) -> dict[str, list]:
    """``{variant: runs}`` over several studies in order (each variant once)."""
    merged: dict[str, list] = {}
    for runs in by_study.values():
        for name, seeds in runs.items():
            merged.setdefault(name, list(seeds))
    return merged


# ----------------------------------------------------------------------------- claims, discussion
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
"""The columns of the claims table (:func:`claims_display`)."""


def claims_display(results: Sequence[Any]) -> pd.DataFrame:
    """The seeds' claims as text: seed, our one-line reading, the quote, the outcome
    (holds / reversed / inconclusive at this budget / not evaluated), the computed
    effect ``variant − baseline`` of the claim with its 95 % interval and Holm p, shared
    seeds, and a note (under-trained runs, why it was not evaluated, what makes the
    comparison imperfect)."""
    from cifar_core.analysis.findings_text import p_text, points

    rows = []
    for r in results:
        tested = not math.isnan(r.diff)
        notes = [
            text
            for text in (
                r.reason.removeprefix("not compared: ") if r.reason else "",
                f"under-trained: {_compact(', '.join(r.under_trained))}" if r.under_trained else "",
                r.claim.note,
            )
            if text
        ]
        rows.append(
            {
                "seed": r.claim.seed,
                "claim": f"{r.claim.statement} ({r.claim.variant} vs {r.claim.baseline}, expected "
                f"{r.claim.expected})",
                "quote": f"“{r.claim.quote.strip()}”",
                "outcome": r.outcome,
                "Δ test acc (pts)": points(r.diff, signed=True) if tested else "–",
                "95 % CI (pts)": f"{points(r.ci_low)} to {points(r.ci_high)}" if tested else "–",
                "p (Holm)": p_text(r.p_holm),
                "shared seeds": str(r.n_seeds) if tested else "–",
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows, columns=CLAIMS_COLUMNS)


def _count(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1] + 'ies' if word.endswith('y') else word + 's'}"


def discussion_markdown(
    findings: Mapping[str, StudyFindings],
    results: Sequence[Any],
    *,
    runs: Mapping[str, Sequence[Any]] | None = None,
    titles: Mapping[str, str] | None = None,
    profile: str = "",
) -> str:
    """The Discussion, generated: what the comparisons detected (each detected effect
    as its sentence), how the seeds' claims fared (each claim that holds or is reversed
    as its sentence, the inconclusive ones named), and which findings rest on
    under-trained runs. Every number comes from ``findings`` and ``results``."""
    from cifar_core.analysis.claims import claim_sentence
    from cifar_core.analysis.findings_text import finding_sentence
    from cifar_core.experiments.claims import HOLDS, INCONCLUSIVE, NOT_EVALUATED, REVERSED

    rows = [c for study in findings.values() for c in study.comparisons]
    tested = [c for c in rows if c.tested]
    detected = [c for c in tested if c.verdict in ("better", "worse")]
    budget = f" in this {profile} build" if profile else ""
    alphas = sorted({f"{s.alpha:g}" for s in findings.values()}) or ["0.05"]
    parts = [
        (
            f"Of {_count(len(tested), 'comparison')} tested{budget} across "
            f"{_count(len(findings), 'study')}, {len(detected)} show a detectable difference "
            f"(Holm-corrected within each study, α = {', '.join(alphas)}); for the other "
            f"{len(tested) - len(detected)} the data cannot tell the two arms apart at this "
            "budget, which is not evidence that they are equal."
        )
    ]
    if detected:
        by_study: dict[str, list[str]] = {}
        for c in detected:
            by_study.setdefault(c.study, []).append(finding_sentence(c, under_trained=False))
        parts.append(
            "\n\n".join(
                f"**{(titles or {}).get(s, s)}.** " + " ".join(sentences)
                for s, sentences in by_study.items()
            )
        )
    outcome = {
        k: [r for r in results if r.outcome == k]
        for k in (HOLDS, REVERSED, INCONCLUSIVE, NOT_EVALUATED)
    }
    if results:
        parts.append(
            f"**The seeds' claims.** Of {_count(len(results), 'claim')} quoted from the "
            f"seed reports, {len(outcome[HOLDS])} hold{'s' * (len(outcome[HOLDS]) == 1)}, "
            f"{len(outcome[REVERSED])} {'is' if len(outcome[REVERSED]) == 1 else 'are'} "
            f"reversed, {len(outcome[INCONCLUSIVE])} {'is' if len(outcome[INCONCLUSIVE]) == 1 else 'are'} "
            f"inconclusive at this budget and {len(outcome[NOT_EVALUATED])} could not be "
            "evaluated here."
        )
        for kind in (REVERSED, HOLDS):
            parts.extend(claim_sentence(r) for r in outcome[kind])
        if outcome[INCONCLUSIVE]:
            parts.append(
                "Inconclusive at this budget: "
                + "; ".join(
                    f"seed {r.claim.seed}: {r.claim.statement.rstrip('.')} (Δ = "
                    f"{_points(r.diff)} points, 95 % CI {_points(r.ci_low, False)} to "
                    f"{_points(r.ci_high, False)})"
                    for r in outcome[INCONCLUSIVE]
                )
                + "."
            )
    flagged = [c for c in tested if c.under_trained]
    if flagged:
        rest = "rests" if len(flagged) == 1 else "rest"
        if len(flagged) == len(tested):
            who = f"Every tested comparison ({len(tested)}) {rest}"
        else:
            who = f"{len(flagged)} of {len(tested)} tested comparisons {rest}"
        if len(flagged) <= 8:
            where = ": " + ", ".join(f"{c.variant} vs {c.baseline}" for c in flagged)
        else:
            studies = list(dict.fromkeys((titles or {}).get(c.study, c.study) for c in flagged))
            where = " (in " + "; ".join(studies) + ")"
        parts.append(
            f"**Under-trained runs.** {who} on runs that were still improving (or "
            f"too short to tell) when training stopped{where}. Their differences may "
            "change with longer training."
        )
    if runs is not None:
        parts.append(convergence_note(runs))
    return "\n\n".join(parts)


def _points(value: float, signed: bool = True) -> str:
    from cifar_core.analysis.findings_text import points

    return points(value, signed=signed)
