"""Findings as tables and sentences: the only source of "finding" prose in the report.

Every sentence is generated from a :class:`~cifar_core.analysis.findings.Comparison`
and says exactly what its verdict says: ``better``/``worse`` with the effect, its
interval and the Holm p-value; ``no detectable difference`` as inconclusive (never as
"equal"); untested rows with their reason; under-trained runs by name.

Example
-------
>>> import numpy as np, pandas as pd
>>> from cifar_core.analysis.findings import compare_study
>>> from cifar_core.analysis.records import RunRecord
>>> same = np.arange(300) % 3 == 0
>>> plateau = pd.DataFrame({"val_loss": [2, 1, 0.9, 0.95, 1], "val_accuracy": [.3, .5, .6, .6, .6]})
>>> f = compare_study("demo", {"a": [RunRecord("a0", 0, same, history=plateau)],
...                            "b": [RunRecord("b0", 0, same, history=plateau)]}, "a")
>>> print(finding_sentence(f.comparisons[0], labels={"b": "Batch norm"}))
Batch norm (b) shows no detectable difference from the baseline a: Δ = +0.0 points (95 % CI 0.0 to 0.0; Holm p = 1; 1 shared seed, 300 test images); the data cannot tell them apart at this budget.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from cifar_core.analysis.convergence import convergence
from cifar_core.analysis.findings import (
    BETTER,
    NO_DIFFERENCE,
    NOT_COMPARED,
    SAME_RUN,
    WORSE,
    Comparison,
    StudyFindings,
)
from cifar_core.analysis.records import RunRecord

COLUMNS = [
    "study",
    "variant",
    "compared with",
    "verdict",
    "Δ test acc (pts)",
    "CI low (pts)",
    "CI high (pts)",
    "p",
    "p (Holm)",
    "shared seeds",
    "test images",
    "test",
    "assumption",
    "under-trained runs",
    "note",
]


def points(value: float, *, signed: bool = False) -> str:
    """A fraction as percentage points with one decimal and a real minus sign.

    >>> points(0.0412), points(-0.02, signed=True), points(float("nan"))
    ('4.1', '−2.0', '–')
    """
    if value is None or math.isnan(value):
        return "–"
    text = f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}"
    return text.replace("-", "−")


def p_text(p: float) -> str:
    """``"< 0.001"``, ``"0.003"``, ``"0.62"``, ``"1"``; ``"–"`` when not tested.

    >>> p_text(0.00031), p_text(0.0031), p_text(0.618), p_text(1.0)
    ('< 0.001', '0.003', '0.62', '1')
    """
    if p is None or math.isnan(p):
        return "–"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.01 else f"{p:.2g}"


def p_phrase(p: float) -> str:
    """``"= 0.003"`` or ``"< 0.001"``: a p-value after its symbol in a sentence.

    >>> p_phrase(0.0031), p_phrase(1e-5)
    ('= 0.003', '< 0.001')
    """
    text = p_text(p)
    return text if text.startswith("<") else f"= {text}"


def _as_list(findings: StudyFindings | Iterable[StudyFindings]) -> list[StudyFindings]:
    return [findings] if isinstance(findings, StudyFindings) else list(findings)


def findings_table(
    findings: StudyFindings | Iterable[StudyFindings], *, display: bool = False
) -> pd.DataFrame:
    """One row per comparison (columns :data:`COLUMNS`).

    Numbers are in percentage points; ``display=True`` turns them into text (a real
    minus sign, p-values as :func:`p_text`, the interval as one ``"lo to hi"`` column).
    A study with a message and no rows gives one row carrying the message.
    """
    rows = []
    for study in _as_list(findings):
        if study.message and not study.comparisons:
            rows.append(
                {
                    "study": study.study,
                    "variant": "–",
                    "compared with": study.baseline,
                    "verdict": NOT_COMPARED,
                    "note": study.message,
                }
            )
        for c in study.comparisons:
            note = c.message or ("rests on under-trained runs" if c.under_trained else "")
            rows.append(
                {
                    "study": c.study,
                    "variant": c.variant,
                    "compared with": c.baseline,
                    "verdict": c.verdict,
                    "Δ test acc (pts)": c.diff * 100,
                    "CI low (pts)": c.ci_low * 100,
                    "CI high (pts)": c.ci_high * 100,
                    "p": c.p_value,
                    "p (Holm)": c.p_holm,
                    "shared seeds": c.n_seeds if c.tested else math.nan,
                    "test images": c.n_images if c.tested else math.nan,
                    "test": c.result.test if c.tested else "",
                    "assumption": c.result.assumption if c.tested else "",
                    "under-trained runs": ", ".join(c.under_trained),
                    "note": note,
                }
            )
    table = pd.DataFrame(rows, columns=COLUMNS)
    if not display:
        return table
    shown = table.drop(columns=["CI low (pts)", "CI high (pts)", "assumption"])
    shown["Δ test acc (pts)"] = [points(v / 100, signed=True) for v in table["Δ test acc (pts)"]]
    shown.insert(
        5,
        "95 % CI (pts)",
        [
            "–" if math.isnan(lo) else f"{points(lo / 100)} to {points(hi / 100)}"
            for lo, hi in zip(
                table["CI low (pts)"].astype(float), table["CI high (pts)"].astype(float)
            )
        ],
    )
    for column in ("p", "p (Holm)"):
        shown[column] = [p_text(v) for v in table[column].astype(float)]
    for column in ("shared seeds", "test images"):
        shown[column] = ["–" if pd.isna(v) else f"{int(v):,}" for v in table[column]]
    return shown.astype(object).where(shown.notna(), "")


def _who(name: str, labels: Mapping[str, str] | None) -> str:
    label = (labels or {}).get(name)
    return f"{label} ({name})" if label else name


def _numbers(c: Comparison) -> str:
    seeds = f"{c.n_seeds} shared seed{'s' * (c.n_seeds != 1)}"
    return (
        f"95 % CI {points(c.ci_low)} to {points(c.ci_high)}; Holm p {p_phrase(c.p_holm)}; "
        f"{seeds}, {c.n_images:,} test images"
    )


def finding_sentence(
    c: Comparison, labels: Mapping[str, str] | None = None, *, under_trained: bool = True
) -> str:
    """One sentence stating what the comparison shows and no more.

    ``labels`` maps variant names to readable names ("Batch norm (s004_cnn_bn)");
    ``under_trained=False`` leaves out the note on under-trained runs (for a caller
    that states it once for several rows, as :func:`discussion` does).
    """
    who = _who(c.variant, labels)
    base = ("the baseline " if c.study_baseline else "") + c.baseline
    if c.verdict == SAME_RUN:
        return f"{who} is the {c.message}, so it is not compared with {c.baseline}."
    if c.verdict == NOT_COMPARED:
        return (
            f"{who} was not compared with {c.baseline}: {c.message.removeprefix('not compared: ')}."
        )
    if c.verdict in (BETTER, WORSE):
        text = f"{who} is {c.verdict} than {base} by {points(abs(c.diff))} points ({_numbers(c)})."
    elif c.verdict == NO_DIFFERENCE:
        text = (
            f"{who} shows no detectable difference from {base}: Δ = "
            f"{points(c.diff, signed=True)} points ({_numbers(c)}); the data cannot tell "
            "them apart at this budget."
        )
    else:
        raise ValueError(
            f"comparison {c.variant} vs {c.baseline} has no verdict; use "
            "compare_study, which applies Holm's correction"
        )
    if c.under_trained and under_trained:
        text += (
            f" It rests on under-trained runs ({', '.join(c.under_trained)}), so the "
            "difference may change with longer training."
        )
    return text


def study_sentences(findings: StudyFindings, labels: Mapping[str, str] | None = None) -> list[str]:
    """:func:`finding_sentence` for each row, or the study's message."""
    if findings.message and not findings.comparisons:
        return [findings.message]
    return [finding_sentence(c, labels) for c in findings.comparisons]


def discussion(
    findings: Iterable[StudyFindings],
    *,
    titles: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Markdown: one paragraph per study, headed by its title, made of its sentences,
    closed by a count of detected effects and one sentence naming the comparisons that
    rest on under-trained runs. Nothing in it is written by hand."""
    paragraphs = []
    for study in findings:
        title = (titles or {}).get(study.study, study.study)
        if study.message and not study.comparisons:
            paragraphs.append(f"**{title}.** {study.message}")
            continue
        body = " ".join(finding_sentence(c, labels, under_trained=False) for c in study.comparisons)
        detected = sum(c.verdict in (BETTER, WORSE) for c in study.comparisons)
        tested = sum(c.tested for c in study.comparisons)
        if tested:
            body += (
                f" In all, {detected} of {tested} tested comparison"
                f"{'s' * (tested != 1)} show{'s' * (tested == 1)} a detectable difference "
                f"(Holm-corrected, α = {study.alpha:g})."
            )
        flagged = [f"{c.variant} vs {c.baseline}" for c in study.comparisons if c.under_trained]
        if flagged:
            body += (
                " Under-trained runs (still improving, or too short to tell) underlie "
                f"{', '.join(flagged)}; those differences may change with longer training."
            )
        paragraphs.append(f"**{title}.** {body}")
    return "\n\n".join(paragraphs)


def convergence_table(arms: Mapping[str, Sequence[Any]], **options: Any) -> pd.DataFrame:
    """One row per run: ``variant, seed, epochs, best epoch, under-trained, reason``.

    ``arms`` maps variant names to runs (run-store runs or :class:`RunRecord`; only
    ``history`` and the seed are read); ``options`` go to
    :func:`~cifar_core.analysis.convergence.convergence`.
    """
    rows = []
    for name, runs in arms.items():
        for run in runs:
            verdict = convergence(getattr(run, "history", None), **options)
            rows.append(
                {
                    "variant": name,
                    "seed": _seed(run),
                    "epochs": verdict.epochs,
                    "best epoch": verdict.best_epoch,
                    "under-trained": verdict.under_trained,
                    "reason": verdict.reason,
                }
            )
    return pd.DataFrame(
        rows, columns=["variant", "seed", "epochs", "best epoch", "under-trained", "reason"]
    )


def _seed(run: Any) -> Any:
    if isinstance(run, RunRecord):
        return run.seed
    return ((getattr(run, "config", None) or {}).get("variant") or {}).get("seed")


def share_converged(table: pd.DataFrame) -> float:
    """Fraction of the runs of a :func:`convergence_table` free of the under-trained flag."""
    return float((~table["under-trained"].astype(bool)).mean()) if len(table) else math.nan


__all__ = [
    "COLUMNS",
    "convergence_table",
    "discussion",
    "finding_sentence",
    "findings_table",
    "p_phrase",
    "p_text",
    "points",
    "share_converged",
    "study_sentences",
]
