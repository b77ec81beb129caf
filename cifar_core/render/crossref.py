"""Quarto's cross-reference numbering, applied by the built-in renderer to pandoc's AST.

The rules are those of quarto-cli's crossref filters (v1.10.18,
``src/resources/filters/crossref/``), so that `quarto render` and the built-in renderer
print the same numbers for the same sources:

- Sections (``sections.lua``): every header that is not ``.unnumbered`` advances the
  counter of its level and resets the deeper ones; its number is the counters from the
  top level to the last non-zero one: ``1``, ``4.1``, ``1.0.1`` (``format.lua``
  ``sectionNumber``). When the document has no level-1 header the level-1 counter is
  left out (``normalize/flags.lua`` ``maxHeading``). A callout's first header is the
  callout's title, not a section.
- Figures and tables (``index.lua`` ``indexNextOrder``): one counter per kind for the
  whole document, ``1, 2, 3…``; with ``crossref: {chapters: true}`` they restart at each
  numbered level-1 section and print as ``2.1`` (``format.lua`` ``formatNumberOption``).
- Appendices: letters (``Appendix A``) exist only for the chapters of a book's
  ``appendices:`` part (``common/filemetadata.lua``); a ``{.appendix}`` section of an
  article keeps its number (Quarto's HTML moves it to the end of the page).
- References (``refs.lua``): ``@fig-x`` prints ``Figure 1`` (prefix, no-break space,
  number), ``-@fig-x`` the number alone, ``[Fig. @fig-x]`` uses the given prefix.
  A label with no target (or an unnumbered section) would print ``?@label`` in Quarto;
  here it is an error naming the label.

Example
-------
>>> doc = {"blocks": [
...     {"t": "Header", "c": [1, ["sec-a", [], []], [{"t": "Str", "c": "A"}]]},
...     {"t": "Header", "c": [2, ["sec-b", [], []], [{"t": "Str", "c": "B"}]]}]}
>>> index_ast(doc)["sec-b"].ref_text
'Section\\xa01.1'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pypandoc

from .errors import RenderError

PREFIXES = {"sec": "Section", "fig": "Figure", "tbl": "Table"}
KINDS = tuple(PREFIXES)
NBSP = "\u00a0"
MAX_LEVEL = 7


@dataclass(frozen=True)
class Target:
    """A numbered section, figure or table."""

    label: str
    kind: str
    number: str
    title: str

    @property
    def ref_text(self) -> str:
        """What ``@label`` prints: ``Figure 3``, ``Section 4.1``."""
        return f"{PREFIXES[self.kind]}{NBSP}{self.number}"


CrossrefIndex = dict[str, Target]
"""Targets by label, in document order."""


def kind_of(label: str) -> str | None:
    """``"fig"`` for ``fig-x`` (and ``tbl``/``sec``); None for any other label."""
    kind = label.split("-", 1)[0]
    return kind if kind in KINDS and "-" in label else None


def stringify(node) -> str:
    """The plain text of an AST fragment (a poor man's ``pandoc.utils.stringify``)."""
    if isinstance(node, list):
        return "".join(stringify(n) for n in node)
    if not isinstance(node, dict):
        return ""
    kind, content = node.get("t"), node.get("c")
    if kind in ("Space", "SoftBreak", "LineBreak"):
        return " "
    if content is None:
        return ""
    if kind == "Str":
        return str(content)
    if kind in ("Code", "Math"):
        return content[1]
    if kind in ("RawInline", "Note"):
        return ""
    if kind in ("Quoted", "Cite", "Link", "Image", "Span"):
        return stringify(content[1])
    return stringify(content) if isinstance(content, list) else ""


def _attr(block: dict) -> list:
    """The ``[id, classes, key-values]`` of a Header, Figure, Table or Div."""
    content = block["c"]
    return content[1] if block["t"] == "Header" else content[0]


def is_callout(block: dict) -> bool:
    return block.get("t") == "Div" and any(c.startswith("callout-") for c in block["c"][0][1])


def _walk(blocks: list):
    """Every block in document order, descending into containers (not callout titles)."""
    for block in blocks:
        yield block
        kind, content = block.get("t"), block.get("c")
        if kind == "Div":
            children = content[1]
            if (
                is_callout(block)
                and children
                and children[0]["t"] == "Header"
                and not any(key == "title" for key, _ in content[0][2])
            ):
                children = children[1:]  # the callout's title, not a section
            yield from _walk(children)
        elif kind == "BlockQuote":
            yield from _walk(content)
        elif kind == "Figure":
            yield from _walk(content[2])
        elif kind in ("BulletList", "OrderedList"):
            for item in content if kind == "BulletList" else content[1]:
                yield from _walk(item)


def index_ast(doc: dict, chapters: bool = False) -> CrossrefIndex:
    """Number the sections, figures and tables of a pandoc JSON AST by Quarto's rules.

    Also sets the ``number`` attribute of every numbered header, which pandoc's HTML
    writer prints instead of counting by itself, so the page shows the same numbers
    the references print.
    """
    index: CrossrefIndex = {}
    counters = [0] * MAX_LEVEL
    headers = [b["c"][0] for b in _walk(doc["blocks"]) if b["t"] == "Header"]
    top = 1 if chapters else min([MAX_LEVEL, *headers])
    orders = {"fig": 0, "tbl": 0}
    chapter = 0
    for block in _walk(doc["blocks"]):
        kind = block["t"]
        if kind == "Header":
            ident, classes, attrs = block["c"][1]
            if "unnumbered" in classes:
                continue
            level = min(block["c"][0], MAX_LEVEL)
            counters[level - 1] += 1
            counters[level:] = [0] * (MAX_LEVEL - level)
            if level == 1:
                chapter = counters[0]
                if chapters:
                    orders = {"fig": 0, "tbl": 0}
            number = section_number(counters, top)
            block["c"][1][2] = [kv for kv in attrs if kv[0] != "number"] + [["number", number]]
            if kind_of(ident) == "sec":
                _add(index, Target(ident, "sec", number, stringify(block["c"][2])))
        elif kind in ("Figure", "Table", "Div"):
            ident = _attr(block)[0]
            float_kind = kind_of(ident)
            if float_kind in orders and not (kind == "Div" and is_callout(block)):
                orders[float_kind] += 1
                number = str(orders[float_kind])
                if chapters and chapter:
                    number = f"{chapter}.{number}"
                caption = stringify(_caption_blocks(block)).strip()
                _add(index, Target(ident, float_kind, number, caption))
    return index


def section_number(counters: list[int], top: int = 1) -> str:
    """Quarto's ``sectionNumber``: the counters up to the last non-zero one.

    >>> section_number([4, 1, 0, 0, 0, 0, 0]), section_number([1, 0, 1, 0, 0, 0, 0])
    ('4.1', '1.0.1')
    >>> section_number([0, 2, 0, 0, 0, 0, 0], top=2)
    '2'
    """
    last = max((i for i, c in enumerate(counters) if c), default=0)
    parts = counters[1 : last + 1]
    if top == 1:
        parts = counters[:1] + parts
    return ".".join(str(c) for c in parts)


def _add(index: CrossrefIndex, target: Target) -> None:
    if target.label in index:
        raise RenderError(
            f"label {target.label!r} is defined twice in the article; a "
            "section, figure or table label must be unique."
        )
    index[target.label] = target


def _caption_blocks(block: dict) -> list:
    """The blocks of a Figure's or Table's caption; of a Div float, its last paragraph."""
    if block["t"] in ("Figure", "Table"):
        return block["c"][1][1]
    paragraphs = [b for b in block["c"][1] if b["t"] in ("Para", "Plain")]
    return paragraphs[-1:]


def prefix_captions(doc: dict, index: CrossrefIndex) -> None:
    """Start each numbered caption with ``Figure 3:`` / ``Table 2:`` as Quarto does."""
    for block in _walk(doc["blocks"]):
        if block["t"] not in ("Figure", "Table", "Div"):
            continue
        ident = _attr(block)[0]
        if ident not in index or index[ident].kind == "sec":
            continue
        prefix = [{"t": "Str", "c": index[ident].ref_text + ":"}]
        blocks = _caption_blocks(block)
        if blocks and blocks[0]["t"] in ("Plain", "Para"):
            blocks[0]["c"] = prefix + [{"t": "Space"}] + blocks[0]["c"]
        elif block["t"] != "Div":  # an empty caption: the prefix alone
            blocks.insert(0, {"t": "Plain", "c": prefix})


def resolve_refs(doc: dict, index: CrossrefIndex, article: Path) -> None:
    """Replace every ``@fig-x``/``@tbl-x``/``@sec-x`` citation with a numbered link."""

    def visit(node):
        if isinstance(node, list):
            for i, item in enumerate(node):
                replacement = _replace_cite(item, index, article)
                if replacement is not None:
                    node[i] = replacement
                else:
                    visit(item)
        elif isinstance(node, dict):
            for value in node.values():
                if isinstance(value, (list, dict)):
                    visit(value)

    visit(doc["blocks"])


def _replace_cite(node, index: CrossrefIndex, article: Path):
    if not isinstance(node, dict) or node.get("t") != "Cite":
        return None
    citations = node["c"][0]
    refs = [c for c in citations if kind_of(c["citationId"])]
    if not refs:
        return None
    if len(refs) != len(citations):
        keys = ", ".join("@" + c["citationId"] for c in citations)
        raise RenderError(
            f"[{keys}] in {article} mixes cross-references and citations; "
            "write them in separate brackets."
        )
    inlines: list[dict] = []
    for i, citation in enumerate(citations):
        label = citation["citationId"]
        if label not in index:
            kind = PREFIXES[kind_of(label) or "sec"].lower()
            raise RenderError(
                f"cross-reference @{label} in {article} points to no numbered {kind}: no "
                f"embedded cell, figure, table or {{#sec-…}} header has that label (an "
                f"unnumbered section cannot be referenced); fix the label."
            )
        target = index[label]
        if citation["citationMode"]["t"] == "SuppressAuthor":
            text = [{"t": "Str", "c": target.number}]
        elif citation["citationPrefix"]:
            text = citation["citationPrefix"] + [{"t": "Str", "c": NBSP + target.number}]
        else:
            text = [{"t": "Str", "c": target.ref_text}]
        if i:
            inlines += [{"t": "Str", "c": ","}, {"t": "Space"}]
        inlines.append({"t": "Link", "c": [["", ["quarto-xref"], []], text, ["#" + label, ""]]})
        inlines += citation["citationSuffix"]
    return {"t": "Span", "c": [["", [], []], inlines]}


def parse_markdown(markdown: str) -> dict:
    """Pandoc's JSON AST of a markdown document."""
    try:
        return json.loads(pypandoc.convert_text(markdown, "json", format="markdown"))
    except RuntimeError as exc:
        raise RenderError(f"pandoc could not read the article: {exc}") from exc


def number_document(
    markdown: str, article: Path, chapters: bool = False
) -> tuple[dict, CrossrefIndex]:
    """Parse, number, caption and resolve references: the AST the writers get."""
    doc = parse_markdown(markdown)
    index = index_ast(doc, chapters)
    prefix_captions(doc, index)
    resolve_refs(doc, index, article)
    return doc, index
