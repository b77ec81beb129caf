"""Pandoc (HTML, Typst markup) and typst (PDF) calls of the built-in renderer."""

from __future__ import annotations

import json
from pathlib import Path

import pypandoc
import typst
import yaml

from .config import ProjectConfig
from .errors import RenderError
from .tables import write_include

ASSETS = Path(__file__).with_name("assets")
# PDF tables wider than the text: columns sized to their words (Quarto runs it too)
TABLE_WIDTHS_FILTER = ASSETS / "table-widths.lua"


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
        f"--lua-filter={TABLE_WIDTHS_FILTER}",
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
    _pandoc(doc, "typst", args, source)
    try:
        typst.compile(str(source), output=str(out), root=str(build_dir))
    except Exception as exc:  # typst.TypstError and friends
        raise RenderError(
            f"typst could not compile the PDF ({exc}); the Typst source was {source}."
        ) from exc
    return out


def _pandoc(doc: dict, to: str, args: list[str], out: Path) -> None:
    try:
        pypandoc.convert_text(
            json.dumps(doc), to, format="json", extra_args=args, outputfile=str(out)
        )
    except RuntimeError as exc:
        raise RenderError(f"pandoc failed writing {out.name}: {exc}") from exc
