"""The differences as text (grouped by chapter, a summary, what was ignored) or JSON."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from itertools import groupby
from typing import TYPE_CHECKING

from .ignore import NOT_COMPARED, RULES

if TYPE_CHECKING:
    from . import Diff
    from .compare import Change

_COUNTED = (  # summary wording: change kind → (singular, plural)
    ("chapter added", "chapter added", "chapters added"),
    ("chapter removed", "chapter removed", "chapters removed"),
    ("added", "table/text/figure added", "tables/texts/figures added"),
    ("removed", "table/text/figure removed", "tables/texts/figures removed"),
    ("column added", "column added", "columns added"),
    ("column removed", "column removed", "columns removed"),
    ("column renamed", "column renamed", "columns renamed"),
    ("row added", "row added", "rows added"),
    ("row removed", "row removed", "rows removed"),
    ("row moved", "row moved", "rows moved"),
    ("sentence", "sentence", "sentences"),
    ("figure", "figure value", "figure values"),
    ("variable", "variable", "variables"),
)


def summary(diff: Diff) -> dict[str, int]:
    """Counts by kind, with changed verdicts and claim outcomes counted apart."""
    kinds = Counter(c.kind for c in diff.changes)
    topics = Counter(c.topic for c in diff.changes)
    return {
        "chapters": len({c.chapter for c in diff.changes}),
        "cells": kinds["cell"],
        "verdicts": topics["verdict"],
        "claim outcomes": topics["claim outcome"],
        **{kind: kinds[kind] for kind, _, _ in _COUNTED},
    }


def as_text(diff: Diff) -> str:
    """What `cifar-report diff` prints: one line when nothing changed; else the changes
    grouped by chapter, a summary line and the ignore rules."""
    ignored = {k: n for k, n in diff.ignored.items() if n}
    if diff.identical:
        where = f" in {diff.chapter}" if diff.chapter else ""
        aside = ", ".join(f"{k} ×{n}" for k, n in ignored.items())
        said = [f"ignored: {aside}; --include KIND to compare"] if aside else []
        said += diff.notes()
        return f"no differences{where}" + (f" ({'; '.join(said)})" if said else "")
    lines: list[str] = []
    for chapter, changes in groupby(diff.changes, key=lambda c: c.chapter):
        group = list(changes)
        lines.append(f"{chapter} ({len(group)} change{'s' if len(group) != 1 else ''})")
        for change in group:
            lines += [f"  {line}" for line in describe(change)]
        lines.append("")
    counts = summary(diff)
    parts = [f"{counts['cells']} cell{'s' if counts['cells'] != 1 else ''} changed"]
    parts += [
        f"{n} {one if n == 1 else many}" for kind, one, many in _COUNTED if (n := counts[kind])
    ]
    lines.append(
        f"{counts['chapters']} chapter(s) differ: {', '.join(parts)}; "
        f"verdicts changed: {counts['verdicts']}, claim outcomes changed: {counts['claim outcomes']}"
    )
    lines += diff.notes()
    lines.append("ignored (--include KIND to compare):")
    for rule in RULES:
        if diff.ignore.ignores(rule.kind):
            lines.append(
                f"  {rule.kind}: {rule.description} [{diff.ignored.get(rule.kind, 0)} set aside]"
            )
    lines.append(f"not compared: {NOT_COMPARED}")
    return "\n".join(lines)


def describe(change: Change) -> list[str]:
    """``chapter › block › row › column: old → new`` (and ``-``/``+`` lines for text)."""
    path = " › ".join(p for p in (change.chapter, change.block) if p)
    kind = change.kind
    if kind == "cell":
        mark = f"  [{change.topic}]" if change.topic else ""
        return [f"{path} › {change.row} › {change.column}: {change.old} → {change.new}{mark}"]
    if kind == "variable":
        return [f"{path} › {change.row}: {_value(change.old)} → {_value(change.new)}"]
    if kind in ("row added", "row removed"):
        return [f"{path} › {kind}: {change.row}"]
    if kind == "row moved":
        return [f"{path} › row moved: {change.row} (row {change.old} → {change.new})"]
    if kind in ("column added", "column removed"):
        return [f"{path} › {kind}: {change.column}"]
    if kind == "column renamed":
        return [f"{path} › column renamed: {change.old} → {change.new}"]
    if kind in ("sentence", "figure"):
        what = "sentence" if kind == "sentence" else "figure value"
        state = "changed" if change.old and change.new else "added" if change.new else "removed"
        lines = [f"{path} › {what} {state}:"]
        lines += [f"    - {change.old}"] if change.old is not None else []
        lines += [f"    + {change.new}"] if change.new is not None else []
        if change.old and change.new and (words := word_changes(change.old, change.new)):
            lines.append(f"    ~ {words}")
        return lines
    if kind in ("added", "removed"):
        return [f"{path}: only in {'NEW' if kind == 'added' else 'OLD'}"]
    return [f"{path}: {kind}"]


def word_changes(old: str, new: str, most: int = 4, longest: int = 60) -> str:
    """The words that differ between two versions of a sentence, when they are few
    (at most ``most`` stretches of at most ``longest`` characters).

    >>> word_changes("worse by 15.4 points (p = 0.02)", "worse by 15.9 points (p = 0.03)")
    '15.4 → 15.9; 0.02) → 0.03)'
    """
    before, after = old.split(), new.split()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    spans = [
        f"{' '.join(before[a0:a1]) or '(nothing)'} → {' '.join(after[b0:b1]) or '(nothing)'}"
        for tag, a0, a1, b0, b1 in matcher.get_opcodes()
        if tag != "equal"
    ]
    if len(spans) > most or any(len(span) > 2 * longest for span in spans):
        return ""
    return "; ".join(spans)


def _value(value: str | None) -> str:
    return "(absent)" if value is None else value or '""'


def as_json(diff: Diff) -> str:
    """The same, machine-readable: ``identical``, ``summary``, ``changes`` (each with
    chapter, block, kind, row, column, old, new, topic), ``ignored`` (rule and how many
    differences it set aside), ``not_compared`` and ``notes``."""
    return json.dumps(
        {
            "old": str(diff.old.path),
            "new": str(diff.new.path),
            "chapter": diff.chapter,
            "identical": diff.identical,
            "summary": summary(diff),
            "changes": [c.as_dict() for c in diff.changes],
            "ignored": {
                rule.kind: {"rule": rule.description, "differences": diff.ignored.get(rule.kind, 0)}
                for rule in RULES
                if diff.ignore.ignores(rule.kind)
            },
            "not_compared": NOT_COMPARED,
            "notes": diff.notes(),
        },
        indent=2,
        ensure_ascii=False,
    )
