"""Read the cross-references of a rendered HTML report back, and check them.

Works on the built-in renderer's HTML and on Quarto's: both mark a resolved reference
as ``<a href="#label" class="quarto-xref">``, a section as an element with the label as
``id`` and its number in ``data-number``, a figure or table as an element with the
label as ``id`` followed by its ``<figcaption>``/``<caption>`` "Figure 3: …" (Quarto gives
the caption an id of its own, ``fig-b-caption-<uuid>``, which is not a target).

    python -m tests.support.xrefs _site/index.html

Example
-------
>>> page = ('<section id="sec-a" data-number="4.1"><h2>A</h2></section>'
...         '<figure id="fig-b"><img/><figcaption id="fig-b-caption-0c">Figure 2: B'
...         '</figcaption></figure>'
...         '<p><a href="#sec-a" class="quarto-xref">Section 4.2</a>, '
...         '<a href="#fig-b" class="quarto-xref">Figure 2</a></p>')
>>> report = read_xrefs(page)
>>> report.targets
{'sec-a': 'Section 4.1', 'fig-b': 'Figure 2'}
>>> report.problems()
["link to #sec-a reads 'Section 4.2' but its target is Section 4.1"]
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

PREFIXES = {"sec": "Section", "fig": "Figure", "tbl": "Table"}
CAPTION_RE = re.compile(r"^\s*(Figure|Table)\s+([0-9A-Z][0-9.]*)\s*:")
UNRESOLVED_RE = re.compile(r"\?@[\w-]+")
VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


def _kind(label: str) -> str | None:
    kind = label.split("-", 1)[0]
    return kind if kind in PREFIXES and "-" in label else None


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


@dataclass
class XrefReport:
    """Targets (label → "Figure 3"), links (label, text), unresolved ``?@label`` texts."""

    targets: dict[str, str] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every link whose text disagrees with its target, and every ``?@label``."""
        problems = [f"unresolved reference {u!r} in the page" for u in self.unresolved]
        for label, text in self.links:
            target = self.targets.get(label)
            if target is None:
                problems.append(f"link to #{label} ({text!r}) has no numbered target")
                continue
            number = target.split(" ", 1)[1]
            if text not in (target, number) and not text.endswith(" " + number):
                problems.append(f"link to #{label} reads {text!r} but its target is {target}")
        return problems


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.report = XrefReport()
        self.awaiting: list[str] = []  # figure/table labels without a caption yet
        self.capture: list | None = None  # text being collected, and for what
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        ident, classes = attrs.get("id") or "", (attrs.get("class") or "").split()
        kind = _kind(ident)
        if kind == "sec" and attrs.get("data-number"):
            self.report.targets.setdefault(ident, f"Section {attrs['data-number']}")
        elif (
            kind in ("fig", "tbl")
            and tag not in ("figcaption", "caption")  # Quarto: id="fig-x-caption-<uuid>"
            and ident not in self.report.targets
        ):
            self.awaiting.append(ident)
        if tag in ("figcaption", "caption") and self.awaiting and self.capture is None:
            self.capture, self.depth = ["caption", self.awaiting.pop(), []], 1
        elif tag == "a" and "quarto-xref" in classes and self.capture is None:
            label = (attrs.get("href") or "").lstrip("#")
            self.capture, self.depth = ["link", label, []], 1
        elif self.capture is not None and tag not in VOID_TAGS:
            self.depth += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:  # <span/>: opened and closed at once
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.capture is None or tag in VOID_TAGS:
            return
        self.depth -= 1
        if self.depth:
            return
        what, label, parts = self.capture
        self.capture = None
        text = _normal("".join(parts))
        if what == "link":
            self.report.links.append((label, text))
            return
        match = CAPTION_RE.match(text)
        if match:
            self.report.targets[label] = f"{match.group(1)} {match.group(2)}"

    def handle_data(self, data):
        if self.capture is not None:
            self.capture[2].append(data)
        self.report.unresolved += UNRESOLVED_RE.findall(data)


def read_xrefs(html: str) -> XrefReport:
    """The numbered targets and resolved references of an HTML page."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.report


def main(argv=None) -> int:
    paths = argv if argv is not None else sys.argv[1:]
    failed = 0
    for path in paths:
        report = read_xrefs(Path(path).read_text(encoding="utf-8"))
        problems = report.problems()
        print(
            f"{path}: {len(report.targets)} targets, {len(report.links)} references, "
            f"{len(problems)} problem(s)"
        )
        for problem in problems:
            print(f"- {problem}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
