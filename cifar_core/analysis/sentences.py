"""Findings in words: the only source of "finding" prose in the report.

Every sentence is generated from a computed result and says exactly what it supports:
a comparison's ``better``/``worse`` with the effect, its interval and the Holm
p-value; ``no detectable difference`` as inconclusive (never as "equal"); untested
rows with their reason; under-trained runs by name; a claim's outcome with the
effect behind it; a class-level change as a gain or loss only when its interval
excludes zero. Numbers are spelled by :mod:`cifar_core.analysis.text`.

Example
-------
>>> import numpy as np
>>> from cifar_core.analysis.records import RunRecord
>>> from cifar_core.analysis.stats.findings import compare_study
>>> same = np.arange(300) % 3 == 0
>>> f = compare_study("demo", {"a": [RunRecord("a0", 0, same)], "b": [RunRecord("b0", 0, same)]}, "a")
>>> print(finding_sentence(f.comparisons[0], under_trained=False))
b shows no detectable difference from the baseline a: Δ = +0.0 points (95 % CI 0.0 to 0.0; Holm p = 1; 1 shared seed, 300 test images); the data cannot tell them apart at this budget.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import pandas as pd

from cifar_core.analysis import text
from cifar_core.analysis.present import note_callout
from cifar_core.analysis.records import RunLike
from cifar_core.analysis.stats.claims import ClaimResult
from cifar_core.analysis.stats.convergence import convergence
from cifar_core.analysis.stats.findings import (
    DETECTED,
    NO_DIFFERENCE,
    NOT_COMPARED,
    SAME_RUN,
    Comparison,
    StudyFindings,
)
from cifar_core.experiments.claims import NOT_EVALUATED


def _numbers(c: Comparison) -> str:
    return (
        f"95 % CI {text.interval(c.ci_low, c.ci_high)}; Holm p {text.p_phrase(c.p_holm)}; "
        f"{text.plural(c.n_seeds, 'shared seed')}, {text.count(c.n_images)} test images"
    )


def finding_sentence(c: Comparison, *, under_trained: bool = True) -> str:
    """One sentence stating what the comparison shows and no more;
    ``under_trained=False`` leaves out the note on under-trained runs (for a caller
    that states it once for several rows)."""
    base = ("the baseline " if c.study_baseline else "") + c.baseline
    if c.verdict == SAME_RUN:
        return f"{c.variant} is the {c.message}, so it is not compared with {c.baseline}."
    if c.verdict == NOT_COMPARED:
        why = c.message.removeprefix("not compared: ")
        return f"{c.variant} was not compared with {c.baseline}: {why}."
    if c.verdict in DETECTED:
        sentence = (
            f"{c.variant} is {c.verdict} than {base} by {text.points(abs(c.diff), unit=True)} "
            f"({_numbers(c)})."
        )
    elif c.verdict == NO_DIFFERENCE:
        sentence = (
            f"{c.variant} shows no detectable difference from {base}: Δ = "
            f"{text.points(c.diff, signed=True, unit=True)} ({_numbers(c)}); the data cannot "
            "tell them apart at this budget."
        )
    else:
        raise ValueError(
            f"comparison {c.variant} vs {c.baseline} has no verdict; use "
            "compare_study, which applies Holm's correction"
        )
    if c.under_trained and under_trained:
        sentence += (
            f" It rests on under-trained runs ({', '.join(c.under_trained)}), so the "
            "difference may change with longer training."
        )
    return sentence


def study_sentences(findings: StudyFindings) -> list[str]:
    """:func:`finding_sentence` for each row of a study, or the study's message."""
    if findings.message and not findings.comparisons:
        return [findings.message]
    return [finding_sentence(c) for c in findings.comparisons]


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
    title = "Comparisons that could not be made"
    return note_callout("\n".join(lines), kind="warning", title=title) if lines else ""


def findings_markdown(
    findings: Mapping[str, StudyFindings], titles: Mapping[str, str] | None = None
) -> str:
    """Markdown: one paragraph per study — its title, then its sentences — followed by
    :func:`findings_problems`."""
    paragraphs = [
        f"**{(titles or {}).get(name, name)}.** " + " ".join(study_sentences(study))
        for name, study in findings.items()
    ]
    return "\n\n".join(
        part for part in ("\n\n".join(paragraphs), findings_problems(findings)) if part
    )


def claim_sentence(result: ClaimResult) -> str:
    """A sentence quoting the claim and stating its outcome with the effect, worded
    from the verdict: "better"/"worse" only when detected."""
    c = result.claim
    head = f"Seed {c.seed} claims “{c.quote.strip()}” ({c.statement})"
    if result.outcome == NOT_EVALUATED:
        return f"{head}: not evaluated ({result.reason.removeprefix('not compared: ')})."
    numbers = (
        f"95 % CI {text.interval(result.ci_low, result.ci_high)}; "
        f"Holm p {text.p_phrase(result.p_holm)}"
    )
    if result.verdict in DETECTED:
        effect = (
            f"{c.variant} is {result.verdict} than {c.baseline} by "
            f"{text.points(abs(result.diff), unit=True)} ({numbers})"
        )
    else:
        effect = (
            f"no detectable difference between {c.variant} and {c.baseline}, Δ = "
            f"{text.points(result.diff, signed=True, unit=True)} ({numbers})"
        )
    sentence = f"{head}: {result.outcome}; {effect}."
    if result.under_trained:
        sentence += f" Under-trained runs: {', '.join(result.under_trained)}."
    return sentence


def _reason_kind(reason: str) -> str:
    if reason.startswith("still improving"):
        return "still improving"
    if "too few" in reason:
        return "too few epochs to tell"
    if reason.startswith("no validation"):
        return "no validation history"
    return "other"


def convergence_note(runs_by_variant: Mapping[str, Sequence[RunLike | None]]) -> str:
    """Markdown: how many runs (each run key once) are free of the under-trained flag,
    and why the flagged ones are flagged: each flagged variant with its first flagged
    run's reason when there are at most 12 of them, else the variants grouped by kind of
    reason (still improving, too short to tell, no validation history)."""
    total = flagged = 0
    reasons: dict[str, str] = {}
    seen = set()
    for name, runs in runs_by_variant.items():
        for run in runs:
            if run is None or run.key in seen:
                continue
            seen.add(run.key)
            total += 1
            verdict = convergence(run.history)
            if verdict.under_trained:
                flagged += 1
                reasons.setdefault(name, verdict.reason)
    if not total:
        return "No runs to check for convergence."
    note = (
        f"**Convergence.** {total - flagged} of {total} runs are free of the under-trained "
        "flag (a run is flagged when its lowest validation loss falls in its last epochs "
        "while validation accuracy is still rising, or when it is too short to tell)."
    )
    if reasons and len(reasons) <= 12:
        note += " Flagged: " + "; ".join(f"{n} ({why})" for n, why in reasons.items()) + "."
    elif reasons:
        kinds: dict[str, list[str]] = {}
        for name, why in reasons.items():
            kinds.setdefault(_reason_kind(why), []).append(name)
        note += (
            " Flagged: "
            + "; ".join(f"{kind}: {', '.join(names)}" for kind, names in kinds.items())
            + "."
        )
    return note


def class_change_sentence(change: Mapping[Hashable, Any]) -> str:
    """One class change of :func:`cifar_core.analysis.views.per_class.change_intervals`
    in words: it raises or lowers the class only when its interval excludes zero.

    >>> row = {"class": "cat", "change": 0.04, "low": -0.051, "high": 0.14, "seeds": 1,
    ...        "images": 100}
    >>> class_change_sentence(row)
    'cat +4.0 points (95 % CI −5.1 to 14.0, 100 images: includes zero)'
    >>> class_change_sentence({**row, "low": 0.01})
    'raises cat by 4.0 points (95 % CI 1.0 to 14.0, 100 images)'
    """
    if not change["seeds"]:
        return f"{change['class']}: not compared ({change.get('test', 'no shared seeds')})"
    interval = text.interval(change["low"], change["high"])
    if change["low"] > 0 or change["high"] < 0:
        verb = "raises" if change["low"] > 0 else "lowers"
        size = text.points(abs(change["change"]), unit=True)
        return f"{verb} {change['class']} by {size} (95 % CI {interval}, {text.count(change['images'])} images)"
    return (
        f"{change['class']} {text.points(change['change'], signed=True, unit=True)} (95 % CI "
        f"{interval}, {text.count(change['images'])} images: includes zero)"
    )


def class_changes_paragraph(changes: pd.DataFrame) -> str:
    """Markdown: for each one-factor change of
    :func:`cifar_core.analysis.views.per_class.change_intervals`, its largest class-level
    gain and loss in words (:func:`class_change_sentence`), a gain or loss only when its
    interval excludes zero.

    >>> rows = pd.DataFrame({"comparison": ["depth"] * 2, "baseline": "a", "variant": "b",
    ...     "class": ["cat", "dog"], "change": [0.04, -0.2], "low": [-0.05, -0.3],
    ...     "high": [0.14, -0.1], "seeds": 1, "images": 100})
    >>> print(class_changes_paragraph(rows).splitlines()[0])
    * **depth** (a → b): cat +4.0 points (95 % CI −5.0 to 14.0, 100 images: includes zero); lowers dog by 20.0 points (95 % CI −30.0 to −10.0, 100 images).
    """
    if not len(changes):
        return "No one-factor change could be compared in this build."
    items = []
    for label, rows in changes.groupby("comparison", sort=False):
        first = rows.iloc[0]
        said = "; ".join(class_change_sentence(row.to_dict()) for _, row in rows.iterrows())
        items.append(f"* **{label}** ({first['baseline']} → {first['variant']}): {said}.")
    return (
        "\n".join(items)
        + "\n\nA class change whose interval includes zero is no evidence of a class-specific effect."
    )
