"""What `cifar-report diff` does not count as a change of the report's results.

Each kind of non-result is one named rule, ignored by default and compared with
``--include KIND``: text patterns are masked wherever they occur (table cells,
sentences, figure values, variables), and a few columns, variables and figure panels
are set aside whole.

>>> rules = Ignore()
>>> rules.mask("trained in 12.5 s at /work/runs/abc on 2026-12-02 (Keras 3.15.1)")
'trained in ‹timing› at ‹paths› on ‹dates› (Keras ‹versions›)'
>>> Ignore(include={"timing"}).mask("12.5 s")
'12.5 s'
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .content import Table


@dataclass(frozen=True)
class Rule:
    kind: str
    description: str
    pattern: re.Pattern[str] | None = None  # masked in every compared text


TIMING_COLUMN = re.compile(r"\btime\b|\bseconds?\b|\bs/epoch\b|\bwall\b", re.IGNORECASE)
"""Table columns holding durations (``time s``, ``wall time s``, ``s/epoch``)."""
TIMING_VARIABLE = re.compile(r"(^|[._])time([._]|$)")
"""Variables that quote durations or depend on them (``compute.best_time``,
``compute.n_front_time``)."""
TIMING_AXIS = re.compile(r"^(panel \d+: )?[xy] axis [^;]*\btime\b")
"""A figure panel plotted against time (its values are durations)."""
HASH_COLUMN = re.compile(r"^(run key|key|fingerprint|hash)$", re.IGNORECASE)
"""Table columns holding hashes: set aside whole, because a shortened hash can be all
decimal digits (``607805278262``), which the text pattern leaves alone as a number."""
FRONT_COLUMN, TIME_FRONT = "front", "time"
"""The compute chapter's ``front`` column names the Pareto fronts a row is on, one of
them chosen on wall time: that front is timing, and a row on it alone is set aside."""
ENVIRONMENT_VARIABLES = ("env.", "build.n_trained")
"""Where and how a build ran, not what it found: hardware, Python, package versions,
the run store, and how many runs that command trained."""

RULES = (
    Rule(
        "timing",
        'training and wall times: columns like "time s", "wall time s", "s/epoch"; '
        "variables named *time*; figure panels with a time axis; the wall-time "
        "Pareto front; durations in text (12.3 s, 4 min)",
        re.compile(
            r"(?<![\w.])\d+(?:[.,]\d+)*\s?(?:ms|s|sec|seconds?|min|minutes?|h|hours?)"
            r"(?:/epoch)?(?![\w])"
        ),
    ),
    Rule("paths", "absolute paths", re.compile(r"(?<![\w.:/~-])[~/](?:[\w.+-]+/)+[\w.+-]*")),
    Rule(
        "dates",
        "dates and times (2026-12-02, 2026-12-02T10:47:13)",
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b"
        ),
    ),
    Rule(
        "versions",
        "version numbers (x.y.z: package and code versions)",
        re.compile(r"\b\d+\.\d+\.\d+(?:[-+.]?[\w]+)*\b"),
    ),
    Rule(
        "hashes",
        "hashes of 12+ hex digits (run keys, dataset fingerprints, code hashes); table "
        "columns named run key, key, fingerprint or hash",
        re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{12,64}\b"),
    ),
    Rule("environment", "variables env.* and build.n_trained (where and how it was built)"),
)
KINDS = tuple(rule.kind for rule in RULES)
NOT_COMPARED = (
    "execution counts, stdout/stderr, images (their plotted values are compared), "
    "source cells, cell and notebook metadata"
)


class Ignore:
    """The rules in force: every kind is ignored except those in ``include``."""

    def __init__(self, include: Collection[str] = ()) -> None:
        unknown = set(include) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
        self.include = frozenset(include)
        self.rules = tuple(r for r in RULES if r.kind not in self.include)
        self._masked: dict[str, str] = {}

    def ignores(self, kind: str) -> bool:
        return kind not in self.include

    def mask(self, text: str) -> str:
        """``text`` with every ignored pattern replaced by ``‹kind›``."""
        if text not in self._masked:
            masked = text
            for rule in self.rules:
                if rule.pattern is not None:
                    masked = rule.pattern.sub(f"‹{rule.kind}›", masked)
            self._masked[text] = masked
        return self._masked[text]

    def variable(self, key: str) -> bool:
        """Whether the variable ``key`` (``a.b.c``) is compared."""
        if self.ignores("timing") and TIMING_VARIABLE.search(key.rpartition(".")[2]):
            return False
        return not (self.ignores("environment") and key.startswith(ENVIRONMENT_VARIABLES))

    def table(self, table: Table, columns: list[str]) -> tuple[list[str], list[list[str]]]:
        """The compared columns (of ``columns``, the table's headers as matched) and
        rows of ``table``: timing and hash columns dropped, the ``front`` column's
        wall-time front dropped, and the rows on that front only."""
        dropped = [
            pattern
            for kind, pattern in (("timing", TIMING_COLUMN), ("hashes", HASH_COLUMN))
            if self.ignores(kind)
        ]
        kept = [i for i, name in enumerate(columns) if not any(p.search(name) for p in dropped)]
        timing = self.ignores("timing")
        front = columns.index(FRONT_COLUMN) if timing and FRONT_COLUMN in columns else None
        rows = []
        for row in table.rows:
            cells = list(row)
            if front is not None:
                fronts = [f.strip() for f in cells[front].split("+")]
                cells[front] = " + ".join(f for f in fronts if f and f != TIME_FRONT)
                if not cells[front]:
                    continue
            rows.append([cells[i] for i in kept])
        return [columns[i] for i in kept], rows

    def figure(self, items: Iterable[str]) -> list[str]:
        """A figure's items without the panels plotted against time."""
        items = list(items)
        if not self.ignores("timing"):
            return items
        timed = {_panel(i) for i in items if TIMING_AXIS.search(i)}
        return [i for i in items if _panel(i) not in timed]


def _panel(item: str) -> str:
    """The panel a figure item belongs to: ``panel 2``, ``caption``, or ``""`` (the one
    panel of a figure without panels)."""
    match = re.match(r"(panel \d+|caption): ", item)
    return match.group(1) if match else ""
