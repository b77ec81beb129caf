"""Pandoc (HTML, Typst markup) and typst (PDF) calls of the built-in renderer."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pypandoc
import typst
import yaml

from .config import ProjectConfig
from .crossref import stringify
from .errors import RenderError
from .tables import write_include

ASSETS = Path(__file__).with_name("assets")
# The PDF's text block and table cells (assets/header.typ: 7.5 pt text, 3 pt insets):
TEXT_WIDTH_PT = 595.3 * (1 - 2 * 2.5 / 21)  # A4 less Typst's default margins
CELL_TEXT_PT, CELL_INSETS_PT = 7.5, 6.0
CELL_BREAKS = re.compile(r"[\s/_:+-]+")  # where header.typ lets a cell's text wrap


def common_args(config: ProjectConfig, build_dir: Path) -> list[str]:
    """Arguments shared by both writers: TOC, numbering, callouts, citations, metadata."""
    meta = build_dir / "metadata.yml"
    # notebook-links.lua reads the notebooks' titles from `manuscript`, as under Quarto.
    manuscript = {"manuscript": config.raw.get("manuscript") or {}}
    meta.write_text(
        yaml.safe_dump({**config.metadata, **manuscript}, allow_unicode=True), encoding="utf-8"
    )
    args = [
        "--standalone",
        "--toc",
        "--number-sections",
        f"--resource-path={build_dir}",
        f"--metadata-file={meta}",
        f"--lua-filter={ASSETS / 'callouts.lua'}",
        f"--lua-filter={ASSETS / 'notebook-links.lua'}",
        f"--lua-filter={ASSETS / 'title-block.lua'}",
        "--metadata=link-citations:true",
        # A pipe table wider than --columns gets fixed relative column widths, which
        # wraps "68.9 ± 0.4" in narrow PDF columns; wider still, it sizes to content.
        "--columns=1000",
    ]
    if config.bibliography:
        args.append("--citeproc")
        args += [f"--bibliography={bib}" for bib in config.bibliography]
    return args


def check_bibliography(doc: dict, config: ProjectConfig) -> None:
    """Every citation key used must exist in the bibliography (pandoc only warns).

    ``doc`` is the article's AST after `crossref.resolve_refs`, so the citations left
    are bibliography keys."""
    used = _citation_keys(doc["blocks"])
    if not used:
        return
    for bib in config.bibliography:
        if not bib.is_file():
            raise RenderError(f"bibliography {bib} (named in _quarto.yml) does not exist.")
    known = set()
    for bib in config.bibliography:
        entries = json.loads(pypandoc.convert_file(str(bib), "csljson", format="biblatex"))
        known |= {entry["id"] for entry in entries}
    missing = sorted(used - known)
    if missing:
        names = ", ".join(str(b) for b in config.bibliography) or "no bibliography"
        raise RenderError(
            f"citations {missing} in {config.article} are not in {names}; "
            "add the entries or fix the keys."
        )


def _citation_keys(node) -> set[str]:
    if isinstance(node, dict):
        own = {c["citationId"] for c in node["c"][0]} if node.get("t") == "Cite" else set()
        return own.union(*map(_citation_keys, node.values()))
    if isinstance(node, list):
        return set().union(*map(_citation_keys, node))
    return set()


def write_html(doc: dict, config: ProjectConfig, build_dir: Path) -> Path:
    """One self-contained HTML file (images, CSS and scripts inlined); long tables are
    sortable and filterable (`cifar_core.render.tables`, as under Quarto)."""
    out = build_dir / "index.html"
    tables = write_include(build_dir)
    args = common_args(config, build_dir) + [
        "--embed-resources",
        f"--css={ASSETS / 'report.css'}",
        f"--include-after-body={tables}",
        f"--include-after-body={ASSETS / 'lightbox.html'}",
        "--section-divs",
    ]
    _pandoc(doc, "html5", args, out)
    return out


def write_pdf(doc: dict, config: ProjectConfig, build_dir: Path) -> Path:
    """Pandoc → Typst markup → PDF with the typst compiler (root: the build dir)."""
    source, out = build_dir / "index.typ", build_dir / "index.pdf"
    args = common_args(config, build_dir) + [
        f"--include-in-header={ASSETS / 'header.typ'}",
        "--metadata=papersize:a4",
    ]
    _pandoc(fit_table_columns(doc), "typst", args, source)
    try:
        typst.compile(str(source), output=str(out), root=str(build_dir))
    except Exception as exc:  # typst.TypstError and friends
        raise RenderError(
            f"typst could not compile the PDF ({exc}); the Typst source was {source}."
        ) from exc
    return out


def fit_table_columns(doc: dict) -> dict:
    """A copy of ``doc`` where every table wider than the PDF's text block has column
    widths that give each column room for its longest word and share what is left by
    how much text each column holds, as a browser lays out a table. Pandoc's widths
    (from the markdown's dashes, or Typst's fair share) put a long word in a narrow
    column, where Typst draws it over the next column's text. Tables that fit keep
    their widths.

    >>> from cifar_core.render.crossref import parse_markdown
    >>> row = "| " + " | ".join(["preprocessing", "x " * 90]) + " |"
    >>> doc = parse_markdown("| step | notes |\\n|--|--|\\n" + row + "\\n")
    >>> [round(spec[1]["c"], 2) for spec in fit_table_columns(doc)["blocks"][0]["c"][2]]
    [0.12, 0.88]
    """
    doc = copy.deepcopy(doc)
    for table in _tables(doc["blocks"]):
        _, _, colspecs, head, bodies, foot = table["c"]
        rows = head[1] + [row for body in bodies for row in body[2] + body[3]] + foot[1]
        cells = [[stringify(cell[4]) for cell in row[1]] for row in rows]
        if any(len(row) != len(colspecs) for row in cells):
            continue  # merged cells: keep pandoc's widths
        columns = list(zip(*cells))
        need = [_width_pt(max(CELL_BREAKS.split(" ".join(col)), key=_width_pt)) for col in columns]
        want = [max(map(_width_pt, col)) for col in columns]
        if sum(want) <= TEXT_WIDTH_PT:
            continue
        spare = max(TEXT_WIDTH_PT - sum(need), 0.0)
        extra = [w - n for w, n in zip(want, need)]
        share = spare / sum(extra) if sum(extra) else 0.0  # 0: one word per cell
        widths = [n + share * e for n, e in zip(need, extra)]
        for spec, width in zip(colspecs, widths):
            spec[1] = {"t": "ColWidth", "c": width / sum(widths)}
    return doc


def _tables(node: object) -> Iterator[dict]:
    if isinstance(node, list):
        for item in node:
            yield from _tables(item)
    elif isinstance(node, dict):
        if node.get("t") == "Table":
            yield node
        yield from _tables(node.get("c"))


def _width_pt(text: str) -> float:
    """The printed width of ``text`` in a table cell, roughly: capitals and digits
    wider than lower case, plus the cell's insets."""
    ems = sum(0.5 if c.islower() or c.isspace() else 0.65 for c in text)
    return ems * CELL_TEXT_PT + CELL_INSETS_PT


def _pandoc(doc: dict, to: str, args: list[str], out: Path) -> None:
    try:
        pypandoc.convert_text(
            json.dumps(doc), to, format="json", extra_args=args, outputfile=str(out)
        )
    except RuntimeError as exc:
        raise RenderError(f"pandoc failed writing {out.name}: {exc}") from exc
