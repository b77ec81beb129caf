"""What a build shows, read back from its executed notebooks and ``_variables.yml``.

A build is a folder of executed chapters (``notebooks/NN-name.ipynb``) and, at the
project root, ``_variables.yml``. Of each chapter only the results are kept: the
``text/markdown`` outputs of its code cells (a labelled ``tbl-…`` cell holds a table,
other cells generated prose, which may hold tables of its own, e.g. flagged runs) and
each figure's plotted values (the description `cifar_core.analysis.plots.show` attaches
to the image, which the build also writes into the cell's ``fig-alt``). Source cells,
stdout/stderr, execution counts, images and metadata are not results and are not read.

>>> blocks = markdown_parts("Two sentences. The second one.\\n\\n| a | b |\\n|:--|:--|\\n| 1 | 2 |")
>>> blocks[0], blocks[1].columns, blocks[1].rows
(['Two sentences.', 'The second one.'], ('a', 'b'), (('1', '2'),))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from cifar_core.project import NOTEBOOKS_DIR, VARIABLES_FILE, ProjectError

BUILD_KEYS = ("profile", "profile_note", "build", "dataset", "env")
"""Top-level keys of ``_variables.yml`` the build itself writes (the chapters write the rest)."""
BUILD_SECTION = "build"
"""Where changes to the build's own variables are listed."""
VARIABLES_SECTION = VARIABLES_FILE
"""Where changes to variables of no known chapter are listed."""


@dataclass(frozen=True)
class Table:
    """A markdown table: its header as printed and its rows (cells as markdown text)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class Block:
    """The results of one code cell: its tables and its sentences (for a figure: the
    caption and the plotted values, one item each)."""

    label: str
    kind: str  # "table", "text" or "figure"
    tables: list[Table] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)


@dataclass
class Build:
    """One build: where it was read from and, per chapter, its blocks by label."""

    path: Path
    notebooks: Path
    chapters: dict[str, dict[str, Block]]
    variables: dict[str, str] | None  # flattened ``a.b.c: value``; None: no _variables.yml
    owners: dict[str, str]  # top-level variable → the chapter that writes it


# --------------------------------------------------------------------------- locating
def locate(path: str | Path, role: str = "") -> tuple[Path, Path | None]:
    """``(notebooks folder, _variables.yml or None)`` of a build given as a project
    folder or as a folder of executed notebooks; :class:`ProjectError` when ``path``
    holds neither.

    A notebooks folder takes its ``_variables.yml`` from inside itself, or from its
    project when it is the project's own ``notebooks/``. ``role`` (``OLD``, ``NEW``)
    starts the error message.
    """
    path = Path(path).expanduser()
    named = f"{role} {path}".strip()
    expected = (
        f"expected a cifar-report project with executed chapters ({NOTEBOOKS_DIR}/*.ipynb, "
        f"written by `cifar-report build`) or a folder of executed notebooks"
    )
    if not path.exists():
        raise ProjectError(f"{named} does not exist; {expected}")
    if not path.is_dir():
        raise ProjectError(f"{named} is not a folder; {expected}")
    if _chapter_files(path / NOTEBOOKS_DIR):
        folder = path / NOTEBOOKS_DIR
    elif _chapter_files(path):
        folder = path
    else:
        raise ProjectError(f"{named} is not a build: it holds no executed notebooks; {expected}")
    candidates = [folder / VARIABLES_FILE]
    if folder.name == NOTEBOOKS_DIR:
        candidates.append(folder.parent / VARIABLES_FILE)
    variables = next((c for c in candidates if c.is_file()), None)
    return folder, variables


def _chapter_files(folder: Path) -> list[Path]:
    """The executed chapters of ``folder`` (not the failed or half-written ones)."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.glob("*.ipynb")
        if not p.name.startswith(".") and not p.name.endswith(".failed.ipynb")
    )


def read_build(path: str | Path, role: str = "") -> Build:
    """Read the build at ``path`` (see :func:`locate`)."""
    folder, variables_file = locate(path, role)
    chapters = {p.stem: chapter_blocks(p) for p in _chapter_files(folder)}
    variables = None
    if variables_file is not None:
        variables = dict(_flatten(yaml.load(variables_file.read_text(), Loader=_YAML_LOADER) or {}))
    return Build(Path(path), folder, chapters, variables, _variable_owners(folder))


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``{"a": {"b": 1}}`` → ``("a.b", "1")``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), "" if value is None else str(value)


def _variable_owners(folder: Path) -> dict[str, str]:
    owners = dict.fromkeys(BUILD_KEYS, BUILD_SECTION)
    for path in sorted(folder.glob("*.vars.json")):
        try:
            keys = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        owners.update(dict.fromkeys(keys, path.name.removesuffix(".vars.json")))
    return owners


# --------------------------------------------------------------------------- notebooks
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when installed
_OPTION = re.compile(r"^#\|\s?(.*)$")


def cell_options(source: str, metadata: dict) -> dict[str, Any]:
    """The leading ``#| key: value`` lines of a cell as YAML, over its metadata options
    (as `cifar_core.render.notebooks.cell_options` reads them; importing the render
    package would cost this command half its time).

    >>> cell_options('#| label: tbl-a\\n#| tbl-cap: "A."\\nshow()', {"fig-alt": "Bars."})
    {'fig-alt': 'Bars.', 'label': 'tbl-a', 'tbl-cap': 'A.'}
    """
    lines = []
    for line in source.splitlines():
        match = _OPTION.match(line)
        if not match:
            break
        lines.append(match.group(1))
    try:
        options = yaml.load("\n".join(lines), Loader=_YAML_LOADER) if lines else {}
    except yaml.YAMLError:
        options = {}
    options = options if isinstance(options, dict) else {}
    from_metadata = {k: metadata[k] for k in ("label", "fig-cap", "fig-alt") if k in metadata}
    return {**from_metadata, **options}


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def chapter_blocks(path: Path) -> dict[str, Block]:
    """The result blocks of the executed notebook ``path``, by label, in cell order.

    A cell without a label is named by its position, ``cell 3`` (third code cell).
    """
    try:
        notebook = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ProjectError(f"{path} is not a readable notebook ({error})") from None
    blocks: dict[str, Block] = {}
    code_cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, start=1):
        options = cell_options(_text(cell.get("source", "")), cell.get("metadata") or {})
        label = str(options.get("label") or f"cell {number}")
        outputs = cell.get("outputs") or []
        if label.startswith("fig-"):
            blocks[label] = Block(label, "figure", sentences=figure_items(options, outputs))
            continue
        markdown = [
            _text(o["data"]["text/markdown"])
            for o in outputs
            if "text/markdown" in (o.get("data") or {})
        ]
        if not markdown:
            continue
        block = Block(label, "table" if label.startswith("tbl-") else "text")
        for part in (p for text in markdown for p in markdown_parts(text)):
            if isinstance(part, Table):
                block.tables.append(part)
            else:
                block.sentences.extend(part)
        blocks[label] = block
    return blocks


def figure_items(options: dict[str, Any], outputs: list[dict]) -> list[str]:
    """A figure's caption and plotted values, one item each: the description is split
    into panels (``Panel 2, …``) and each panel at ``;``, items prefixed with their
    panel, so that one changed value shows as one changed item.

    >>> figure_items({"fig-cap": "Bars."}, [{"data": {"image/png": ""}, "metadata":
    ...     {"image/png": {"cifar-report/alt": "Panel 1, a: x axis t; bars: 1, 2. "
    ...                                        "Panel 2, b: y axis v; bars: 3."}}}])
    ['caption: Bars.', 'panel 1: a: x axis t', 'panel 1: bars: 1, 2', 'panel 2: b: y axis v', 'panel 2: bars: 3']
    """
    description = None
    for output in outputs:
        meta = ((output.get("metadata") or {}).get("image/png")) or {}
        if "image/png" in (output.get("data") or {}) and "cifar-report/alt" in meta:
            description = str(meta["cifar-report/alt"])
            break
    caption = " ".join(str(options.get("fig-cap") or "").split())
    if description is None:  # an alt text written by hand: compare it whole
        alt = " ".join(str(options.get("fig-alt") or "").split())
        return [f"caption: {caption}"] + ([f"alt: {alt}"] if alt else [])
    items = [f"caption: {caption}"]
    for panel in re.split(r"\s*(?=\bPanel \d+, )", description.strip()):
        match = re.match(r"Panel (\d+),\s*", panel)
        tag = f"panel {match.group(1)}: " if match else ""
        body = panel[match.end() :] if match else panel
        items += [tag + item for item in body.rstrip(". ").split("; ") if item.strip()]
    return items


# --------------------------------------------------------------------------- markdown
@lru_cache(maxsize=1)
def _markdown_parser() -> Any:
    from markdown_it import MarkdownIt  # markdown-it-py, a dependency of jupytext

    # Only the block structure is needed: inline parsing (emphasis, links) is skipped,
    # which leaves each paragraph's and cell's text as written.
    return MarkdownIt("commonmark").enable("table").disable("inline")


def markdown_parts(text: str) -> list[Table | list[str]]:
    """``text`` as a list of tables and of sentence lists (paragraphs, headings, list
    items), in order. Callout fences (``::: {.callout-note}``, ``:::``) are dropped."""
    tokens = _markdown_parser().parse(text)
    parts: list[Table | list[str]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "table_open":
            end = next(i for i in range(index, len(tokens)) if tokens[i].type == "table_close")
            parts.append(_table(tokens[index:end]))
            index = end
        elif token.type == "inline" and tokens[index - 1].type in (
            "paragraph_open",
            "heading_open",
        ):
            kept = "\n".join(
                line for line in token.content.splitlines() if not line.lstrip().startswith(":::")
            )
            sentences = split_sentences(kept)
            if sentences:
                parts.append(sentences)
        index += 1
    return parts


def _table(tokens: list[Any]) -> Table:
    rows: list[list[str]] = []
    for token in tokens:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline":
            rows[-1].append(token.content.strip())
    header, *body = rows
    return Table(tuple(header), tuple(tuple(r) for r in body))


_ABBREVIATIONS = ("e.g.", "i.e.", "vs.", "cf.", "etc.", "approx.", "et al.", "Fig.", "No.")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][*”\"’)])|(?<=[.!?]\*\*))\s+(?!\()")


def split_sentences(text: str) -> list[str]:
    """The sentences of a paragraph: split after ``.``, ``!`` or ``?`` (also when bold
    or a closing quote or bracket follows) before white space, unless a bracket opens
    next or the word is a common abbreviation; line breaks are spaces. Decimal points
    are never followed by a space, so numbers stay whole. A list written as one
    sentence is split at its semicolons outside brackets, one item each.

    >>> split_sentences("**Depth.** s000_cnn3 is worse (p < 0.001; 2 seeds), e.g. by 1.5 points. Next!")
    ['**Depth.**', 's000_cnn3 is worse (p < 0.001; 2 seeds), e.g. by 1.5 points.', 'Next!']
    >>> split_sentences("Inconclusive: a (Δ = 1; p = 0.2); b (Δ = 2).")
    ['Inconclusive: a (Δ = 1; p = 0.2);', 'b (Δ = 2).']
    """
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(" ".join(text.split())):
        if sentences and sentences[-1].endswith(_ABBREVIATIONS):
            sentences[-1] += " " + piece
        elif piece:
            sentences.append(piece)
    return [item for sentence in sentences for item in _list_items(sentence)]


def _list_items(sentence: str) -> list[str]:
    """``sentence`` split after each ``;`` outside brackets and quotes."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(sentence):
        depth += char in "([{“" and 1 or (char in ")]}”" and -1 or 0)
        if char == ";" and depth <= 0 and sentence[index + 1 : index + 2] == " ":
            items.append(sentence[start : index + 1])
            start = index + 2
    return [*items, sentence[start:]]
