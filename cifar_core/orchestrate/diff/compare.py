"""Compare two builds: tables cell by cell (rows matched by their key), prose sentence
by sentence, figures value by value, and ``_variables.yml`` key by key.

A table's rows are matched by *key columns*, inferred so that added, removed and
reordered rows show as such rather than as every cell changed: the leading columns
before the first result column (``verdict``, ``outcome``, …) or numeric column
(``seed`` and ``idx`` count as names), shortened to the fewest that name every row
uniquely in both builds (``variant``; ``study / variant / compared with`` where one
variant is compared twice). Rows that still share a key are told apart by occurrence.

>>> from .content import Table
>>> old = Table(("variant", "acc %", "verdict"), (("a", "50.0", "better"), ("b", "40.0", "worse")))
>>> new = Table(("variant", "acc %", "verdict"), (("b", "40.0", "better"), ("c", "30.0", "worse")))
>>> [(c.kind, c.row, c.column, c.old, c.new) for c in compare_tables("ch", "tbl-x", old, new)]
[('row removed', 'a', '', None, None), ('row added', 'c', '', None, None), ('cell', 'b', 'verdict', 'worse', 'better')]
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace

from .content import BUILD_SECTION, VARIABLES_SECTION, Block, Build, Table
from .ignore import Ignore

VERDICT_COLUMNS = ("verdict",)
"""Columns holding a finding's verdict (better / worse / no detectable difference)."""
OUTCOME_COLUMNS = ("outcome",)
"""Columns holding a seed claim's outcome (holds / reversed / inconclusive / …)."""
RESULT_COLUMNS = (*VERDICT_COLUMNS, *OUTCOME_COLUMNS, "status", "result", "note", "front")
NAMING_COLUMNS = ("seed", "idx")
"""Numeric columns that name a row rather than measure it."""
_MARKER = re.compile(r"\s*\[[^\]]*\]$")  # "variant [SYNTHETIC DATA]": the data marker
_NUMERIC = re.compile(r"[<>≤≥≈~±+\-−]?\s*\d[\d.,]*\s*\S{0,8}|[–—-]|n/a|")


@dataclass(frozen=True)
class Change:
    """One difference. ``kind`` is one of: ``cell``, ``row added``, ``row removed``,
    ``row moved``, ``column added``, ``column removed``, ``column renamed`` (its data
    marker, ``[SYNTHETIC DATA]``), ``sentence``, ``figure``,
    ``variable``, ``added``/``removed`` (a whole table, text or figure) and
    ``chapter added``/``chapter removed``. ``old``/``new`` is None for what one side
    lacks."""

    chapter: str
    block: str
    kind: str
    row: str = ""
    column: str = ""
    old: str | None = None
    new: str | None = None

    @property
    def topic(self) -> str:
        """``verdict`` or ``claim outcome`` for a changed verdict or outcome cell."""
        if self.kind == "cell" and self.column in VERDICT_COLUMNS:
            return "verdict"
        if self.kind == "cell" and self.column in OUTCOME_COLUMNS:
            return "claim outcome"
        return ""

    def as_dict(self) -> dict[str, str | None]:
        return {**asdict(self), "topic": self.topic}


# --------------------------------------------------------------------------- builds
def compare_builds(old: Build, new: Build, ignore: Ignore | None = None) -> list[Change]:
    """Every difference between ``old`` and ``new``, chapter by chapter (variables are
    listed under the chapter that writes them)."""
    ignore = ignore or Ignore()
    changes: list[Change] = []
    for chapter in sorted(set(old.chapters) | set(new.chapters)):
        if chapter not in new.chapters:
            changes.append(Change(chapter, "", "chapter removed"))
        elif chapter not in old.chapters:
            changes.append(Change(chapter, "", "chapter added"))
        else:
            changes += compare_chapter(
                chapter, old.chapters[chapter], new.chapters[chapter], ignore
            )
    if old.variables is not None and new.variables is not None:
        owners = {**old.owners, **new.owners}
        for change in compare_variables(old.variables, new.variables, ignore):
            owner = owners.get(change.row.split(".")[0], VARIABLES_SECTION)
            changes.append(replace(change, chapter=owner))
    order = {name: i for i, name in enumerate(sorted(set(old.chapters) | set(new.chapters)))}
    order[BUILD_SECTION] = -1
    return sorted(changes, key=lambda c: order.get(c.chapter, len(order)))


def compare_chapter(
    chapter: str, old: dict[str, Block], new: dict[str, Block], ignore: Ignore
) -> list[Change]:
    changes: list[Change] = []
    for label in [*new, *(label for label in old if label not in new)]:
        if label not in old:
            changes.append(Change(chapter, label, "added"))
        elif label not in new:
            changes.append(Change(chapter, label, "removed"))
        else:
            changes += compare_blocks(chapter, old[label], new[label], ignore)
    return changes


def compare_blocks(chapter: str, old: Block, new: Block, ignore: Ignore) -> list[Change]:
    changes: list[Change] = []
    for number in range(max(len(old.tables), len(new.tables))):
        name = (
            old.label if old.kind == "table" and number == 0 else f"{old.label} table {number + 1}"
        )
        if number >= len(new.tables):
            changes.append(Change(chapter, name, "removed"))
        elif number >= len(old.tables):
            changes.append(Change(chapter, name, "added"))
        else:
            changes += compare_tables(chapter, name, old.tables[number], new.tables[number], ignore)
    kind = "figure" if old.kind == "figure" else "sentence"
    before, after = old.sentences, new.sentences
    if kind == "figure":
        before, after = ignore.figure(before), ignore.figure(after)
    changes += [
        Change(chapter, old.label, kind, old=a, new=b)
        for a, b in compare_sentences(before, after, ignore)
    ]
    return changes


# --------------------------------------------------------------------------- tables
def compare_tables(
    chapter: str, label: str, old: Table, new: Table, ignore: Ignore | None = None
) -> list[Change]:
    """The differences between two versions of one table (see the module docstring)."""
    ignore = ignore or Ignore()
    changes: list[Change] = []
    old_names, new_names = _names(old.columns), _names(new.columns)
    old_columns, old_rows = ignore.table(old, old_names)
    new_columns, new_rows = ignore.table(new, new_names)
    for name in old_columns:
        if name not in new_columns:
            changes.append(Change(chapter, label, "column removed", column=name))
    for name in new_columns:
        if name not in old_columns:
            changes.append(Change(chapter, label, "column added", column=name))
    printed = dict(zip(old_names, old.columns)), dict(zip(new_names, new.columns))
    for name in new_columns:
        if name in old_columns and printed[0][name] != printed[1][name]:  # the data marker
            changes.append(
                Change(
                    chapter, label, "column renamed", "", name, printed[0][name], printed[1][name]
                )
            )
    common = [c for c in new_columns if c in old_columns]
    old_table = [dict(zip(old_columns, row)) for row in old_rows]
    new_table = [dict(zip(new_columns, row)) for row in new_rows]
    key = key_columns(old_table, new_table, common)
    old_keyed, new_keyed = _keyed(old_table, key), _keyed(new_table, key)
    changes += [
        Change(chapter, label, "row removed", row=k) for k in old_keyed if k not in new_keyed
    ]
    changes += [Change(chapter, label, "row added", row=k) for k in new_keyed if k not in old_keyed]
    changes += _moves(chapter, label, list(old_keyed), list(new_keyed))
    for row_key in (k for k in new_keyed if k in old_keyed):
        before, after = old_keyed[row_key], new_keyed[row_key]
        for column in common:
            if column in key:
                continue
            if ignore.mask(before[column]) != ignore.mask(after[column]):
                changes.append(
                    Change(chapter, label, "cell", row_key, column, before[column], after[column])
                )
    return changes


def _names(columns: Sequence[str]) -> list[str]:
    """Column names as matched: without the data marker, repeated names numbered."""
    seen: Counter[str] = Counter()
    names = []
    for column in columns:
        name = _MARKER.sub("", column)
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def key_columns(
    old: Sequence[dict[str, str]], new: Sequence[dict[str, str]], columns: Sequence[str]
) -> list[str]:
    """The columns that name a row in both tables (see the module docstring).

    >>> rows = [{"study": "s", "variant": "a", "p": "0.1"}, {"study": "s", "variant": "b", "p": "0.2"}]
    >>> key_columns(rows, rows, ["study", "variant", "p"])
    ['study', 'variant']
    """
    candidates: list[str] = []
    for column in columns:
        values = [row[column] for row in (*old, *new)]
        numeric = all(_NUMERIC.fullmatch(v) for v in values) and any(
            any(ch.isdigit() for ch in v) for v in values
        )
        if column in RESULT_COLUMNS or (candidates and numeric and column not in NAMING_COLUMNS):
            break
        candidates.append(column)
    for size in range(1, len(candidates) + 1):
        chosen = candidates[:size]
        if all(_unique(rows, chosen) for rows in (old, new)):
            return chosen
    return candidates


def _unique(rows: Sequence[dict[str, str]], columns: Sequence[str]) -> bool:
    keys = [tuple(row[c] for c in columns) for row in rows]
    return len(set(keys)) == len(keys)


def _keyed(rows: Sequence[dict[str, str]], key: Sequence[str]) -> dict[str, dict[str, str]]:
    """Rows by their key text (``depth / s000_cnn3``; ``#2`` for a repeated key)."""
    keyed: dict[str, dict[str, str]] = {}
    seen: Counter[str] = Counter()
    for row in rows:
        text = " / ".join(row[c] for c in key) or "(row)"
        seen[text] += 1
        keyed[text if seen[text] == 1 else f"{text} #{seen[text]}"] = row
    return keyed


def _moves(chapter: str, label: str, old: list[str], new: list[str]) -> list[Change]:
    """The rows of both tables whose order changed: those outside the longest run of
    rows kept in order; ``old``/``new`` are their row numbers in each table."""
    before, after = [k for k in old if k in new], [k for k in new if k in old]
    if before == after:
        return []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    kept = {k for m in matcher.get_matching_blocks() for k in after[m.b : m.b + m.size]}
    return [
        Change(chapter, label, "row moved", row=k, old=str(old.index(k) + 1), new=str(i + 1))
        for i, k in enumerate(new)
        if k in before and k not in kept
    ]


# --------------------------------------------------------------------------- prose
def compare_sentences(
    old: Sequence[str], new: Sequence[str], ignore: Ignore | None = None
) -> Iterable[tuple[str | None, str | None]]:
    """``(old, new)`` for each changed sentence (None on the side that lacks it),
    aligned by `difflib` on the sentence lists, compared with ignored patterns masked.
    Within a replaced stretch a sentence is paired with the next one that reads alike
    (:data:`ALIKE`); the others are removed or added.

    >>> list(compare_sentences(["A is 1.", "B is 2.", "C."], ["A is 1.", "B is 3.", "C.", "D."]))
    [('B is 2.', 'B is 3.'), (None, 'D.')]
    >>> list(compare_sentences(["Depth hurts by 2.0 points."], ["Nothing else.", "Depth hurts by 2.5 points."]))
    [(None, 'Nothing else.'), ('Depth hurts by 2.0 points.', 'Depth hurts by 2.5 points.')]
    """
    ignore = ignore or Ignore()
    masked_old, masked_new = [ignore.mask(s) for s in old], [ignore.mask(s) for s in new]
    matcher = difflib.SequenceMatcher(a=masked_old, b=masked_new, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag != "equal":
            yield from _pair_alike(list(old[a0:a1]), list(new[b0:b1]))


ALIKE = 0.6
"""How alike (`difflib.SequenceMatcher.ratio`) two sentences must read to be shown as
one changed sentence rather than one removed and one added."""


def _pair_alike(old: list[str], new: list[str]) -> Iterable[tuple[str | None, str | None]]:
    start = 0
    for sentence in old:
        match = next(
            (
                j
                for j in range(start, len(new))
                if difflib.SequenceMatcher(a=sentence, b=new[j], autojunk=False).ratio() >= ALIKE
            ),
            None,
        )
        if match is None:
            yield sentence, None
            continue
        yield from ((None, added) for added in new[start:match])
        yield sentence, new[match]
        start = match + 1
    yield from ((None, added) for added in new[start:])


# --------------------------------------------------------------------------- variables
def compare_variables(
    old: dict[str, str], new: dict[str, str], ignore: Ignore | None = None
) -> list[Change]:
    """Changed, added and removed variables (``row`` is the dotted key).

    >>> [(c.row, c.old, c.new) for c in compare_variables({"a.b": "1", "env.x": "p"}, {"a.b": "2"})]
    [('a.b', '1', '2')]
    """
    ignore = ignore or Ignore()
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        if not ignore.variable(key):
            continue
        before, after = old.get(key), new.get(key)
        if before is None or after is None or ignore.mask(before) != ignore.mask(after):
            changes.append(
                Change("", VARIABLES_SECTION, "variable", row=key, old=before, new=after)
            )
    return changes
